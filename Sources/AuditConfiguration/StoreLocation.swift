import AuditModel
import Foundation

/// Where a PostgreSQL store is: the `--store` URL, `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...]`,
/// parsed by one total function (any text gives a location or a refusal that says what to change; fuzz
/// target FuzzStoreLocation).
///
/// The password is never part of it: a URL that carries one is refused, naming where a password goes
/// (`PGPASSWORD`, or `--store-password-file`), so that it is never in a process list, a shell history or a
/// log line. `description` is the normalized URL, safe to print.
public struct StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is protected (libpq's `sslmode` names, those that mean what they say).
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP: only on a network the operator trusts (loopback, a private link).
        case disable
        /// TLS, without checking the server's certificate.
        case require
        /// TLS, the certificate checked against `sslrootcert` (or the system's roots) and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tlsMode: TLSMode
    /// `sslrootcert`: the CA file for `verify-full` (nil: the system's roots).
    public var rootCertificateFile: String?

    public init(user: String, host: String, port: Int = 5432, database: String, tlsMode: TLSMode = .disable, rootCertificateFile: String? = nil) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.tlsMode = tlsMode
        self.rootCertificateFile = rootCertificateFile
    }

    /// A URL's length: room for the longest parts percent-encoded (a location's `description` must parse).
    public static let maxLength = 8192
    /// `sslrootcert`'s length once decoded.
    public static let maxPathBytes = 1024
    static let passwordRefusal = ConfigRefusal("must not hold a password (the URL is shown in process lists and logs); "
        + "give the password in PGPASSWORD or in an owner-only file named by --store-password-file")

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        var s = "postgres://\(Self.escape(user))@\(h):\(port)/\(Self.escape(database))?sslmode=\(tlsMode.rawValue)"
        if let rootCertificateFile { s += "&sslrootcert=\(Self.escape(rootCertificateFile))" }
        return s
    }

    /// The location `text` names, or why it names none.
    public static func parse(_ text: String) -> Result<StoreLocation, ConfigRefusal> {
        func refuse(_ why: String) -> Result<StoreLocation, ConfigRefusal> {
            .failure(ConfigRefusal(why + "; write it as postgres://USER@HOST:PORT/DATABASE (?sslmode=require or verify-full for TLS)"))
        }
        guard text.utf8.count <= maxLength else { return refuse("must be at most \(maxLength) bytes") }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            return refuse("must have no spaces or control characters")
        }
        var rest = Substring(text)
        if rest.hasPrefix("postgres://") { rest = rest.dropFirst("postgres://".count) } else if rest.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else {
            return refuse("must start with postgres://")
        }
        // userinfo@host[:port]/database[?query]
        guard let at = rest.lastIndex(of: "@") else { return refuse("must name the user (USER@HOST)") }
        let userInfo = rest[..<at]
        if userInfo.contains(":") {
            return .failure(passwordRefusal)
        }
        guard let user = unescape(userInfo), isName(user) else { return refuse("must name a user of 1 to 63 letters, digits, _, - or .") }
        rest = rest[rest.index(after: at)...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard slash < rest.endIndex else { return refuse("must name the database (/DATABASE)") }
        rest = rest[rest.index(after: slash)...]
        let question = rest.firstIndex(of: "?") ?? rest.endIndex
        guard let database = unescape(rest[..<question]), isName(database) else {
            return refuse("must name a database of 1 to 63 letters, digits, _, - or .")
        }
        // host, [v6 host], with an optional :port
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return refuse("has an IPv6 host without its closing ]") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return refuse("has text after the IPv6 host") }
                portText = after.dropFirst()
            }
            guard IPAddress(String(host)) != nil, host.contains(":") else { return refuse("has an IPv6 host that is not an address") }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard isHostName(host) else { return refuse("must name a host: a name of letters, digits, - and ., or an address") }
        }
        var port = 5432
        if let portText {
            guard portText.utf8.count <= 5, let p = Int(portText), (1...65535).contains(p) else { return refuse("must have a port from 1 to 65535") }
            port = p
        }
        var location = StoreLocation(user: user, host: String(host), port: port, database: database)
        if question < rest.endIndex {
            let query = rest[rest.index(after: question)...]
            var seen = Set<String>()
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts[0] == "password" {
                    return .failure(passwordRefusal)
                }
                guard parts.count == 2, let value = unescape(parts[1]), !value.isEmpty else {
                    return refuse("has a parameter without a value (\(TextClip.scalars(String(pair), 40, printable: true)))")
                }
                let name = String(parts[0])
                guard seen.insert(name).inserted else { return refuse("gives \(TextClip.scalars(name, 40, printable: true)) twice") }
                switch name {
                case "sslmode":
                    guard let mode = TLSMode(rawValue: value) else {
                        return refuse("has sslmode=\(TextClip.scalars(value, 40, printable: true)); use disable, require or verify-full")
                    }
                    location.tlsMode = mode
                case "sslrootcert":
                    guard value.utf8.count <= maxPathBytes else { return refuse("has an sslrootcert longer than \(maxPathBytes) bytes") }
                    location.rootCertificateFile = value
                default:
                    return refuse("has the parameter \(TextClip.scalars(name, 40, printable: true)), which CloudAudit does not take (only sslmode and sslrootcert)")
                }
            }
        }
        if location.rootCertificateFile != nil, location.tlsMode != .verifyFull {
            return refuse("gives sslrootcert, which only sslmode=verify-full uses")
        }
        return .success(location)
    }

    /// A user or database name: 1 to 63 bytes (PostgreSQL's identifier length) of letters, digits, _, - and .
    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 63 && s.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// A DNS name or an IPv4 address: labels of letters, digits and -, at most 253 bytes.
    static func isHostName(_ s: Substring) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
                && label.first != "-" && label.last != "-"
        }
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
    }

    /// Percent-decoding of a URL part; nil for a malformed escape or bytes that are not UTF-8.
    static func unescape(_ s: Substring) -> String? {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard it.count >= 2, let hi = hexValue(it.removeFirst()), let lo = hexValue(it.removeFirst()) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// Percent-encoding of everything but unreserved characters and `/` (paths stay readable).
    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if isAlphanumeric(b) || "-._~/".utf8.contains(b) { out.unicodeScalars.append(Unicode.Scalar(b)) } else { out += String(format: "%%%02X", b) }
        }
        return out
    }
}
