import AuditModel
import AuditStore
import XCTest

/// The behaviour every `EventStore` backend must have. Each backend's test target calls `runAll`
/// with a factory for fresh, empty stores.
public struct EventStoreConformance {
    public let makeStore: () async throws -> any EventStore
    let now: Int64 = unixNow()

    public init(makeStore: @escaping () async throws -> any EventStore) {
        self.makeStore = makeStore
    }

    public func runAll(file: StaticString = #filePath, line: UInt = #line) async throws {
        try await accountsAndKeys()
        try await appendAssignsGaplessSequencesAndDedupes()
        try await lookupFiltersAndOrders()
        try await paginationIsStableUnderConcurrentAppends()
        try await accountsAreIsolated()
        try await totalCountsMatchAcrossHours()
        try await totalCountsOfBusyPartialHours()
        try await retentionDeletesOnlyOldEvents()
        try await cursorsAreBoundToTheirAccount()
        try await queriesOfAnyTimesAreAnsweredFromTheDaysOfData()
        try await runTrackSuite()
        try await runKmsSuite()
        try await runMerkleSuite()
        try await runConsoleSuite()
    }

    func event(_ account: Int64, id: String, time: Int64, name: String = "RunInstances", user: String = "alice",
               tags: [(String, String)] = [], resources: [String] = []) -> AuditEvent {
        let record = #"{"eventId":"\#(id)","eventTime":\#(time),"eventName":"\#(name)","eventSource":"cvm.api","actionType":"Write","userIdentity":{"userName":"\#(user)"}}"#
        var postings: [(key: LookupKey, value: String)] = [(.all, ""), (.eventId, id), (.eventName, name), (.username, user), (.actionType, "Write")]
        for (k, v) in tags { for t in TagPosting.values(key: k, value: v) { postings.append((.tags, t)) } }
        for r in resources { postings.append((.resourceName, r)) }
        return AuditEvent(record: Array(record.utf8), eventId: id, eventTime: time, accountId: account, postings: postings)
    }

    func accountsAndKeys() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "first", retentionDays: nil, id: nil)
        let b = try await s.createAccount(name: "second", retentionDays: 7, id: nil)
        XCTAssertEqual(a.id, AccountIds.first)
        XCTAssertEqual(b.id, AccountIds.first + 1)
        let awaited1 = try await s.listAccounts().map(\.name)
        XCTAssertEqual(awaited1, ["first", "second"])
        let awaited2 = try await s.account(id: b.id)?.retentionDays
        XCTAssertEqual(awaited2, 7)
        let k = StoredAccessKey(secretId: "AKID1", accountId: a.id, role: .auditor, sealedSecret: [1, 2, 3], status: .enabled, createdAt: now)
        try await s.createKey(k)
        let awaited3 = try await s.key(secretId: "AKID1")
        XCTAssertEqual(awaited3, k)
        do { try await s.createKey(k); XCTFail("duplicate key accepted") } catch {}
        do {
            try await s.createKey(StoredAccessKey(secretId: "AKID2", accountId: 42, role: .admin, sealedSecret: [1], status: .enabled, createdAt: now))
            XCTFail("key for a missing account accepted")
        } catch {}
        let awaited4 = try await s.setKeyStatus(secretId: "AKID1", status: .disabled)
        XCTAssertTrue(awaited4)
        let awaited5 = try await s.key(secretId: "AKID1")?.status
        XCTAssertEqual(awaited5, .disabled)
        let awaited6 = try await s.setKeyStatus(secretId: "nope", status: .disabled)
        XCTAssertFalse(awaited6)
        let awaited7 = try await s.listKeys(accountId: b.id).count
        XCTAssertEqual(awaited7, 0)
        let awaited8 = try await s.listKeys(accountId: nil).count
        XCTAssertEqual(awaited8, 1)
        try await s.close()
    }

    func appendAssignsGaplessSequencesAndDedupes() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        let r1 = try await s.append([event(a, id: "e1", time: now - 10), event(a, id: "e2", time: now - 5)])
        XCTAssertEqual(r1, [.stored(sequence: 1), .stored(sequence: 2)])
        let r2 = try await s.append([event(a, id: "e2", time: now - 5), event(a, id: "e3", time: now), event(a, id: "e3", time: now)])
        XCTAssertEqual(r2, [.duplicate(sequence: 2), .stored(sequence: 3), .duplicate(sequence: 3)])
        let page = try await s.lookup(EventQuery(accountId: a, startTime: now - 100, endTime: now, limit: 10))
        XCTAssertEqual(page.events.map(\.eventId), ["e3", "e2", "e1"])
        XCTAssertEqual(page.totalCount, 3)
        XCTAssertTrue(page.listOver)
        // Concurrent appends: every one durable, sequences gapless.
        try await withThrowingTaskGroup(of: Void.self) { g in
            for t in 0..<8 {
                g.addTask { _ = try await s.append((0..<25).map { event(a, id: "c\(t)-\($0)", time: now - Int64($0)) }) }
            }
            try await g.waitForAll()
        }
        let all = try await s.lookup(EventQuery(accountId: a, startTime: now - 100, endTime: now, limit: 1000))
        XCTAssertEqual(all.events.count, 203)
        XCTAssertEqual(Set(all.events.map(\.sequence)), Set(1...203))
        do {
            _ = try await s.append([event(999, id: "x", time: now)])
            XCTFail("append to a missing account accepted")
        } catch {}
        try await s.close()
    }

    func lookupFiltersAndOrders() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.append([
            event(a, id: "1", time: now - 50, name: "RunInstances", user: "alice", tags: [("env", "prod")], resources: ["ins-1"]),
            event(a, id: "2", time: now - 40, name: "StopInstances", user: "alice", tags: [("env", "dev")]),
            event(a, id: "3", time: now - 30, name: "RunInstances", user: "bob", resources: ["ins-1", "ins-2"]),
            event(a, id: "4", time: now - 30, name: "DeleteBucket", user: "bob"),
            event(a, id: "5", time: now - 20, name: "RunInstances", user: "alice"),
        ])
        func ids(_ c: [LookupCondition], start: Int64 = 0, end: Int64? = nil) async throws -> [String] {
            try await s.lookup(EventQuery(accountId: a, startTime: start == 0 ? now - 100 : start, endTime: end ?? now, conditions: c, limit: 50)).events.map(\.eventId)
        }
        let awaited9 = try await ids([])
        XCTAssertEqual(awaited9, ["5", "4", "3", "2", "1"], "newest first; equal times by insertion, newest first")
        let awaited10 = try await ids([.init(key: .eventName, values: ["RunInstances"])])
        XCTAssertEqual(awaited10, ["5", "3", "1"])
        let awaited11 = try await ids([.init(key: .eventName, values: ["RunInstances", "DeleteBucket"])])
        XCTAssertEqual(awaited11, ["5", "4", "3", "1"], "OR within a key")
        let awaited12 = try await ids([.init(key: .eventName, values: ["RunInstances"]), .init(key: .username, values: ["bob"])])
        XCTAssertEqual(awaited12, ["3"], "AND across keys")
        let awaited13 = try await ids([.init(key: .tags, values: [TagPosting.queryValue(key: "env", value: "*")])])
        XCTAssertEqual(awaited13, ["2", "1"])
        let awaited14 = try await ids([.init(key: .resourceName, values: ["ins-1", "ins-2"])])
        XCTAssertEqual(awaited14, ["3", "1"], "multi-valued keys do not repeat events")
        let awaited15 = try await ids([.init(key: .eventName, values: ["runinstances"])])
        XCTAssertEqual(awaited15, [], "case-sensitive")
        let awaited16 = try await ids([], start: now - 40, end: now - 30)
        XCTAssertEqual(awaited16, ["4", "3", "2"], "inclusive time bounds")
        let counted = try await s.lookup(EventQuery(accountId: a, startTime: now - 100, endTime: now,
                                                    conditions: [.init(key: .resourceName, values: ["ins-1", "ins-2"])], limit: 1))
        XCTAssertEqual(counted.totalCount, 2)
        XCTAssertFalse(counted.listOver)
        try await s.close()
    }

    func paginationIsStableUnderConcurrentAppends() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.append((0..<120).map { event(a, id: "p\($0)", time: now - 1000 + Int64($0 / 3)) })
        for size in [1, 7, 50] {
            var seen: [String] = []
            var after: PagePosition?
            var i = 0
            while true {
                let page = try await s.lookup(EventQuery(accountId: a, startTime: now - 1000, endTime: now - 900, after: after, limit: size))
                seen += page.events.map(\.eventId)
                // Events arriving meanwhile, inside and outside the range.
                _ = try await s.append([event(a, id: "new-\(size)-\(i)", time: now - 500), event(a, id: "old-\(size)-\(i)", time: now - 999)])
                i += 1
                if page.listOver { break }
                after = page.events.last?.pagePosition
            }
            let originals = seen.filter { $0.hasPrefix("p") }
            XCTAssertEqual(originals.count, 120, "page size \(size)")
            XCTAssertEqual(Set(seen).count, seen.count, "no event repeated with page size \(size)")
        }
        try await s.close()
    }

    func accountsAreIsolated() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.createAccount(name: "b", retentionDays: nil, id: nil).id
        _ = try await s.append([event(a, id: "same", time: now), event(b, id: "same", time: now), event(b, id: "b-only", time: now)])
        let pa = try await s.lookup(EventQuery(accountId: a, startTime: now - 10, endTime: now, limit: 50))
        XCTAssertEqual(pa.events.map(\.eventId), ["same"])
        XCTAssertEqual(pa.events.first?.accountId, a)
        XCTAssertEqual(pa.totalCount, 1)
        let pb = try await s.lookup(EventQuery(accountId: b, startTime: now - 10, endTime: now, conditions: [.init(key: .eventId, values: ["same"])], limit: 50))
        XCTAssertEqual(pb.events.map(\.accountId), [b])
        try await s.close()
    }

    func totalCountsMatchAcrossHours() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        let base = now - 20 * 3600
        var events: [AuditEvent] = []
        for i in 0..<400 {
            events.append(event(a, id: "h\(i)", time: base + Int64(i) * 157, name: i % 3 == 0 ? "A" : "B", user: i % 5 == 0 ? "u1" : "u2"))
        }
        _ = try await s.append(events)
        let h0 = base - base % 3600 + 3 * 3600
        // Partial hours shorter and longer than half an hour at either end (counted from either side).
        for (start, end) in [(base, now), (base + 1000, base + 30_000), (base + 3600, base + 7199), (base + 17, base + 18),
                             (h0 - 3000, h0 + 3000), (h0 - 600, h0 + 7200 + 600), (h0 - 3599, h0 + 3599), (h0, h0 + 3599)] {
            for cond in [[], [LookupCondition(key: .eventName, values: ["A"])], [LookupCondition(key: .eventName, values: ["A"]), LookupCondition(key: .username, values: ["u1"])]] {
                let expected = events.enumerated().filter { (i, e) in
                    e.eventTime >= start && e.eventTime <= end && (cond.isEmpty || i % 3 == 0) && (cond.count < 2 || i % 5 == 0)
                }.count
                let page = try await s.lookup(EventQuery(accountId: a, startTime: start, endTime: end, conditions: cond, limit: 5))
                XCTAssertEqual(page.totalCount, expected, "range \(start - base)...\(end - base), \(cond.count) conditions")
            }
        }
        try await s.close()
    }

    /// A range whose edge cuts through an hour holding thousands of events (counted from either side).
    func totalCountsOfBusyPartialHours() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        let hour = now - now % 3600 - 5 * 3600
        _ = try await s.append((0..<3000).map { event(a, id: "b\($0)", time: hour + Int64($0)) })
        for (start, end, expected) in [(hour - 7200, hour + 2600, 2601), (hour + 100, hour + 7200, 2900), (hour + 100, hour + 2999, 2900),
                                       (hour - 10, hour + 3599, 3000), (hour + 1000, hour + 1000, 1)] {
            let page = try await s.lookup(EventQuery(accountId: a, startTime: start, endTime: end, conditions: [.init(key: .username, values: ["alice"])], limit: 1))
            XCTAssertEqual(page.totalCount, expected, "range \(start - hour)...\(end - hour)")
        }
        try await s.close()
    }

    func retentionDeletesOnlyOldEvents() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: 1, id: nil).id
        _ = try await s.append([event(a, id: "old", time: now - 3 * 86400), event(a, id: "new", time: now - 10)])
        let awaited17 = try await s.deleteEvents(accountId: a, olderThan: now - 2 * 86400)
        XCTAssertEqual(awaited17, 1)
        let page = try await s.lookup(EventQuery(accountId: a, startTime: now - 4 * 86400, endTime: now, conditions: [.init(key: .username, values: ["alice"])], limit: 10))
        XCTAssertEqual(page.events.map(\.eventId), ["new"])
        XCTAssertEqual(page.totalCount, 1)
        // The id of a dropped event can be recorded again (it is a new event now).
        let awaited18 = try await s.append([event(a, id: "new", time: now - 10)])
        XCTAssertEqual(awaited18, [.duplicate(sequence: 2)])
        try await s.close()
    }

    /// A query's bounds may be any 64-bit numbers (the API refuses far-off times, but the store must not
    /// trap or walk billions of empty days if one gets through): the answer is that of the days of data.
    func queriesOfAnyTimesAreAnsweredFromTheDaysOfData() async throws {
        let s = try await makeStore()
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.append([event(a, id: "old", time: now - 5 * 86400), event(a, id: "new", time: now - 10, user: "bob")])
        for (start, end) in [(Int64.min, Int64.max), (Int64.min, now), (0, Int64.max), (now - 6 * 86400, Int64.max - 1)] {
            let page = try await s.lookup(EventQuery(accountId: a, startTime: start, endTime: end, limit: 10))
            XCTAssertEqual(page.events.map(\.eventId), ["new", "old"], "\(start)...\(end)")
            XCTAssertEqual(page.totalCount, 2, "\(start)...\(end)")
            let bob = try await s.lookup(EventQuery(accountId: a, startTime: start, endTime: end,
                                                    conditions: [LookupCondition(key: .username, values: ["bob", "alice"])], limit: 1))
            XCTAssertEqual(bob.events.map(\.eventId), ["new"])
            XCTAssertEqual(bob.totalCount, 2)
            let bars = try await s.histogram(EventQuery(accountId: a, startTime: start, endTime: end, limit: 0), buckets: 200)
            XCTAssertEqual(bars.reduce(0) { $0 + $1.count }, 2, "\(start)...\(end)")
            let top = try await s.topValues(accountId: a, key: .username, startTime: start, endTime: end, limit: 10)
            XCTAssertEqual(top.map(\.value).sorted(), ["alice", "bob"])
        }
        let empty = try await s.lookup(EventQuery(accountId: a, startTime: Int64.max, endTime: Int64.max, limit: 10))
        XCTAssertEqual(empty.events.count, 0)
    }

    func cursorsAreBoundToTheirAccount() async throws {
        let s = try await makeStore()
        try await s.saveCursor(token: 77, accountId: 1, payload: [9, 9], expiresAt: now + 60)
        let awaited19 = try await s.cursor(token: 77, accountId: 1, now: now)
        XCTAssertEqual(awaited19, [9, 9])
        let awaited20 = try await s.cursor(token: 77, accountId: 2, now: now)
        XCTAssertNil(awaited20)
        let awaited21 = try await s.cursor(token: 77, accountId: 1, now: now + 61)
        XCTAssertNil(awaited21)
        try await s.deleteExpiredCursors(now: now + 61)
        let awaited22 = try await s.cursor(token: 77, accountId: 1, now: now)
        XCTAssertNil(awaited22)
        let secret = try await s.deploymentSecret()
        XCTAssertGreaterThanOrEqual(secret.count, 16)
        try await s.close()
    }
}
