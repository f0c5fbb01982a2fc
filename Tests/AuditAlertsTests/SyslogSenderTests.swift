@testable import AuditAlerts
import AuditModel
import Foundation
import XCTest

/// Syslog alerts to a fake receiver on 127.0.0.1, over TCP and TLS.
final class SyslogSenderTests: XCTestCase {
    private var receivers: [FakeSyslogReceiver] = []

    override func tearDown() async throws {
        for receiver in receivers { await receiver.stop() }
        receivers = []
    }

    private func receiver(tls: Bool = false, silent: Bool = false, certificates: TestCertificates? = nil) async throws -> FakeSyslogReceiver {
        let receiver = try await FakeSyslogReceiver.start(tls: tls ? certificates?.server : nil, silent: silent)
        receivers.append(receiver)
        return receiver
    }

    private func sender(_ port: Int, transport: String = "tcp", ca: [UInt8]? = nil, timeout: Duration = .seconds(10)) throws -> SyslogSender {
        try SyslogSender(receiver: try SyslogReceiver(address: "127.0.0.1:\(port)", protocol: transport), caCertificatePEM: ca,
                         hostname: "node1.example.com", timeout: timeout, logger: testLogger)
    }

    private let element = SyslogStructuredElement(id: "alert@32473", parameters: [("rule", "root-login"), ("id", "al-1")])

    /// The frames' SYSLOG-MSGs as text, after the receiver has seen `count` of them.
    private func messages(_ receiver: FakeSyslogReceiver, count: Int) async -> [String] {
        await eventually { receiver.recording.frames.count >= count }
        XCTAssertEqual(receiver.recording.framingErrors, [])
        return receiver.recording.frames.map { String(decoding: $0, as: UTF8.self) }
    }

    private func assertAlertFrame(_ message: String?, pri: Int, text: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let message else { return XCTFail("no frame arrived", file: file, line: line) }
        let pid = ProcessInfo.processInfo.processIdentifier
        XCTAssertTrue(message.hasPrefix("<\(pri)>1 "), message, file: file, line: line)
        XCTAssertTrue(message.hasSuffix(" node1.example.com cloudaudit \(pid) ALERT [alert@32473 rule=\"root-login\" id=\"al-1\"] \u{FEFF}\(text)"),
                      message, file: file, line: line)
    }

    func testSendsOctetCountedFramesOverTCP() async throws {
        let fake = try await receiver()
        let sender = try sender(fake.port)
        try await sender.send(severity: .critical, msgId: "ALERT", structuredData: [element], message: "Root login from 203.0.113.9")
        try await sender.send(severity: .info, msgId: "ALERT", structuredData: [element], message: "second ✓")
        let received = await messages(fake, count: 2)
        XCTAssertEqual(received.count, 2)
        assertAlertFrame(received.first, pri: 130, text: "Root login from 203.0.113.9")
        assertAlertFrame(received.last, pri: 134, text: "second ✓")
    }

    func testSendsOverTLS() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await receiver(tls: true, certificates: certificates)
        try await sender(fake.port, transport: "tls", ca: certificates.caPEM).send(severity: .warning, msgId: "ALERT", structuredData: [element], message: "over TLS")
        assertAlertFrame(await messages(fake, count: 1).first, pri: 132, text: "over TLS")
    }

    func testAnUntrustedReceiverIsRefused() async throws {
        let certificates = try TestCertificates.load()
        let fake = try await receiver(tls: true, certificates: certificates)
        let error = await alertError { try await self.sender(fake.port, transport: "tls").send(severity: .critical, msgId: "ALERT", message: "x") }
        XCTAssertEqual(error?.kind, .tls)
        XCTAssertEqual(error?.isPermanent, true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("the syslog receiver at 127.0.0.1:\(fake.port)") == true, error?.message ?? "")
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(fake.recording.frames.count, 0)
    }

    func testAReceiverThatNeverAnswersTheHandshakeTimesOut() async throws {
        let fake = try await receiver(silent: true)
        let start = ContinuousClock.now
        let error = await alertError {
            try await self.sender(fake.port, transport: "tls", timeout: .milliseconds(300)).send(severity: .critical, msgId: "ALERT", message: "x")
        }
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertTrue(error?.message.contains("did not take the message within 0.3 s (waiting on the TLS handshake)") == true, error?.message ?? "")
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    func testNoReceiverListeningAndAnInvalidMessage() async throws {
        let port = try await TestListener.closedPort()
        let error = await alertError { try await self.sender(port).send(severity: .critical, msgId: "ALERT", message: "x") }
        XCTAssertEqual(error?.kind, .connection)
        XCTAssertEqual(error?.isPermanent, false)
        XCTAssertTrue(error?.message.contains("could not connect to the syslog receiver at 127.0.0.1:\(port)") == true, error?.message ?? "")
        // An invalid message is refused before connecting.
        let invalid = await alertError { try await self.sender(port).send(severity: .critical, msgId: "two words", message: "x") }
        XCTAssertEqual(invalid?.kind, .invalidMessage)
    }

    func testConfigurationIsChecked() throws {
        let receiver = try SyslogReceiver(address: "127.0.0.1:6514", protocol: "tls")
        for make in [
            { try SyslogSender(receiver: receiver, appName: "cloud audit", logger: testLogger) },
            { try SyslogSender(receiver: receiver, hostname: "bad\nhost", logger: testLogger) },
            { try SyslogSender(receiver: receiver, caCertificatePEM: Array("junk".utf8), logger: testLogger) },
            { try SyslogSender(receiver: receiver, timeout: .seconds(-1), logger: testLogger) },
        ] as [() throws -> SyslogSender] {
            XCTAssertThrowsError(try make()) { error in XCTAssertEqual((error as? AlertSendError)?.kind, .configuration, "\(error)") }
        }
        let defaults = try SyslogSender(receiver: receiver, logger: testLogger)
        XCTAssertEqual(defaults.appName, "cloudaudit")
        XCTAssertEqual(defaults.facility, .local0)
        XCTAssertFalse(defaults.hostname.isEmpty)
    }
}
