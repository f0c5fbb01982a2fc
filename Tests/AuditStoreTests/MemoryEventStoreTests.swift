import AuditStore
import AuditStoreConformance
@testable import AuditStore
import XCTest

final class MemoryEventStoreTests: XCTestCase {
    func testConformance() async throws {
        try await EventStoreConformance(makeStore: { MemoryEventStore() }).runAll()
    }

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
