import AuditModel
import Foundation

/// How severe an alert is, as its rule says.
extension AlertSeverity {
    /// The RFC 5424 severity (6.2.1): informational (6), warning (4), critical (2).
    public var syslogSeverity: Int {
        switch self {
        case .info: return 6
        case .warning: return 4
        case .critical: return 2
        }
    }
}

/// An RFC 5424 facility (6.2.1), 0 to 23.
public struct SyslogFacility: Sendable, Hashable {
    public let code: Int

    /// nil unless `code` is 0...23.
    public init?(code: Int) {
        guard (0...23).contains(code) else { return nil }
        self.code = code
    }

    private init(_ code: Int) { self.code = code }

    /// 1: user-level messages.
    public static let user = SyslogFacility(1)
    /// 13: log audit.
    public static let logAudit = SyslogFacility(13)
    /// 16: local use 0, the default of ``SyslogSender``: the facility an operator routes on (a receiver
    /// rule `local0.*`) without CloudAudit's alerts mixing with the system's own messages.
    public static let local0 = SyslogFacility(16)
}

/// One SD-ELEMENT of RFC 5424's STRUCTURED-DATA (6.3): `[id name="value" ...]`.
public struct SyslogStructuredElement: Sendable {
    /// An SD-ID: `name@<private enterprise number>` (`alert@32473`), or one of the IANA-registered
    /// `timeQuality`, `origin`, `meta`. At most 32 printable ASCII characters without `=`, space, `]`, `"`.
    public var id: String
    /// PARAM-NAME (like an SD-ID's characters, 1-32) and PARAM-VALUE (any UTF-8; escaped when formatted), in order.
    public var parameters: [(String, String)]

    public init(id: String, parameters: [(String, String)]) {
        self.id = id
        self.parameters = parameters
    }
}

/// RFC 5424 messages framed for TCP and TLS (RFC 5425 4.3, octet counting: `MSG-LEN SP SYSLOG-MSG`).
public enum SyslogMessage {
    /// The longest SYSLOG-MSG formatted, in bytes: every RFC 5425 receiver should take 8192; the free
    /// text is clipped (ending in "…") to fit.
    public static let maximumLength = 8192
    /// The IANA-registered SD-IDs (RFC 5424 7): every other one needs `@` and an enterprise number.
    static let registeredIDs: Set<String> = ["timeQuality", "origin", "meta"]

    /// One framed message:
    /// `MSG-LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP BOM MSG]`.
    ///
    /// PRI is `facility * 8 + severity`; TIMESTAMP is UTC with microseconds
    /// (`2023-11-14T22:13:20.123456Z`); an empty header field is the NILVALUE `-`; so is structured data
    /// without elements. PARAM-VALUEs escape `"`, `\` and `]` with a backslash. The message is UTF-8
    /// after a byte order mark, as RFC 5424 6.4 asks, and left out when empty.
    ///
    /// - Throws: ``AlertSendError`` (`.invalidMessage`) when a header field is not printable ASCII
    ///   without spaces or is longer than RFC 5424 allows (HOSTNAME 255, APP-NAME 48, PROCID 128, MSGID
    ///   32), when an SD-ID or PARAM-NAME is not a valid SD-NAME, an SD-ID repeats or is neither
    ///   registered nor `name@number`, or the header and structured data alone exceed ``maximumLength``.
    public static func framed(facility: SyslogFacility, severity: AlertSeverity, timestamp: Date, hostname: String, appName: String,
                              procId: String, msgId: String, structuredData: [SyslogStructuredElement], message: String) throws -> [UInt8] {
        var head = "<\(facility.code * 8 + severity.syslogSeverity)>1 " + rfc3339(timestamp)
        for (value, limit, name) in [(hostname, 255, "HOSTNAME"), (appName, 48, "APP-NAME"), (procId, 128, "PROCID"), (msgId, 32, "MSGID")] {
            head += " " + (try headerField(value, limit: limit, name: name))
        }
        head += " " + (try structured(structuredData))
        var bytes = Array(head.utf8)
        let room = maximumLength - bytes.count - 4
        guard room >= 3 else {
            throw AlertSendError.invalidMessage("the syslog header and structured data take more than \(maximumLength) bytes")
        }
        if !message.isEmpty {
            bytes += [0x20, 0xEF, 0xBB, 0xBF] + Array(TextClip.utf8(message, room).utf8)
        }
        return Array("\(bytes.count) ".utf8) + bytes
    }

    /// A header field: the NILVALUE `-` when empty, else 1 to `limit` characters of PRINTUSASCII (33-126).
    static func headerField(_ value: String, limit: Int, name: String) throws -> String {
        if value.isEmpty { return "-" }
        guard value.utf8.count <= limit, value.utf8.allSatisfy({ (33...126).contains($0) }) else {
            throw AlertSendError.invalidMessage("the syslog \(name) \"\(TextClip.scalars(value, 80, printable: true))\" is not 1-\(limit) printable ASCII characters without spaces")
        }
        return value
    }

    /// An SD-NAME (RFC 5424 6.3.2): 1-32 characters of PRINTUSASCII but `=`, space, `]` and `"`.
    static func isSDName<S: StringProtocol>(_ name: S) -> Bool {
        (1...32).contains(name.utf8.count) && name.utf8.allSatisfy { (33...126).contains($0) && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "]") && $0 != UInt8(ascii: "\"") }
    }

    static func structured(_ elements: [SyslogStructuredElement]) throws -> String {
        if elements.isEmpty { return "-" }
        var seen: Set<String> = []
        var out = ""
        for element in elements {
            let id = element.id
            let parts = id.split(separator: "@", omittingEmptySubsequences: false)
            let enterprise = parts.count == 2 ? parts[1] : ""
            guard isSDName(id),
                  parts.count == 1 ? registeredIDs.contains(id)
                                   : parts.count == 2 && !parts[0].isEmpty && !enterprise.isEmpty && enterprise.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") })
            else {
                throw AlertSendError.invalidMessage("the syslog SD-ID \"\(TextClip.scalars(id, 80, printable: true))\" is neither name@<enterprise number> (alert@32473) nor a registered one (timeQuality, origin, meta)")
            }
            guard seen.insert(id).inserted else { throw AlertSendError.invalidMessage("the syslog SD-ID \(id) appears twice") }
            out += "[" + id
            for (name, value) in element.parameters {
                guard isSDName(name) else {
                    throw AlertSendError.invalidMessage("the syslog PARAM-NAME \"\(TextClip.scalars(name, 80, printable: true))\" is not 1-32 printable ASCII characters without =, space, ] or \"")
                }
                out += " " + name + "=\"" + escaped(value) + "\""
            }
            out += "]"
        }
        return out
    }

    /// A PARAM-VALUE with `"`, `\` and `]` escaped by a backslash (RFC 5424 6.3.3).
    static func escaped(_ value: String) -> String {
        var out = ""
        for character in value.unicodeScalars {
            if character == "\"" || character == "\\" || character == "]" { out += "\\" }
            out.unicodeScalars.append(character)
        }
        return out
    }

    /// RFC 3339 in UTC with microseconds (RFC 5424 6.2.3): `2023-11-14T22:13:20.123456Z`.
    static func rfc3339(_ date: Date) -> String {
        // Clamped first, so that no Date (infinite, NaN, far off) overflows the conversion.
        let since1970 = date.timeIntervalSince1970.isFinite ? date.timeIntervalSince1970 : 0
        let bounds = UTCTime.representable
        let micros = Int64((min(max(since1970, Double(bounds.lowerBound)), Double(bounds.upperBound)) * 1_000_000).rounded())
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = Int(micros - seconds * 1_000_000)
        let t = UTCTime(seconds)
        func pad(_ n: Int, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return t.isoDate + "T" + pad(t.hour, 2) + ":" + pad(t.minute, 2) + ":" + pad(t.second, 2) + "." + pad(fraction, 6) + "Z"
    }
}
