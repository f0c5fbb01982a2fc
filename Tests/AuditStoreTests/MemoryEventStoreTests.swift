import AuditStore
import AuditStoreConformance
@testable import AuditStore
import XCTest

final class MemoryEventStoreTests: XCTestCase {
    // The conformance suite, one test per behaviour.
    func conformance(_ behaviour: StoreConformance.Behaviour) async throws {
        try await StoreConformance(makeStorage: { Storage(MemoryEventStore()) }).run(behaviour)
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

    /// The reference vector of the SipHash paper (key 00..0f, message 00..0e).
    func testSipHashReferenceVector() {
        let f = ValueFingerprint(secret: Array(0..<16))
        XCTAssertEqual(f.sipHash24(Array(0..<15)), 0xa129ca6149be45e5)
        XCTAssertEqual(f.sipHash24([]), 0x726fdb47dd0e0e31)
        XCTAssertNotEqual(f(1, "alice"), f(4, "alice"), "the key is part of the fingerprint")
    }

    func testGroupCommitAnswersEachCallerWithItsOwnResult() async throws {
        let committer = GroupCommitter<Int, Int>()
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { g in
            for i in 0..<50 { g.addTask { (i, try await committer.submit(i) { items in items.map { $0 * 2 } }) } }
            return try await g.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        XCTAssertEqual(results.count, 50)
        for (i, r) in results { XCTAssertEqual(r, i * 2) }
    }
}
