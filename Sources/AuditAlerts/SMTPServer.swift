import Foundation

/// Where alert emails go, from a URL: `smtp://[user@]host[:port]` (port 25 by default; STARTTLS is used
/// whenever the server offers it) or `smtps://[user@]host[:port]` (port 465 by default; TLS from the
/// first byte). The user part, percent-decoded, is the user to authenticate as (`alerts%40example.com`
/// for `alerts@example.com`).
///
/// The password is never part of the URL (URLs end up in process lists, logs and shell history): a
/// URL with one is refused, and the password is given to ``SMTPSender`` apart.
public struct SMTPServer: Sendable, Hashable, CustomStringConvertible {
    public var endpoint: AlertEndpoint
    /// `smtps://`: TLS from the first byte. Otherwise STARTTLS when the server offers it.
    public var implicitTLS: Bool
    /// The user to authenticate as (AUTH PLAIN, or LOGIN); nil: no authentication.
    public var username: String?

    public init(endpoint: AlertEndpoint, implicitTLS: Bool, username: String? = nil) {
        self.endpoint = endpoint
        self.implicitTLS = implicitTLS
        self.username = username
    }

    /// Reads an `smtp://` or `smtps://` URL.
    ///
    /// - Throws: ``AlertSendError`` (`.configuration`) when it is not such a URL, has a path, query or
    ///   fragment, holds a password, or its host, port or user is invalid. The message never repeats the
    ///   URL whole: it may hold a password.
    public init(url: String) throws {
        let usage = "use smtp://[user@]host[:port] or smtps://[user@]host[:port]"
        guard url.utf8.count <= 2048 else { throw AlertSendError.configuration("the SMTP URL is longer than 2048 bytes; \(usage)") }
        var rest = Substring(url)
        if url.lowercased().hasPrefix("smtp://") {
            implicitTLS = false
            rest = rest.dropFirst(7)
        } else if url.lowercased().hasPrefix("smtps://") {
            implicitTLS = true
            rest = rest.dropFirst(8)
        } else {
            throw AlertSendError.configuration("the SMTP URL does not start with smtp:// or smtps://; \(usage)")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else {
            throw AlertSendError.configuration("the SMTP URL has a path, query or fragment; \(usage)")
        }
        if let at = rest.lastIndex(of: "@") {
            let userPart = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard !userPart.contains(":") else {
                throw AlertSendError.configuration("the SMTP URL holds a password; give the password apart from the URL (its file or environment variable), and only the user in the URL")
            }
            guard let user = userPart.removingPercentEncoding, !user.isEmpty, user.utf8.count <= 256,
                  !user.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw AlertSendError.configuration("the user part of the SMTP URL is empty, too long, or not valid percent-encoded text without control characters")
            }
            username = user
        } else {
            username = nil
        }
        endpoint = try AlertEndpoint.parse(rest, defaultPort: implicitTLS ? 465 : 25, what: "the host of the SMTP URL")
    }

    /// The URL again (`smtps://alerts%40example.com@mail.example.com:465`): it has no password to hide.
    public var description: String {
        let user = username.map { ($0.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed.subtracting(CharacterSet(charactersIn: "@:"))) ?? "") + "@" } ?? ""
        return (implicitTLS ? "smtps://" : "smtp://") + user + endpoint.description
    }
}
