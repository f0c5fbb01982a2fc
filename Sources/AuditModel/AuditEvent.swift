import Foundation

/// An event record accepted for storage: the producer's bytes plus the fields that queries read.
public struct AuditEvent: Sendable {
    /// The record exactly as accepted (the producer's bytes, with `eventId`/`eventTime` added in front
    /// when the producer left them out).
    public var record: [UInt8]
    public var eventId: String
    /// Unix seconds.
    public var eventTime: Int64
    /// The account the event belongs to (from the key, or `userIdentity.accountId` for service keys).
    public var accountId: Int64
    /// (key, value) pairs that the event can be found by.
    public var postings: [(key: LookupKey, value: String)]

    public init(record: [UInt8], eventId: String, eventTime: Int64, accountId: Int64, postings: [(key: LookupKey, value: String)]) {
        self.record = record
        self.eventId = eventId
        self.eventTime = eventTime
        self.accountId = accountId
        self.postings = postings
    }
}

/// The fields of a stored record that the API's `Event` shape shows, read back from the record bytes.
public struct EventSummary: Sendable {
    public var eventId = ""
    public var eventTime: Int64 = 0
    public var eventName = ""
    public var eventSource = ""
    public var eventRegion = ""
    public var resourceRegion = ""
    public var resourceType = ""
    public var resourceName = ""
    public var username = ""
    public var secretId = ""
    public var requestId = ""
    public var sourceIPAddress = ""
    public var errorCode: Int64 = 0
    public var actionType = ""
    public var sensitiveAction = false
    public var apiErrorCode = ""

    public init() {}

    public init(record: [UInt8]) {
        guard let obj = (try? JSONParser.parse(record))?.objectValue else { return }
        eventId = obj["eventId"]?.stringValue ?? obj["eventID"]?.stringValue ?? ""
        eventTime = (obj["eventTime"]).flatMap { EventTimeParser.seconds($0) } ?? 0
        eventName = obj["eventName"]?.stringValue ?? ""
        eventSource = obj["eventSource"]?.stringValue ?? ""
        eventRegion = obj["eventRegion"]?.stringValue ?? ""
        resourceRegion = obj["resourceRegion"]?.stringValue ?? eventRegion
        resourceType = obj["resourceType"]?.stringValue ?? ""
        resourceName = obj["resourceName"]?.stringValue ?? ""
        let identity = obj["userIdentity"]?.objectValue
        username = (identity?["userName"] ?? identity?["principalId"]).flatMap(EventRecordValidator.scalarString) ?? ""
        secretId = identity?["secretId"].flatMap(EventRecordValidator.scalarString) ?? ""
        requestId = obj["requestID"]?.stringValue ?? ""
        sourceIPAddress = obj["sourceIPAddress"]?.stringValue ?? ""
        errorCode = obj["errorCode"].flatMap(EventRecordValidator.integer) ?? 0
        actionType = obj["actionType"]?.stringValue ?? ""
        sensitiveAction = EventRecordValidator.isSensitive(obj["sensitiveAction"])
        apiErrorCode = obj["apiErrorCode"].flatMap(EventRecordValidator.scalarString) ?? ""
    }
}

/// Reads event times given as Unix seconds (number or numeric string) or RFC 3339.
public enum EventTimeParser {
    public static func seconds(_ v: JSONValue) -> Int64? {
        switch v {
        case .int(let i): return i
        case .double(let d) where d.isFinite && d == d.rounded() && abs(d) < 1e15: return Int64(d)
        case .string(let s): return seconds(s)
        default: return nil
        }
    }

    public static func seconds(_ s: String) -> Int64? {
        if let i = Int64(s) { return i }
        return rfc3339(s) ?? tencentLocal(s)
    }

    /// `YYYY-MM-DD HH:MM:SS`, as Tencent's own records write it, in Beijing time (UTC+08:00).
    public static func tencentLocal(_ s: String) -> Int64? {
        guard s.utf8.count == 19, s.contains(" ") else { return nil }
        return rfc3339(s.replacingOccurrences(of: " ", with: "T") + "+08:00")
    }

    public static func rfc3339(_ s: String) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: s) { return Int64(d.timeIntervalSince1970.rounded(.down)) }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return Int64(d.timeIntervalSince1970.rounded(.down)) }
        return nil
    }
}
