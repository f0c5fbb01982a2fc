import AuditDelivery
import Crypto
import Foundation
import Logging
import XCTest

final class WebhookTests: XCTestCase {
    private let secret = Array("hook-secret-0123456789".utf8)
    private let body = Array(#"{"bucket":"b","objectKeys":["k"],"trackId":1,"accountId":"100","messageId":"m-1"}"#.utf8)

    func testSignatureIsTheHexHMACOfTheBody() {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(WebhookSender.signature(secret: secret, body: body), "sha256=" + hex)
        // RFC 4231 test case 2 pins the algorithm itself.
        XCTAssertEqual(WebhookSender.signature(secret: Array("Jefe".utf8), body: Array("what do ya want for nothing?".utf8)),
                       "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertNotEqual(WebhookSender.signature(secret: secret, body: body + [0x20]), WebhookSender.signature(secret: secret, body: body))
    }

    func testSendPostsTheSignedBody() async throws {
        let server = try await TestHTTPServer.start { request, _ in
            if request.uri.hasPrefix("/ok") { return .init(.noContent) }
            if request.uri.hasPrefix("/moved") { return .init(.found, headers: [("Location", "/ok/elsewhere")]) }
            return .init(.serviceUnavailable, body: "busy")
        }
        let sender = WebhookSender(logger: Logger(label: "webhook-test"))
        let acknowledged = try await sender.send(url: "http://127.0.0.1:\(server.port)/ok/hook", secret: secret, body: body, messageId: "m-1")
        XCTAssertTrue(acknowledged)
        let refused = try await sender.send(url: "http://127.0.0.1:\(server.port)/busy", secret: secret, body: body, messageId: "m-2")
        XCTAssertFalse(refused)
        let redirected = try await sender.send(url: "http://127.0.0.1:\(server.port)/moved", secret: secret, body: body, messageId: "m-3")
        XCTAssertFalse(redirected, "a redirect is not an acknowledgement")
        try await server.shutdown()

        let requests = server.requests
        XCTAssertEqual(requests.count, 3, "redirects are not followed")
        let first = try XCTUnwrap(requests.first)
        XCTAssertEqual(first.method, .POST)
        XCTAssertEqual(first.uri, "/ok/hook")
        XCTAssertEqual(first.body, body)
        XCTAssertEqual(first.headers["Content-Type"], ["application/json"])
        XCTAssertEqual(first.headers["X-CloudAudit-Message-Id"], ["m-1"])
        XCTAssertEqual(first.headers["X-CloudAudit-Signature"], [WebhookSender.signature(secret: secret, body: body)])
    }

    func testNetworkErrorsThrowWithoutTheURLPath() async throws {
        let sender = WebhookSender(timeout: .seconds(5), logger: Logger(label: "webhook-test"))
        let start = ContinuousClock.now
        do {
            _ = try await sender.send(url: "http://127.0.0.1:1/hooks/T000/SECRET-TOKEN", secret: secret, body: body, messageId: "m-1")
            XCTFail("expected an error")
        } catch let error as WebhookError {
            XCTAssertTrue(error.message.contains("http://127.0.0.1:1"), error.message)
            XCTAssertFalse(error.message.contains("SECRET-TOKEN"), error.message)
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(4), "a refused connection fails at once")
        do {
            _ = try await sender.send(url: "ftp://example.com/x", secret: secret, body: body, messageId: "m-1")
            XCTFail("expected an error")
        } catch is WebhookError {}
        do {
            _ = try await sender.send(url: "http://127.0.0.1:1/x", secret: secret, body: body, messageId: "bad\r\nX-Injected: 1")
            XCTFail("expected an error")
        } catch is WebhookError {}
    }
}
