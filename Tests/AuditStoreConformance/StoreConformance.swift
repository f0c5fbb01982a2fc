import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import XCTest

/// The behaviour every storage backend must have, one `Behaviour` at a time: each backend's test
/// class has one test per behaviour (`run(_:)`), so that a failure names what broke and the others
/// still run. `makeStorage` gives a fresh, empty storage each time.
public struct StoreConformance: Sendable {
    public let makeStorage: @Sendable () async throws -> Storage
    let now: Int64 = unixNow()

    public init(makeStorage: @escaping @Sendable () async throws -> Storage) {
        self.makeStorage = makeStorage
    }

    public enum Behaviour: String, CaseIterable, Sendable {
        // Accounts, keys, events (StoreConformance.swift)
        case accountsAndKeys, appendAssignsGaplessSequencesAndDedupes, concurrentAppendersKeepOneGaplessLog, lookupFiltersAndOrders
        case paginationIsStableUnderConcurrentAppends, pagesContinueWhileOthersAppend, accountsAreIsolated, totalCountsMatchAcrossHours
        case totalCountsOfBusyPartialHours, retentionDeletesOnlyOldEvents, cursorsAreBoundToTheirAccount
        case queriesOfAnyTimesAreAnsweredFromTheDaysOfData, accountNamesAreUniqueAndAccountsChange
        // Tracking sets, delivery state, outbox (TrackStoreConformance.swift)
        case eventsBySequence, tracksHaveQuotaUniqueNamesAndOwners, cursorsStartAtCreation, memberCursors, deliveryStateAndOutbox
        case leasesGoToOneHolderAndFenceTheLosers
        // KMS keys (KmsKeyConformance.swift)
        case kmsKeysRoundTripAndList, kmsAliasesAreUniquePerAccountAndRegion, kmsKeyStatus
        // The Merkle log and checkpoints (MerkleLogConformance.swift)
        case appendExtendsTheLog, proofsVerify, leavesSurviveRetention, checkpointsAreKept
        // Console sessions and summaries (ConsoleStoreConformance.swift)
        case consolePasswordsAndSessions, topValuesMatchANaiveCount, histogramBucketsMatchANaiveCount
        case exclusionsLeaveEventsOutOfPagesAndCounts, snapshotsHoldPagesAndCountsStill
        // Alert channels, rules, alerts and their deliveries (AlertStoreConformance.swift)
        case alertChannelsAndRulesBelongToTheirAccount, alertEvaluationsCommitOnce, alertDeliveriesAreClaimedAndRetried
    }

    /// Runs one behaviour on a fresh storage.
    public func run(_ behaviour: Behaviour) async throws {
        switch behaviour {
        case .accountsAndKeys: try await accountsAndKeys()
        case .appendAssignsGaplessSequencesAndDedupes: try await appendAssignsGaplessSequencesAndDedupes()
        case .concurrentAppendersKeepOneGaplessLog: try await concurrentAppendersKeepOneGaplessLog()
        case .lookupFiltersAndOrders: try await lookupFiltersAndOrders()
        case .paginationIsStableUnderConcurrentAppends: try await paginationIsStableUnderConcurrentAppends()
        case .pagesContinueWhileOthersAppend: try await pagesContinueWhileOthersAppend()
        case .accountsAreIsolated: try await accountsAreIsolated()
        case .totalCountsMatchAcrossHours: try await totalCountsMatchAcrossHours()
        case .totalCountsOfBusyPartialHours: try await totalCountsOfBusyPartialHours()
        case .retentionDeletesOnlyOldEvents: try await retentionDeletesOnlyOldEvents()
        case .cursorsAreBoundToTheirAccount: try await cursorsAreBoundToTheirAccount()
        case .queriesOfAnyTimesAreAnsweredFromTheDaysOfData: try await queriesOfAnyTimesAreAnsweredFromTheDaysOfData()
        case .accountNamesAreUniqueAndAccountsChange: try await accountNamesAreUniqueAndAccountsChange()
        case .eventsBySequence: try await eventsBySequence()
        case .tracksHaveQuotaUniqueNamesAndOwners: try await tracksHaveQuotaUniqueNamesAndOwners()
        case .cursorsStartAtCreation: try await cursorsStartAtCreation()
        case .memberCursors: try await memberCursors()
        case .deliveryStateAndOutbox: try await deliveryStateAndOutbox()
        case .leasesGoToOneHolderAndFenceTheLosers: try await leasesGoToOneHolderAndFenceTheLosers()
        case .kmsKeysRoundTripAndList: try await kmsKeysRoundTripAndList()
        case .kmsAliasesAreUniquePerAccountAndRegion: try await kmsAliasesAreUniquePerAccountAndRegion()
        case .kmsKeyStatus: try await kmsKeyStatus()
        case .appendExtendsTheLog: try await appendExtendsTheLog()
        case .proofsVerify: try await proofsVerify()
        case .leavesSurviveRetention: try await leavesSurviveRetention()
        case .checkpointsAreKept: try await checkpointsAreKept()
        case .consolePasswordsAndSessions: try await consolePasswordsAndSessions()
        case .topValuesMatchANaiveCount: try await topValuesMatchANaiveCount()
        case .histogramBucketsMatchANaiveCount: try await histogramBucketsMatchANaiveCount()
        case .exclusionsLeaveEventsOutOfPagesAndCounts: try await exclusionsLeaveEventsOutOfPagesAndCounts()
        case .snapshotsHoldPagesAndCountsStill: try await snapshotsHoldPagesAndCountsStill()
        case .alertChannelsAndRulesBelongToTheirAccount: try await alertChannelsAndRulesBelongToTheirAccount()
        case .alertEvaluationsCommitOnce: try await alertEvaluationsCommitOnce()
        case .alertDeliveriesAreClaimedAndRetried: try await alertDeliveriesAreClaimedAndRetried()
        }
    }

    /// Fails unless the test file at `path` runs every behaviour (`conformance(.name)`): a backend's
    /// test class cannot silently skip one. Linux XCTest has no way to list a class's tests, so the
    /// class's own source is read.
    public static func checkEveryBehaviourIsATest(in path: StaticString, file: StaticString = #filePath, line: UInt = #line) throws {
        let source = try String(contentsOfFile: "\(path)", encoding: .utf8)
        let missing = Behaviour.allCases.filter { !source.contains("conformance(.\($0.rawValue))") }
        XCTAssertEqual(missing, [], "behaviours without a test in \(path)", file: file, line: line)
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
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "first", retentionDays: nil, id: nil)
        let b = try await s.accounts.createAccount(name: "second", retentionDays: 7, id: nil)
        XCTAssertEqual(a.id, AccountIds.first)
        XCTAssertEqual(b.id, AccountIds.first + 1)
        let awaited1 = try await s.accounts.listAccounts().map(\.name)
        XCTAssertEqual(awaited1, ["first", "second"])
        let awaited2 = try await s.accounts.account(id: b.id)?.retentionDays
        XCTAssertEqual(awaited2, 7)
        let k = StoredAccessKey(secretId: "AKID1", accountId: a.id, role: .auditor, sealedSecret: [1, 2, 3], status: .enabled, createdAt: now)
        try await s.accounts.createKey(k)
        let awaited3 = try await s.accounts.key(secretId: "AKID1")
        XCTAssertEqual(awaited3, k)
        // Ids a caller sends are any text: one with U+0000 names nothing (and is no error).
        let nul = try await s.accounts.key(secretId: "AKID1\u{0}")
        XCTAssertNil(nul)
        let nulTrack = try await s.tracks.track(accountId: a.id, name: "set\u{0}")
        XCTAssertNil(nulTrack)
        let nulKms = try await s.kmsKeys.kmsKey(id: "\u{0}")
        XCTAssertNil(nulKms)
        do { try await s.accounts.createKey(k); XCTFail("duplicate key accepted") } catch {}
        do {
            try await s.accounts.createKey(StoredAccessKey(secretId: "AKID2", accountId: 42, role: .admin, sealedSecret: [1], status: .enabled, createdAt: now))
            XCTFail("key for a missing account accepted")
        } catch {}
        let awaited4 = try await s.accounts.setKeyStatus(secretId: "AKID1", status: .disabled)
        XCTAssertTrue(awaited4)
        let awaited5 = try await s.accounts.key(secretId: "AKID1")?.status
        XCTAssertEqual(awaited5, .disabled)
        let awaited6 = try await s.accounts.setKeyStatus(secretId: "nope", status: .disabled)
        XCTAssertFalse(awaited6)
        let awaited7 = try await s.accounts.listKeys(accountId: b.id).count
        XCTAssertEqual(awaited7, 0)
        let awaited8 = try await s.accounts.listKeys(accountId: nil).count
        XCTAssertEqual(awaited8, 1)
        try await s.close()
    }

    /// No two accounts share a name (ignoring surrounding space and ASCII case); an account can be
    /// renamed and its retention changed, and a shortened retention lets retention delete at once.
    func accountNamesAreUniqueAndAccountsChange() async throws {
        let s = try await makeStorage()
        func refusedAsTaken(_ what: String, _ body: () async throws -> Void) async {
            do { try await body(); XCTFail("\(what) accepted") } catch let e as StoreError {
                XCTAssertEqual(e.code, .accountNameExists, what)
            } catch { XCTFail("\(what): \(error)") }
        }
        let acme = try await s.accounts.createAccount(name: "Acme", retentionDays: nil, id: nil)
        await refusedAsTaken("a second \" acme \"") { _ = try await s.accounts.createAccount(name: " acme ", retentionDays: nil, id: nil) }
        let again = try await s.accounts.createAccount(name: "other", retentionDays: nil, id: acme.id)
        XCTAssertEqual(again, acme, "creating with an existing id still returns that account")
        let beta = try await s.accounts.createAccount(name: "Beta", retentionDays: 30, id: nil)
        await refusedAsTaken("renaming Beta to ACME") { _ = try await s.accounts.renameAccount(id: beta.id, name: "ACME") }
        let renamed = try await s.accounts.renameAccount(id: beta.id, name: "Beta Corp")
        XCTAssertEqual(renamed?.name, "Beta Corp")
        let recased = try await s.accounts.renameAccount(id: acme.id, name: "ACME")
        XCTAssertEqual(recased?.name, "ACME", "an account may change the case of its own name")
        let names = try await s.accounts.listAccounts().map(\.name)
        XCTAssertEqual(names, ["ACME", "Beta Corp"])
        let missing = try await s.accounts.renameAccount(id: 42, name: "x")
        XCTAssertNil(missing)

        _ = try await s.events.append([event(beta.id, id: "two-days", time: now - 2 * 86400), event(beta.id, id: "recent", time: now - 10)])
        let shortened = try await s.accounts.setAccountRetention(id: beta.id, days: 1)
        XCTAssertEqual(shortened?.retentionDays, 1)
        let stored = try await s.accounts.account(id: beta.id)?.retentionDays
        XCTAssertEqual(stored, 1)
        let deleted = try await s.events.deleteEvents(accountId: beta.id, olderThan: now - 86400 - 60)
        XCTAssertEqual(deleted, 1, "the shortened retention is the one retention applies")
        let back = try await s.accounts.setAccountRetention(id: beta.id, days: nil)
        XCTAssertNotNil(back)
        XCTAssertNil(back?.retentionDays, "nil: the deployment's default again")
        let none = try await s.accounts.setAccountRetention(id: 42, days: 5)
        XCTAssertNil(none)
        try await s.close()
    }

    func appendAssignsGaplessSequencesAndDedupes() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let r1 = try await s.events.append([event(a, id: "e1", time: now - 10), event(a, id: "e2", time: now - 5)])
        XCTAssertEqual(r1, [.stored(sequence: 1), .stored(sequence: 2)])
        let r2 = try await s.events.append([event(a, id: "e2", time: now - 5), event(a, id: "e3", time: now), event(a, id: "e3", time: now)])
        XCTAssertEqual(r2, [.duplicate(sequence: 2), .stored(sequence: 3), .duplicate(sequence: 3)])
        let page = try await s.events.lookup(EventQuery(accountId: a, startTime: now - 100, endTime: now, limit: 10))
        XCTAssertEqual(page.events.map(\.eventId), ["e3", "e2", "e1"])
        XCTAssertEqual(page.totalCount, 3)
        XCTAssertTrue(page.listOver)
        // Concurrent appends: every one durable, sequences gapless.
        try await withThrowingTaskGroup(of: Void.self) { g in
            for t in 0..<8 {
                g.addTask { _ = try await s.events.append((0..<25).map { event(a, id: "c\(t)-\($0)", time: now - Int64($0)) }) }
            }
            try await g.waitForAll()
        }
        let all = try await s.events.lookup(EventQuery(accountId: a, startTime: now - 100, endTime: now, limit: 1000))
        XCTAssertEqual(all.events.count, 203)
        XCTAssertEqual(Set(all.events.map(\.sequence)), Set(1...203))
        // An eventId is any JSON string, U+0000 included (PostgreSQL's text refuses it: a backend keeps bytes).
        let odd = "nul\u{0}id"
        let r3 = try await s.events.append([event(a, id: odd, time: now), event(a, id: odd, time: now)])
        XCTAssertEqual(r3, [.stored(sequence: 204), .duplicate(sequence: 204)])
        let found = try await s.events.sequence(accountId: a, eventId: odd)
        XCTAssertEqual(found, 204)
        let stored = try await s.events.events(accountId: a, afterSequence: 203, limit: 5).map(\.eventId)
        XCTAssertEqual(stored, [odd])
        do {
            _ = try await s.events.append([event(999, id: "x", time: now)])
            XCTFail("append to a missing account accepted")
        } catch {}
        try await s.close()
    }

    func lookupFiltersAndOrders() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.events.append([
            event(a, id: "1", time: now - 50, name: "RunInstances", user: "alice", tags: [("env", "prod")], resources: ["ins-1"]),
            event(a, id: "2", time: now - 40, name: "StopInstances", user: "alice", tags: [("env", "dev")]),
            event(a, id: "3", time: now - 30, name: "RunInstances", user: "bob", resources: ["ins-1", "ins-2"]),
            event(a, id: "4", time: now - 30, name: "DeleteBucket", user: "bob"),
            event(a, id: "5", time: now - 20, name: "RunInstances", user: "alice"),
        ])
        func ids(_ c: [LookupCondition], start: Int64 = 0, end: Int64? = nil) async throws -> [String] {
            try await s.events.lookup(EventQuery(accountId: a, startTime: start == 0 ? now - 100 : start, endTime: end ?? now, conditions: c, limit: 50)).events.map(\.eventId)
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
        let counted = try await s.events.lookup(EventQuery(accountId: a, startTime: now - 100, endTime: now,
                                                    conditions: [.init(key: .resourceName, values: ["ins-1", "ins-2"])], limit: 1))
        XCTAssertEqual(counted.totalCount, 2)
        XCTAssertFalse(counted.listOver)
        try await s.close()
    }

    /// What several nodes appending to one account at once must keep: one gap-free sequence, each event
    /// stored once (an event sent by two appenders gets one sequence, answered to both), and a Merkle log
    /// whose roots are those of the tree rebuilt from the stored records in sequence order.
    func concurrentAppendersKeepOneGaplessLog() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let appenders = 8, calls = 12, perCall = 9
        // Appender t sends its own events and, every third call, one that appender t+1 also sends.
        let outcomes = try await withThrowingTaskGroup(of: [(String, AppendOutcome)].self) { g in
            for t in 0..<appenders {
                g.addTask {
                    var mine: [(String, AppendOutcome)] = []
                    for c in 0..<calls {
                        var batch = (0..<perCall).map { i in event(a, id: "t\(t)-c\(c)-\(i)", time: now - Int64((t * 7 + c + i) % 50)) }
                        if c % 3 == 0 { batch.append(event(a, id: "shared-\((t + appenders - 1) % appenders)-\(c)", time: now - 1)) }
                        if c % 3 == 0 { batch.append(event(a, id: "shared-\(t)-\(c)", time: now - 1)) }
                        batch.append(event(b, id: "b-\(t)-\(c)", time: now - 2))
                        let result = try await s.events.append(batch)
                        mine += zip(batch.map(\.eventId), result).filter { !$0.0.hasPrefix("b-") }
                    }
                    return mine
                }
            }
            return try await g.reduce(into: []) { $0 += $1 }
        }
        let distinct = Set(outcomes.map(\.0))
        XCTAssertEqual(distinct.count, appenders * calls * perCall + appenders * ((calls + 2) / 3))
        let last = try await s.events.lastSequence(accountId: a)
        XCTAssertEqual(last, Int64(distinct.count), "one sequence per distinct event")
        var stored: [StoredEvent] = []
        while true {
            let page = try await s.events.events(accountId: a, afterSequence: stored.last?.sequence ?? 0, limit: 97)
            if page.isEmpty { break }
            stored += page
        }
        XCTAssertEqual(stored.map(\.sequence), Array(1...last), "sequences 1...n without a gap or a repeat")
        XCTAssertEqual(Set(stored.map(\.eventId)), distinct, "each event stored once")
        let sequenceOf = Dictionary(stored.map { ($0.eventId, $0.sequence) }, uniquingKeysWith: { x, _ in x })
        for (id, outcome) in outcomes {
            switch outcome {
            case .stored(let n), .duplicate(let n): XCTAssertEqual(n, sequenceOf[id], "the sequence answered for \(id)")
            }
        }
        XCTAssertEqual(outcomes.filter { if case .stored = $0.1 { return true } else { return false } }.count, distinct.count,
                       "each event stored by exactly one call; the others were told it is a duplicate")
        // The reference: the RFC 6962 tree of the stored records, in sequence order.
        var reference = CompactRange()
        for (i, e) in stored.enumerated() {
            reference.append(RFC6962.leafHash(e.record))
            if i % 53 == 0 || i == stored.count - 1 {
                let root = try await s.events.merkleRoot(accountId: a, size: Int64(i + 1))
                XCTAssertEqual(root, reference.root(), "root at size \(i + 1)")
            }
        }
        let range = try await s.events.merkleRange(accountId: a)
        XCTAssertEqual(range, reference)
        let other = try await s.events.lastSequence(accountId: b)
        XCTAssertEqual(other, Int64(appenders * calls), "the other account's log is its own")
        try await s.close()
    }

    /// A page cursor taken before other writers start still pages through exactly the events that were
    /// there, while appends (inside and outside the range, at the page boundary's time too) go on at once.
    func pagesContinueWhileOthersAppend() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let base = now - 2000
        _ = try await s.events.append((0..<300).map { event(a, id: "p\($0)", time: base + Int64($0 / 4)) })
        let query = EventQuery(accountId: a, startTime: base, endTime: base + 100, limit: 11)
        let first = try await s.events.lookup(query)
        let seen = try await withThrowingTaskGroup(of: [String].self) { g in
            for w in 0..<4 {
                g.addTask {
                    for i in 0..<25 {
                        _ = try await s.events.append([event(a, id: "in-\(w)-\(i)", time: base + Int64((w * 25 + i) % 75)),
                                                       event(a, id: "out-\(w)-\(i)", time: base + 500)])
                    }
                    return []
                }
            }
            g.addTask {
                var ids = first.events.map(\.eventId)
                var after = first.events.last?.pagePosition
                var over = first.listOver
                while !over {
                    var q = query
                    q.after = after
                    let page = try await s.events.lookup(q)
                    ids += page.events.map(\.eventId)
                    after = page.events.last?.pagePosition
                    over = page.listOver
                }
                return ids
            }
            return try await g.reduce(into: []) { $0 += $1 }
        }
        XCTAssertEqual(Set(seen).count, seen.count, "no event twice")
        XCTAssertEqual(Set(seen.filter { $0.hasPrefix("p") }), Set((0..<300).map { "p\($0)" }), "every event there before is seen")
        XCTAssertFalse(seen.contains { $0.hasPrefix("out-") }, "nothing outside the range")
        // The order holds across pages: eventTime descending.
        let times = try await s.events.lookup(EventQuery(accountId: a, startTime: base, endTime: base + 100, limit: 1000)).events
        let rank = Dictionary(times.enumerated().map { ($1.eventId, $0) }, uniquingKeysWith: { x, _ in x })
        let ranks = seen.compactMap { rank[$0] }
        XCTAssertEqual(ranks, ranks.sorted(), "pages follow the lookup order")
        try await s.close()
    }

    func paginationIsStableUnderConcurrentAppends() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.events.append((0..<120).map { event(a, id: "p\($0)", time: now - 1000 + Int64($0 / 3)) })
        for size in [1, 7, 50] {
            var seen: [String] = []
            var after: PagePosition?
            var i = 0
            while true {
                let page = try await s.events.lookup(EventQuery(accountId: a, startTime: now - 1000, endTime: now - 900, after: after, limit: size))
                seen += page.events.map(\.eventId)
                // Events arriving meanwhile, inside and outside the range.
                _ = try await s.events.append([event(a, id: "new-\(size)-\(i)", time: now - 500), event(a, id: "old-\(size)-\(i)", time: now - 999)])
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
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        _ = try await s.events.append([event(a, id: "same", time: now), event(b, id: "same", time: now), event(b, id: "b-only", time: now)])
        let pa = try await s.events.lookup(EventQuery(accountId: a, startTime: now - 10, endTime: now, limit: 50))
        XCTAssertEqual(pa.events.map(\.eventId), ["same"])
        XCTAssertEqual(pa.events.first?.accountId, a)
        XCTAssertEqual(pa.totalCount, 1)
        let pb = try await s.events.lookup(EventQuery(accountId: b, startTime: now - 10, endTime: now, conditions: [.init(key: .eventId, values: ["same"])], limit: 50))
        XCTAssertEqual(pb.events.map(\.accountId), [b])
        try await s.close()
    }

    func totalCountsMatchAcrossHours() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let base = now - 20 * 3600
        var events: [AuditEvent] = []
        for i in 0..<400 {
            events.append(event(a, id: "h\(i)", time: base + Int64(i) * 157, name: i % 3 == 0 ? "A" : "B", user: i % 5 == 0 ? "u1" : "u2"))
        }
        _ = try await s.events.append(events)
        let h0 = base - base % 3600 + 3 * 3600
        // Partial hours shorter and longer than half an hour at either end (counted from either side).
        for (start, end) in [(base, now), (base + 1000, base + 30_000), (base + 3600, base + 7199), (base + 17, base + 18),
                             (h0 - 3000, h0 + 3000), (h0 - 600, h0 + 7200 + 600), (h0 - 3599, h0 + 3599), (h0, h0 + 3599)] {
            for cond in [[], [LookupCondition(key: .eventName, values: ["A"])], [LookupCondition(key: .eventName, values: ["A"]), LookupCondition(key: .username, values: ["u1"])]] {
                let expected = events.enumerated().filter { (i, e) in
                    e.eventTime >= start && e.eventTime <= end && (cond.isEmpty || i % 3 == 0) && (cond.count < 2 || i % 5 == 0)
                }.count
                let page = try await s.events.lookup(EventQuery(accountId: a, startTime: start, endTime: end, conditions: cond, limit: 5))
                XCTAssertEqual(page.totalCount, expected, "range \(start - base)...\(end - base), \(cond.count) conditions")
            }
        }
        try await s.close()
    }

    /// A range whose edge cuts through an hour holding thousands of events (counted from either side).
    func totalCountsOfBusyPartialHours() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let hour = now - now % 3600 - 5 * 3600
        _ = try await s.events.append((0..<3000).map { event(a, id: "b\($0)", time: hour + Int64($0)) })
        for (start, end, expected) in [(hour - 7200, hour + 2600, 2601), (hour + 100, hour + 7200, 2900), (hour + 100, hour + 2999, 2900),
                                       (hour - 10, hour + 3599, 3000), (hour + 1000, hour + 1000, 1)] {
            let page = try await s.events.lookup(EventQuery(accountId: a, startTime: start, endTime: end, conditions: [.init(key: .username, values: ["alice"])], limit: 1))
            XCTAssertEqual(page.totalCount, expected, "range \(start - hour)...\(end - hour)")
        }
        try await s.close()
    }

    func retentionDeletesOnlyOldEvents() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: 1, id: nil).id
        _ = try await s.events.append([event(a, id: "old", time: now - 3 * 86400), event(a, id: "new", time: now - 10)])
        let awaited17 = try await s.events.deleteEvents(accountId: a, olderThan: now - 2 * 86400)
        XCTAssertEqual(awaited17, 1)
        let page = try await s.events.lookup(EventQuery(accountId: a, startTime: now - 4 * 86400, endTime: now, conditions: [.init(key: .username, values: ["alice"])], limit: 10))
        XCTAssertEqual(page.events.map(\.eventId), ["new"])
        XCTAssertEqual(page.totalCount, 1)
        // The id of a dropped event can be recorded again (it is a new event now).
        let awaited18 = try await s.events.append([event(a, id: "new", time: now - 10)])
        XCTAssertEqual(awaited18, [.duplicate(sequence: 2)])
        try await s.close()
    }

    /// A query's bounds may be any 64-bit numbers (the API refuses far-off times, but the store must not
    /// trap or walk billions of empty days if one gets through): the answer is that of the days of data.
    func queriesOfAnyTimesAreAnsweredFromTheDaysOfData() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.events.append([event(a, id: "old", time: now - 5 * 86400), event(a, id: "new", time: now - 10, user: "bob")])
        for (start, end) in [(Int64.min, Int64.max), (Int64.min, now), (0, Int64.max), (now - 6 * 86400, Int64.max - 1)] {
            let page = try await s.events.lookup(EventQuery(accountId: a, startTime: start, endTime: end, limit: 10))
            XCTAssertEqual(page.events.map(\.eventId), ["new", "old"], "\(start)...\(end)")
            XCTAssertEqual(page.totalCount, 2, "\(start)...\(end)")
            let bob = try await s.events.lookup(EventQuery(accountId: a, startTime: start, endTime: end,
                                                    conditions: [LookupCondition(key: .username, values: ["bob", "alice"])], limit: 1))
            XCTAssertEqual(bob.events.map(\.eventId), ["new"])
            XCTAssertEqual(bob.totalCount, 2)
            let bars = try await s.events.histogram(EventQuery(accountId: a, startTime: start, endTime: end, limit: 0), buckets: 200)
            XCTAssertEqual(bars.reduce(0) { $0 + $1.count }, 2, "\(start)...\(end)")
            let top = try await s.events.topValues(accountId: a, key: .username, startTime: start, endTime: end, limit: 10)
            XCTAssertEqual(top.map(\.value).sorted(), ["alice", "bob"])
        }
        let empty = try await s.events.lookup(EventQuery(accountId: a, startTime: Int64.max, endTime: Int64.max, limit: 10))
        XCTAssertEqual(empty.events.count, 0)
    }

    func cursorsAreBoundToTheirAccount() async throws {
        let s = try await makeStorage()
        try await s.cursors.saveCursor(token: 77, accountId: 1, payload: [9, 9], expiresAt: now + 60)
        let awaited19 = try await s.cursors.cursor(token: 77, accountId: 1, now: now)
        XCTAssertEqual(awaited19, [9, 9])
        let awaited20 = try await s.cursors.cursor(token: 77, accountId: 2, now: now)
        XCTAssertNil(awaited20)
        let awaited21 = try await s.cursors.cursor(token: 77, accountId: 1, now: now + 61)
        XCTAssertNil(awaited21)
        try await s.cursors.deleteExpiredCursors(now: now + 61)
        let awaited22 = try await s.cursors.cursor(token: 77, accountId: 1, now: now)
        XCTAssertNil(awaited22)
        let secret = try await s.cursors.deploymentSecret()
        XCTAssertGreaterThanOrEqual(secret.count, 16)
        try await s.close()
    }
}
