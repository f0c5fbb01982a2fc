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

    /// RFC 3339, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (also `±HHMM` and `±HH`, as strftime's `%z`
    /// prints), as whole seconds rounded down; years 0001-9999.
    ///
    /// Parsed here, byte by byte, not by ISO8601DateFormatter: its ICU parser died of SIGFPE on a fraction
    /// of a second of 35 digits or more, or written with an exponent (found by FuzzEventRecord), and is
    /// lenient in ways that misread times (`12025-06-15` as 2025, digits of other scripts, one-digit fields).
    public static func rfc3339(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        // The date and time as `YYYYMMDDTHHMMSSZ`, whose parser checks every digit and the calendar.
        var basic = Array(b[0..<4])
        for r in [5..<7, 8..<10, 10..<11, 11..<13, 14..<16, 17..<19] { basic += b[r] }
        basic.append(UInt8(ascii: "Z"))
        guard let utc = UTCTime.parseBasicTimestamp(String(decoding: basic, as: UTF8.self)) else { return nil }
        var at = 19
        if b[at] == UInt8(ascii: ".") {
            // Rounded down to whole seconds, the fraction changes nothing: its digits are only checked.
            at += 1
            let first = at
            while at < b.count, isDigit(b[at]) { at += 1 }
            guard at > first else { return nil }
        }
        guard let offset = zoneOffset(b[at...]) else { return nil }
        return utc - offset
    }

    /// `Z`, `±HH:MM`, `±HHMM` or `±HH` as seconds east of UTC; nil for anything else.
    static func zoneOffset(_ z: ArraySlice<UInt8>) -> Int64? {
        guard let sign = z.first else { return nil }
        if sign == UInt8(ascii: "Z") { return z.count == 1 ? 0 : nil }
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        let rest = Array(z.dropFirst())
        let hhmm: [UInt8]
        switch rest.count {
        case 2: hhmm = rest + Array("00".utf8)
        case 4: hhmm = rest
        case 5 where rest[2] == UInt8(ascii: ":"): hhmm = Array(rest[0..<2] + rest[3..<5])
        default: return nil
        }
        guard hhmm.allSatisfy(isDigit) else { return nil }
        let hours = Int64(hhmm[0] - 0x30) * 10 + Int64(hhmm[1] - 0x30), minutes = Int64(hhmm[2] - 0x30) * 10 + Int64(hhmm[3] - 0x30)
        guard hours < 24, minutes < 60 else { return nil }
        return (sign == UInt8(ascii: "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
    }

    static func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }
}
