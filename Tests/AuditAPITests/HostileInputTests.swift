import AuditAPI
import AuditModel
import AuditStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import XCTest

/// Requests an attacker would send: each used to trap or hang the server (issue 11). Every one must be
/// answered with the documented error, and the server must go on answering.
extension APITests {
    func testQueryStringLimitsAnswerInvalidParameterBeforeAuthentication() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            // A name of 10,000 dot-separated parts recursed once per part and ended the process.
            let deep = "/?Action=LookUpEvents&" + Array(repeating: "a", count: 10_000).joined(separator: ".") + "=1"
            let r = Reply(try await s.client.executeRequest(uri: deep, method: .get, headers: [:], body: nil))
            self.assertError(r, "InvalidParameter", "deep name")
            XCTAssertTrue(r.errorMessage.contains("8"), r.errorMessage)
            let many = "/?Action=LookUpEvents&" + (0...RequestParameters.maxQueryParameters).map { "p\($0)=1" }.joined(separator: "&")
            self.assertError(Reply(try await s.client.executeRequest(uri: many, method: .get, headers: [:], body: nil)), "InvalidParameter", "many")
            // At the limits, the request goes on to authentication.
            let eight = "/?Action=LookUpEvents&a.b.c.d.e.f.g.h=1"
            self.assertError(Reply(try await s.client.executeRequest(uri: eight, method: .get, headers: [:], body: nil)),
                             "AuthFailure.InvalidAuthorization", "eight parts")
        }
        XCTAssertThrowsError(try RequestParameters.fromQuery(Array(repeating: "x", count: 9).joined(separator: ".") + "=1"))
        let ok = try RequestParameters.fromQuery("Events.1.b=2&Events.0.a=1&Events.10.c=3")
        XCTAssertEqual(try ok.array("Events")?.map { $0.objectValue?.fields.map(\.key) ?? [] }, [["a"], ["b"], ["c"]])
        XCTAssertTrue(ok.fromQueryString)
    }

    func testExtremeTimestampsAreSignatureExpire() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            for ts in [Int64.min, Int64.min + 1, Int64.max, Int64.max - 1, -1, 0] {
                var r = s.request("LookUpEvents", key: h.admin, body: #"{"StartTime":0,"EndTime":1}"#)
                r.timestamp = ts
                self.assertError(try await s.send(r), "AuthFailure.SignatureExpire", "X-TC-Timestamp \(ts)")
            }
        }
        XCTAssertEqual(Authenticator.excessSkew(timestamp: Int64.min, now: 1_700_000_000), -Int64.max)
        XCTAssertEqual(Authenticator.excessSkew(timestamp: Int64.max, now: -5), Int64.max)
        XCTAssertNil(Authenticator.excessSkew(timestamp: 1_700_000_300, now: 1_700_000_000))
        XCTAssertEqual(Authenticator.excessSkew(timestamp: 1_699_999_699, now: 1_700_000_000), -301)
    }

    func testExtremeQueryTimesAreRefusedBeforeAnyWork() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let start = h.now - 3600
            for end in [Int64.max, Int64.max - 1, 4_611_686_018_427_387_904, 1_000_000_000_000, h.now + 86401] {
                self.assertError(try await s.lookup(h.admin, start: start, end: end), "InvalidParameterValue.Time", "LookUpEvents EndTime \(end)")
                self.assertError(try await s.describe(h.admin, start: start, end: end), "InvalidParameterValue.Time", "DescribeEvents EndTime \(end)")
                var get = s.request("LookUpEvents", key: h.admin)
                get.method = .get
                get.query = formEncode([("Action", "LookUpEvents"), ("Version", AuditAPI.version), ("StartTime", String(start)), ("EndTime", String(end))])
                self.assertError(try await s.send(get), "InvalidParameterValue.Time", "GET EndTime \(end)")
            }
            self.assertOK(try await s.lookup(h.admin, start: start, end: h.now + 86400), "a day ahead")
            for start in [Int64.min, Int64.min + 1, -1] {
                self.assertError(try await s.lookup(h.admin, start: start, end: h.now), "LimitExceeded.OverTime", "StartTime \(start)")
            }
            self.assertError(try await s.lookup(h.admin, start: Int64.max, end: Int64.max), "InvalidParameterValue.Time", "both at the end")
        }
    }

    func testPutEventsGETFormIsRefusedAndStoresNothing() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            for extra in [[], [("Events.0.eventId", "get-form-1"), ("Events.0.eventTime", String(h.now))]] {
                var r = s.request("PutEvents", key: h.ingest)
                r.method = .get
                r.query = formEncode([("Action", "PutEvents"), ("Version", AuditAPI.version), ("Events.0.eventName", "x"),
                                      ("Events.0.eventSource", "y"), ("Events.0.actionType", "Write")] + extra)
                self.assertError(try await s.send(r), "UnsupportedOperation", "GET PutEvents")
            }
            let stored = try await s.lookup(h.admin, start: h.now - 60, end: h.now, attrs: [("EventName", "x")])
            XCTAssertEqual(stored.totalCount, 0)
        }
        // A record that is not part of the bytes given as its source is refused, not sliced out of range.
        let parsed = try JSONParser.parse(Array(#"{"eventName":"x","eventSource":"y","actionType":"Write"}"#.utf8))
        let result = EventRecordValidator.validate(parsed, source: [], now: h.now) { _ in .success(AccountScope(accountId: 1, retentionDays: 30)) }
        guard case .failure(let rejection) = result else { return XCTFail("a record without its bytes was accepted") }
        XCTAssertEqual(rejection.code, "InvalidParameter")
    }

    func testClosedSetLookupValuesAndTencentSensitiveAction() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let stored = try await s.put([event("Tencent1", time: h.now - 10, extra: #""sensitiveAction":1"#),
                                          event("OursTrue", time: h.now - 9, extra: #""sensitiveAction":true"#),
                                          event("Plain", time: h.now - 8, extra: #""sensitiveAction":0"#)], key: h.ingest)
            self.assertOK(stored)
            for yes in ["1", "true"] {
                let r = try await s.lookup(h.admin, start: h.now - 60, end: h.now, attrs: [("SensitiveAction", yes)])
                XCTAssertEqual(Set(r.eventNames), ["Tencent1", "OursTrue"], "SensitiveAction=\(yes)")
            }
            for no in ["0", "false"] {
                let r = try await s.lookup(h.admin, start: h.now - 60, end: h.now, attrs: [("SensitiveAction", no), ("EventSource", "cvm.tencentcloudapi.com")])
                XCTAssertEqual(r.eventNames, ["Plain"], "SensitiveAction=\(no)")
            }
            for (key, value) in [("SensitiveAction", "yes"), ("SensitiveAction", "2"), ("ActionType", "read"), ("ActionType", ""), ("ReadOnly", "1")] {
                let r = try await s.lookup(h.admin, start: h.now - 60, end: h.now, attrs: [(key, value)])
                self.assertError(r, "InvalidParameterValue", "\(key)=\(value)")
                XCTAssertTrue(r.errorMessage.contains(key), r.errorMessage)
            }
        }
    }

    func testARequestPastItsDeadlineIsAnsweredAndCancelled() async throws {
        let cancelled = ManagedAtomicFlag()
        let router = Router(context: AuditRequestContext.self)
        router.add(middleware: RequestDeadlineMiddleware(timeout: .milliseconds(200)) { _, context, timeout in
            AuditAPI.timedOut(context, after: timeout)
        })
        router.get("/slow") { _, _ -> Response in
            do { try await Task.sleep(for: .seconds(600)) } catch { cancelled.set() }
            return Response(status: .ok)
        }
        router.get("/fast") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "fast"))) }
        var logger = Logger(label: "deadline-test")
        logger.logLevel = .critical
        try await Application(router: router, logger: logger).test(.router) { client in
            let slow = Reply(try await client.executeRequest(uri: "/slow", method: .get, headers: [:], body: nil))
            self.assertError(slow, "FailedOperation", "deadline")
            XCTAssertTrue(cancelled.isSet, "the slow request's work was not cancelled")
            let fast = Reply(try await client.executeRequest(uri: "/fast", method: .get, headers: [:], body: nil))
            XCTAssertEqual(fast.text, "fast")
        }
    }

    func testStoresAnswerQueriesOfAnyTimesWithoutTrapping() async throws {
        let store = MemoryEventStore()
        let q = EventQuery(accountId: 1, startTime: Int64.min, endTime: Int64.max, limit: 10)
        XCTAssertEqual(q.clampedToRepresentableTimes.startTime, UTCTime.representable.lowerBound)
        XCTAssertEqual(q.clampedToRepresentableTimes.endTime, UTCTime.representable.upperBound)
        _ = try await store.lookup(q)
        _ = try await store.histogram(q, buckets: 200)
        XCTAssertEqual(UTCTime(Int64.max).year, 9999)
        XCTAssertEqual(UTCTime(Int64.min).year, 1)
    }
}

/// Set once from any task, read after.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
