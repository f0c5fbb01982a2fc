import AuditModel
import AuditStore
import AuditStoreConformance
@testable import AuditStoreSQLite
import Foundation
import GRDB
import XCTest

final class SQLiteEventStoreTests: XCTestCase {
    var dirs: [URL] = []

    func freshPath() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ca-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        dirs.append(dir)
        return dir.appendingPathComponent("events.sqlite").path
    }

    override func tearDown() {
        for d in dirs { try? FileManager.default.removeItem(at: d) }
    }

    // The conformance suite, one test per behaviour, each on a fresh database file.
    func conformance(_ behaviour: StoreConformance.Behaviour) async throws {
        let path = try freshPath()
        try await StoreConformance(makeStorage: { Storage(try SQLiteEventStore(path: path + "-\(UUID().uuidString)")) }).run(behaviour)
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

    func testEventsSurviveReopenAndSequencesContinue() async throws {
        let path = try freshPath()
        var s: SQLiteEventStore? = try SQLiteEventStore(path: path)
        let a = try await s!.createAccount(name: "a", retentionDays: nil, id: nil).id
        let now = unixNow()
        let e = AuditEvent(record: Array(#"{"eventName":"X"}"#.utf8), eventId: "e1", eventTime: now, accountId: a, postings: [(.all, "")])
        let awaited1 = try await s!.append([e])
        XCTAssertEqual(awaited1, [.stored(sequence: 1)])
        try await s!.close()
        s = try SQLiteEventStore(path: path)
        var e2 = e
        e2.eventId = "e2"
        let awaited2 = try await s!.append([e, e2])
        XCTAssertEqual(awaited2, [.duplicate(sequence: 1), .stored(sequence: 2)])
        let page = try await s!.lookup(EventQuery(accountId: a, startTime: now - 1, endTime: now, limit: 5))
        XCTAssertEqual(page.events.first?.record, e.record, "the record is kept byte-exact")
        try await s!.close()
    }

    /// Opening says what it did to the schema: created it, migrated an older one (the migrations it
    /// applied, from which), or found it current.
    func testOpeningSaysWhichMigrationsItApplied() async throws {
        let all = SQLiteEventStore.migrator.migrations
        XCTAssertGreaterThan(all.count, 2)
        let fresh = try freshPath()
        let created = try SQLiteEventStore(path: fresh)
        XCTAssertEqual(created.schema, SchemaUpgrade(created: true, previous: nil, applied: all, current: all.last!))
        try await created.close()
        let reopened = try SQLiteEventStore(path: fresh)
        XCTAssertEqual(reopened.schema, SchemaUpgrade(created: false, previous: all.last!, applied: [], current: all.last!))
        try await reopened.close()
        // A database of an older release: only its first migration.
        let old = try freshPath()
        let pool = try DatabasePool(path: old)
        try SQLiteEventStore.migrator.migrate(pool, upTo: all[0])
        try pool.close()
        let upgraded = try SQLiteEventStore(path: old)
        XCTAssertEqual(upgraded.schema, SchemaUpgrade(created: false, previous: all[0], applied: Array(all.dropFirst()), current: all.last!))
        try await upgraded.close()
    }

    func testTheSchemaRefusesToRewriteEvents() async throws {
        let path = try freshPath()
        let s = try SQLiteEventStore(path: path)
        let a = try await s.createAccount(name: "a", retentionDays: nil, id: nil).id
        let now = unixNow()
        _ = try await s.append([AuditEvent(record: Array("{}".utf8), eventId: "e1", eventTime: now, accountId: a, postings: [(.all, "")])])
        try await s.close()
        let db = try DatabaseQueue(path: path)
        XCTAssertTrue(fails(db, "UPDATE events SET record = x'00'"), "events cannot be rewritten")
        XCTAssertTrue(fails(db, "DELETE FROM events"), "recent events cannot be deleted")
    }

    func testADatabaseFromANewerVersionIsRefused() async throws {
        let path = try freshPath()
        try await SQLiteEventStore(path: path).close()
        let db = try DatabaseQueue(path: path)
        XCTAssertFalse(fails(db, "INSERT INTO grdb_migrations(identifier) VALUES ('v999-future')"))
        try db.close()
        XCTAssertThrowsError(try SQLiteEventStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains("newer"), "\(error)")
        }
    }

    /// Runs `sql` synchronously; true when SQLite refused it.
    func fails(_ db: DatabaseQueue, _ sql: String) -> Bool {
        do { try db.write { try $0.execute(sql: sql) }; return false } catch { return true }
    }
}
