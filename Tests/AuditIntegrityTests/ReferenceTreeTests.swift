import AuditModel
import XCTest
@testable import AuditIntegrity

/// CompactRange, ProofPlan and MerkleVerifier against the naive RFC 6962 reference (`ReferenceTree`)
/// on random trees.
final class ReferenceTreeTests: XCTestCase {
    func testHashingMatchesTheReference() {
        var rng = SeededRNG(seed: 1)
        for _ in 0..<50 {
            let data = rng.bytes(Int.random(in: 0...100, using: &rng))
            XCTAssertEqual(RFC6962.leafHash(data), ReferenceTree.leafHash(data))
            let l = rng.bytes(32), r = rng.bytes(32)
            XCTAssertEqual(RFC6962.nodeHash(l, r), ReferenceTree.nodeHash(l, r))
            XCTAssertNotEqual(RFC6962.nodeHash(l, r), RFC6962.nodeHash(r, l))
        }
        XCTAssertEqual(RFC6962.emptyRoot, ReferenceTree.empty)
        // Domain separation: a leaf of 64 bytes is not the node of its two halves.
        let l = rng.bytes(32), r = rng.bytes(32)
        XCTAssertNotEqual(RFC6962.leafHash(l + r), RFC6962.nodeHash(l, r))
    }

    func testRootMatchesReferenceAtEverySize() {
        var rng = SeededRNG(seed: 2)
        for total in [300, 2000] {
            let ref = ReferenceTree(randomLeaves: total, rng: &rng)
            var cr = CompactRange()
            XCTAssertEqual(cr.root(), ref.root(0))
            for (i, leaf) in ref.leaves.enumerated() {
                cr.append(leaf)
                XCTAssertEqual(cr.size, UInt64(i + 1))
                XCTAssertEqual(cr.hashes.count, (i + 1).nonzeroBitCount)
                XCTAssertEqual(cr.root(), ref.root(i + 1), "root of size \(i + 1)")
                // The compact range holds MTH of each node of its decomposition.
                if i < 300 {
                    XCTAssertEqual(cr.hashes, cr.nodes.map { ref.mth(Int($0.begin), Int($0.end)) }, "size \(i + 1)")
                }
            }
        }
    }

    func testCompletedReportsEveryPerfectSubtreeExactlyOnce() {
        var rng = SeededRNG(seed: 3)
        for total in [1, 2, 3, 7, 8, 9, 64, 255, 256, 300, 1025] {
            let ref = ReferenceTree(randomLeaves: total, rng: &rng)
            var cr = CompactRange()
            var seen: [MerkleNode: Int] = [:]
            for (i, leaf) in ref.leaves.enumerated() {
                var reported: [MerkleNode] = []
                cr.append(leaf) { node, hash in
                    reported.append(node)
                    seen[node, default: 0] += 1
                    XCTAssertEqual(hash, ref.mth(Int(node.begin), Int(node.end)), "hash of \(node)")
                }
                // Exactly the perfect subtrees that end at the new size, bottom-up: levels 0...trailing ones of i.
                let newSize = UInt64(i + 1)
                XCTAssertEqual(reported.map(\.level), Array(0...newSize.trailingZeroBitCount), "append #\(i)")
                XCTAssertTrue(reported.allSatisfy { $0.end == newSize }, "append #\(i)")
            }
            XCTAssertEqual(Set(seen.keys), ref.perfectSubtrees(total), "size \(total)")
            XCTAssertTrue(seen.values.allSatisfy { $0 == 1 }, "a subtree was reported twice (size \(total))")
            XCTAssertEqual(seen.count, 2 * total - total.nonzeroBitCount)
        }
    }

    func testInclusionPlansMatchReferenceAndVerify() throws {
        var rng = SeededRNG(seed: 4)
        var sizes = Array(1...70)
        for _ in 0..<25 { sizes.append(Int.random(in: 71...300, using: &rng)) }
        for _ in 0..<4 { sizes.append(Int.random(in: 1000...2000, using: &rng)) }
        sizes += [1024, 1025, 2047]
        let ref = ReferenceTree(randomLeaves: 2048, rng: &rng)
        for size in sizes {
            let root = ref.root(size)
            // Every index for the small sizes, a sample for the big ones.
            let indices = size <= 300 ? Array(0..<size) : (0..<40).map { _ in Int.random(in: 0..<size, using: &rng) } + [0, size - 1]
            for index in indices {
                let plan = try ProofPlan.inclusion(index: UInt64(index), size: UInt64(size))
                let proof = try plan.assemble(ref.nodeSource(plan))
                XCTAssertEqual(proof, ref.path(index, size), "PATH(\(index), \(size))")
                XCTAssertEqual(plan.ranges.count, proof.count)
                XCTAssertEqual(try MerkleVerifier.rootFromInclusion(leafHash: ref.leaves[index], index: UInt64(index), size: UInt64(size), proof: proof), root)
                XCTAssertNoThrow(try MerkleVerifier.verifyInclusion(leafHash: ref.leaves[index], index: UInt64(index), size: UInt64(size), proof: proof,
                                                                    root: root), "\(index) in \(size)")
            }
        }
    }

    func testConsistencyPlansMatchReferenceAndVerifyForAllPairsUpTo70() throws {
        var rng = SeededRNG(seed: 5)
        let ref = ReferenceTree(randomLeaves: 70, rng: &rng)
        for n in 0...70 {
            for m in 0...n {
                let plan = try ProofPlan.consistency(from: UInt64(m), to: UInt64(n))
                let proof = try plan.assemble(ref.nodeSource(plan))
                XCTAssertEqual(proof, ref.proof(m, n), "PROOF(\(m), \(n))")
                XCTAssertNoThrow(try MerkleVerifier.verifyConsistency(size1: UInt64(m), size2: UInt64(n), root1: ref.root(m), root2: ref.root(n),
                                                                      proof: proof), "\(m) -> \(n)")
            }
        }
    }

    func testConsistencyPlansOnBigTrees() throws {
        var rng = SeededRNG(seed: 6)
        let ref = ReferenceTree(randomLeaves: 2000, rng: &rng)
        for _ in 0..<300 {
            let n = Int.random(in: 1...2000, using: &rng)
            let m = Int.random(in: 1...n, using: &rng)
            let plan = try ProofPlan.consistency(from: UInt64(m), to: UInt64(n))
            let proof = try plan.assemble(ref.nodeSource(plan))
            XCTAssertEqual(proof, ref.proof(m, n), "PROOF(\(m), \(n))")
            XCTAssertNoThrow(try MerkleVerifier.verifyConsistency(size1: UInt64(m), size2: UInt64(n), root1: ref.root(m), root2: ref.root(n), proof: proof))
        }
    }

    func testPlanNodesAreDistinctPerfectSubtreesCoveringTheRanges() throws {
        for size in UInt64(1)...100 {
            for index in 0..<size {
                let plan = try ProofPlan.inclusion(index: index, size: size)
                XCTAssertEqual(plan.nodes.count, Set(plan.nodes).count)
                XCTAssertTrue(plan.nodes.allSatisfy { $0.end <= size })
            }
            for m in 0...size {
                let plan = try ProofPlan.consistency(from: m, to: size)
                XCTAssertEqual(plan.nodes.count, Set(plan.nodes).count)
                XCTAssertTrue(plan.nodes.allSatisfy { $0.end <= size })
            }
        }
        // A missing hash is reported, not trapped on.
        let plan = try ProofPlan.inclusion(index: 3, size: 10)
        var partial = ReferenceTree(leaves: (0..<10).map { ReferenceTree.leafHash([UInt8($0)]) }).nodeSource(plan)
        partial.removeValue(forKey: plan.nodes[0])
        XCTAssertThrowsError(try plan.assemble(partial))
    }

    func testDecomposeIsTheMaximalAlignedCover() {
        var rng = SeededRNG(seed: 7)
        var ranges: [Range<UInt64>] = [0..<0, 0..<1, 5..<5, 0..<(UInt64(1) << 40), 3..<(UInt64(1) << 33) + 5]
        for _ in 0..<2000 {
            let a = UInt64.random(in: 0...3000, using: &rng)
            ranges.append(a..<a + UInt64.random(in: 0...3000, using: &rng))
        }
        for r in ranges {
            let nodes = MerkleNode.decompose(r)
            var at = r.lowerBound
            for n in nodes {
                XCTAssertEqual(n.begin, at, "\(r): contiguous")
                XCTAssertEqual(n.begin % (UInt64(1) << UInt64(n.level)), 0, "\(r): aligned")
                // Maximal: the parent does not fit in the range.
                let parent = MerkleNode(level: n.level + 1, index: n.index >> 1)
                XCTAssertFalse(parent.begin >= r.lowerBound && parent.end <= r.upperBound, "\(r): \(n) is not maximal")
                at = n.end
            }
            XCTAssertEqual(at, r.upperBound, "\(r): covers")
            // Levels go up, then down.
            let levels = nodes.map(\.level)
            if let top = levels.indices.max(by: { levels[$0] < levels[$1] }) {
                XCTAssertEqual(Array(levels[...top]), levels[...top].sorted())
                XCTAssertEqual(Array(levels[top...]), levels[top...].sorted(by: >))
            }
        }
        XCTAssertEqual(MerkleNode.decompose(0..<13), [MerkleNode(level: 3, index: 0), MerkleNode(level: 2, index: 2), MerkleNode(level: 0, index: 12)])
        XCTAssertEqual(MerkleNode.decompose(3..<8), [MerkleNode(level: 0, index: 3), MerkleNode(level: 2, index: 1)])
    }

    /// `rangeHash` is MTH for every range aligned to a power of two at least its size.
    func testRangeHashIsMTHOfAlignedRanges() {
        var rng = SeededRNG(seed: 8)
        let ref = ReferenceTree(randomLeaves: 300, rng: &rng)
        var nodes: [MerkleNode: MerkleHash] = [:]
        var cr = CompactRange()
        for l in ref.leaves { cr.append(l) { n, h in nodes[n] = h } }
        for end in 1...300 {
            for start in 0..<end where GoldenVectorTests.isSubtreeValid(UInt64(start), UInt64(end)) {
                let h = rangeHash(MerkleNode.decompose(UInt64(start)..<UInt64(end)).map { nodes[$0]! })
                XCTAssertEqual(h, ref.mth(start, end), "[\(start), \(end))")
            }
        }
    }

    /// Appending whole subtrees (as a verifier does for skipped events) gives the same compact range
    /// as appending their leaves one by one.
    func testAppendSubtreeReproducesLeafByLeafAppends() throws {
        var rng = SeededRNG(seed: 9)
        let ref = ReferenceTree(randomLeaves: 1200, rng: &rng)
        for round in 0..<60 {
            let total = round < 40 ? Int.random(in: 1...300, using: &rng) : Int.random(in: 300...1200, using: &rng)
            var cr = CompactRange()
            var expected = CompactRange()
            var at = 0
            while at < total {
                let next = min(total, at + Int.random(in: 1...(round % 2 == 0 ? 9 : 200), using: &rng))
                if Bool.random(using: &rng) {
                    for node in MerkleNode.decompose(UInt64(at)..<UInt64(next)) {
                        try cr.append(subtree: node, hash: ref.mth(Int(node.begin), Int(node.end)))
                    }
                } else {
                    for i in at..<next { cr.append(ref.leaves[i]) }
                }
                for i in at..<next { expected.append(ref.leaves[i]) }
                at = next
                XCTAssertEqual(cr.size, UInt64(at))
                XCTAssertEqual(cr.hashes.count, at.nonzeroBitCount, "round \(round): hashes after reaching \(at)")
                XCTAssertEqual(cr.root(), ref.root(at), "round \(round): root at \(at)")
                XCTAssertEqual(cr, expected, "round \(round): range at \(at)")
            }
            // The range keeps working with plain appends afterwards.
            if total < ref.leaves.count {
                cr.append(ref.leaves[total])
                XCTAssertEqual(cr.root(), ref.root(total + 1), "round \(round): append after subtrees")
            }
        }
    }

    func testAppendSubtreeExhaustiveSmall() throws {
        let ref = ReferenceTree(leaves: (0..<64).map { ReferenceTree.leafHash([UInt8($0), 7]) })
        let prefixes = (0...64).map { compactRange(ref.leaves[0..<$0]) }
        for a in 0...64 {
            for b in a...64 {
                var cr = prefixes[a]
                for node in MerkleNode.decompose(UInt64(a)..<UInt64(b)) {
                    try cr.append(subtree: node, hash: ref.mth(Int(node.begin), Int(node.end)))
                }
                XCTAssertEqual(cr, prefixes[b], "\(a) ..< \(b)")
            }
        }
    }

    func testAppendSubtreeRejectsMisplacedSubtrees() {
        let ref = ReferenceTree(leaves: (0..<16).map { ReferenceTree.leafHash([UInt8($0)]) })
        var cr = compactRange(ref.leaves[0..<6])
        let before = cr
        // Not starting at the range's end.
        XCTAssertThrowsError(try cr.append(subtree: MerkleNode(level: 0, index: 7), hash: ref.leaves[7]))
        XCTAssertThrowsError(try cr.append(subtree: MerkleNode(level: 0, index: 5), hash: ref.leaves[5]))
        XCTAssertThrowsError(try cr.append(subtree: MerkleNode(level: 2, index: 1), hash: ref.mth(4, 8)))
        XCTAssertThrowsError(try cr.append(subtree: MerkleNode(level: 3, index: 0), hash: ref.mth(0, 8)))
        // Not 32 bytes.
        XCTAssertThrowsError(try cr.append(subtree: MerkleNode(level: 1, index: 3), hash: Array(ref.mth(6, 8).dropLast())))
        XCTAssertEqual(cr, before, "a rejected append changes nothing")
        XCTAssertNoThrow(try cr.append(subtree: MerkleNode(level: 1, index: 3), hash: ref.mth(6, 8)))
        XCTAssertEqual(cr, compactRange(ref.leaves[0..<8]))
        // Onto an empty range any subtree starting at 0 goes.
        var empty = CompactRange()
        XCTAssertNoThrow(try empty.append(subtree: MerkleNode(level: 4, index: 0), hash: ref.mth(0, 16)))
        XCTAssertEqual(empty, compactRange(ref.leaves[0..<16]))
    }

    func testSerializedRoundTrip() throws {
        var rng = SeededRNG(seed: 10)
        let ref = ReferenceTree(randomLeaves: 300, rng: &rng)
        var cr = CompactRange()
        for i in 0...300 {
            let bytes = cr.serialized
            XCTAssertEqual(bytes.count, 8 + 32 * i.nonzeroBitCount)
            XCTAssertEqual(Array(bytes[0..<8]), withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) })
            let back = try CompactRange(serialized: bytes)
            XCTAssertEqual(back, cr)
            XCTAssertEqual(back.root(), ref.root(i))
            XCTAssertEqual(try CompactRange(size: cr.size, hashes: cr.hashes), cr)
            if i < 300 { cr.append(ref.leaves[i]) }
        }
        // A big size with few bits set.
        let big = try CompactRange(size: (UInt64(1) << 40) + 1, hashes: [ref.leaves[0], ref.leaves[1]])
        XCTAssertEqual(try CompactRange(serialized: big.serialized), big)
        XCTAssertEqual(Array(big.serialized[0..<8]), [0, 0, 1, 0, 0, 0, 0, 1])

        // Malformed.
        let good = compactRange(ref.leaves[0..<5]).serialized  // size 5: two hashes
        XCTAssertThrowsError(try CompactRange(serialized: []))
        XCTAssertThrowsError(try CompactRange(serialized: Array(good[0..<7])))
        XCTAssertThrowsError(try CompactRange(serialized: Array(good.dropLast())))
        XCTAssertThrowsError(try CompactRange(serialized: Array(good.dropLast(32))))
        XCTAssertThrowsError(try CompactRange(serialized: good + ref.leaves[9]))
        var wrongSize = good
        wrongSize[7] = 4  // size 4 wants one hash
        XCTAssertThrowsError(try CompactRange(serialized: wrongSize))
    }

    func testInitRejectsWrongCounts() throws {
        let h = ReferenceTree.leafHash([1])
        for size in UInt64(0)...70 {
            let want = size.nonzeroBitCount
            for count in 0...8 where count != want {
                XCTAssertThrowsError(try CompactRange(size: size, hashes: Array(repeating: h, count: count)), "size \(size), \(count) hashes")
            }
            XCTAssertNoThrow(try CompactRange(size: size, hashes: Array(repeating: h, count: want)))
        }
        XCTAssertThrowsError(try CompactRange(size: 1, hashes: [Array(h.dropLast())]))
        XCTAssertThrowsError(try CompactRange(size: 1, hashes: [h + [0]]))
        XCTAssertThrowsError(try CompactRange(size: 3, hashes: [h, []]))
        XCTAssertThrowsError(try CompactRange(size: UInt64.max, hashes: [h]))
    }
}
