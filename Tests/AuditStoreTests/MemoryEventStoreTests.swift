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
    func testAlertChannelsAndRulesBelongToTheirAccount() async throws { try await conformance(.alertChannelsAndRulesBelongToTheirAccount) }
    func testAlertEvaluationsCommitOnce() async throws { try await conformance(.alertEvaluationsCommitOnce) }
    func testAlertDeliveriesAreClaimedAndRetried() async throws { try await conformance(.alertDeliveriesAreClaimedAndRetried) }

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

    /// A group that fails on one caller's input is retried caller by caller; a store outage fails the
    /// whole group at once (each retry would wait for the store again).
    func testGroupCommitRetriesBadInputAloneButFailsAnOutageAtOnce() async throws {
        final class Calls: @unchecked Sendable {
            let lock = NSLock()
            var groups: [[Int]] = []
            func add(_ g: [Int]) { lock.withLock { groups.append(g) } }
        }
        for outage in [false, true] {
            let committer = GroupCommitter<Int, Int>()
            let calls = Calls()
            let gate = AsyncStream<Void>.makeStream()
            // One writer for every group (the committer runs the writer of the caller that started it).
            let write: GroupCommitter<Int, Int>.Writer = { items in
                // The first item holds the writer until the others have queued, so that they form one group.
                if items == [-1] {
                    for await _ in gate.stream { break }
                    return items
                }
                calls.add(items)
                if outage { throw StoreError(.unavailable, "down") }
                if items.contains(3) { throw StoreError(.merkleLogMismatch, "bad input") }
                return items
            }
            let outcomes = await withTaskGroup(of: Bool.self) { g in
                g.addTask { (try? await committer.submit(-1, write: write)) != nil }
                try? await Task.sleep(for: .milliseconds(50))
                for i in 0..<6 {
                    g.addTask { (try? await committer.submit(i, write: write)) == i }
                }
                try? await Task.sleep(for: .milliseconds(100))
                gate.continuation.yield()
                return await g.reduce(into: [Bool]()) { $0.append($1) }
            }
            // (However the six were grouped: the sleeps above only make one group likely.)
            if outage {
                XCTAssertEqual(outcomes.filter { $0 }.count, 1, "only the holder succeeded (its group came before the outage)")
                XCTAssertEqual(calls.groups.flatMap { $0 }.sorted(), Array(0..<6), "an outage is not retried caller by caller: \(calls.groups)")
            } else {
                XCTAssertEqual(outcomes.filter { !$0 }.count, 1, "only the caller with bad input failed")
                XCTAssertTrue(calls.groups.contains([3]), "the failed group's callers were retried alone: \(calls.groups)")
                XCTAssertEqual(Set(calls.groups.flatMap { $0 }), Set(0..<6))
            }
        }
    }
}
