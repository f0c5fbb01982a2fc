import AuditModel

/// The host and port of a server an alert goes to (an SMTP server, a syslog receiver), as the senders
/// connect to it and name it in their messages: `mail.example.com:587`, `192.0.2.7:6514`, `[2001:db8::1]:25`.
public struct AlertEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A DNS name or an IP address; an IPv6 address without its brackets.
    public var host: String
    public var port: Int

    /// A host (a DNS name, an IPv4 address, or an IPv6 address without brackets) and a port, checked as
    /// ``SMTPServer/init(url:)`` and ``SyslogReceiver/init(address:protocol:)`` check theirs.
    ///
    /// - Throws: ``AlertSendError`` (`.configuration`) for a port outside 1-65535 or a host that is neither.
    public init(host: String, port: Int) throws {
        guard (1...65535).contains(port) else { throw AlertSendError.configuration("the port \(port) is not 1-65535") }
        guard Self.isHostName(Substring(host)) || IPAddress(host) != nil else {
            throw AlertSendError.configuration("\"\(TextClip.scalars(host, 80, printable: true))\" is neither a host name nor an IP address")
        }
        self.init(checkedHost: host, port: port)
    }

    private init(checkedHost host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 address in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether `host` is an IP address rather than a name (TLS then checks the certificate against the
    /// address, and sends no server name).
    var isIPAddress: Bool { IPAddress(host) != nil }

    /// `host`, `host:port`, `[IPv6]` or `[IPv6]:port`, checked: a name of letters, digits, `-`, `_` and
    /// dots (at most 253 characters), an IPv4 address, or an IPv6 address in brackets; a port 1-65535.
    ///
    /// - Parameters:
    ///   - defaultPort: the port when `text` has none; nil when a port is required.
    ///   - what: how messages name the value (`"the syslog address"`).
    /// - Throws: ``AlertSendError`` (`.configuration`) saying what is wrong.
    static func parse(_ text: Substring, defaultPort: Int?, what: String) throws -> AlertEndpoint {
        let quoted = "\"" + TextClip.scalars(String(text), 80, printable: true) + "\""
        func refuse(_ why: String) -> AlertSendError { .configuration("\(what) \(quoted) \(why)") }
        let host: Substring
        let portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw refuse("has a [ without its ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                portText = nil
            } else {
                guard rest.hasPrefix(":") else { throw refuse("has something other than :port after the IPv6 address") }
                portText = rest.dropFirst()
            }
            guard host.contains(":"), IPAddress(host) != nil else {
                throw refuse("does not hold a valid IPv6 address in its brackets")
            }
        } else {
            let colons = text.filter { $0 == ":" }.count
            guard colons <= 1 else { throw refuse("looks like an IPv6 address: put it in brackets ([2001:db8::1]:514)") }
            if let colon = text.firstIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                host = text
                portText = nil
            }
            guard isHostName(host) else {
                throw refuse("does not name a host (letters, digits, -, _ and dots, at most 253 characters)")
            }
        }
        let port: Int
        if let portText {
            guard (1...5).contains(portText.count), portText.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portText), (1...65535).contains(p) else {
                throw refuse("does not have a valid port (1-65535)")
            }
            port = p
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw refuse("has no port (host:port)")
        }
        return AlertEndpoint(checkedHost: String(host), port: port)
    }

    /// A DNS name or IPv4 address: ASCII letters, digits, `-`, `_`, dots between non-empty labels.
    static func isHostName(_ s: Substring) -> Bool {
        guard (1...253).contains(s.utf8.count) else { return false }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-")
                && label.utf8.allSatisfy { b in (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2D || b == 0x5F }
        }
    }
}
