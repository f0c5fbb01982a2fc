import AuditModel
import Crypto

/// A SHA-256 hash: 32 bytes.
public typealias MerkleHash = [UInt8]

/// RFC 6962 (§2.1) hashing: a leaf is `SHA-256(0x00 || data)`, an interior node `SHA-256(0x01 || left || right)`,
/// the empty tree `SHA-256("")`. Domain separation keeps a leaf from ever passing for a node.
public enum RFC6962 {
    public static let hashSize = 32

    public static func leafHash(_ data: [UInt8]) -> MerkleHash {
        var h = SHA256()
        h.update(data: [0x00])
        h.update(data: data)
        return Array(h.finalize())
    }

    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var h = SHA256()
        h.update(data: [0x01])
        h.update(data: left)
        h.update(data: right)
        return Array(h.finalize())
    }

    public static let emptyRoot: MerkleHash = Array(SHA256.hash(data: [UInt8]()))
}

/// A perfect subtree of the log: the `2^level` leaves `[index << level, (index + 1) << level)`.
public struct MerkleNode: Hashable, Sendable, CustomStringConvertible {
    public var level: Int
    public var index: UInt64

    public init(level: Int, index: UInt64) {
        self.level = level
        self.index = index
    }

    public var begin: UInt64 { index << UInt64(level) }
    public var end: UInt64 { (index + 1) << UInt64(level) }
    public var description: String { "(\(level), \(index))" }

    /// The maximal aligned perfect subtrees that make up `[begin, end)`, left to right.
    public static func decompose(_ range: Range<UInt64>) -> [MerkleNode] {
        var out: [MerkleNode] = []
        var b = range.lowerBound
        while b < range.upperBound {
            var level = b == 0 ? 63 : b.trailingZeroBitCount
            while level > 0 && (UInt64(1) << UInt64(level)) > range.upperBound - b { level -= 1 }
            out.append(MerkleNode(level: level, index: b >> UInt64(level)))
            b += UInt64(1) << UInt64(level)
        }
        return out
    }
}

/// The hash of a range of leaves as RFC 6962 defines it (MTH of `D[begin:end]`), from the hashes of the
/// range's decomposition (`MerkleNode.decompose`), right to left. Valid for the ranges RFC 6962's proofs
/// use, whose start is aligned to a power of two at least their size.
public func rangeHash(_ nodeHashes: [MerkleHash]) -> MerkleHash {
    guard var h = nodeHashes.last else { return RFC6962.emptyRoot }
    for left in nodeHashes.dropLast().reversed() { h = RFC6962.nodeHash(left, h) }
    return h
}

/// The right edge of a log of `size` leaves: one perfect subtree hash per set bit of `size`, largest
/// first. Enough to append a leaf and to compute the root, in O(log n) space; it is what the store keeps
/// per account inside the append transaction.
public struct CompactRange: Sendable, Equatable {
    public private(set) var size: UInt64
    public private(set) var hashes: [MerkleHash]

    public init() {
        size = 0
        hashes = []
    }

    public init(size: UInt64, hashes: [MerkleHash]) throws {
        guard hashes.count == size.nonzeroBitCount else { throw IntegrityError("a compact range of size \(size) has \(size.nonzeroBitCount) hashes, not \(hashes.count)") }
        guard hashes.allSatisfy({ $0.count == RFC6962.hashSize }) else { throw IntegrityError("a compact range hash is not 32 bytes") }
        self.size = size
        self.hashes = hashes
    }

    /// The perfect subtrees the hashes stand for, largest (leftmost) first.
    public var nodes: [MerkleNode] { MerkleNode.decompose(0..<size) }

    /// Appends one leaf hash; `completed` sees every perfect subtree that the append closes (the leaf
    /// itself at level 0, then each merge), bottom-up.
    public mutating func append(_ leaf: MerkleHash, completed: (MerkleNode, MerkleHash) -> Void = { _, _ in }) {
        merge(MerkleNode(level: 0, index: size), leaf, completed)
    }

    /// Appends a whole perfect subtree that starts where the range ends (its level may not exceed the
    /// number of trailing zero bits of `size`): how a verifier skips leaves it knows only by subtree.
    public mutating func append(subtree node: MerkleNode, hash: MerkleHash) throws {
        guard node.begin == size, size == 0 || node.level <= size.trailingZeroBitCount else {
            throw IntegrityError("subtree \(node) cannot follow a range of size \(size)")
        }
        guard hash.count == RFC6962.hashSize else { throw IntegrityError("a subtree hash is not 32 bytes") }
        merge(node, hash) { _, _ in }
    }

    /// Every trailing one bit of the node's index is a left sibling waiting for it on the right edge.
    private mutating func merge(_ node: MerkleNode, _ hash: MerkleHash, _ completed: (MerkleNode, MerkleHash) -> Void) {
        var n = node
        var h = hash
        completed(n, h)
        while n.index & 1 == 1 {
            h = RFC6962.nodeHash(hashes.removeLast(), h)
            n = MerkleNode(level: n.level + 1, index: n.index >> 1)
            completed(n, h)
        }
        hashes.append(h)
        size = node.end
    }

    /// The root of the log of `size` leaves.
    public func root() -> MerkleHash { rangeHash(hashes) }

    /// 8 bytes of big-endian size, then the hashes.
    public var serialized: [UInt8] {
        var out = withUnsafeBytes(of: size.bigEndian) { Array($0) }
        for h in hashes { out.append(contentsOf: h) }
        return out
    }

    public init(serialized bytes: [UInt8]) throws {
        guard bytes.count >= 8, (bytes.count - 8) % RFC6962.hashSize == 0 else { throw IntegrityError("a stored compact range is malformed") }
        let size = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let hashes = stride(from: 8, to: bytes.count, by: RFC6962.hashSize).map { Array(bytes[$0..<$0 + RFC6962.hashSize]) }
        try self.init(size: size, hashes: hashes)
    }
}

/// Which hashes an RFC 6962 proof is made of: each element is the hash of a range of leaves. A store
/// fetches the perfect subtrees of `nodes` (however it keeps them) and `assemble` builds the proof.
public struct ProofPlan: Sendable, Equatable {
    /// The proof's elements, in proof order (bottom-up).
    public let ranges: [Range<UInt64>]

    public init(ranges: [Range<UInt64>]) {
        self.ranges = ranges
    }

    /// The inclusion proof (audit path) of leaf `index` in a log of `size` leaves (RFC 6962 §2.1.1).
    public static func inclusion(index: UInt64, size: UInt64) throws -> ProofPlan {
        guard index < size else { throw ProofError.indexOutOfRange(index: index, size: size) }
        var out: [Range<UInt64>] = []
        func path(_ m: UInt64, _ r: Range<UInt64>) {
            let n = r.upperBound - r.lowerBound
            if n <= 1 { return }
            let k = largestPowerOfTwo(below: n)
            if m < k {
                path(m, r.lowerBound..<r.lowerBound + k)
                out.append(r.lowerBound + k..<r.upperBound)
            } else {
                path(m - k, r.lowerBound + k..<r.upperBound)
                out.append(r.lowerBound..<r.lowerBound + k)
            }
        }
        path(index, 0..<size)
        return ProofPlan(ranges: out)
    }

    /// The consistency proof between the log at `size1` and at `size2` (RFC 6962 §2.1.2).
    public static func consistency(from size1: UInt64, to size2: UInt64) throws -> ProofPlan {
        guard size1 <= size2 else { throw ProofError.sizeOrder(size1: size1, size2: size2) }
        if size1 == 0 || size1 == size2 { return ProofPlan(ranges: []) }
        var out: [Range<UInt64>] = []
        func subproof(_ m: UInt64, _ r: Range<UInt64>, _ whole: Bool) {
            let n = r.upperBound - r.lowerBound
            if m == n {
                if !whole { out.append(r) }
                return
            }
            let k = largestPowerOfTwo(below: n)
            if m <= k {
                subproof(m, r.lowerBound..<r.lowerBound + k, whole)
                out.append(r.lowerBound + k..<r.upperBound)
            } else {
                subproof(m - k, r.lowerBound + k..<r.upperBound, false)
                out.append(r.lowerBound..<r.lowerBound + k)
            }
        }
        subproof(size1, 0..<size2, true)
        return ProofPlan(ranges: out)
    }

    /// Every perfect subtree the proof needs, without repeats.
    public var nodes: [MerkleNode] {
        var seen = Set<MerkleNode>()
        return ranges.flatMap { MerkleNode.decompose($0) }.filter { seen.insert($0).inserted }
    }

    /// The proof, from the hashes of `nodes`.
    public func assemble(_ hashes: [MerkleNode: MerkleHash]) throws -> [MerkleHash] {
        try ranges.map { r in
            try rangeHash(MerkleNode.decompose(r).map { n in
                guard let h = hashes[n] else { throw IntegrityError("the log has no hash for subtree \(n)") }
                return h
            })
        }
    }

    /// The largest power of two strictly below `n` (n > 1).
    static func largestPowerOfTwo(below n: UInt64) -> UInt64 {
        UInt64(1) << UInt64(63 - (n - 1).leadingZeroBitCount)
    }
}

/// Why a proof did not verify. Inputs are checked before any hashing.
public enum ProofError: Error, Equatable, Sendable, CustomStringConvertible {
    case hashLength(what: String, got: Int)
    case indexOutOfRange(index: UInt64, size: UInt64)
    case sizeOrder(size1: UInt64, size2: UInt64)
    case proofLength(got: Int, want: Int)
    case rootMismatch(computed: MerkleHash, expected: MerkleHash)

    public var description: String {
        switch self {
        case .hashLength(let what, let got): return "\(what) is \(got) bytes, not 32"
        case .indexOutOfRange(let i, let s): return "leaf index \(i) is not inside a tree of size \(s)"
        case .sizeOrder(let a, let b): return "the first tree size \(a) is larger than the second \(b)"
        case .proofLength(let got, let want): return "the proof has \(got) hashes where \(want) are needed"
        case .rootMismatch(let c, let e): return "the proof leads to root \(c.hexString), not \(e.hexString)"
        }
    }
}

/// Checks RFC 6962 proofs (the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, in the form used by
/// transparency-dev/merkle: the proof length is known from the sizes and checked first).
public enum MerkleVerifier {
    public static func rootFromInclusion(leafHash: MerkleHash, index: UInt64, size: UInt64, proof: [MerkleHash]) throws -> MerkleHash {
        guard index < size else { throw ProofError.indexOutOfRange(index: index, size: size) }
        try checkLength(leafHash, "the leaf hash")
        for h in proof { try checkLength(h, "a proof hash") }
        let (inner, border) = decompose(index: index, size: size)
        guard proof.count == inner + border else { throw ProofError.proofLength(got: proof.count, want: inner + border) }
        let h = chainInner(leafHash, proof[0..<inner], index: index)
        return chainBorderRight(h, proof[inner...])
    }

    public static func verifyInclusion(leafHash: MerkleHash, index: UInt64, size: UInt64, proof: [MerkleHash], root: MerkleHash) throws {
        try checkLength(root, "the root")
        let computed = try rootFromInclusion(leafHash: leafHash, index: index, size: size, proof: proof)
        guard computed == root else { throw ProofError.rootMismatch(computed: computed, expected: root) }
    }

    public static func verifyConsistency(size1: UInt64, size2: UInt64, root1: MerkleHash, root2: MerkleHash, proof: [MerkleHash]) throws {
        guard size1 <= size2 else { throw ProofError.sizeOrder(size1: size1, size2: size2) }
        try checkLength(root1, "the first root")
        try checkLength(root2, "the second root")
        for h in proof { try checkLength(h, "a proof hash") }
        if size1 == size2 {
            guard proof.isEmpty else { throw ProofError.proofLength(got: proof.count, want: 0) }
            guard root1 == root2 else { throw ProofError.rootMismatch(computed: root1, expected: root2) }
            return
        }
        if size1 == 0 {
            // Every tree extends the empty one.
            guard proof.isEmpty else { throw ProofError.proofLength(got: proof.count, want: 0) }
            return
        }
        var (inner, border) = decompose(index: size1 - 1, size: size2)
        let shift = size1.trailingZeroBitCount
        inner -= shift
        // The proof starts with the root of the subtree of size 2^shift, unless size1 is that subtree.
        let seed: MerkleHash
        let start: Int
        if size1 == UInt64(1) << UInt64(shift) {
            seed = root1
            start = 0
        } else {
            guard !proof.isEmpty else { throw ProofError.proofLength(got: 0, want: 1 + inner + border) }
            seed = proof[0]
            start = 1
        }
        guard proof.count == start + inner + border else { throw ProofError.proofLength(got: proof.count, want: start + inner + border) }
        let rest = proof[start...]
        let mask = (size1 - 1) >> UInt64(shift)
        let innerPart = rest.prefix(inner), borderPart = rest.dropFirst(inner)
        let hash1 = chainBorderRight(chainInnerRight(seed, innerPart, index: mask), borderPart)
        guard hash1 == root1 else { throw ProofError.rootMismatch(computed: hash1, expected: root1) }
        let hash2 = chainBorderRight(chainInner(seed, innerPart, index: mask), borderPart)
        guard hash2 == root2 else { throw ProofError.rootMismatch(computed: hash2, expected: root2) }
    }

    static func checkLength(_ h: MerkleHash, _ what: String) throws {
        guard h.count == RFC6962.hashSize else { throw ProofError.hashLength(what: what, got: h.count) }
    }

    /// How many proof hashes sit below the point where the leaf's path leaves the tree's right border
    /// (inner), and how many above (border).
    static func decompose(index: UInt64, size: UInt64) -> (inner: Int, border: Int) {
        let inner = 64 - (index ^ (size - 1)).leadingZeroBitCount
        let border = (index >> UInt64(inner)).nonzeroBitCount
        return (inner, border)
    }

    static func chainInner(_ seed: MerkleHash, _ proof: ArraySlice<MerkleHash>, index: UInt64) -> MerkleHash {
        var h = seed
        for (i, p) in proof.enumerated() {
            h = (index >> UInt64(i)) & 1 == 0 ? RFC6962.nodeHash(h, p) : RFC6962.nodeHash(p, h)
        }
        return h
    }

    static func chainInnerRight(_ seed: MerkleHash, _ proof: ArraySlice<MerkleHash>, index: UInt64) -> MerkleHash {
        var h = seed
        for (i, p) in proof.enumerated() where (index >> UInt64(i)) & 1 == 1 { h = RFC6962.nodeHash(p, h) }
        return h
    }

    static func chainBorderRight(_ seed: MerkleHash, _ proof: ArraySlice<MerkleHash>) -> MerkleHash {
        proof.reduce(seed) { RFC6962.nodeHash($1, $0) }
    }
}

public struct IntegrityError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
