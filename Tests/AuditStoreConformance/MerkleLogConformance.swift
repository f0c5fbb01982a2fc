import AuditIntegrity
import AuditModel
import AuditStore
import XCTest

/// The per-account Merkle log and its checkpoints: the same roots and proofs from every backend.
extension StoreConformance {
    func appendExtendsTheLog() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let empty = try await s.events.merkleRange(accountId: a)
        XCTAssertEqual(empty.size, 0)
        XCTAssertEqual(empty.root(), RFC6962.emptyRoot)
        // Several calls, interleaved accounts, a duplicate that must not add a leaf.
        var expected = CompactRange()
        var records: [[UInt8]] = []
        for chunk in 0..<5 {
            let events = (0..<(chunk * 37 + 1)).map { i in event(a, id: "e\(chunk)-\(i)", time: now - 50) }
            _ = try await s.events.append(events + [event(b, id: "b\(chunk)", time: now)])
            for e in events { expected.append(RFC6962.leafHash(e.record)); records.append(e.record) }
        }
        _ = try await s.events.append([event(a, id: "e0-0", time: now - 50)])
        let range = try await s.events.merkleRange(accountId: a)
        XCTAssertEqual(range, expected, "the stored right edge is the RFC 6962 tree of the records in sequence order")
        let last = try await s.events.lastSequence(accountId: a)
        XCTAssertEqual(Int64(range.size), last)
        let other = try await s.events.merkleRange(accountId: b)
        XCTAssertEqual(other.size, 5)
        // Roots at every earlier size agree with a tree built from the same records.
        var prefix = CompactRange()
        for (i, r) in records.enumerated() {
            prefix.append(RFC6962.leafHash(r))
            if i % 17 == 0 || i == records.count - 1 {
                let root = try await s.events.merkleRoot(accountId: a, size: Int64(i + 1))
                XCTAssertEqual(root, prefix.root(), "root at size \(i + 1)")
                let edge = try await s.events.merkleRange(accountId: a, size: Int64(i + 1))
                XCTAssertEqual(edge, prefix)
            }
        }
        let seq = try await s.events.sequence(accountId: a, eventId: "e2-5")
        XCTAssertEqual(seq, 1 + 38 + 6)
        let none = try await s.events.sequence(accountId: b, eventId: "e2-5")
        XCTAssertNil(none, "another account's event id")
        do {
            _ = try await s.events.merkleSubtrees(accountId: b, [MerkleNode(level: 3, index: 0)])
            XCTFail("a subtree beyond the log must be refused")
        } catch {}
        try await s.close()
    }

    func proofsVerify() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        _ = try await s.events.append((0..<300).map { event(a, id: "p\($0)", time: now - 10) })
        for size in [1, 2, 63, 64, 65, 130, 255, 300] as [Int64] {
            let root = try await s.events.merkleRoot(accountId: a, size: size)
            for index in Set([0, size / 2, size - 1]) {
                let leaf = try await s.events.merkleSubtrees(accountId: a, [MerkleNode(level: 0, index: UInt64(index))]).values.first!
                XCTAssertEqual(leaf, RFC6962.leafHash(event(a, id: "p\(index)", time: now - 10).record))
                let proof = try await s.events.inclusionProof(accountId: a, index: index, size: size)
                XCTAssertNoThrow(try MerkleVerifier.verifyInclusion(leafHash: leaf, index: UInt64(index), size: UInt64(size), proof: proof, root: root))
            }
            for first in [0, 1, size / 3, size - 1, size] as [Int64] where first >= 0 && first <= size {
                let proof = try await s.events.consistencyProof(accountId: a, from: first, to: size)
                let root1 = try await s.events.merkleRoot(accountId: a, size: first)
                XCTAssertNoThrow(try MerkleVerifier.verifyConsistency(size1: UInt64(first), size2: UInt64(size), root1: root1, root2: root, proof: proof),
                                 "consistency \(first) -> \(size)")
            }
        }
        try await s.close()
    }

    func leavesSurviveRetention() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: 1, id: nil).id
        _ = try await s.events.append((0..<70).map { event(a, id: "old\($0)", time: now - 5 * 86400) } + [event(a, id: "new", time: now)])
        let before = try await s.events.merkleRange(accountId: a)
        let dropped = try await s.events.deleteEvents(accountId: a, olderThan: now - 86400)
        XCTAssertEqual(dropped, 70)
        let after = try await s.events.merkleRange(accountId: a)
        XCTAssertEqual(after, before, "retention removes records, never leaves")
        let gone = try await s.events.sequence(accountId: a, eventId: "old3")
        XCTAssertNil(gone, "a dropped event is not found by its id")
        let proof = try await s.events.inclusionProof(accountId: a, index: 3, size: 71)
        let leaf = RFC6962.leafHash(event(a, id: "old3", time: now - 5 * 86400).record)
        XCTAssertNoThrow(try MerkleVerifier.verifyInclusion(leafHash: leaf, index: 3, size: 71, proof: proof, root: before.root()))
        try await s.close()
    }

    func checkpointsAreKept() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let none = try await s.events.checkpoint(accountId: a, size: nil)
        XCTAssertNil(none)
        let c1 = StoredCheckpoint(accountId: a, size: 3, root: Array(repeating: 1, count: 32), time: now, note: "n3")
        let c2 = StoredCheckpoint(accountId: a, size: 9, root: Array(repeating: 2, count: 32), time: now + 1, note: "n9")
        try await s.events.saveCheckpoint(c2)
        try await s.events.saveCheckpoint(c1)
        try await s.events.saveCheckpoint(StoredCheckpoint(accountId: a, size: 9, root: Array(repeating: 7, count: 32), time: now + 2, note: "other"))
        let latest = try await s.events.checkpoint(accountId: a, size: nil)
        XCTAssertEqual(latest, c2, "the newest is the largest; a second checkpoint of a kept size is ignored")
        let at3 = try await s.events.checkpoint(accountId: a, size: 3)
        XCTAssertEqual(at3, c1)
        let at4 = try await s.events.checkpoint(accountId: a, size: 4)
        XCTAssertNil(at4)
        let otherAccount = try await s.events.checkpoint(accountId: b, size: nil)
        XCTAssertNil(otherAccount)

        // The checkpointer signs what the store holds, and makes one only when the log grew.
        let key = try SigningKey.generate(name: "test")
        let signer = Checkpointer(storage: s, key: key)
        _ = try await s.events.append((0..<5).map { event(b, id: "c\($0)", time: now) })
        let made = try await signer.checkpointGrownLogs()
        XCTAssertEqual(made, 1, "only b's log has events beyond its newest checkpoint")
        let kept = try await signer.latest(accountId: b)
        let opened = try Checkpoint.open(kept.note, keys: [key.publicKey])
        XCTAssertEqual(opened.size, 5)
        XCTAssertEqual(opened.origin, "test/accounts/\(b)")
        let root = try await s.events.merkleRoot(accountId: b, size: 5)
        XCTAssertEqual(opened.root, root)
        let again = try await signer.checkpointGrownLogs()
        XCTAssertEqual(again, 0)
        try await s.close()
    }
}
