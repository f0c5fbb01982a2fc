import AuditModel
import AuditSynthetic
import Crypto
import XCTest
@testable import AuditIntegrity

/// A small deterministic generator (the synthetic events' SplitMix64), so every randomized test
/// replays the same cases.
typealias SeededRNG = SyntheticEventGenerator.SplitMix64

extension SyntheticEventGenerator.SplitMix64 {
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// Hex literal to bytes; traps on a malformed literal (test data only).
func hx(_ s: String) -> [UInt8] {
    guard let b = [UInt8](hex: s) else { fatalError("bad hex literal \(s)") }
    return b
}

/// A naive RFC 6962 §2.1 Merkle tree over an array of leaf hashes, written straight from the RFC's
/// recursive definitions (MTH, PATH, PROOF/SUBPROOF). Hashing is done here with SHA-256 directly, not
/// with `RFC6962`, so the reference does not share code with what it checks. `mth` is memoized by
/// range only to keep the large randomized tests fast; the recursion is the RFC's.
final class ReferenceTree {
    let leaves: [MerkleHash]
    private var memo: [Int: MerkleHash] = [:]

    init(leaves: [MerkleHash]) { self.leaves = leaves }

    /// `leafCount` random leaves: each the RFC 6962 leaf hash of some random data.
    convenience init(randomLeaves leafCount: Int, rng: inout SeededRNG) {
        self.init(leaves: (0..<leafCount).map { _ in ReferenceTree.leafHash(rng.bytes(Int.random(in: 0...40, using: &rng))) })
    }

    static func leafHash(_ data: [UInt8]) -> MerkleHash { Array(SHA256.hash(data: [0x00] + data)) }
    static func nodeHash(_ l: MerkleHash, _ r: MerkleHash) -> MerkleHash { Array(SHA256.hash(data: [0x01] + l + r)) }
    static let empty: MerkleHash = Array(SHA256.hash(data: [UInt8]()))

    /// The largest power of two smaller than n (n > 1), by counting.
    static func k(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    /// MTH(D[lo:hi]).
    func mth(_ lo: Int, _ hi: Int) -> MerkleHash {
        let n = hi - lo
        if n == 0 { return Self.empty }
        if n == 1 { return leaves[lo] }
        let key = lo &* 1_000_003 &+ hi
        if let h = memo[key] { return h }
        let k = Self.k(n)
        let h = Self.nodeHash(mth(lo, lo + k), mth(lo + k, hi))
        memo[key] = h
        return h
    }

    func root(_ n: Int) -> MerkleHash { mth(0, n) }

    /// PATH(m, D[0:n]).
    func path(_ m: Int, _ n: Int) -> [MerkleHash] { path(m, 0, n) }

    private func path(_ m: Int, _ lo: Int, _ hi: Int) -> [MerkleHash] {
        let n = hi - lo
        if n == 1 { return [] }
        let k = Self.k(n)
        if m < k { return path(m, lo, lo + k) + [mth(lo + k, hi)] }
        return path(m - k, lo + k, hi) + [mth(lo, lo + k)]
    }

    /// PROOF(m, D[0:n]) for 0 < m <= n; empty for m == 0 (RFC 6962 leaves it undefined).
    func proof(_ m: Int, _ n: Int) -> [MerkleHash] { m == 0 ? [] : subproof(m, 0, n, true) }

    private func subproof(_ m: Int, _ lo: Int, _ hi: Int, _ b: Bool) -> [MerkleHash] {
        let n = hi - lo
        if m == n { return b ? [] : [mth(lo, hi)] }
        let k = Self.k(n)
        if m <= k { return subproof(m, lo, lo + k, b) + [mth(lo + k, hi)] }
        return subproof(m - k, lo + k, hi, false) + [mth(lo, lo + k)]
    }

    /// The hashes a `ProofPlan` asks for, taken from this tree.
    func nodeSource(_ plan: ProofPlan) -> [MerkleNode: MerkleHash] {
        var out: [MerkleNode: MerkleHash] = [:]
        for node in plan.nodes { out[node] = mth(Int(node.begin), Int(node.end)) }
        return out
    }

    /// Every perfect subtree of the first n leaves.
    func perfectSubtrees(_ n: Int) -> Set<MerkleNode> {
        var out = Set<MerkleNode>()
        var level = 0
        while (1 << level) <= n {
            for index in 0..<(n >> level) { out.insert(MerkleNode(level: level, index: UInt64(index))) }
            level += 1
        }
        return out
    }
}

/// Asserts that `body` throws exactly `expected`.
func XCTAssertThrowsError<E: Error & Equatable, T>(_ body: @autoclosure () throws -> T, _ expected: E, _ message: @autoclosure () -> String = "",
                                                  file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), message(), file: file, line: line) { error in
        XCTAssertEqual(error as? E, expected, message(), file: file, line: line)
    }
}

extension ProofError {
    /// The case name, for asserting the kind of failure without its payload.
    var kind: String {
        switch self {
        case .hashLength: return "hashLength"
        case .indexOutOfRange: return "indexOutOfRange"
        case .sizeOrder: return "sizeOrder"
        case .proofLength: return "proofLength"
        case .rootMismatch: return "rootMismatch"
        }
    }
}

/// The `ProofError` case `body` throws ("ok" when it does not throw, "other: ..." for another error).
func proofErrorKind(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "ok"
    } catch let e as ProofError {
        return e.kind
    } catch {
        return "other: \(error)"
    }
}

/// A compact range built by appending the leaves one by one.
func compactRange(_ leaves: ArraySlice<MerkleHash>) -> CompactRange {
    var cr = CompactRange()
    for l in leaves { cr.append(l) }
    return cr
}
