import Foundation

/// Why one record of a `PutEvents` call was rejected.
public struct RecordRejection: Error, Sendable, Equatable {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The account an event is for, and how far back its retention reaches.
public struct AccountScope: Sendable {
    public var accountId: Int64
    public var retentionDays: Int

    public init(accountId: Int64, retentionDays: Int) {
        self.accountId = accountId
        self.retentionDays = retentionDays
    }
}

/// Validates one `PutEvents` record and turns it into an ``AuditEvent``.
///
/// Every field the record defines is type-checked and length-checked; nothing is stored for a record
/// that fails, and the message names the field and what to change.
public enum EventRecordValidator {
    public static let maxRecordBytes = 256 * 1024
    public static let maxFutureSkew: Int64 = 300

    static let shortFields = ["eventName", "eventSource", "eventType", "eventRegion", "resourceType", "requestID", "eventId",
                              "httpMethod", "apiVersion", "resourceRegion"]
    static let mediumFields = ["sourceIPAddress"]
    static let longFields = ["resourceName", "userAgent", "errorMessage", "apiErrorMessage"]
    static let identityFields = ["type", "principalId", "accountId", "secretId", "userName"]
    public static let eventTypes: Set<String> = ["ApiCall", "ConsoleCall", "MiniProgramCall"]
    /// The event types only the server itself records (issue 15): producers may not send them.
    public static let serverEventTypes: Set<String> = ["CloudAuditAlert", "CloudAuditInsight"]

    /// - Parameters:
    ///   - value: the parsed element of `Events`.
    ///   - source: the request body the element was parsed from (its bytes are kept exactly).
    ///   - now: the server's clock, Unix seconds.
    ///   - resolveAccount: given `userIdentity.accountId` (nil when absent), the account the event
    ///     belongs to, or the rejection (another account for a tenant key, unknown account...).
    ///   - makeEventId: generates an id when the record has none.
    ///   - serverTypes: also accept the event types only the server records (`serverEventTypes`).
    ///   - sensitive: the catalogue that marks a record leaving `sensitiveAction` out (nil: none).
    public static func validate(_ value: JSONValue, source: [UInt8], now: Int64,
                                resolveAccount: (String?) -> Result<AccountScope, RecordRejection>,
                                makeEventId: () -> String = { UUID().uuidString.lowercased() }, serverTypes: Bool = false,
                                sensitive: SensitiveActions? = nil) -> Result<AuditEvent, RecordRejection> {
        guard case .object(let obj) = value else {
            return .failure(.init("InvalidParameter", "each element of Events must be a JSON object, not \(value.typeName)"))
        }
        // The record is kept as the bytes it was parsed from; an object that did not come from `source`
        // (a GET query string has no body) has none to keep.
        guard obj.range.count >= 2, obj.range.upperBound <= source.count else {
            return .failure(.init("InvalidParameter", "the record has no JSON text to keep; send Events in a JSON body"))
        }
        if obj.range.count > maxRecordBytes {
            return .failure(.init("InvalidParameterValue", "the record is \(obj.range.count) bytes; the limit is \(maxRecordBytes)"))
        }
        // Types and lengths of the string fields.
        for (fields, limit) in [(shortFields, 128), (mediumFields, 256), (longFields, 2048)] {
            for f in fields {
                if let r = checkString(obj[f], name: f, limit: limit) { return .failure(r) }
            }
        }
        for f in ["eventName", "eventSource", "actionType"] {
            guard let v = obj[f] else { return .failure(.init("MissingParameter", "\(f) is required")) }
            guard case .string(let s) = v else { return .failure(.init("InvalidParameter", "\(f) must be a string, not \(v.typeName)")) }
            if s.isEmpty { return .failure(.init("InvalidParameterValue", "\(f) must not be empty")) }
        }
        let actionType = obj["actionType"]!.stringValue!
        guard actionType == "Read" || actionType == "Write" else {
            return .failure(.init("InvalidParameterValue", "actionType must be Read or Write, not \"\(clip(actionType))\""))
        }
        if let t = obj["eventType"]?.stringValue, !eventTypes.contains(t), !(serverTypes && serverEventTypes.contains(t)) {
            return .failure(.init("InvalidParameterValue", "eventType must be ApiCall, ConsoleCall or MiniProgramCall, not \"\(clip(t))\""))
        }
        // Null would leave the stored record saying something else than the event: leave the field out instead.
        for f in ["eventId", "eventTime"] where obj[f] == .null {
            return .failure(.init("InvalidParameter", "\(f) must not be null; leave it out to have it filled in"))
        }
        if let id = obj["eventId"]?.stringValue, id.isEmpty {
            return .failure(.init("InvalidParameterValue", "eventId must not be empty (leave it out to have one generated)"))
        }
        if let v = obj["sensitiveAction"] {
            switch v {
            case .bool, .null: break
            case .int(let i) where i == 0 || i == 1: break
            case .string(let s) where ["true", "false", "1", "0", ""].contains(s): break
            default: return .failure(.init("InvalidParameter", "sensitiveAction must be true or false (or 1/0)"))
            }
        }
        for f in ["errorCode"] {
            if let v = obj[f], v != .null, integer(v) == nil {
                return .failure(.init("InvalidParameter", "\(f) must be an integer, not \(v.typeName)"))
            }
        }
        if let v = obj["eventVersion"], v != .null, scalarString(v) == nil {
            return .failure(.init("InvalidParameter", "eventVersion must be a string or a number, not \(v.typeName)"))
        }
        if let v = obj["apiErrorCode"], v != .null {
            guard let s = scalarString(v) else { return .failure(.init("InvalidParameter", "apiErrorCode must be a string or a number")) }
            if s.unicodeScalars.count > 128 { return .failure(.init("InvalidParameterValue", "apiErrorCode is longer than 128 characters")) }
        }
        for f in ["requestParameters", "responseElements"] {
            if let v = obj[f] {
                switch v {
                case .string, .object, .array, .null: break
                default: return .failure(.init("InvalidParameter", "\(f) must be a string, an object or an array"))
                }
            }
        }
        var identity: JSONObject?
        if let v = obj["userIdentity"], v != .null {
            guard case .object(let o) = v else { return .failure(.init("InvalidParameter", "userIdentity must be an object, not \(v.typeName)")) }
            for f in identityFields where f != "accountId" {
                // Tencent's own records carry numeric principalIds: numbers are accepted as their decimal text.
                if let v = o[f], case .int = v { continue }
                if let r = checkString(o[f], name: "userIdentity.\(f)", limit: 256) { return .failure(r) }
            }
            if let a = o["accountId"], a != .null {
                guard let text = scalarString(a) else { return .failure(.init("InvalidParameter", "userIdentity.accountId must be a string or a number")) }
                if text.utf8.count > 256 { return .failure(.init("InvalidParameterValue", "userIdentity.accountId is longer than 256 characters")) }
            }
            identity = o
        }
        var resourceSet: [String] = []
        if let v = obj["resourceSet"], v != .null {
            guard case .array(let items) = v else { return .failure(.init("InvalidParameter", "resourceSet must be an array, not \(v.typeName)")) }
            if items.count > 100 { return .failure(.init("InvalidParameterValue", "resourceSet has \(items.count) entries; the limit is 100")) }
            for item in items {
                switch item {
                case .string(let s): resourceSet.append(s)
                case .object(let o):
                    if let s = o["resourceId"].flatMap(scalarString) { resourceSet.append(s) }
                default: return .failure(.init("InvalidParameter", "resourceSet entries must be strings or objects"))
                }
            }
            if resourceSet.contains(where: { $0.unicodeScalars.count > 2048 }) { return .failure(.init("InvalidParameterValue", "a resourceSet entry is longer than 2048 characters")) }
        }
        var tags: [(String, String)] = []
        if let v = obj["tags"], v != .null {
            switch parseTags(v) {
            case .success(let t): tags = t
            case .failure(let r): return .failure(r)
            }
        }

        // Account and time.
        let named = identity?["accountId"].flatMap(scalarString)
        let scope: AccountScope
        switch resolveAccount(named) {
        case .success(let s): scope = s
        case .failure(let r): return .failure(r)
        }
        var eventTime = now
        if let v = obj["eventTime"] {
            guard let t = EventTimeParser.seconds(v) else {
                return .failure(.init("InvalidParameter", "eventTime must be Unix seconds or an RFC 3339 time"))
            }
            eventTime = t
        }
        if eventTime > now + maxFutureSkew {
            return .failure(.init("InvalidParameterValue.Time", "eventTime \(eventTime) is more than \(maxFutureSkew) seconds in the future"))
        }
        let oldest = now - Int64(scope.retentionDays) * 86400
        if eventTime < oldest {
            return .failure(.init("InvalidParameterValue.Time", "eventTime \(eventTime) is older than the account's retention of \(scope.retentionDays) days"))
        }

        // The record bytes, with generated fields put in front.
        var record: [UInt8]
        var prefix = ""
        let eventId: String
        if let id = obj["eventId"]?.stringValue {
            eventId = id
        } else if let id = obj["eventID"]?.stringValue, !id.isEmpty, id.utf8.count <= 128 {
            // Tencent's own records spell it eventID.
            eventId = id
        } else {
            eventId = makeEventId()
            prefix += "\"eventId\":\"\(eventId)\","
        }
        if obj["eventTime"] == nil {
            prefix += "\"eventTime\":\(eventTime),"
        }
        // An operation of the catalogue whose producer left sensitiveAction out is recorded as sensitive.
        let catalogued = obj["sensitiveAction"] == nil
            && sensitive?.contains(eventName: obj["eventName"]?.stringValue ?? "", eventSource: obj["eventSource"]?.stringValue ?? "") == true
        if catalogued {
            prefix += "\"sensitiveAction\":true,"
        }
        if prefix.isEmpty {
            record = Array(source[obj.range])
        } else {
            record = [UInt8(ascii: "{")]
            record.append(contentsOf: Array(prefix.utf8))
            let inner = source[(obj.range.lowerBound + 1)..<obj.range.upperBound]
            record.append(contentsOf: inner)
        }

        var postings: [(key: LookupKey, value: String)] = [(.all, ""), (.eventId, eventId), (.actionType, actionType)]
        func add(_ key: LookupKey, _ v: String?) { if let v, !v.isEmpty { postings.append((key, v)) } }
        // The keys with one value per event read it where `LookupKey.recordPath` says (as the console's top lists do).
        let parsed = JSONValue.object(obj)
        for key in LookupKey.allCases where key.recordPath != nil { add(key, key.value(in: parsed)) }
        add(.requestId, obj["requestID"]?.stringValue)
        add(.apiErrorCode, obj["apiErrorCode"].flatMap(scalarString))
        postings.append((.sensitiveAction, catalogued || isSensitive(obj["sensitiveAction"]) ? "true" : "false"))
        postings.append((.camErrorCode, String(obj["errorCode"].flatMap(integer) ?? 0)))
        var names = Set<String>()
        if let rn = obj["resourceName"]?.stringValue, !rn.isEmpty {
            names.insert(rn)
            for part in rn.split(separator: ",") {
                let p = part.trimmingCharacters(in: .whitespaces)
                if !p.isEmpty { names.insert(p) }
            }
        }
        for n in names.sorted() { postings.append((.resourceName, n)) }
        for id in Set(resourceSet).sorted() where !id.isEmpty { postings.append((.resourceId, id)) }
        var tagValues = Set<String>()
        for (k, v) in tags { for t in TagPosting.values(key: k, value: v) { tagValues.insert(t) } }
        for t in tagValues.sorted() { postings.append((.tags, t)) }

        return .success(AuditEvent(record: record, eventId: eventId, eventTime: eventTime, accountId: scope.accountId, postings: postings))
    }

    static func checkString(_ v: JSONValue?, name: String, limit: Int) -> RecordRejection? {
        guard let v, v != .null else { return nil }
        guard case .string(let s) = v else { return .init("InvalidParameter", "\(name) must be a string, not \(v.typeName)") }
        // Limits count Unicode scalars, not Characters: one letter with 100,000 combining marks is one
        // Character. utf8.count bounds the scalar count from above, and is O(1) for native strings.
        if s.utf8.count > limit, s.unicodeScalars.count > limit {
            return .init("InvalidParameterValue", "\(name) is \(s.unicodeScalars.count) characters; the limit is \(limit)")
        }
        return nil
    }

    /// Tags as `[{"key": k, "value": v}]` or `{"k": "v"}`.
    public static func parseTags(_ v: JSONValue) -> Result<[(String, String)], RecordRejection> {
        var out: [(String, String)] = []
        switch v {
        case .array(let items):
            for item in items {
                // Tencent's own records carry tags as strings ("" or "key:value").
                if case .string(let text) = item {
                    guard !text.isEmpty else { continue }
                    let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                    out.append((String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
                    continue
                }
                guard case .object(let o) = item, let k = (o["key"] ?? o["Key"])?.stringValue else {
                    return .failure(.init("InvalidParameter", #"tags must be a list of {"key": "...", "value": "..."} objects"#))
                }
                let val = (o["value"] ?? o["Value"]).flatMap(scalarString) ?? ""
                out.append((k, val))
            }
        case .object(let o):
            for f in o.fields {
                guard let s = scalarString(f.value) else { return .failure(.init("InvalidParameter", "tag values must be strings")) }
                out.append((f.key, s))
            }
        default:
            return .failure(.init("InvalidParameter", "tags must be a list of key/value objects, not \(v.typeName)"))
        }
        if out.count > 50 { return .failure(.init("InvalidParameterValue", "an event carries at most 50 tags")) }
        if out.contains(where: { $0.0.unicodeScalars.count > 128 || $0.1.unicodeScalars.count > 256 }) {
            return .failure(.init("InvalidParameterValue", "tag keys are limited to 128 characters and values to 256"))
        }
        return .success(out)
    }

    public static func isSensitive(_ v: JSONValue?) -> Bool {
        switch v {
        case .bool(let b)?: return b
        case .int(let i)?: return i == 1
        case .string(let s)?: return s == "true" || s == "1"
        default: return false
        }
    }

    public static func integer(_ v: JSONValue) -> Int64? {
        switch v {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: return Int64(d)
        case .string(let s): return Int64(s)
        default: return nil
        }
    }

    public static func scalarString(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        default: return nil
        }
    }

    static func clip(_ s: String) -> String { TextClip.scalars(s, 40) }
}
