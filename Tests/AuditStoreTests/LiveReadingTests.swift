import AuditModel
import AuditStore
import XCTest

/// What the live readers (the tail, alert rules) build on: a matcher that answers as LookUpEvents does,
/// and the signal that wakes them.
final class LiveReadingTests: XCTestCase {
    /// Records with a spread of values for every key, accepted as PutEvents accepts them.
    func events(account: Int64, count: Int) -> [AuditEvent] {
        let names = ["RunInstances", "DescribeInstances", "DeleteBucket"]
        let users = ["alice", "bob", ""]
        return (0..<count).map { i in
            let text = """
                {"eventId":"e\(i)","eventTime":\(1_700_000_000 + i),"eventName":"\(names[i % 3])","eventSource":"s\(i % 2).example",\
                "eventType":"ApiCall","eventRegion":"ap-guangzhou","actionType":"\(i % 4 == 0 ? "Write" : "Read")",\
                "sensitiveAction":\(i % 5 == 0 ? "true" : "false"),"resourceType":"cvm","resourceName":"ins-\(i % 7), ins-x",\
                "userIdentity":{"type":"CAMUser","principalId":"p\(i % 3)","secretId":"AKID\(i % 2)","userName":"\(users[i % 3])"},\
                "sourceIPAddress":"10.0.0.\(i % 4)","errorCode":\(i % 6 == 0 ? 4102 : 0),"apiErrorCode":"\(i % 6 == 0 ? "AuthFailure" : "")",\
                "tags":[{"key":"env","value":"\(i % 2 == 0 ? "prod" : "dev")"}]}
                """
            let bytes = Array(text.utf8)
            let scope = AccountScope(accountId: account, retentionDays: 36500)
            guard case .success(let e) = EventRecordValidator.validate(try! JSONParser.parse(bytes), source: bytes, now: 1_800_000_000,
                                                                        resolveAccount: { _ in .success(scope) }) else {
                preconditionFailure("record \(i) is not valid")
            }
            return e
        }
    }

    func testTheMatcherFindsWhatLookupFinds() async throws {
        let store = MemoryEventStore()
        let account = try await store.createAccount(name: "m", retentionDays: nil, id: nil).id
        _ = try await store.append(events(account: account, count: 120))
        let stored = try await store.events(accountId: account, afterSequence: 0, limit: 1000)
        let conditionSets: [[LookupCondition]] = [
            [],
            [LookupCondition(key: .eventName, values: ["RunInstances", "DeleteBucket"])],
            [LookupCondition(key: .eventName, values: ["RunInstances"]), LookupCondition(key: .actionType, values: ["Write"])],
            [LookupCondition(key: .username, values: ["alice"])],
            [LookupCondition(key: .resourceName, values: ["ins-x"])],
            [LookupCondition(key: .resourceName, values: ["ins-3"]), LookupCondition(key: .sensitiveAction, values: ["true"])],
            [LookupCondition(key: .camErrorCode, values: ["4102"])],
            [LookupCondition(key: .apiErrorCode, values: ["AuthFailure"]), LookupCondition(key: .sourceIPAddress, values: ["10.0.0.2"])],
            [LookupCondition(key: .tags, values: [TagPosting.queryValue(key: "env", value: "prod")])],
            [LookupCondition(key: .accessKeyId, values: ["AKID1"]), LookupCondition(key: .principalId, values: ["p2"])],
        ]
        for conditions in conditionSets {
            for excluding in [[], [LookupCondition(key: .eventSource, values: ["s0.example"])]] {
                var q = EventQuery(accountId: account, startTime: 0, endTime: 2_000_000_000, conditions: conditions, excluding: excluding, limit: 1000)
                q.includeTotalCount = false
                let found = Set(try await store.lookup(q).events.map(\.sequence))
                let matcher = EventMatcher(conditions: conditions, excluding: excluding)
                let matched = Set(stored.filter { matcher.matches(storedRecord: $0.record, eventTime: $0.eventTime) }.map(\.sequence))
                XCTAssertEqual(matched, found, "conditions \(conditions), excluding \(excluding)")
            }
        }
        XCTAssertFalse(EventMatcher(conditions: [LookupCondition(key: .eventName, values: ["x"])]).matches(storedRecord: Array("not json".utf8), eventTime: 0))
    }

    func testAWaitEndsAtAnAppendOfItsAccountOnly() async throws {
        let signal = AppendSignal()
        let g = signal.generation(accountId: 1)
        let clock = ContinuousClock()
        // An append of another account does not wake it: it waits out its time.
        async let other: Void = signal.wait(accountId: 1, changedFrom: g, upTo: .milliseconds(300))
        signal.appended(accountIds: [2])
        let t0 = clock.now
        await other
        XCTAssertGreaterThanOrEqual(clock.now - t0, .milliseconds(200))
        // An append after the generation was taken, before the wait, is not missed.
        signal.appended(accountIds: [1])
        let t1 = clock.now
        await signal.wait(accountId: 1, changedFrom: g, upTo: .seconds(60))
        XCTAssertLessThan(clock.now - t1, .seconds(30))
        // A waiter is woken by an append of its account.
        let g2 = signal.generation(accountId: 1)
        let woken = Task { await signal.wait(accountId: 1, changedFrom: g2, upTo: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        signal.appended(accountIds: [1, 1, 3])
        let t2 = clock.now
        await woken.value
        XCTAssertLessThan(clock.now - t2, .seconds(30))
        // Cancelling a waiter ends its wait.
        let cancelled = Task { await signal.wait(accountId: 9, changedFrom: signal.generation(accountId: 9), upTo: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        let t3 = clock.now
        await cancelled.value
        XCTAssertLessThan(clock.now - t3, .seconds(30))
    }
}
