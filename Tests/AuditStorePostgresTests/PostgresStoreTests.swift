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
}
