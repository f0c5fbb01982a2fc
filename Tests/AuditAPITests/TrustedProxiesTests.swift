import AuditAPI
import AuditModel
@testable import AuditServer
import Logging
import XCTest

final class TrustedProxiesTests: XCTestCase {
    func proxies(_ text: String) throws -> TrustedProxies {
        guard case .success(let p) = TrustedProxies.parse(text) else { throw XCTSkip("unparsed: \(text)") }
        return p
    }

    func testNetworksParseAndMatch() throws {
        let n = try XCTUnwrap(IPNetwork("10.0.0.0/8"))
        XCTAssertTrue(n.contains(try XCTUnwrap(IPAddress("10.255.1.2"))))
        XCTAssertFalse(n.contains(try XCTUnwrap(IPAddress("11.0.0.1"))))
        XCTAssertFalse(n.contains(try XCTUnwrap(IPAddress("::1"))), "another family never matches")
        let v6 = try XCTUnwrap(IPNetwork("fd00::/8"))
        XCTAssertTrue(v6.contains(try XCTUnwrap(IPAddress("fd12:3456::1"))))
        XCTAssertTrue(try XCTUnwrap(IPNetwork("192.168.1.0/23")).contains(try XCTUnwrap(IPAddress("192.168.0.7"))), "a prefix inside a byte")
        XCTAssertEqual(IPAddress("::ffff:10.1.2.3")?.description, "10.1.2.3", "an IPv4-mapped address is its IPv4 address")
        XCTAssertEqual(IPNetwork("::1")?.description, "::1/128")
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/0008", "300.1.2.3", "10.0.0", "[::1]", "::1%eth0x",
                    "1.2.3.4:80", "fd00::/129", String(repeating: "1", count: 100)] {
            XCTAssertNil(IPNetwork(bad), bad)
        }
        XCTAssertNotNil(IPNetwork("0.0.0.0/0"))
    }

    func testTheClientIsThePeerUnlessThePeerIsTrusted() throws {
        let p = try proxies("127.0.0.1, 10.0.0.0/8")
        XCTAssertEqual(TrustedProxies.none.client(peer: "127.0.0.1", forwarded: [], xForwardedFor: ["203.0.113.9"]), "127.0.0.1")
        XCTAssertEqual(p.client(peer: "198.51.100.1", forwarded: [], xForwardedFor: ["203.0.113.9"]), "198.51.100.1",
                       "an untrusted peer's header is its own word")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: [], xForwardedFor: ["203.0.113.9"]), "203.0.113.9")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: [], xForwardedFor: ["6.6.6.6, 203.0.113.9", "10.1.1.1"]), "203.0.113.9",
                       "the rightmost untrusted hop, across header lines; the client-written left part is not taken")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: [], xForwardedFor: ["10.2.2.2, 10.1.1.1"]), "10.2.2.2", "all trusted: the leftmost")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: [], xForwardedFor: ["junk, 10.1.1.1"]), "10.1.1.1", "not an address: the last vouched hop")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: [], xForwardedFor: []), "127.0.0.1", "no header: the proxy itself")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: [#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711""#], xForwardedFor: ["9.9.9.9"]),
                       "2001:db8:cafe::17", "Forwarded wins over X-Forwarded-For; brackets and port stripped")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: ["for=192.0.2.60:8080"], xForwardedFor: []), "192.0.2.60")
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: ["by=10.0.0.1"], xForwardedFor: []), "127.0.0.1", "no for=: the proxy")
        let many = Array(repeating: "1.1.1.1", count: 10_000).joined(separator: ",") + ",10.0.0.1"
        XCTAssertEqual(p.client(peer: "127.0.0.1", forwarded: [], xForwardedFor: [many]), "1.1.1.1", "bounded: the nearest hops only")
    }

    func testJSONLogLinesAreOneObjectEach() throws {
        let line = JSONLineLogHandler.line(time: Date(timeIntervalSince1970: 1_796_000_000.123), level: .info, label: "cloudaudit",
                                           message: "request \"refused\"\nnext", source: "AuditAPI",
                                           metadata: ["request.id": "r-1", "audit.account": "100000000001", "message": "hidden",
                                                      "list": .array(["a", "b"])])
        XCTAssertEqual(line.last, UInt8(ascii: "\n"))
        XCTAssertEqual(line.filter { $0 == UInt8(ascii: "\n") }.count, 1, "one line, whatever the message holds")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        XCTAssertEqual(object["time"] as? String, "2026-11-30T00:53:20.123Z")
        XCTAssertEqual(object["level"] as? String, "info")
        XCTAssertEqual(object["message"] as? String, "request \"refused\"\nnext", "a metadata key cannot hide a fixed field")
        XCTAssertEqual(object["request.id"] as? String, "r-1")
        XCTAssertEqual(object["list"] as? [String], ["a", "b"])
    }
}
