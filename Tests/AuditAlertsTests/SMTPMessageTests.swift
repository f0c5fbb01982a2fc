@testable import AuditAlerts
import Foundation
import XCTest

/// The email's bytes (RFC 5322 and MIME, dot-stuffing) and the SMTP URL, without a network.
final class SMTPMessageTests: XCTestCase {
    private func message(to: [String] = ["ops@example.com"], subject: String = "Root login on prod", body: String = "Hello,\nroot logged in.\n",
                         headers: [(String, String)] = []) -> SMTPMessage {
        SMTPMessage(from: "alerts@example.com", to: to, subject: subject, body: body, headers: headers, date: 1_700_000_000, messageID: "abc@example.com")
    }

    private func text(_ m: SMTPMessage) throws -> String { String(decoding: try m.rendered(), as: UTF8.self) }

    func testRendersTheWholeMessageByteForByte() throws {
        let m = message(to: ["ops@example.com", "sec@example.org"], headers: [("X-CloudAudit-Alert-Id", "al-123")])
        XCTAssertEqual(try text(m), """
            Date: Tue, 14 Nov 2023 22:13:20 +0000\r
            From: alerts@example.com\r
            To: ops@example.com,\r
             sec@example.org\r
            Subject: Root login on prod\r
            Message-ID: <abc@example.com>\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: quoted-printable\r
            X-CloudAudit-Alert-Id: al-123\r
            \r
            Hello,\r
            root logged in.\r

            """)
    }

    func testDotStuffingDoublesLeadingDotsAndEndsWithALoneDot() throws {
        let payload = String(decoding: SMTPMessage.dotStuffed(try message(body: ".first\nmiddle\n.\n..two\nend").rendered()), as: UTF8.self)
        XCTAssertTrue(payload.contains("\r\n\r\n..first\r\nmiddle\r\n..\r\n...two\r\nend\r\n.\r\n"), payload)
        XCTAssertTrue(payload.hasSuffix("end\r\n.\r\n"))
        // Only the terminator is a lone dot.
        XCTAssertEqual(payload.components(separatedBy: "\r\n").filter { $0 == "." }.count, 1)
        // A message without a final line break still gets one before the dot.
        XCTAssertEqual(SMTPMessage.dotStuffed(Array("a\r\n.b".utf8)), Array("a\r\n..b\r\n.\r\n".utf8))
    }

    func testNonASCIISubjectIsEncodedWordsThatDecodeBack() throws {
        let subject = "Connexion root refusée ✓ sur la machine de production numéro 7 — vérifiez"
        let rendered = try text(message(subject: subject))
        let lines = rendered.components(separatedBy: "\r\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("Subject: ") }) else { return XCTFail(rendered) }
        var words = [String(lines[start].dropFirst("Subject: ".count))]
        var next = start + 1
        while lines[next].hasPrefix(" ") {
            words.append(String(lines[next].dropFirst()))
            next += 1
        }
        XCTAssertGreaterThan(words.count, 1, "a long subject is folded into several words")
        var decoded: [UInt8] = []
        for word in words {
            XCTAssertLessThanOrEqual(word.count, 75)
            XCTAssertTrue(word.hasPrefix("=?utf-8?B?") && word.hasSuffix("?="), word)
            decoded += Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) ?? Data()
        }
        XCTAssertEqual(String(decoding: decoded, as: UTF8.self), subject)
        XCTAssertTrue(rendered.allSatisfy { $0.isASCII }, "the whole message is 7-bit")
    }

    func testASCIISubjectThatLooksLikeAnEncodedWordIsEncoded() throws {
        XCTAssertTrue(try text(message(subject: "=?utf-8?B?Zm9v?=")).contains("Subject: =?utf-8?B?PT91dGYtOD9CP1ptOXY/PQ==?=\r\n"))
    }

    func testLineBreaksInSubjectAndHeaderValuesCannotStartAHeader() throws {
        let rendered = try text(message(subject: "disk full\r\nBcc: attacker@evil.test", headers: [("X-CloudAudit-Rule", "r1\nBcc: attacker@evil.test\r\n\r\nbody")]))
        let headerLines = rendered.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        XCTAssertFalse(headerLines.contains { $0.lowercased().hasPrefix("bcc") }, rendered)
        XCTAssertTrue(headerLines.contains("Subject: disk full  Bcc: attacker@evil.test"))
        XCTAssertTrue(headerLines.contains("X-CloudAudit-Rule: r1 Bcc: attacker@evil.test    body"))
        XCTAssertFalse(rendered.contains("\r\n\r\nbody"))
        // No bare CR or LF anywhere.
        XCTAssertEqual(rendered.replacingOccurrences(of: "\r\n", with: "").filter { $0 == "\r" || $0 == "\n" }.count, 0)
    }

    func testHeaderNamesAreCheckedAndReservedOnesRefused() {
        for name in ["X-Evil\r\nBcc", "X Evil", "X-Evil:", "", "Bcc", "to", "Subject", "Content-Transfer-Encoding", String(repeating: "X", count: 77)] {
            let error = refusal { try message(headers: [(name, "v")]).rendered() }
            XCTAssertEqual(error?.kind, .invalidMessage, name)
            XCTAssertEqual(error?.isPermanent, true)
        }
        XCTAssertNoThrow(try message(headers: [("Reply-To", "sec@example.com"), ("X-CloudAudit-Alert-Id", "al-1")]).rendered())
    }

    func testAddressesAreCheckedMinimally() {
        for good in ["a@b.c", "ops+alerts@example.com", "first.last@sub.example.co.uk", "x_y@example-host.com"] {
            XCTAssertTrue(SMTPMessage.isValidAddress(good), good)
        }
        for bad in ["", "a", "a@", "@b.c", "a@b@c.d", "a b@c.d", "a@b.c\r\nRCPT TO:<x@y.z>", "<a@b.c>", "a@b.c>", "\"a\"@b.c", "a,b@c.d",
                    "ä@b.c", "a@b..c", "a@-b.c", "a@[127.0.0.1]", String(repeating: "a", count: 65) + "@b.c"] {
            XCTAssertFalse(SMTPMessage.isValidAddress(bad), bad)
        }
        let error = refusal { try message(to: ["ok@example.com", "bad address@example.com"]).rendered() }
        XCTAssertEqual(error?.kind, .invalidMessage)
        XCTAssertTrue(error?.message.contains("bad address@example.com") == true, error?.message ?? "")
        XCTAssertEqual(refusal { try message(to: []).rendered() }?.kind, .invalidMessage)
        XCTAssertEqual(refusal { try message(to: Array(repeating: "a@b.c", count: 101)).rendered() }?.kind, .invalidMessage)
    }

    func testQuotedPrintableBody() {
        XCTAssertEqual(SMTPMessage.quotedPrintable("café = 5€"), "caf=C3=A9 =3D 5=E2=82=AC\r\n")
        XCTAssertEqual(SMTPMessage.quotedPrintable("trailing space \nand tab\t\r\nend"), "trailing space=20\r\nand tab=09\r\nend\r\n")
        XCTAssertEqual(SMTPMessage.quotedPrintable(""), "\r\n")
        XCTAssertEqual(SMTPMessage.quotedPrintable("a\r\rb"), "a\r\n\r\nb\r\n")
        let long = SMTPMessage.quotedPrintable(String(repeating: "é", count: 100) + String(repeating: "x", count: 200))
        let lines = long.components(separatedBy: "\r\n").dropLast()
        XCTAssertGreaterThan(lines.count, 3)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 76 }, long)
        // Undoing the soft breaks and the escapes gives the text back.
        let joined = Array(long.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "\r\n", with: "").utf8)
        var bytes: [UInt8] = []
        var k = 0
        while k < joined.count {
            if joined[k] == UInt8(ascii: "="), k + 2 < joined.count, let byte = UInt8(String(decoding: joined[(k + 1)...(k + 2)], as: UTF8.self), radix: 16) {
                bytes.append(byte)
                k += 3
            } else {
                bytes.append(joined[k])
                k += 1
            }
        }
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), String(repeating: "é", count: 100) + String(repeating: "x", count: 200))
    }

    func testDateField() {
        XCTAssertEqual(SMTPMessage.dateField(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 +0000")
        XCTAssertEqual(SMTPMessage.dateField(0), "Thu, 01 Jan 1970 00:00:00 +0000")
        XCTAssertEqual(SMTPMessage.dateField(-1), "Wed, 31 Dec 1969 23:59:59 +0000")
        XCTAssertEqual(SMTPMessage.dateField(.max), "Fri, 31 Dec 9999 23:59:59 +0000")
    }

    // MARK: - The SMTP URL

    func testSMTPURLs() throws {
        let plain = try SMTPServer(url: "smtp://mail.example.com")
        XCTAssertEqual(plain.endpoint, try AlertEndpoint(host: "mail.example.com", port: 25))
        XCTAssertFalse(plain.implicitTLS)
        XCTAssertNil(plain.username)

        let implicit = try SMTPServer(url: "SMTPS://mail.example.com/")
        XCTAssertEqual(implicit.endpoint.port, 465)
        XCTAssertTrue(implicit.implicitTLS)

        let user = try SMTPServer(url: "smtp://alerts%40example.com@mail.example.com:587")
        XCTAssertEqual(user.username, "alerts@example.com")
        XCTAssertEqual(user.endpoint.port, 587)
        XCTAssertEqual(user.description, "smtp://alerts%40example.com@mail.example.com:587")

        let v6 = try SMTPServer(url: "smtps://[2001:db8::1]:2465")
        XCTAssertEqual(v6.endpoint.host, "2001:db8::1")
        XCTAssertEqual(v6.endpoint.description, "[2001:db8::1]:2465")
    }

    func testSMTPURLWithAPasswordIsRefusedWithoutRepeatingIt() {
        let error = refusal { try SMTPServer(url: "smtp://alerts:hunter2@mail.example.com:587") }
        XCTAssertEqual(error?.kind, .configuration)
        XCTAssertTrue(error?.message.contains("password") == true)
        XCTAssertFalse(error?.message.contains("hunter2") == true, error?.message ?? "")
    }

    func testInvalidSMTPURLs() {
        for url in ["http://mail.example.com", "mail.example.com:25", "smtp://", "smtp://mail.example.com/path", "smtp://mail.example.com?x=1",
                    "smtp://mail.example.com#f", "smtp://mail.example.com:0", "smtp://mail.example.com:65536", "smtp://mail.example.com:abc",
                    "smtp://mail.example.com:", "smtp://2001:db8::1", "smtp://[2001:db8::1", "smtp://[not-v6]:25", "smtp://[::1]x",
                    "smtp://%zz@mail.example.com", "smtp://@mail.example.com", "smtp://mail..example.com", "smtp://mail example.com",
                    "smtp://" + String(repeating: "a", count: 3000)] {
            XCTAssertEqual(refusal { try SMTPServer(url: url) }?.kind, .configuration, url)
        }
    }
}
