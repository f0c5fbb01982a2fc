// libFuzzer target: the RFC 6962 proof checks that `cloudaudit verify` runs on what a server sends
// (`MerkleVerifier.verifyInclusion` / `verifyConsistency` with its sizes, index and hashes), the proof
// plans and subtree decomposition the server builds proofs with, and `CompactRange(serialized:)`.
// Input: two little-endian UInt64s (index or first size, tree size), a mode byte, then 32-byte hashes.
// Besides "no trap", for trees of up to 64 leaves the proofs that `ProofPlan` assembles from a real
// tree must verify, and the same proof with one hash changed must not.
// Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzMerkleProof.
import AuditIntegrity
import Foundation
import FuzzHarness

/// The perfect subtrees and the roots of a log of `size` leaves `leafHash([i])`, built by appending.
func tree(_ size: UInt64) -> (subtrees: [MerkleNode: MerkleHash], roots: [MerkleHash]) {
    var range = CompactRange()
    var subtrees: [MerkleNode: MerkleHash] = [:]
    var roots = [range.root()]
    for i in 0..<size {
        range.append(RFC6962.leafHash(withUnsafeBytes(of: i.littleEndian) { Array($0) })) { subtrees[$0] = $1 }
        roots.append(range.root())
    }
    return (subtrees, roots)
}

func fuzzMerkleProof(_ input: UnsafeRawBufferPointer) {
    let raw = input
    func u64(_ at: Int) -> UInt64 { at + 8 <= raw.count ? raw.loadUnaligned(fromByteOffset: at, as: UInt64.self) : 0 }
    let mode = raw.count > 16 ? raw[16] : 0
    // Mostly small trees (the ones a real proof can be built for), sometimes any size at all.
    let (a, b) = mode & 1 == 0 ? (u64(0) % 70, u64(8) % 70) : (u64(0), u64(8))
    let hashes = stride(from: 17, to: raw.count - 31, by: 32).prefix(70).map { Array(raw[$0..<$0 + 32]) }
    let zero = [UInt8](repeating: 0, count: 32)
    let given = mode & 2 == 0 ? hashes : hashes.map { Array($0.prefix(31)) }

    // Whatever a server sends: no trap, only a ProofError.
    _ = try? MerkleVerifier.verifyInclusion(leafHash: given.first ?? zero, index: a, size: b, proof: Array(given.dropFirst()),
                                            root: given.last ?? zero)
    _ = try? MerkleVerifier.verifyConsistency(size1: a, size2: b, root1: given.first ?? zero, root2: given.last ?? zero,
                                              proof: Array(given.dropFirst()))
    _ = try? MerkleVerifier.verifyConsistency(size1: min(a, b), size2: max(a, b), root1: given.first ?? zero, root2: given.last ?? zero,
                                              proof: Array(given.dropFirst()))
    if let plan = try? ProofPlan.inclusion(index: min(a, b), size: max(a, b)) { _ = plan.nodes }
    if let plan = try? ProofPlan.consistency(from: min(a, b), to: max(a, b)) { _ = plan.nodes }
    _ = MerkleNode.decompose(min(a, b)..<max(a, b))
    if let range = try? CompactRange(serialized: Array(raw)) {
        _ = range.root()
        _ = range.nodes
    }

    // A real tree: its proofs verify, and a changed hash fails.
    guard mode & 1 == 0 else { return }
    let (index, size) = (min(a, b), max(a, b))
    let t = tree(size)
    let change = hashes.first ?? [UInt8](repeating: 0xA5, count: 32)
    if index < size, let proof = try? ProofPlan.inclusion(index: index, size: size).assemble(t.subtrees) {
        let leaf = t.subtrees[MerkleNode(level: 0, index: index)]!
        do {
            try MerkleVerifier.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof, root: t.roots[Int(size)])
        } catch { preconditionFailure("inclusion of \(index) in \(size): \(error)") }
        if !proof.isEmpty {
            var bad = proof
            let i = Int(raw.count) % bad.count
            if bad[i] != change {
                bad[i] = change
                precondition((try? MerkleVerifier.verifyInclusion(leafHash: leaf, index: index, size: size, proof: bad,
                                                                  root: t.roots[Int(size)])) == nil, "a changed inclusion proof verifies")
            }
        }
    } else if index < size {
        preconditionFailure("no inclusion proof of \(index) in \(size)")
    }
    guard let proof = try? ProofPlan.consistency(from: index, to: size).assemble(t.subtrees) else {
        preconditionFailure("no consistency proof from \(index) to \(size)")
    }
    do {
        try MerkleVerifier.verifyConsistency(size1: index, size2: size, root1: t.roots[Int(index)], root2: t.roots[Int(size)], proof: proof)
    } catch { preconditionFailure("consistency from \(index) to \(size): \(error)") }
    if !proof.isEmpty {
        var bad = proof
        let i = Int(raw.count) % bad.count
        if bad[i] != change {
            bad[i] = change
            precondition((try? MerkleVerifier.verifyConsistency(size1: index, size2: size, root1: t.roots[Int(index)], root2: t.roots[Int(size)],
                                                                proof: bad)) == nil, "a changed consistency proof verifies")
        }
    }
}

/// Seeds: sizes at the edges, with hashes to use as a proof.
func seedInputs() -> [(String, [UInt8])] {
    func input(_ a: UInt64, _ b: UInt64, _ mode: UInt8, hashes: Int) -> [UInt8] {
        withUnsafeBytes(of: (a.littleEndian, b.littleEndian)) { Array($0) } + [mode]
            + (0..<hashes).flatMap { i in RFC6962.leafHash([UInt8(i)]) }
    }
    var out: [(String, [UInt8])] = []
    for (a, b) in [(0, 1), (3, 7), (4, 8), (6, 7), (1, 64), (31, 33), (0, 0), (5, 5)] as [(UInt64, UInt64)] {
        out.append(("small-\(a)-\(b)", input(a, b, 0, hashes: 4)))
    }
    out.append(("huge-sizes", input(UInt64.max - 1, UInt64.max, 1, hashes: 64)))
    out.append(("huge-index", input(1 << 63, (1 << 63) + 5, 1, hashes: 3)))
    out.append(("short-hashes", input(2, 9, 2, hashes: 4)))
    var range = CompactRange()
    for i in 0..<11 { range.append(RFC6962.leafHash([UInt8(i)])) }
    out.append(("compact-range-11", range.serialized))
    return out
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzMerkleProof(input) }
    static func seeds() -> [(String, [UInt8])] { seedInputs() }
}
