@testable import AuditAlerts
import AuditModel
import Foundation
import XCTest

/// RFC 5424 messages with octet-counting framing, byte for byte, and the syslog address.
final class SyslogMessageTests: XCTestCase {
    private let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    private func frame(severity: AlertSeverity = .critical, facility: SyslogFacility = .local0, timestamp: Date = Date(timeIntervalSince1970: 1_700_000_000.123456),
                       hostname: String = "host.example.com", appName: String = "cloudaudit", procId: String = "4242", msgId: String = "ALERT",
                       structuredData: [SyslogStructuredElement] = [], message: String = "") throws -> [UInt8] {
        try SyslogMessage.framed(facility: facility, severity: severity, timestamp: timestamp, hostname: hostname, appName: appName,
                                 procId: procId, msgId: msgId, structuredData: structuredData, message: message)
    }

    func testFramesAWholeMessageByteForByte() throws {
        let bytes = try frame(structuredData: [SyslogStructuredElement(id: "alert@32473", parameters: [("rule", #"root "login" \ [x]"#), ("severity", "critical")])],
                              message: "Root login from 203.0.113.9 ✓")
        let expected = Array(#"172 <130>1 2023-11-14T22:13:20.123456Z host.example.com cloudaudit 4242 ALERT [alert@32473 rule="root \"login\" \\ [x\]" severity="critical"] "#.utf8)
            + bom + Array("Root login from 203.0.113.9 ✓".utf8)
        XCTAssertEqual(bytes, expected, String(decoding: bytes, as: UTF8.self))
    }

    func testNilValuesAndNoMessage() throws {
        let bytes = try frame(severity: .info, facility: .user, timestamp: Date(timeIntervalSince1970: 0), hostname: "", appName: "", procId: "", msgId: "")
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "43 <14>1 1970-01-01T00:00:00.000000Z - - - - -")
    }

    func testSeveritiesAndFacilities() throws {
        XCTAssertEqual(AlertSeverity.info.syslogSeverity, 6)
        XCTAssertEqual(AlertSeverity.warning.syslogSeverity, 4)
        XCTAssertEqual(AlertSeverity.critical.syslogSeverity, 2)
        XCTAssertTrue(String(decoding: try frame(severity: .warning), as: UTF8.self).hasPrefix("75 <132>1 "))
        XCTAssertTrue(String(decoding: try frame(severity: .info, facility: .logAudit), as: UTF8.self).contains(" <110>1 "))
        XCTAssertEqual(SyslogFacility(code: 23)?.code, 23)
        XCTAssertNil(SyslogFacility(code: 24))
        XCTAssertNil(SyslogFacility(code: -1))
    }

    func testTimestamps() {
        XCTAssertEqual(SyslogMessage.rfc3339(Date(timeIntervalSince1970: 1_700_000_000.5)), "2023-11-14T22:13:20.500000Z")
        XCTAssertEqual(SyslogMessage.rfc3339(Date(timeIntervalSince1970: -0.25)), "1969-12-31T23:59:59.750000Z")
        // Nothing a Date holds traps: far off times are clamped, an infinite one is taken as 1970.
        XCTAssertEqual(SyslogMessage.rfc3339(Date(timeIntervalSince1970: 1e300)), "9999-12-31T23:59:59.000000Z")
        XCTAssertEqual(SyslogMessage.rfc3339(Date(timeIntervalSince1970: -1e300)), "0001-01-01T00:00:00.000000Z")
        XCTAssertEqual(SyslogMessage.rfc3339(Date(timeIntervalSince1970: .infinity)), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(SyslogMessage.rfc3339(Date(timeIntervalSince1970: .nan)), "1970-01-01T00:00:00.000000Z")
    }

    func testHeaderFieldsArePrintableASCIIWithinTheirLimits() {
        for (field, value) in [("MSGID", "two words"), ("MSGID", String(repeating: "m", count: 33)), ("MSGID", "ALERT\n"), ("MSGID", "ALÉRT"),
                               ("HOSTNAME", String(repeating: "h", count: 256)), ("APP-NAME", String(repeating: "a", count: 49)), ("PROCID", "1 2")] {
            let error = refusal {
                try frame(hostname: field == "HOSTNAME" ? value : "h", appName: field == "APP-NAME" ? value : "a",
                          procId: field == "PROCID" ? value : "1", msgId: field == "MSGID" ? value : "M")
            }
            XCTAssertEqual(error?.kind, .invalidMessage, "\(field) \(value)")
            XCTAssertTrue(error?.message.contains(field) == true, error?.message ?? "")
        }
        XCTAssertNoThrow(try frame(hostname: String(repeating: "h", count: 255), appName: String(repeating: "a", count: 48),
                                   procId: String(repeating: "p", count: 128), msgId: String(repeating: "m", count: 32)))
    }

    func testStructuredDataIsValidated() {
        func sd(_ id: String, _ parameters: [(String, String)] = [("k", "v")]) -> [SyslogStructuredElement] {
            [SyslogStructuredElement(id: id, parameters: parameters)]
        }
        for id in ["alert", "alert@", "@32473", "alert@x1", "al ert@32473", "alert=x@32473", "al]ert@32473", "al\"ert@32473", "a@1@2",
                   String(repeating: "a", count: 27) + "@32473"] {
            XCTAssertEqual(refusal { try frame(structuredData: sd(id)) }?.kind, .invalidMessage, id)
        }
        for name in ["", "a b", "a=b", "a]", "a\"", String(repeating: "n", count: 33), "é"] {
            XCTAssertEqual(refusal { try frame(structuredData: sd("alert@32473", [(name, "v")])) }?.kind, .invalidMessage, name)
        }
        let twice = sd("alert@32473") + sd("alert@32473")
        XCTAssertEqual(refusal { try frame(structuredData: twice) }?.kind, .invalidMessage)
        XCTAssertNoThrow(try frame(structuredData: sd("origin", [("ip", "192.0.2.1")]) + sd("alert@32473.1.2", [])))
        XCTAssertEqual(SyslogMessage.escaped(#"a"b\c]d[e"#), #"a\"b\\c\]d[e"#)
    }

    func testALongMessageIsClippedToTheMaximumLength() throws {
        let bytes = try frame(message: String(repeating: "é", count: 10_000))
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")), let length = Int(String(decoding: bytes[..<space], as: UTF8.self)) else {
            return XCTFail("no MSG-LEN")
        }
        XCTAssertEqual(length, bytes.count - space - 1)
        XCTAssertLessThanOrEqual(length, SyslogMessage.maximumLength)
        XCTAssertGreaterThan(length, SyslogMessage.maximumLength - 4)
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).hasSuffix("é…"))
        let huge = [SyslogStructuredElement(id: "alert@32473", parameters: [("v", String(repeating: "x", count: 9000))])]
        XCTAssertEqual(refusal { try frame(structuredData: huge) }?.kind, .invalidMessage)
    }

    func testSyslogReceiverAddresses() throws {
        XCTAssertEqual(try SyslogReceiver(address: "logs.example.com:6514", protocol: "tls"),
                       SyslogReceiver(endpoint: try AlertEndpoint(host: "logs.example.com", port: 6514), transport: .tls))
        XCTAssertEqual(try SyslogReceiver(address: "logs.example.com", protocol: "TLS").endpoint.port, 6514)
        XCTAssertEqual(try SyslogReceiver(address: "192.0.2.7", protocol: "tcp").endpoint.port, 514)
        let v6 = try SyslogReceiver(address: "[2001:db8::7]:1514", protocol: "tcp")
        XCTAssertEqual(v6.endpoint.host, "2001:db8::7")
        XCTAssertEqual(v6.description, "tcp://[2001:db8::7]:1514")
        XCTAssertEqual(try AlertEndpoint(host: "2001:db8::7", port: 1514), v6.endpoint)
        for (host, port) in [("logs.example.com", 0), ("logs.example.com", 65536), ("logs.example.com", -1), ("[2001:db8::7]", 514), ("a b", 514), ("", 514)] {
            XCTAssertEqual(refusal { try AlertEndpoint(host: host, port: port) }?.kind, .configuration, "\(host) \(port)")
        }
        for (address, name) in [("logs.example.com:514", "udp"), ("2001:db8::7", "tcp"), ("[2001:db8::7", "tcp"), ("[192.0.2.7]:514", "tcp"),
                                ("logs.example.com:99999", "tcp"), ("logs.example.com:-1", "tcp"), ("", "tcp"), ("logs/x:514", "tcp"),
                                (":514", "tcp"), ("logs.example.com:514:1", "tcp")] {
            XCTAssertEqual(refusal { try SyslogReceiver(address: address, protocol: name) }?.kind, .configuration, "\(address) \(name)")
        }
    }
}
