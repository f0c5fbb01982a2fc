import AuditModel
import Foundation

/// An alert email as the bytes of an RFC 5322 message: CRLF line endings, 7-bit ASCII throughout
/// (the text body quoted-printable in UTF-8, a subject or header value that is not plain ASCII as RFC
/// 2047 encoded words), and no way for a subject, header value or address to start a header of its own.
///
/// Recipients and the sender are checked (``isValidAddress(_:)``); control characters in the subject and
/// header values (CR and LF among them) become spaces rather than refusing the alert, since they often
/// come from audit events an attacker may shape, and a refused alert is a suppressed one.
struct SMTPMessage {
    /// The header fields the message sets itself; a caller's header with one of these names (or Bcc and
    /// Cc, which would only mislead: the envelope decides who receives) is refused.
    static let reservedHeaders: Set<String> = [
        "date", "from", "to", "cc", "bcc", "subject", "message-id", "mime-version", "content-type", "content-transfer-encoding",
    ]
    /// RFC 5321 asks servers to take at least 100 recipients of one message.
    static let maximumRecipients = 100

    var from: String
    var to: [String]
    var subject: String
    var body: String
    var headers: [(String, String)]
    /// The Unix time of the Date header.
    var date: Int64
    /// The Message-ID without its angle brackets (`4f1c...@example.com`).
    var messageID: String

    /// The message's bytes: the header fields, an empty line, the body; every line ends in CRLF.
    ///
    /// - Throws: ``AlertSendError`` (`.invalidMessage`) for no recipient or too many, an invalid address,
    ///   or a caller's header name that is not a field name or is one of ``reservedHeaders``.
    func rendered() throws -> [UInt8] {
        guard !to.isEmpty, to.count <= Self.maximumRecipients else {
            throw AlertSendError.invalidMessage("an alert email needs 1 to \(Self.maximumRecipients) recipients, not \(to.count)")
        }
        for address in [from] + to where !Self.isValidAddress(address) {
            throw AlertSendError.invalidMessage(Self.invalidAddressMessage(address))
        }
        var text = "Date: " + Self.dateField(date) + "\r\n"
        text += "From: " + from + "\r\n"
        text += "To: " + to.joined(separator: ",\r\n ") + "\r\n"
        text += Self.field("Subject", subject)
        text += "Message-ID: <" + messageID + ">\r\n"
        text += "MIME-Version: 1.0\r\n"
        text += "Content-Type: text/plain; charset=utf-8\r\n"
        text += "Content-Transfer-Encoding: quoted-printable\r\n"
        for (name, value) in headers {
            guard Self.isFieldName(name), !Self.reservedHeaders.contains(name.lowercased()) else {
                throw AlertSendError.invalidMessage("the header name \"\(TextClip.scalars(name, 80, printable: true))\" is not a field name (1-76 printable ASCII characters, no colon) or is set by the sender itself")
            }
            text += Self.field(name, value)
        }
        text += "\r\n" + Self.quotedPrintable(body)
        return Array(text.utf8)
    }

    /// `message` as the DATA command sends it (RFC 5321 4.5.2): each line that starts with a dot gets a
    /// second one, and the line with a lone dot ends it.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 16)
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        if !atLineStart { out += Array("\r\n".utf8) }
        return out + Array(".\r\n".utf8)
    }

    /// A mailbox as this sender takes it, on purpose narrower than RFC 5321: printable ASCII with no
    /// space, angle bracket, quote, backslash, comma, semicolon, colon, parenthesis or square bracket;
    /// one `@` between a local part of 1-64 bytes and a domain name (``AlertEndpoint/isHostName(_:)``);
    /// at most 254 bytes. So it can stand in `MAIL FROM:<...>`, `RCPT TO:<...>` and a header as it is.
    static func isValidAddress(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        let forbidden = Set(" <>\"\\,;:()[]".utf8)
        guard (3...254).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) && !forbidden.contains($0) }) else { return false }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...64).contains(parts[0].utf8.count) else { return false }
        return AlertEndpoint.isHostName(parts[1])
    }

    static func invalidAddressMessage(_ address: String) -> String {
        "\"\(TextClip.scalars(address, 100, printable: true))\" is not an email address this sender takes (one @, printable ASCII, no spaces, quotes or brackets)"
    }

    /// A header field name (RFC 5322 2.2): printable ASCII but the colon; 76 at most, so the line stays short.
    static func isFieldName(_ name: String) -> Bool {
        (1...76).contains(name.utf8.count) && name.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ":") }
    }

    /// `Name: value` and CRLF, with the value's control characters made spaces. Printable ASCII that fits
    /// one line stands as it is; anything else (non-ASCII, very long, or holding `=?`, which a reader
    /// would take for an encoded word) becomes RFC 2047 `B` encoded words of UTF-8, at most 75
    /// characters each, one a line, folded with CRLF and a space (a reader joins them without spaces).
    static func field(_ name: String, _ value: String) -> String {
        var clean = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            clean.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        let text = String(clean)
        if text.utf8.allSatisfy({ $0 < 0x80 }), name.utf8.count + 2 + text.utf8.count <= 998, !text.contains("=?") {
            return name + ": " + text + "\r\n"
        }
        return name + ": " + encodedWords(text).joined(separator: "\r\n ") + "\r\n"
    }

    /// `=?utf-8?B?...?=` words of `text`, each of at most 45 bytes of UTF-8 (60 of base64, 72 in all),
    /// never splitting a character's bytes.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// `text` as a quoted-printable body (RFC 2045 6.7) of its UTF-8: line breaks (CRLF, CR or LF) become
    /// CRLF; `=`, control and non-ASCII bytes become `=XX`, and so does a space or tab that would end a
    /// line; no encoded line is longer than 76 characters (a soft break `=` continues it). Ends in CRLF.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        // A final line break ends the last line rather than starting an empty one.
        if lines.count > 1 && lines.last?.isEmpty == true { lines.removeLast() }
        for line in lines {
            let bytes = Array(line.utf8)
            var width = 0
            for (i, byte) in bytes.enumerated() {
                let isLast = i == bytes.count - 1
                let literal = (0x21...0x7E).contains(byte) && byte != UInt8(ascii: "=") || ((byte == 0x20 || byte == 0x09) && !isLast)
                let token: [UInt8] = literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                // Leave room for the soft break's `=` unless this token ends the line.
                if width + token.count > (isLast ? 76 : 75) {
                    out += Array("=\r\n".utf8)
                    width = 0
                }
                out += token
                width += token.count
            }
            out += Array("\r\n".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 5322 3.3 date-time in UTC: `Tue, 14 Nov 2023 22:13:20 +0000`.
    static func dateField(_ time: Int64) -> String {
        let t = UTCTime.clamped(time)
        let u = UTCTime(t)
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        // 1970-01-01 was a Thursday.
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(u.month - 1) % 12]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekday), \(two(u.day)) \(month) \(u.year) \(two(u.hour)):\(two(u.minute)):\(two(u.second)) +0000"
    }
}
