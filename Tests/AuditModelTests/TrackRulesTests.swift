import AuditModel
import AuditSynthetic
import XCTest

final class TrackRulesTests: XCTestCase {
    func code(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as TrackValidationError { return e.code } catch { return "unexpected \(error)" }
        return nil
    }

    func testNames() {
        XCTAssertNil(code { try TrackRules.checkName("abc") })
        XCTAssertNil(code { try TrackRules.checkName("Audit_set-01" + String(repeating: "x", count: 36)) }, "48 characters")
        XCTAssertEqual(code { try TrackRules.checkName("ab") }, "InvalidParameterValue")
        XCTAssertEqual(code { try TrackRules.checkName(String(repeating: "x", count: 49)) }, "InvalidParameterValue")
        XCTAssertEqual(code { try TrackRules.checkName("has space") }, "InvalidParameterValue")
        XCTAssertEqual(code { try TrackRules.checkName("名字名字") }, "InvalidParameterValue")
    }

    func testFilters() {
        func f(_ a: String, _ r: String, _ n: [String]) -> String? { code { try TrackRules.checkFilter(TrackFilter(actionType: a, resourceType: r, eventNames: n)) } }
        XCTAssertNil(f("Read", "cvm", ["RunInstances"]))
        XCTAssertNil(f("*", "*", ["*"]))
        XCTAssertNil(f("Write", "cos", ["*"]))
        XCTAssertEqual(f("read", "cvm", ["*"]), "InvalidParameterValue", "case-sensitive like the official model")
        XCTAssertEqual(f("*", "*", ["RunInstances"]), "InvalidParameterValue", "all products need all names")
        XCTAssertEqual(f("*", "cvm", []), "InvalidParameterValue")
        XCTAssertEqual(f("*", "cvm", (0..<11).map { "E\($0)" }), "InvalidParameterValue")
        XCTAssertNil(f("*", "cvm", (0..<10).map { "E\($0)" }))
        XCTAssertEqual(f("*", "cvm", ["*", "RunInstances"]), "InvalidParameterValue")
        XCTAssertEqual(f("*", "", ["*"]), "InvalidParameterValue")
    }

    func testBucketsPrefixesQueues() {
        XCTAssertNil(code { try TrackRules.checkBucketName("audit-logs-1") })
        for bad in ["-audit", "audit-", "Audit", "a_b", "", String(repeating: "a", count: 51)] {
            XCTAssertEqual(code { try TrackRules.checkBucketName(bad) }, "InvalidParameterValue.CosNameError", bad)
        }
        XCTAssertNil(code { try TrackRules.checkPrefix("cloudaudit2024") })
        for bad in ["ab", "has-dash", "with/slash", String(repeating: "a", count: 41)] {
            XCTAssertEqual(code { try TrackRules.checkPrefix(bad) }, "InvalidParameterValue.LogFilePrefixError", bad)
        }
        XCTAssertNil(code { try TrackRules.checkQueueName("audit-queue1") })
        for bad in ["1queue", "", "q_q", String(repeating: "q", count: 65)] {
            XCTAssertEqual(code { try TrackRules.checkQueueName(bad) }, "InvalidParameterValue.QueueNameError", bad)
        }
    }

    func testMatching() {
        let t = Track(accountId: 1, name: "set", enabled: true, storage: TrackStorage(region: "local", name: "b", prefix: "abc"), filters: [
            TrackFilter(actionType: "Write", resourceType: "cvm", eventNames: ["RunInstances", "TerminateInstances"]),
            TrackFilter(actionType: "*", resourceType: "cos", eventNames: ["*"]),
        ])
        XCTAssertTrue(t.matches(actionType: "Write", resourceType: "cvm", eventName: "RunInstances"))
        XCTAssertFalse(t.matches(actionType: "Read", resourceType: "cvm", eventName: "RunInstances"))
        XCTAssertFalse(t.matches(actionType: "Write", resourceType: "cvm", eventName: "DescribeInstances"))
        XCTAssertTrue(t.matches(actionType: "Read", resourceType: "cos", eventName: "GetObject"))
        XCTAssertFalse(t.matches(actionType: "Read", resourceType: "cam", eventName: "GetObject"))
        XCTAssertEqual(TrackStorage(region: "r", name: "logs", prefix: "abc", appId: "1250000000").bucket, "logs-1250000000")
    }

    func testUTCTimeForms() {
        let t = UTCTime(1_709_251_198)  // 2024-02-29 23:59:58 UTC
        XCTAssertEqual(t.dateTime, "2024-02-29 23:59:58")
        XCTAssertEqual(t.basicTimestamp, "20240229T235958Z")
        XCTAssertEqual(UTCTime(-1).dateTime, "1969-12-31 23:59:59")
    }

    func testBasicTimestampParsesBack() {
        var rng = SystemRandomNumberGenerator()
        for t in [0, 1_709_251_198, 951_782_400, 4_102_444_799] + (0..<500).map({ _ in Int64.random(in: 0...4_102_444_799, using: &rng) }) as [Int64] {
            XCTAssertEqual(UTCTime.parseBasicTimestamp(UTCTime(t).basicTimestamp), t)
        }
        for bad in ["20240230T000000Z", "20241301T000000Z", "20240101T240000Z", "20240101T000000", "2024010lT000000Z", "20240101 000000Z", ""] {
            XCTAssertNil(UTCTime.parseBasicTimestamp(bad), bad)
        }
    }
}

final class JSONFieldScannerTests: XCTestCase {
    let keys = ["actionType", "resourceType", "eventName"].map { Array($0.utf8) }

    func full(_ r: [UInt8]) -> [String?] {
        let o = (try? JSONParser.parse(r))?.objectValue
        return ["actionType", "resourceType", "eventName"].map { o?[$0]?.stringValue }
    }

    func testAgreesWithTheFullParserOnSyntheticEvents() {
        var gen = SyntheticEventGenerator(seed: 3, accountId: 1, now: 1_700_000_000, spanSeconds: 86400)
        for _ in 0..<2000 {
            let r = gen.next()
            XCTAssertEqual(JSONFieldScanner.strings(r, keys: keys), full(r))
        }
    }

    func testEdgeCases() {
        let cases = [
            #"{}"#,
            #"{"eventName":5,"actionType":null,"resourceType":["x"]}"#,
            #"{"a":{"eventName":"nested"},"eventName":"top","b":[1,{"c":"}"}],"actionType":"Write"}"#,
            #"{"eventName":"with \"quote\"","resourceType":"cvm"}"#,
            #"{"eventName":"first","eventName":"second"}"#,
            #" { "actionType" : "Read" , "x" : true , "y" : -1.5e3 } "#,
            #"{"ev\u0065ntName":"escaped key"}"#,
            #"{"eventName":"名字"}"#,
            #"[1,2]"#,
            #"{"eventName":"unterminated}"#,
        ]
        for c in cases {
            XCTAssertEqual(JSONFieldScanner.strings(Array(c.utf8), keys: keys), full(Array(c.utf8)), c)
        }
    }
}
