import AuditModel
import AuditStore
import XCTest

/// The console's passwords, sessions and per-range summaries: the same answers from every backend.
extension StoreConformance {
    typealias Sample = (time: Int64, user: String, name: String, ip: String)

    func session(_ token: UInt8, account: Int64, role: KeyRole, secretId: String?, createdAt: Int64, lastSeenAt: Int64) -> ConsoleSession {
        ConsoleSession(tokenHash: Array(repeating: token, count: 32), accountId: account, role: role, secretId: secretId,
                       csrfToken: "csrf-\(token)", createdAt: createdAt, lastSeenAt: lastSeenAt)
    }

    func consolePasswordsAndSessions() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let none = try await s.console.consolePassword(accountId: a, role: .admin)
        XCTAssertNil(none)
        do {
            try await s.console.setConsolePassword(ConsolePassword(accountId: 42, role: .admin, hash: "h", updatedAt: now))
            XCTFail("a password of a missing account was accepted")
        } catch let e as StoreError {
            XCTAssertEqual(e, StoreError.accountNotFound(42))
        }
        try await s.console.setConsolePassword(ConsolePassword(accountId: a, role: .admin, hash: "first", updatedAt: now - 5))
        try await s.console.setConsolePassword(ConsolePassword(accountId: a, role: .auditor, hash: "other", updatedAt: now - 5))
        let first = try await s.console.consolePassword(accountId: a, role: .admin)
        XCTAssertEqual(first, ConsolePassword(accountId: a, role: .admin, hash: "first", updatedAt: now - 5))

        let adminByPassword = session(1, account: a, role: .admin, secretId: nil, createdAt: now - 100, lastSeenAt: now - 50)
        let adminByKey = session(2, account: a, role: .admin, secretId: "AKIDA", createdAt: now - 100, lastSeenAt: now - 50)
        let auditorByPassword = session(3, account: a, role: .auditor, secretId: nil, createdAt: now - 100, lastSeenAt: now - 50)
        let otherAccount = session(4, account: b, role: .admin, secretId: nil, createdAt: now - 100, lastSeenAt: now - 50)
        for x in [adminByPassword, adminByKey, auditorByPassword, otherAccount] { try await s.console.createConsoleSession(x) }
        do {
            try await s.console.createConsoleSession(session(9, account: 42, role: .admin, secretId: nil, createdAt: now, lastSeenAt: now))
            XCTFail("a session of a missing account was accepted")
        } catch let e as StoreError {
            XCTAssertEqual(e, StoreError.accountNotFound(42))
        }
        let read = try await s.console.consoleSession(tokenHash: adminByKey.tokenHash)
        XCTAssertEqual(read, adminByKey, "a session reads back exactly")

        try await s.console.touchConsoleSession(tokenHash: adminByKey.tokenHash, lastSeenAt: now - 10)
        try await s.console.touchConsoleSession(tokenHash: adminByKey.tokenHash, lastSeenAt: now - 20)
        let touched = try await s.console.consoleSession(tokenHash: adminByKey.tokenHash)?.lastSeenAt
        XCTAssertEqual(touched, now - 10, "last-seen only moves forward")

        // A new admin password ends the admin password sessions of that account only.
        try await s.console.setConsolePassword(ConsolePassword(accountId: a, role: .admin, hash: "second", updatedAt: now))
        let second = try await s.console.consolePassword(accountId: a, role: .admin)?.hash
        XCTAssertEqual(second, "second")
        let ended = try await s.console.consoleSession(tokenHash: adminByPassword.tokenHash)
        XCTAssertNil(ended)
        for kept in [adminByKey, auditorByPassword, otherAccount] {
            let still = try await s.console.consoleSession(tokenHash: kept.tokenHash)
            XCTAssertNotNil(still, "session \(kept.tokenHash[0]) should survive another role's or account's password change")
        }

        let deleted = try await s.console.deleteConsoleSession(tokenHash: otherAccount.tokenHash)
        XCTAssertTrue(deleted)
        let again = try await s.console.deleteConsoleSession(tokenHash: otherAccount.tokenHash)
        XCTAssertFalse(again)

        // Expiry: idle (last seen before) or too old (created before).
        let fresh = session(5, account: b, role: .auditor, secretId: "AKIDB", createdAt: now - 10, lastSeenAt: now)
        let idle = session(6, account: b, role: .auditor, secretId: "AKIDB", createdAt: now - 10, lastSeenAt: now - 1000)
        let old = session(7, account: b, role: .auditor, secretId: "AKIDB", createdAt: now - 100_000, lastSeenAt: now)
        for x in [fresh, idle, old] { try await s.console.createConsoleSession(x) }
        let removed = try await s.console.deleteConsoleSessions(idleBefore: now - 500, createdBefore: now - 50_000)
        XCTAssertEqual(removed, 2, "the idle one and the old one; the sessions last seen at now-10 and now-50 stay")
        for gone in [idle, old] {
            let g = try await s.console.consoleSession(tokenHash: gone.tokenHash)
            XCTAssertNil(g)
        }
        let kept = try await s.console.consoleSession(tokenHash: fresh.tokenHash)
        XCTAssertNotNil(kept)
        try await s.close()
    }

    /// Events over three and a half hours starting at a whole hour, with users, names and addresses of
    /// different frequencies (and one tie), in two accounts.
    func summaryFixture(_ s: Storage) async throws -> (a: Int64, b: Int64, base: Int64, events: [Sample]) {
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let base = (now / 3600 - 30) * 3600
        var events: [Sample] = []
        var batch: [AuditEvent] = []
        for i in 0..<400 {
            let time = base + Int64(i) * 31 + Int64(i % 7)
            let user = ["alice", "alice", "alice", "bob", "bob", "carol", "dave"][i % 7]
            let name = i % 5 == 0 ? "DeleteBucket" : (i % 2 == 0 ? "RunInstances" : "DescribeInstances")
            let ip = "10.0.\(i % 3).\(i % 11)"
            events.append((time, user, name, ip))
            let record = #"{"eventId":"s\#(i)","eventTime":\#(time),"eventName":"\#(name)","eventSource":"cvm.api","sourceIPAddress":"\#(ip)","userIdentity":{"userName":"\#(user)"}}"#
            batch.append(AuditEvent(record: Array(record.utf8), eventId: "s\(i)", eventTime: time, accountId: a,
                                    postings: [(.all, ""), (.eventId, "s\(i)"), (.eventName, name), (.username, user), (.sourceIPAddress, ip)]))
        }
        _ = try await s.events.append(batch)
        // Another account's events in the same hours must never be counted.
        _ = try await s.events.append((0..<50).map { i in event(b, id: "o\(i)", time: base + Int64(i) * 60, name: "RunInstances", user: "mallory") })
        return (a, b, base, events)
    }

    func topValuesMatchANaiveCount() async throws {
        let s = try await makeStorage()
        let (a, _, base, events) = try await summaryFixture(s)
        let ranges: [(Int64, Int64)] = [
            (base, base + 4 * 3600),                 // whole hours only
            (base + 1000, base + 3 * 3600 + 777),    // partial hours at both ends
            (base + 100, base + 2000),               // inside one hour
            (base + 3599, base + 3600),              // across an hour boundary, two seconds
            (events[10].time, events[10].time),      // a single second with an event
        ]
        let keys: [(key: LookupKey, field: (Sample) -> String)] = [
            (.username, { $0.user }), (.eventName, { $0.name }), (.sourceIPAddress, { $0.ip }),
        ]
        for (start, end) in ranges {
            for (key, field) in keys {
                var naive: [String: Int] = [:]
                for e in events where e.time >= start && e.time <= end { naive[field(e), default: 0] += 1 }
                for limit in [1, 3, 10] {
                    let got = try await s.events.topValues(accountId: a, key: key, startTime: start, endTime: end, limit: limit)
                    XCTAssertEqual(got, ValueCount.ranked(naive, limit: limit), "\(key) top \(limit) of [\(start - base), \(end - base)]")
                }
            }
        }
        let empty = try await s.events.topValues(accountId: a, key: .username, startTime: base - 7200, endTime: base - 1, limit: 10)
        XCTAssertEqual(empty, [])
        let unsupported = try await s.events.topValues(accountId: a, key: .resourceName, startTime: base, endTime: base + 9000, limit: 10)
        XCTAssertEqual(unsupported, [], "keys with several values per event have no top list")
        let missing = try await s.events.topValues(accountId: 42, key: .username, startTime: base, endTime: base + 9000, limit: 10)
        XCTAssertEqual(missing, [])
        try await s.close()
    }

    func histogramBucketsMatchANaiveCount() async throws {
        let s = try await makeStorage()
        let (a, _, base, events) = try await summaryFixture(s)
        for (start, end, buckets) in [(base, base + 4 * 3600 - 1, 4), (base + 1000, base + 3 * 3600 + 777, 7), (base + 5, base + 65, 60), (base, base + 9, 60)] {
            for condition in [nil, LookupCondition(key: .eventName, values: ["DeleteBucket", "RunInstances"])] {
                let q = EventQuery(accountId: a, startTime: start, endTime: end, conditions: condition.map { [$0] } ?? [], limit: 50)
                let bars = try await s.events.histogram(q, buckets: buckets)
                XCTAssertEqual(bars.first?.startTime, start)
                XCTAssertEqual(bars.last?.endTime, end)
                XCTAssertLessThanOrEqual(bars.count, buckets)
                for (x, y) in zip(bars, bars.dropFirst()) { XCTAssertEqual(y.startTime, x.endTime + 1, "bars are contiguous") }
                for bar in bars {
                    let naive = events.filter { e in
                        e.time >= bar.startTime && e.time <= bar.endTime && (condition == nil || condition!.values.contains(e.name))
                    }.count
                    XCTAssertEqual(bar.count, naive, "bar [\(bar.startTime - base), \(bar.endTime - base)] filtered: \(condition != nil)")
                }
            }
        }
        try await s.close()
    }

    /// Every page of `q` (pages of `pageSize`), and the total count its first page gave.
    func allPages(_ s: Storage, _ q: EventQuery, pageSize: Int = 17) async throws -> (ids: [String], total: Int?) {
        var page = q
        page.limit = pageSize
        var ids: [String] = []
        var total: Int?
        while true {
            let r = try await s.events.lookup(page)
            if total == nil { total = r.totalCount }
            ids += r.events.map(\.eventId)
            guard !r.listOver, let last = r.events.last, ids.count < 10_000 else { break }
            page.after = last.pagePosition
        }
        return (ids, total)
    }

    /// `excluding` leaves out of pages, counts and histogram bars exactly the events that match all of
    /// its conditions, with and without other conditions, over whole and partial hours.
    func exclusionsLeaveEventsOutOfPagesAndCounts() async throws {
        let s = try await makeStorage()
        let (a, _, base, events) = try await summaryFixture(s)
        let newestFirst = events.enumerated().sorted { ($0.element.time, $0.offset) > ($1.element.time, $1.offset) }
        let exclusions: [[LookupCondition]] = [
            [LookupCondition(key: .eventName, values: ["DeleteBucket"])],
            [LookupCondition(key: .eventName, values: ["RunInstances"]), LookupCondition(key: .username, values: ["alice"])],
            [LookupCondition(key: .username, values: ["bob", "carol"]), LookupCondition(key: .sourceIPAddress, values: ["10.0.1.1", "10.0.2.2", "10.0.0.3"])],
        ]
        for excluding in exclusions {
            for condition in [nil, LookupCondition(key: .username, values: ["alice", "bob"])] {
                for (start, end) in [(base, base + 4 * 3600 - 1), (base + 1000, base + 3 * 3600 + 777), (base - 86400, base + 86400)] {
                    func kept(_ e: Sample) -> Bool {
                        let values: [LookupKey: String] = [.eventName: e.name, .username: e.user, .sourceIPAddress: e.ip]
                        let excluded = excluding.allSatisfy { c in c.values.contains(values[c.key] ?? "") }
                        return e.time >= start && e.time <= end && !excluded && (condition == nil || condition!.values.contains(e.user))
                    }
                    let expected = newestFirst.filter { kept($0.element) }.map { "s\($0.offset)" }
                    let q = EventQuery(accountId: a, startTime: start, endTime: end, conditions: condition.map { [$0] } ?? [], excluding: excluding, limit: 50)
                    let got = try await allPages(s, q)
                    let what = "excluding \(excluding.map(\.values)), filtered \(condition != nil), \(start - base)...\(end - base)"
                    XCTAssertEqual(got.ids, expected, what)
                    XCTAssertEqual(got.total, expected.count, what)
                    let bars = try await s.events.histogram(q, buckets: 9)
                    XCTAssertEqual(bars.reduce(0) { $0 + $1.count }, expected.count, what)
                    for bar in bars {
                        XCTAssertEqual(bar.count, events.filter { kept($0) && $0.time >= bar.startTime && $0.time <= bar.endTime }.count, what)
                    }
                }
            }
        }
        try await s.close()
    }

    /// A query bound by `throughSequence` lists and counts the events stored up to that sequence number,
    /// whatever is appended afterwards (later times, earlier times inside the range, another account), as
    /// long as it takes to page; also when more events came after than a store takes away one by one.
    func snapshotsHoldPagesAndCountsStill() async throws {
        let s = try await makeStorage()
        let (a, b, base, _) = try await summaryFixture(s)
        let through = try await s.events.lastSequence(accountId: a)
        XCTAssertEqual(through, 400)
        let queries = [
            EventQuery(accountId: a, startTime: base, endTime: base + 4 * 3600 - 1, limit: 50),
            EventQuery(accountId: a, startTime: base + 1000, endTime: base + 3 * 3600 + 777, conditions: [LookupCondition(key: .username, values: ["alice"])], limit: 50),
            EventQuery(accountId: a, startTime: base - 86400, endTime: base + 86400, conditions: [LookupCondition(key: .username, values: ["alice", "bob"])],
                       excluding: [LookupCondition(key: .eventName, values: ["DeleteBucket"])], limit: 50),
        ]
        var before: [(ids: [String], total: Int?, bars: [Int])] = []
        for q in queries {
            let got = try await allPages(s, q)
            before.append((got.ids, got.total, try await s.events.histogram(q, buckets: 7).map(\.count)))
        }
        // A few late events (and some of another account), then more than any store takes away one by one.
        for (round, count) in [(0, 30), (1, 6000)] {
            let late: [AuditEvent] = (0..<count).map { (i: Int) -> AuditEvent in
                let name = i % 2 == 0 ? "RunInstances" : "DeleteBucket"
                let user = i % 3 == 0 ? "alice" : "bob"
                return event(a, id: "late\(round)-\(i)", time: base + Int64((i * 397) % 14_000), name: name, user: user)
            }
            _ = try await s.events.append(late)
            _ = try await s.events.append((0..<5).map { i in event(b, id: "other\(round)-\(i)", time: base + Int64(i)) })
            for (q, was) in zip(queries, before) {
                var bound = q
                bound.throughSequence = through
                let got = try await allPages(s, bound)
                XCTAssertEqual(got.ids, was.ids, "round \(round): the pages of \(q.conditions.map(\.values))")
                XCTAssertEqual(got.total, was.total, "round \(round): the count of \(q.conditions.map(\.values))")
                let bars = try await s.events.histogram(bound, buckets: 7).map(\.count)
                XCTAssertEqual(bars, was.bars, "round \(round): the bars of \(q.conditions.map(\.values))")
                let unbound = try await s.events.lookup(q)
                XCTAssertGreaterThan(unbound.totalCount ?? 0, was.total ?? 0, "the late events are there without the bound")
            }
        }
        // A bound before the first event finds nothing.
        var none = queries[0]
        none.throughSequence = 0
        let empty = try await s.events.lookup(none)
        XCTAssertEqual(empty.events.count, 0)
        XCTAssertEqual(empty.totalCount, 0)
        try await s.close()
    }
}
