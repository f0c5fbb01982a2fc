import AuditModel
import AuditSynthetic
import Foundation
import XCTest

final class SyntheticEventsTests: XCTestCase {
    let now: Int64 = 1_760_000_000
    let span: Int64 = 7 * 86400

    private func records(seed: UInt64, count: Int, accountId: Int64 = 100_000_000_001) -> [[UInt8]] {
        var g = SyntheticEventGenerator(seed: seed, accountId: accountId, now: now, spanSeconds: span)
        return (0..<count).map { _ in g.next() }
    }

    private func object(_ record: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(record))
        return try XCTUnwrap(value as? [String: Any], "record is not a JSON object", file: file, line: line)
    }

    func testSameSeedGivesSameBytes() {
        XCTAssertEqual(records(seed: 42, count: 500), records(seed: 42, count: 500))
    }

    func testDifferentSeedsDiffer() {
        let a = records(seed: 1, count: 50), b = records(seed: 2, count: 50)
        XCTAssertNotEqual(a, b)
        XCTAssertTrue(Set(a).isDisjoint(with: Set(b)))
    }

    func testEveryRecordIsAValidEvent() throws {
        var eventIds = Set<String>()
        for record in records(seed: 7, count: 2000) {
            let o = try object(record)
            for field in ["eventName", "eventSource", "actionType", "eventType", "eventRegion", "resourceType",
                          "sourceIPAddress", "userAgent", "requestID", "eventId", "apiVersion"] {
                let value = try XCTUnwrap(o[field] as? String, "\(field) missing or not a string")
                XCTAssertFalse(value.isEmpty, "\(field) empty")
            }
            XCTAssertTrue(["Read", "Write"].contains(o["actionType"] as? String))
            XCTAssertTrue(["ApiCall", "ConsoleCall", "MiniProgramCall"].contains(o["eventType"] as? String))
            XCTAssertNotNil(o["sensitiveAction"] as? Bool)
            XCTAssertNotNil(o["errorCode"] as? Int)
            XCTAssertNotNil(o["resourceSet"] as? [String])
            // requestParameters / responseElements are JSON documents carried as strings.
            for field in ["requestParameters", "responseElements"] {
                let text = try XCTUnwrap(o[field] as? String)
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8)), field)
            }
            let identity = try XCTUnwrap(o["userIdentity"] as? [String: Any])
            XCTAssertEqual(identity["accountId"] as? String, "100000000001")
            XCTAssertTrue((identity["secretId"] as? String)?.hasPrefix("AKID") ?? false)
            XCTAssertFalse((identity["userName"] as? String ?? "").isEmpty)
            XCTAssertFalse((identity["principalId"] as? String ?? "").isEmpty)
            if let tags = o["tags"] {
                let list = try XCTUnwrap(tags as? [[String: String]])
                XCTAssertFalse(list.isEmpty)
                for tag in list { XCTAssertNotNil(tag["key"]); XCTAssertNotNil(tag["value"]) }
            }
            let id = o["eventId"] as! String
            XCTAssertNotNil(UUID(uuidString: id), "eventId \(id) is not a UUID")
            XCTAssertTrue(eventIds.insert(id).inserted, "duplicate eventId \(id)")
            XCTAssertLessThan(record.count, 4096)
            // Compact: no whitespace between tokens.
            XCTAssertFalse(record.contains(UInt8(ascii: "\n")))
        }
    }

    func testEventTimesStayInsideTheSpan() throws {
        var minSeen = Int64.max, maxSeen = Int64.min
        for record in records(seed: 3, count: 5000) {
            let t = try XCTUnwrap(try object(record)["eventTime"] as? Int64)
            XCTAssertGreaterThanOrEqual(t, now - span)
            XCTAssertLessThanOrEqual(t, now)
            minSeen = min(minSeen, t)
            maxSeen = max(maxSeen, t)
        }
        // Spread over the whole span, not bunched at one end.
        XCTAssertLessThan(minSeen, now - span + span / 20)
        XCTAssertGreaterThan(maxSeen, now - span / 20)
    }

    func testZeroSpanPinsTimeToNow() throws {
        var g = SyntheticEventGenerator(seed: 9, accountId: 1, now: now, spanSeconds: 0)
        for _ in 0..<50 {
            XCTAssertEqual(try object(g.next())["eventTime"] as? Int64, now)
        }
    }

    func testAccountZeroLeavesAccountIdOut() throws {
        for record in records(seed: 5, count: 200, accountId: 0) {
            let identity = try XCTUnwrap(try object(record)["userIdentity"] as? [String: Any])
            XCTAssertNil(identity["accountId"])
            XCTAssertNotNil(identity["userName"])
        }
    }

    func testTheMixIsRoughlyRight() throws {
        let n = 20000
        var reads = 0, sensitive = 0, sensitiveReads = 0, failures = 0, authFailures = 0, tagged = 0, totalBytes = 0
        var users: [String: Int] = [:], products = Set<String>(), ips = Set<String>(), eventTypes: [String: Int] = [:]
        for record in records(seed: 11, count: n) {
            let o = try object(record)
            totalBytes += record.count
            let read = o["actionType"] as? String == "Read"
            if read { reads += 1 }
            if o["sensitiveAction"] as? Bool == true { sensitive += 1; if read { sensitiveReads += 1 } }
            if !(o["apiErrorCode"] as? String ?? "").isEmpty { failures += 1 }
            if (o["errorCode"] as? Int ?? 0) != 0 {
                authFailures += 1
                XCTAssertEqual(o["apiErrorCode"] as? String, "AuthFailure.UnauthorizedOperation")
            }
            if o["tags"] != nil { tagged += 1 }
            let identity = o["userIdentity"] as? [String: Any]
            users[identity?["userName"] as? String ?? "", default: 0] += 1
            products.insert(o["resourceType"] as? String ?? "")
            ips.insert(o["sourceIPAddress"] as? String ?? "")
            eventTypes[o["eventType"] as? String ?? "", default: 0] += 1
        }
        func share(_ k: Int) -> Double { Double(k) / Double(n) }
        XCTAssertEqual(share(reads), 0.70, accuracy: 0.03)
        XCTAssertEqual(share(sensitive), 0.03, accuracy: 0.01)
        XCTAssertEqual(sensitiveReads, 0, "sensitive actions are writes")
        XCTAssertEqual(share(failures), 0.05, accuracy: 0.015)
        XCTAssertGreaterThan(authFailures, 0)
        XCTAssertLessThan(authFailures, failures)
        XCTAssertEqual(share(tagged), 0.20, accuracy: 0.03)
        XCTAssertEqual(Set(eventTypes.keys), ["ApiCall", "ConsoleCall", "MiniProgramCall"])
        XCTAssertGreaterThan(eventTypes["ApiCall"] ?? 0, eventTypes["ConsoleCall"] ?? 0)

        // ~200 users, Zipf-like: the busiest user alone makes far more calls than the median one.
        XCTAssertGreaterThan(users.count, 150)
        XCTAssertLessThanOrEqual(users.count, 200)
        let counts = users.values.sorted(by: >)
        XCTAssertGreaterThan(counts[0], 20 * counts[counts.count / 2])
        XCTAssertGreaterThan(share(counts.prefix(10).reduce(0, +)), 0.4)

        XCTAssertGreaterThanOrEqual(products.count, 18)
        XCTAssertTrue(products.isSuperset(of: ["cvm", "cos", "cam", "vpc", "cdb", "kms"]))
        XCTAssertGreaterThan(ips.count, 300)
        XCTAssertLessThanOrEqual(ips.count, 500)

        let average = Double(totalBytes) / Double(n)
        XCTAssertGreaterThan(average, 500)
        XCTAssertLessThan(average, 1100)
    }

    func testRealisticNames() throws {
        var names = Set<String>(), resourceNames: [String] = []
        for record in records(seed: 13, count: 5000) {
            let o = try object(record)
            names.insert(o["eventName"] as! String)
            if o["resourceType"] as? String == "cvm", let r = o["resourceName"] as? String, !r.isEmpty {
                resourceNames.append(contentsOf: r.split(separator: ",").map(String.init))
            }
        }
        for expected in ["DescribeInstances", "RunInstances", "PutObject", "GetObject", "AttachRolePolicy"] {
            XCTAssertTrue(names.contains(expected), "\(expected) never generated")
        }
        XCTAssertFalse(resourceNames.isEmpty)
        for r in resourceNames {
            XCTAssertTrue(r.hasPrefix("ins-") && r.count == 12, "unexpected CVM resource name \(r)")
        }
    }
}
