@testable import AuditAlerts
import Foundation
import NIOCore
import XCTest

/// The SMTP conversation against a fake server on 127.0.0.1: what the sender says, and what it does
/// when the server refuses, breaks the protocol or says nothing.
final class SMTPSenderTests: XCTestCase {
    private var servers: [FakeSMTPServer] = []

    override func tearDown() async throws {
        for server in servers { await server.stop() }
        servers = []
    }

    private func server(_ script: FakeSMTPServer.Script) async throws -> FakeSMTPServer {
        let server = try await FakeSMTPServer.start(script)
        servers.append(server)
        return server
    }

    private func sender(_ server: FakeSMTPServer, scheme: String = "smtp", user: String? = nil, password: String? = nil, ca: [UInt8]? = nil,
                        timeout: Duration = .seconds(10)) throws -> SMTPSender {
        let url = "\(scheme)://" + (user.map { "\($0)@" } ?? "") + "127.0.0.1:\(server.port)"
        return try SMTPSender(server: try SMTPServer(url: url), from: "alerts@example.com", password: password.map { Array($0.utf8) },
                              caCertificatePEM: ca, timeout: timeout, heloName: "client.example.com", logger: testLogger)
    }

    private func send(_ sender: SMTPSender, to: [String] = ["ops@example.com"]) async throws -> SMTPReceipt {
        try await sender.send(to: to, subject: "Root login", body: "root logged in\n.\n", headers: [("X-CloudAudit-Alert-Id", "al-1")])
    }

    func testSendsAMessageAndRecordsTheConversation() async throws {
        let fake = try await server(FakeSMTPServer.Script())
        let receipt = try await send(try sender(fake), to: ["ops@example.com", "sec@example.org"])
        XCTAssertEqual(receipt, SMTPReceipt(code: 250, text: "2.0.0 Ok: queued as FAKE123"))
        XCTAssertEqual(receipt.description, "250 2.0.0 Ok: queued as FAKE123")
        let recording = fake.recording
        XCTAssertEqual(recording.commands, [
            "EHLO client.example.com", "MAIL FROM:<alerts@example.com>", "RCPT TO:<ops@example.com>", "RCPT TO:<sec@example.org>", "DATA", "QUIT",
        ])
        XCTAssertEqual(recording.tlsAtMailFrom, false)
        XCTAssertTrue(recording.data.contains("Subject: Root login"))
        XCTAssertTrue(recording.data.contains("X-CloudAudit-Alert-Id: al-1"))
        XCTAssertTrue(recording.data.contains("To: ops@example.com,"))
        // The body's lone dot arrives stuffed and did not end the message early.
        XCTAssertEqual(Array(recording.data.suffix(2)), ["root logged in", ".."])
    }

    func testFallsBackToHELOWhenEHLOIsRefused() async throws {
        let fake = try await server(FakeSMTPServer.Script(refuseEHLO: true))
        _ = try await send(try sender(fake))
        XCTAssertEqual(Array(fake.recording.commands.prefix(3)), ["EHLO client.example.com", "HELO client.example.com", "MAIL FROM:<alerts@example.com>"])
    }

    func testSTARTTLSThenAuthPlain() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(startTLS: certificates.server, authMechanisms: ["LOGIN", "PLAIN"]))
        let receipt = try await send(try sender(fake, user: "alerts%40example.com", password: "s3cret pass", ca: certificates.caPEM))
        XCTAssertEqual(receipt.code, 250)
        let commands = fake.recording.commands
        XCTAssertEqual(Array(commands.prefix(3)), ["EHLO client.example.com", "STARTTLS", "EHLO client.example.com"])
        XCTAssertEqual(commands[3], "AUTH PLAIN " + Data("\u{0}alerts@example.com\u{0}s3cret pass".utf8).base64EncodedString())
        XCTAssertEqual(commands[4], "MAIL FROM:<alerts@example.com>")
        XCTAssertEqual(fake.recording.tlsAtMailFrom, true)
    }

    func testAuthLoginWhenOnlyLoginIsOffered() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(startTLS: certificates.server, authMechanisms: ["LOGIN"]))
        _ = try await send(try sender(fake, user: "alerts", password: "pw", ca: certificates.caPEM))
        let commands = fake.recording.commands
        XCTAssertEqual(Array(commands[3...6]), ["AUTH LOGIN", Data("alerts".utf8).base64EncodedString(), Data("pw".utf8).base64EncodedString(),
                                                "MAIL FROM:<alerts@example.com>"])
    }

    func testImplicitTLS() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(implicitTLS: certificates.server, authMechanisms: ["PLAIN"]))
        _ = try await send(try sender(fake, scheme: "smtps", user: "alerts", password: "pw", ca: certificates.caPEM))
        XCTAssertEqual(fake.recording.commands.first, "EHLO client.example.com")
        XCTAssertTrue(fake.recording.commands[1].hasPrefix("AUTH PLAIN "))
        XCTAssertEqual(fake.recording.tlsAtMailFrom, true)
    }

    func testAHostNameWithSeveralAddressesUsesTheOneThatConnects() async throws {
        // localhost may be ::1 as well as 127.0.0.1, and the fake listens on 127.0.0.1 only: the attempt on
        // ::1 fails with its own TLS set-up, which must not spoil the one that connects.
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(implicitTLS: certificates.server))
        let sender = try SMTPSender(server: try SMTPServer(url: "smtps://localhost:\(fake.port)"), from: "alerts@example.com",
                                    caCertificatePEM: certificates.caPEM, heloName: "client.example.com", logger: testLogger)
        _ = try await send(sender)
        XCTAssertEqual(fake.recording.tlsAtMailFrom, true)
    }

    func testCancellingASendStopsItPromptly() async throws {
        let fake = try await server(FakeSMTPServer.Script(opening: .silence))
        let sender = try sender(fake, timeout: .seconds(60))
        let start = ContinuousClock.now
        let task = Task { try await sender.send(to: ["ops@example.com"], subject: "s", body: "b") }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled send succeeded")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    func testCredentialsAreNeverSentWithoutTLS() async throws {
        let fake = try await server(FakeSMTPServer.Script(authMechanisms: ["PLAIN", "LOGIN"]))
        let error = await alertError { try await self.send(try self.sender(fake, user: "alerts", password: "hunter2")) }
        XCTAssertEqual(error?.kind, .tls)
        XCTAssertEqual(error?.isPermanent, true)
        XCTAssertTrue(error?.message.contains("does not offer STARTTLS and a password is configured") == true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("127.0.0.1:\(fake.port)") == true)
        XCTAssertFalse(fake.recording.commands.contains { $0.hasPrefix("AUTH") || $0.hasPrefix("MAIL") })
    }

    func testWithoutCredentialsAPlainServerIsUsedAndSTARTTLSTakenWhenOffered() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(startTLS: certificates.server))
        _ = try await send(try sender(fake, ca: certificates.caPEM))
        XCTAssertEqual(fake.recording.commands[1], "STARTTLS")
        XCTAssertEqual(fake.recording.tlsAtMailFrom, true)
    }

    func testAnUntrustedCertificateStopsTheExchange() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(startTLS: certificates.server))
        // No CA given: the system's roots do not know the test CA.
        let error = await alertError { try await self.send(try self.sender(fake)) }
        XCTAssertEqual(error?.kind, .tls)
        XCTAssertEqual(error?.isPermanent, true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("does not verify") == true, error?.message ?? "")
        XCTAssertFalse(fake.recording.commands.contains { $0.hasPrefix("MAIL") })
    }

    func testACertificateForAnotherHostIsRefused() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(startTLS: certificates.otherName))
        let error = await alertError { try await self.send(try self.sender(fake, ca: certificates.caPEM)) }
        XCTAssertEqual(error?.kind, .tls)
        XCTAssertTrue(error?.message.contains("not for that host") == true, error?.message ?? "")
    }

    func testPlaintextInjectedAfterSTARTTLSIsRefused() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(startTLS: certificates.server, startTLSReply: "220 2.0.0 Ready\r\n250 injected"))
        let error = await alertError { try await self.send(try self.sender(fake, ca: certificates.caPEM)) }
        XCTAssertEqual(error?.kind, .tls)
        XCTAssertTrue(error?.message.contains("right after its reply to STARTTLS") == true, error?.message ?? "")
    }

    func testARejectedRecipientFailsTheSendNamingIt() async throws {
        let fake = try await server(FakeSMTPServer.Script(rejectRecipient: "nobody@example.com"))
        let error = await alertError { try await self.send(try self.sender(fake), to: ["ops@example.com", "nobody@example.com", "sec@example.com"]) }
        XCTAssertEqual(error?.kind, .refused)
        XCTAssertEqual(error?.isPermanent, true)
        XCTAssertEqual(error?.message, "the SMTP server at 127.0.0.1:\(fake.port) refused recipient nobody@example.com: "
            + "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table")
        XCTAssertFalse(fake.recording.commands.contains("DATA"))
        XCTAssertFalse(fake.recording.commands.contains("RCPT TO:<sec@example.com>"))
    }

    func testATemporaryRefusalIsNotPermanent() async throws {
        let fake = try await server(FakeSMTPServer.Script(dataReply: "451 4.3.0 Try again later"))
        let error = await alertError { try await self.send(try self.sender(fake)) }
        XCTAssertEqual(error?.kind, .refused)
        XCTAssertEqual(error?.isPermanent, false)
        XCTAssertTrue(error?.message.hasSuffix("refused the message: 451 4.3.0 Try again later") == true, error?.message ?? "")
    }

    func testAServerEchoingThePasswordHasItRedacted() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await server(FakeSMTPServer.Script(startTLS: certificates.server, authMechanisms: ["PLAIN"],
                                                          authReply: "535 5.7.8 bad credentials {token} hunter2"))
        let error = await alertError { try await self.send(try self.sender(fake, user: "alerts", password: "hunter2", ca: certificates.caPEM)) }
        XCTAssertEqual(error?.kind, .refused)
        let message = error?.message ?? ""
        XCTAssertTrue(message.contains("refused the credentials of user alerts: 535 5.7.8 bad credentials <redacted> <redacted>"), message)
        XCTAssertFalse(message.contains("hunter2"))
        XCTAssertFalse(message.contains(Data("\u{0}alerts\u{0}hunter2".utf8).base64EncodedString()))
    }

    func testAnOverlongLineIsAProtocolViolation() async throws {
        let fake = try await server(FakeSMTPServer.Script(opening: .raw(Array(("220 " + String(repeating: "x", count: 100_000)).utf8))))
        let error = await alertError { try await self.send(try self.sender(fake)) }
        XCTAssertEqual(error?.kind, .protocolViolation)
        XCTAssertTrue(error?.message.contains("longer than 4096 bytes") == true, error?.message ?? "")
    }

    func testAnEndlessMultiLineReplyIsCutOff() async throws {
        let fake = try await server(FakeSMTPServer.Script(extraEHLOLines: 500))
        let error = await alertError { try await self.send(try self.sender(fake)) }
        XCTAssertEqual(error?.kind, .protocolViolation)
        XCTAssertTrue(error?.message.contains("more than 100 lines") == true, error?.message ?? "")
    }

    func testGarbageIsNotTakenForAReply() async throws {
        for garbage in [Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8), [0xFF, 0x00, 0xFE, 0x0A], Array("2\r\n".utf8), Array("250x\r\n".utf8),
                        Array("220-first\r\n250 other code\r\n".utf8), Array("999 no\r\n".utf8)] {
            let fake = try await server(FakeSMTPServer.Script(opening: .raw(garbage)))
            let error = await alertError { try await self.send(try self.sender(fake)) }
            XCTAssertEqual(error?.kind, .protocolViolation, "\(garbage)")
            XCTAssertTrue(error?.message.contains("not an SMTP reply") == true, error?.message ?? "")
        }
    }

    func testAGreetingThatRefusesIsReported() async throws {
        let fake = try await server(FakeSMTPServer.Script(opening: .greeting("554 5.3.2 no service for you")))
        let error = await alertError { try await self.send(try self.sender(fake)) }
        XCTAssertEqual(error?.kind, .refused)
        XCTAssertTrue(error?.message.contains("refused the connection: 554 5.3.2 no service for you") == true, error?.message ?? "")
    }

    func testAServerThatNeverAnswersTimesOut() async throws {
        let fake = try await server(FakeSMTPServer.Script(opening: .silence))
        let start = ContinuousClock.now
        let error = await alertError { try await self.send(try self.sender(fake, timeout: .milliseconds(300))) }
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertEqual(error?.isPermanent, false)
        XCTAssertTrue(error?.message.contains("within 0.3 s (waiting on the greeting)") == true, error?.message ?? "")
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    func testAServerThatClosesMidwayIsReported() async throws {
        let fake = try await server(FakeSMTPServer.Script(closeAfterMailFrom: true))
        let error = await alertError { try await self.send(try self.sender(fake)) }
        XCTAssertEqual(error?.kind, .protocolViolation)
        XCTAssertEqual(error?.isPermanent, false)
        XCTAssertTrue(error?.message.contains("closed the connection during MAIL FROM") == true, error?.message ?? "")
    }

    func testNoServerListeningAndInvalidInput() async throws {
        let port = try await TestListener.closedPort()
        let sender = try SMTPSender(server: try SMTPServer(url: "smtp://127.0.0.1:\(port)"), from: "alerts@example.com", logger: testLogger)
        let error = await alertError { try await sender.send(to: ["ops@example.com"], subject: "s", body: "b") }
        XCTAssertEqual(error?.kind, .connection)
        XCTAssertTrue(error?.message.contains("could not connect to the SMTP server at 127.0.0.1:\(port)") == true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("refused") == true, error?.message ?? "")
        // Invalid input is refused before connecting.
        let invalid = await alertError { try await sender.send(to: ["ops@example.com\r\nDATA"], subject: "s", body: "b") }
        XCTAssertEqual(invalid?.kind, .invalidMessage)
    }

    func testConfigurationIsChecked() throws {
        let server = try SMTPServer(url: "smtp://mail.example.com")
        let withUser = try SMTPServer(url: "smtp://alerts@mail.example.com")
        for make in [
            { try SMTPSender(server: server, from: "not an address", logger: testLogger) },
            { try SMTPSender(server: server, from: "a@example.com", password: Array("pw".utf8), logger: testLogger) },
            { try SMTPSender(server: withUser, from: "a@example.com", password: [0x70, 0x00], logger: testLogger) },
            { try SMTPSender(server: server, from: "a@example.com", caCertificatePEM: Array("not a certificate".utf8), logger: testLogger) },
            { try SMTPSender(server: server, from: "a@example.com", timeout: .zero, logger: testLogger) },
            { try SMTPSender(server: server, from: "a@example.com", heloName: "bad name", logger: testLogger) },
        ] as [() throws -> SMTPSender] {
            XCTAssertThrowsError(try make()) { error in
                XCTAssertEqual((error as? AlertSendError)?.kind, .configuration, "\(error)")
                XCTAssertFalse("\(error)".contains("pw"))
            }
        }
    }
}
