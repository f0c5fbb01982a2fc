import AuditConfiguration
import AuditModel
import AuditStore
import AuditStoreConformance
@testable import AuditStorePostgres
import Foundation
import Logging
import PostgresNIO
import XCTest

/// The conformance suite on PostgreSQL, each behaviour on a database of its own, made on the cluster
/// that `CLOUDAUDIT_TEST_POSTGRES_URL` names (scripts/test starts one with scripts/pg-cluster; its user
/// may create databases). Without that variable these tests are skipped, and scripts/test fails when
/// it would skip them (it always gives one).
final class PostgresStoreTests: XCTestCase {
    static var logger: Logger {
        var l = Logger(label: "cloudaudit-test")
        l.logLevel = .error
        return l
    }

    /// The databases and stores this test made, dropped and closed at its end.
    let made = Made()

    final class Made: @unchecked Sendable {
        let lock = NSLock()
        var stores: [PostgresStore] = []
        var databases: [String] = []
        func add(_ store: PostgresStore, _ database: String) { lock.withLock { stores.append(store); databases.append(database) } }
        func take() -> ([PostgresStore], [String]) {
            lock.withLock {
                defer { stores = []; databases = [] }
                return (stores, databases)
            }
        }
    }

    static func base() throws -> StoreLocation {
        guard let text = ProcessInfo.processInfo.environment["CLOUDAUDIT_TEST_POSTGRES_URL"], !text.isEmpty else {
            throw XCTSkip("CLOUDAUDIT_TEST_POSTGRES_URL is not set (scripts/pg-cluster start DIR prints one)")
        }
        return try StoreLocation.parse(text).get()
    }

    /// Runs one statement on the cluster's test database (to make and drop databases).
    static func admin(_ sql: String) async throws {
        let base = try base()
        var configuration = PostgresConnection.Configuration(host: base.host, port: base.port, username: base.user, password: nil,
                                                             database: base.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// A store on a new, empty database.
    func freshStore() async throws -> PostgresStore {
        var location = try Self.base()
        location.database = "ca_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await Self.admin("CREATE DATABASE \(location.database)")
        let store = try await PostgresStore.open(location, password: nil, logger: Self.logger)
        made.add(store, location.database)
        return store
    }

    override func tearDown() async throws {
        let (stores, databases) = made.take()
        for s in stores { try? await s.close() }
        for d in databases { try? await Self.admin("DROP DATABASE IF EXISTS \(d) WITH (FORCE)") }
    }

    func conformance(_ behaviour: StoreConformance.Behaviour) async throws {
        _ = try Self.base()
        do {
            try await StoreConformance(makeStorage: { [self] in
                let store = try await freshStore()
                var storage = Storage(store)
                storage.schema = store.schema
                return storage
            }).run(behaviour)
        } catch let error as PSQLError {
            // (postgres-nio's errors print nothing useful unless reflected.)
            XCTFail(String(reflecting: error))
        }
    }

    func testEveryConformanceBehaviourIsATest() throws { try StoreConformance.checkEveryBehaviourIsATest(in: #filePath) }
    func testAccountsAndKeys() async throws { try await conformance(.accountsAndKeys) }
    func testAppendAssignsGaplessSequencesAndDedupes() async throws { try await conformance(.appendAssignsGaplessSequencesAndDedupes) }
    func testConcurrentAppendersKeepOneGaplessLog() async throws { try await conformance(.concurrentAppendersKeepOneGaplessLog) }
    func testLookupFiltersAndOrders() async throws { try await conformance(.lookupFiltersAndOrders) }
    func testPaginationIsStableUnderConcurrentAppends() async throws { try await conformance(.paginationIsStableUnderConcurrentAppends) }
    func testPagesContinueWhileOthersAppend() async throws { try await conformance(.pagesContinueWhileOthersAppend) }
    func testAccountsAreIsolated() async throws { try await conformance(.accountsAreIsolated) }
    func testTotalCountsMatchAcrossHours() async throws { try await conformance(.totalCountsMatchAcrossHours) }
    func testTotalCountsOfBusyPartialHours() async throws { try await conformance(.totalCountsOfBusyPartialHours) }
    func testRetentionDeletesOnlyOldEvents() async throws { try await conformance(.retentionDeletesOnlyOldEvents) }
    func testCursorsAreBoundToTheirAccount() async throws { try await conformance(.cursorsAreBoundToTheirAccount) }
    func testQueriesOfAnyTimesAreAnsweredFromTheDaysOfData() async throws { try await conformance(.queriesOfAnyTimesAreAnsweredFromTheDaysOfData) }
    func testAccountNamesAreUniqueAndAccountsChange() async throws { try await conformance(.accountNamesAreUniqueAndAccountsChange) }
    func testEventsBySequence() async throws { try await conformance(.eventsBySequence) }
    func testTracksHaveQuotaUniqueNamesAndOwners() async throws { try await conformance(.tracksHaveQuotaUniqueNamesAndOwners) }
    func testCursorsStartAtCreation() async throws { try await conformance(.cursorsStartAtCreation) }
    func testMemberCursors() async throws { try await conformance(.memberCursors) }
    func testDeliveryStateAndOutbox() async throws { try await conformance(.deliveryStateAndOutbox) }
    func testLeasesGoToOneHolderAndFenceTheLosers() async throws { try await conformance(.leasesGoToOneHolderAndFenceTheLosers) }
    func testKmsKeysRoundTripAndList() async throws { try await conformance(.kmsKeysRoundTripAndList) }
    func testKmsAliasesAreUniquePerAccountAndRegion() async throws { try await conformance(.kmsAliasesAreUniquePerAccountAndRegion) }
    func testKmsKeyStatus() async throws { try await conformance(.kmsKeyStatus) }
    func testAppendExtendsTheLog() async throws { try await conformance(.appendExtendsTheLog) }
    func testProofsVerify() async throws { try await conformance(.proofsVerify) }
    func testLeavesSurviveRetention() async throws { try await conformance(.leavesSurviveRetention) }
    func testCheckpointsAreKept() async throws { try await conformance(.checkpointsAreKept) }
    func testConsolePasswordsAndSessions() async throws { try await conformance(.consolePasswordsAndSessions) }
    func testTopValuesMatchANaiveCount() async throws { try await conformance(.topValuesMatchANaiveCount) }
    func testHistogramBucketsMatchANaiveCount() async throws { try await conformance(.histogramBucketsMatchANaiveCount) }
    func testExclusionsLeaveEventsOutOfPagesAndCounts() async throws { try await conformance(.exclusionsLeaveEventsOutOfPagesAndCounts) }
    func testSnapshotsHoldPagesAndCountsStill() async throws { try await conformance(.snapshotsHoldPagesAndCountsStill) }
    func testAlertChannelsAndRulesBelongToTheirAccount() async throws { try await conformance(.alertChannelsAndRulesBelongToTheirAccount) }
    func testAlertEvaluationsCommitOnce() async throws { try await conformance(.alertEvaluationsCommitOnce) }
    func testAlertDeliveriesAreClaimedAndRetried() async throws { try await conformance(.alertDeliveriesAreClaimedAndRetried) }

    /// Events over three days with a value for every lookup key, through the API's own validator.
    func seed(_ store: PostgresStore, account: Int64, now: Int64, count: Int = 3000, spacing: Int64 = 86) async throws -> [AuditEvent] {
        var events: [AuditEvent] = []
        for i in 0..<count {
            let t = now - Int64(i) * spacing  // three days by default
            let record = """
                {"eventId":"ev-\(i)","eventTime":\(t),"eventName":"Run\(i % 11)","eventSource":"svc\(i % 3).api","actionType":"\(i % 2 == 0 ? "Write" : "Read")",\
                "userIdentity":{"userName":"user\(i % 13)","principalId":"p\(i % 17)","secretId":"AKID\(i % 19)"},"resourceType":"type\(i % 5)",\
                "resourceName":"res-\(i % 23)","resourceSet":["ins-\(i % 29)"],"sourceIPAddress":"10.0.\(i % 7).\(i % 31)","requestID":"req-\(i)",\
                "errorCode":\(i % 37 == 0 ? 4102 : 0),"apiErrorCode":"\(i % 41 == 0 ? "AuthFailure" : "")","sensitiveAction":\(i % 43 == 0),\
                "tags":[{"key":"env","value":"v\(i % 3)"}]}
                """
            let bytes = Array(record.utf8)
            let scope = AccountScope(accountId: account, retentionDays: 30)
            guard case .success(let e) = EventRecordValidator.validate(try JSONParser.parse(bytes), source: bytes, now: now, resolveAccount: { _ in .success(scope) }) else {
                XCTFail("the seed record is refused: \(record)")
                return []
            }
            events.append(e)
        }
        for chunk in stride(from: 0, to: events.count, by: 500) { _ = try await store.append(Array(events[chunk..<min(chunk + 500, events.count)])) }
        try await Self.admin("ANALYZE")
        return events
    }

    /// Every lookup key is read as one index range per day partition, newest first: an `Index Only Scan
    /// Backward` on each postings partition the time range prunes to, merged in order, with no sort.
    func testEveryLookupKeyIsOneBackwardIndexRangeScan() async throws {
        _ = try Self.base()
        let store = try await freshStore()
        let account = try await store.createAccount(name: "explain", retentionDays: nil, id: nil).id
        let now = unixNow()
        let events = try await seed(store, account: account, now: now)
        // The ANALYZE above ran in the test database, not this one: the planner must see the tables' sizes.
        try await store.run("ANALYZE")
        var explained: [LookupKey] = []
        for key in LookupKey.allCases {
            var conditions: [LookupCondition] = []
            if key != .all {
                guard let value = events.lazy.compactMap({ e in e.postings.first { $0.key == key }?.value }).first else { continue }
                conditions = [LookupCondition(key: key, values: [value])]
            }
            let plan = try await store.explainScan(EventQuery(accountId: account, startTime: now - 2 * 86400, endTime: now, conditions: conditions, limit: 50))
            print("EXPLAIN of the scan for \(key):\n\(plan)\n")
            XCTAssertTrue(plan.contains("Index Only Scan Backward using postings_d"), "\(key): not a backward index scan:\n\(plan)")
            XCTAssertFalse(plan.contains("Sort"), "\(key): sorted instead of read in order:\n\(plan)")
            XCTAssertFalse(plan.contains("Seq Scan"), "\(key): a sequential scan:\n\(plan)")
            explained.append(key)
        }
        XCTAssertEqual(Set(explained), Set(LookupKey.allCases), "a lookup key had no value in the seed")
    }

    /// Retention drops whole day partitions once every account's retention has passed them, and the
    /// rows of accounts with a shorter one; the Merkle log keeps every leaf.
    func testRetentionDropsWholeDaysThenRows() async throws {
        _ = try Self.base()
        let store = try await freshStore()
        let long = try await store.createAccount(name: "long", retentionDays: 2, id: nil).id
        let short = try await store.createAccount(name: "short", retentionDays: 1, id: nil).id
        let now = unixNow()
        // 400 events each over the last three days
        _ = try await seed(store, account: long, now: now, count: 400, spacing: 650)
        _ = try await seed(store, account: short, now: now, count: 400, spacing: 650)
        func partitions() async throws -> [String] {
            try await store.rows("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1")
                .map { try $0.decode(String.self) }
        }
        let before = try await partitions()
        XCTAssertGreaterThanOrEqual(before.count, 3)
        // The longest retention's cutoff: the days wholly before it go at once, for both accounts.
        let cutoffs = [long: TimeBuckets.hour(now - 2 * 86400), short: TimeBuckets.hour(now - 86400)]
        let dropped = try await store.dropWholePeriods(olderThan: cutoffs[long]!, now: now)
        let after = try await partitions()
        let today = TimeBuckets.day(now)
        XCTAssertTrue(after.contains(PostgresStore.partition("events", day: today + 2)), "the days ahead are made: \(after)")
        let keptDays = after.compactMap { PostgresStore.day(ofPartition: $0, table: "events") }
        XCTAssertEqual(keptDays.count, after.count)
        XCTAssertTrue(keptDays.allSatisfy { ($0 + 1) * 86400 > cutoffs[long]! }, "a day wholly before the cutoff stayed: \(after)")
        XCTAssertGreaterThan(dropped, 0, "the oldest day went whole: \(before) -> \(after)")
        // Then rows, each account up to its own cutoff.
        for (account, cutoff) in cutoffs { _ = try await store.deleteEvents(accountId: account, olderThan: cutoff) }
        for (account, cutoff) in cutoffs {
            let page = try await store.lookup(EventQuery(accountId: account, startTime: 0, endTime: now, limit: 1000))
            XCTAssertFalse(page.events.isEmpty)
            XCTAssertTrue(page.events.allSatisfy { $0.eventTime >= cutoff }, "an event older than the account's cutoff is still listed")
            XCTAssertEqual(page.events.count, 400 - (0..<400).filter { now - Int64($0) * 650 < cutoff }.count)
            XCTAssertEqual(page.totalCount, page.events.count, "counts agree with what is listed after retention")
            let size = try await store.merkleRange(accountId: account).size
            XCTAssertEqual(size, 400, "the Merkle log keeps every leaf")
        }
    }
}
