import AuditModel
import XCTest
@testable import AuditIntegrity

/// A corpus of broken proofs: every valid inclusion / consistency proof of random trees up to 40
/// leaves, mutated in every way an attacker or a bug could, must fail with the right `ProofError`.
///
/// One thing no RFC 6962 verifier can detect: a proof checked against a *different* size (or index)
/// whose proof has exactly the same shape, i.e. the same side (left/right sibling) for every element.
/// The computation is then identical and the original root comes out (e.g. leaf 0's proof in a tree
/// of 3 also "verifies" leaf 0 in a tree of 4 against the root of 3; transparency-dev/merkle behaves
/// the same). The size is authenticated by the signed checkpoint that carries the root, not by the
/// proof. So for size/index mutations the expected outcome is computed from the RFC 6962 PATH/SUBPROOF
/// recursion: same shape -> accepted, different length -> proofLength, otherwise rootMismatch.
final class ProofMutationTests: XCTestCase {
    static let maxSize = 40

    // MARK: proof shapes from the RFC 6962 recursion

    /// For PATH(m, D[n]), bottom-up: whether each element is the left sibling.
    static func pathSides(_ m: UInt64, _ n: UInt64) -> [Bool] {
        if n <= 1 { return [] }
        let k = UInt64(ReferenceTree.k(Int(n)))
        return m < k ? pathSides(m, k) + [false] : pathSides(m - k, n - k) + [true]
    }

    /// For PROOF(m, D[n]) (0 < m < n): whether the proof starts with the hash of the old tree's last
    /// subtree (otherwise the old root is the seed), then each later element's side.
    static func proofShape(_ m: UInt64, _ n: UInt64) -> (seedInProof: Bool, sides: [Bool]) {
        func sub(_ m: UInt64, _ n: UInt64, _ b: Bool) -> (Bool, [Bool]) {
            if m == n { return (!b, []) }
            let k = UInt64(ReferenceTree.k(Int(n)))
            if m <= k {
                let (s, sides) = sub(m, k, b)
                return (s, sides + [false])
            }
            let (s, sides) = sub(m - k, n - k, false)
            return (s, sides + [true])
        }
        return sub(m, n, true)
    }

    static func expectedInclusion(index: UInt64, size: UInt64, proofCount: Int, original: [Bool]) -> String {
        if index >= size { return "indexOutOfRange" }
        let sides = pathSides(index, size)
        if sides.count != proofCount { return "proofLength" }
        return sides == original ? "ok" : "rootMismatch"
    }

    static func expectedConsistency(size1: UInt64, size2: UInt64, proofCount: Int, original: (Bool, [Bool])) -> String {
        if size1 > size2 { return "sizeOrder" }
        if size1 == 0 || size1 == size2 { return proofCount == 0 ? "ok" : "proofLength" }
        let shape = proofShape(size1, size2)
        if shape.sides.count + (shape.seedInProof ? 1 : 0) != proofCount { return "proofLength" }
        return shape.seedInProof == original.0 && shape.sides == original.1 ? "ok" : "rootMismatch"
    }

    static func flip(_ h: MerkleHash, bit: Int) -> MerkleHash {
        var h = h
        h[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
        return h
    }

    let ref: ReferenceTree = {
        var rng = SeededRNG(seed: 42)
        return ReferenceTree(randomLeaves: ProofMutationTests.maxSize + 1, rng: &rng)
    }()

    func inclusionProof(_ index: UInt64, _ size: UInt64) throws -> [MerkleHash] {
        let plan = try ProofPlan.inclusion(index: index, size: size)
        return try plan.assemble(ref.nodeSource(plan))
    }

    func consistencyProof(_ size1: UInt64, _ size2: UInt64) throws -> [MerkleHash] {
        let plan = try ProofPlan.consistency(from: size1, to: size2)
        return try plan.assemble(ref.nodeSource(plan))
    }

    // MARK: inclusion

    func testProofShapesMatchTheProofs() throws {
        // Sanity of the helpers above: the shapes have the proofs' lengths.
        for n in UInt64(1)...UInt64(Self.maxSize) {
            for i in 0..<n { XCTAssertEqual(Self.pathSides(i, n).count, try inclusionProof(i, n).count) }
            for m in 1..<n {
                let s = Self.proofShape(m, n)
                XCTAssertEqual(s.sides.count + (s.seedInProof ? 1 : 0), try consistencyProof(m, n).count)
                XCTAssertEqual(s.seedInProof, m.nonzeroBitCount != 1, "the seed is in the proof unless size1 is a power of two")
            }
        }
    }

    func testInclusionBitFlipsAreRootMismatches() throws {
        var checked = 0
        for n in UInt64(1)...UInt64(Self.maxSize) {
            let root = ref.root(Int(n))
            for i in 0..<n {
                let proof = try inclusionProof(i, n)
                let leaf = ref.leaves[Int(i)]
                func verify(_ leaf: MerkleHash, _ proof: [MerkleHash], _ root: MerkleHash) -> String {
                    checked += 1
                    return proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: root) }
                }
                XCTAssertEqual(verify(leaf, proof, root), "ok")
                // Every bit for a few proofs, three bits (first, middle, last byte) for the rest.
                let bits = [7, 13, 32].contains(n) ? Array(0..<256) : [0, 131, 255]
                for j in proof.indices {
                    for bit in bits {
                        var bad = proof
                        bad[j] = Self.flip(bad[j], bit: bit)
                        XCTAssertEqual(verify(leaf, bad, root), "rootMismatch", "\(i) in \(n): proof[\(j)] bit \(bit)")
                    }
                }
                for bit in [0, 100, 255] {
                    XCTAssertEqual(verify(Self.flip(leaf, bit: bit), proof, root), "rootMismatch", "\(i) in \(n): leaf bit \(bit)")
                    XCTAssertEqual(verify(leaf, proof, Self.flip(root, bit: bit)), "rootMismatch", "\(i) in \(n): root bit \(bit)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 10_000)
    }

    func testInclusionLengthMutationsAreProofLengthErrors() throws {
        for n in UInt64(1)...UInt64(Self.maxSize) {
            let root = ref.root(Int(n))
            for i in 0..<n {
                let proof = try inclusionProof(i, n)
                let leaf = ref.leaves[Int(i)]
                var variants: [(String, [MerkleHash])] = [
                    ("trailing root", proof + [root]),
                    ("trailing leaf", proof + [leaf]),
                    ("preceding root", [root] + proof),
                ]
                if !proof.isEmpty {
                    variants += [("drop last", Array(proof.dropLast())), ("drop first", Array(proof.dropFirst())), ("empty", []),
                                 ("trailing copy", proof + proof.suffix(1)), ("doubled", proof + proof)]
                }
                if proof.count > 1 {
                    variants.append(("inserted", [proof[0], GoldenVectorTests.sha256SomeHash] + proof.dropFirst()))
                }
                for (what, bad) in variants {
                    let got = proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: bad, root: root) }
                    XCTAssertEqual(got, "proofLength", "\(i) in \(n): \(what)")
                    XCTAssertThrowsError(try MerkleVerifier.rootFromInclusion(leafHash: leaf, index: i, size: n, proof: bad),
                                         ProofError.proofLength(got: bad.count, want: proof.count))
                }
            }
        }
    }

    func testInclusionIndexAndSizeMutations() throws {
        var accepted: [String] = []
        for n in UInt64(1)...UInt64(Self.maxSize) {
            let root = ref.root(Int(n))
            for i in 0..<n {
                let proof = try inclusionProof(i, n)
                let leaf = ref.leaves[Int(i)]
                let shape = Self.pathSides(i, n)
                // index ± 1 within range: never accepted.
                for j in [i &- 1, i + 1] where j < n {
                    let got = proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: leaf, index: j, size: n, proof: proof, root: root) }
                    XCTAssertTrue(got == "rootMismatch" || got == "proofLength", "\(i) in \(n) checked as index \(j): \(got)")
                }
                var probes: [(UInt64, UInt64, String)] = [
                    (i ^ 2, n, "index ^ 2"), (i ^ 1, n, "index ^ 1"),
                    (i, n + 1, "size + 1"), (i, n * 2, "size * 2"), (i, n + 7, "size + 7"),
                ]
                if i > 0 { probes.append((i - 1, n, "index - 1")) }
                if n > 1 { probes += [(i, n - 1, "size - 1"), (i, n / 2, "size / 2")] }
                for (j, m, what) in probes {
                    let want = Self.expectedInclusion(index: j, size: m, proofCount: proof.count, original: shape)
                    let got = proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: leaf, index: j, size: m, proof: proof, root: root) }
                    XCTAssertEqual(got, want, "\(i) in \(n), \(what) (\(j) in \(m))")
                    if got == "ok" {
                        accepted.append("\(i)/\(n) as \(j)/\(m)")
                        XCTAssertEqual(j, i, "only a size change can keep the shape, never an index change")
                    }
                }
                // Wrong leaf, wrong root, the leaf hash used as the root.
                let other = ref.leaves[Int((i + 1) % UInt64(ref.leaves.count))]
                XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: other, index: i, size: n, proof: proof, root: root) }, "rootMismatch")
                XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: RFC6962.emptyRoot) },
                               "rootMismatch")
                XCTAssertEqual(proofErrorKind {
                    try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: GoldenVectorTests.sha256SomeHash)
                }, "rootMismatch")
                if n > 1 {
                    XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: leaf) },
                                   "rootMismatch", "\(i) in \(n): leaf hash as the root")
                    XCTAssertEqual(proofErrorKind {
                        try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: self.ref.root(Int(n) - 1))
                    }, "rootMismatch", "\(i) in \(n): the previous root")
                }
            }
        }
        // Shape-preserving size changes do happen (e.g. leaf 0 of 3 checked in a tree of 4); they are
        // exactly the cases the RFC 6962 recursion predicts, asserted above.
        XCTAssertTrue(accepted.contains("0/3 as 0/4"), "\(accepted.prefix(10))")
    }

    func testInclusionIndexOutOfRange() throws {
        let proof = try inclusionProof(2, 5)
        let leaf = ref.leaves[2], root = ref.root(5)
        for (i, n) in [(UInt64(5), UInt64(5)), (6, 5), (UInt64.max, 5), (0, 0), (1, 0), (2, 1)] {
            XCTAssertThrowsError(try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: root),
                                 ProofError.indexOutOfRange(index: i, size: n))
            XCTAssertThrowsError(try MerkleVerifier.rootFromInclusion(leafHash: leaf, index: i, size: n, proof: proof),
                                 ProofError.indexOutOfRange(index: i, size: n))
            XCTAssertThrowsError(try ProofPlan.inclusion(index: i, size: n), ProofError.indexOutOfRange(index: i, size: n))
        }
    }

    func testInclusionHashLengths() throws {
        for (i, n) in [(UInt64(0), UInt64(1)), (2, 5), (6, 8), (13, 40)] {
            let proof = try inclusionProof(i, n)
            let leaf = ref.leaves[Int(i)], root = ref.root(Int(n))
            for bad in [Array(leaf.dropLast()), leaf + [0], [], Array(repeating: 0, count: 64)] {
                XCTAssertThrowsError(try MerkleVerifier.verifyInclusion(leafHash: bad, index: i, size: n, proof: proof, root: root),
                                     ProofError.hashLength(what: "the leaf hash", got: bad.count))
                XCTAssertThrowsError(try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: bad),
                                     ProofError.hashLength(what: "the root", got: bad.count))
                for j in proof.indices {
                    var p = proof
                    p[j] = bad
                    XCTAssertThrowsError(try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: p, root: root),
                                         ProofError.hashLength(what: "a proof hash", got: bad.count))
                }
                // A short extra element is a hash length error, checked before the count.
                XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof + [bad], root: root) },
                               "hashLength")
            }
        }
    }

    // MARK: consistency

    func testConsistencyBitFlipsAreRootMismatches() throws {
        for n in UInt64(2)...UInt64(Self.maxSize) {
            for m in 1..<n {
                let proof = try consistencyProof(m, n)
                let r1 = ref.root(Int(m)), r2 = ref.root(Int(n))
                func verify(_ r1: MerkleHash, _ r2: MerkleHash, _ proof: [MerkleHash]) -> String {
                    proofErrorKind { try MerkleVerifier.verifyConsistency(size1: m, size2: n, root1: r1, root2: r2, proof: proof) }
                }
                XCTAssertEqual(verify(r1, r2, proof), "ok")
                let bits = [(3, 7), (6, 8), (13, 29)].contains(where: { $0 == (m, n) }) ? Array(0..<256) : [4, 128, 250]
                for j in proof.indices {
                    for bit in bits {
                        var bad = proof
                        bad[j] = Self.flip(bad[j], bit: bit)
                        XCTAssertEqual(verify(r1, r2, bad), "rootMismatch", "\(m) -> \(n): proof[\(j)] bit \(bit)")
                    }
                }
                for bit in [0, 77, 255] {
                    XCTAssertEqual(verify(Self.flip(r1, bit: bit), r2, proof), "rootMismatch", "\(m) -> \(n): root1 bit \(bit)")
                    XCTAssertEqual(verify(r1, Self.flip(r2, bit: bit), proof), "rootMismatch", "\(m) -> \(n): root2 bit \(bit)")
                }
                // Swapped roots, roots of other sizes, a leaf hash as a root.
                XCTAssertEqual(verify(r2, r1, proof), "rootMismatch", "\(m) -> \(n): swapped roots")
                XCTAssertEqual(verify(r1, r1, proof), "rootMismatch", "\(m) -> \(n): root1 twice")
                XCTAssertEqual(verify(r2, r2, proof), "rootMismatch", "\(m) -> \(n): root2 twice")
                XCTAssertEqual(verify(r1, ref.leaves[Int(n) - 1], proof), "rootMismatch", "\(m) -> \(n): leaf as root2")
                if m > 1 { XCTAssertEqual(verify(ref.leaves[0], r2, proof), "rootMismatch", "\(m) -> \(n): leaf as root1") }
                XCTAssertEqual(verify(r1, ref.root(Int(n) + 1), proof), "rootMismatch", "\(m) -> \(n): next root2")
            }
        }
    }

    func testConsistencyLengthMutationsAreProofLengthErrors() throws {
        for n in UInt64(2)...UInt64(Self.maxSize) {
            for m in 1..<n {
                let proof = try consistencyProof(m, n)
                let r1 = ref.root(Int(m)), r2 = ref.root(Int(n))
                let variants: [(String, [MerkleHash])] = [
                    ("drop last", Array(proof.dropLast())), ("drop first", Array(proof.dropFirst())), ("empty", []),
                    ("trailing root1", proof + [r1]), ("trailing root2", proof + [r2]),
                    ("preceding root1", [r1] + proof), ("preceding root2", [r2] + proof), ("preceding proof[0]", [proof[0]] + proof),
                    ("trailing garbage", proof + [GoldenVectorTests.sha256SomeHash]),
                ]
                for (what, bad) in variants {
                    XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: m, size2: n, root1: r1, root2: r2, proof: bad),
                                         ProofError.proofLength(got: bad.count, want: proof.count), "\(m) -> \(n): \(what)")
                }
            }
        }
    }

    func testConsistencySizeMutations() throws {
        var accepted: [String] = []
        for n in UInt64(2)...UInt64(Self.maxSize) {
            for m in 1..<n {
                let proof = try consistencyProof(m, n)
                let r1 = ref.root(Int(m)), r2 = ref.root(Int(n))
                let shape = Self.proofShape(m, n)
                let probes: [(UInt64, UInt64, String)] = [
                    (m - 1, n, "size1 - 1"), (m + 1, n, "size1 + 1"), (m ^ 2, n, "size1 ^ 2"),
                    (m, n - 1, "size2 - 1"), (m, n + 1, "size2 + 1"), (m, n * 2, "size2 * 2"), (m, n / 2, "size2 / 2"),
                    (n, m, "sizes swapped"),
                ]
                for (s1, s2, what) in probes {
                    let want = Self.expectedConsistency(size1: s1, size2: s2, proofCount: proof.count, original: shape)
                    let got = proofErrorKind { try MerkleVerifier.verifyConsistency(size1: s1, size2: s2, root1: r1, root2: r2, proof: proof) }
                    XCTAssertEqual(got, want, "\(m) -> \(n), \(what) (\(s1) -> \(s2))")
                    if got == "ok" {
                        accepted.append("\(m)->\(n) as \(s1)->\(s2)")
                        XCTAssertEqual(s1, m, "only a size2 change can keep the shape, never a size1 change")
                    }
                }
            }
        }
        XCTAssertTrue(accepted.contains("1->3 as 1->4"), "\(accepted.prefix(10))")
    }

    func testConsistencySizeOrderAndHashLengths() throws {
        let proof = try consistencyProof(3, 7)
        let r1 = ref.root(3), r2 = ref.root(7)
        for (s1, s2) in [(UInt64(7), UInt64(3)), (1, 0), (8, 7), (UInt64.max, 1)] {
            XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: s1, size2: s2, root1: r1, root2: r2, proof: proof),
                                 ProofError.sizeOrder(size1: s1, size2: s2))
            XCTAssertThrowsError(try ProofPlan.consistency(from: s1, to: s2), ProofError.sizeOrder(size1: s1, size2: s2))
        }
        for bad in [Array(r1.dropLast()), r1 + [0xFF], []] {
            XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: 3, size2: 7, root1: bad, root2: r2, proof: proof),
                                 ProofError.hashLength(what: "the first root", got: bad.count))
            XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: 3, size2: 7, root1: r1, root2: bad, proof: proof),
                                 ProofError.hashLength(what: "the second root", got: bad.count))
            for j in proof.indices {
                var p = proof
                p[j] = bad
                XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: 3, size2: 7, root1: r1, root2: r2, proof: p),
                                     ProofError.hashLength(what: "a proof hash", got: bad.count))
            }
            // Also on the trivial paths (equal sizes, from the empty tree).
            XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyConsistency(size1: 3, size2: 3, root1: bad, root2: bad, proof: []) }, "hashLength")
            XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyConsistency(size1: 0, size2: 3, root1: r1, root2: bad, proof: []) }, "hashLength")
        }
    }

    /// Trivial consistency: equal sizes need equal roots and an empty proof; the empty tree is
    /// consistent with any tree, with an empty proof only.
    func testTrivialConsistency() throws {
        for n in UInt64(0)...10 {
            let r = ref.root(Int(n))
            XCTAssertNoThrow(try MerkleVerifier.verifyConsistency(size1: n, size2: n, root1: r, root2: r, proof: []))
            XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: n, size2: n, root1: r, root2: ref.root(Int(n) + 1), proof: []),
                                 ProofError.rootMismatch(computed: r, expected: ref.root(Int(n) + 1)))
            XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: n, size2: n, root1: r, root2: r, proof: [r]),
                                 ProofError.proofLength(got: 1, want: 0))
            XCTAssertNoThrow(try MerkleVerifier.verifyConsistency(size1: 0, size2: n, root1: RFC6962.emptyRoot, root2: r, proof: []))
            XCTAssertThrowsError(try MerkleVerifier.verifyConsistency(size1: 0, size2: n + 1, root1: RFC6962.emptyRoot, root2: r, proof: [r]),
                                 ProofError.proofLength(got: 1, want: 0))
        }
    }
}
