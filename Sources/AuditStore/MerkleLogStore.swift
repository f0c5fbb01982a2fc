import AuditIntegrity
import AuditModel

/// A checkpoint the deployment signed and kept.
public struct StoredCheckpoint: Sendable, Equatable {
    public var accountId: Int64
    public var size: Int64
    public var root: MerkleHash
    public var time: Int64
    /// The signed note (docs/integrity.md, "Checkpoints").
    public var note: String

    public init(accountId: Int64, size: Int64, root: MerkleHash, time: Int64, note: String) {
        self.accountId = accountId
        self.size = size
        self.root = root
        self.time = time
        self.note = note
    }
}

/// The per-account Merkle log (RFC 6962) that `append` extends in the same transaction as the events,
/// and the checkpoints signed over it. Leaf `i` is the event with sequence `i + 1`; leaf hashes are kept
/// after retention removes the records.
public protocol MerkleLogStore: Sendable {
    /// The account's tree now: its size and right edge.
    func merkleRange(accountId: Int64) async throws -> CompactRange
    /// The hashes of perfect subtrees of the account's tree; every node must lie inside the tree.
    func merkleSubtrees(accountId: Int64, _ nodes: [MerkleNode]) async throws -> [MerkleNode: MerkleHash]
    /// The sequence of the account's event with `eventId`, while the event is kept.
    func sequence(accountId: Int64, eventId: String) async throws -> Int64?

    /// Keeps a checkpoint (one per account and size: a second one of the same size is ignored).
    func saveCheckpoint(_ checkpoint: StoredCheckpoint) async throws
    /// The kept checkpoint of exactly `size`, or the newest one when `size` is nil.
    func checkpoint(accountId: Int64, size: Int64?) async throws -> StoredCheckpoint?
    /// Every kept checkpoint of the account, smallest size first (`store copy` carries them over).
    func checkpoints(accountId: Int64) async throws -> [StoredCheckpoint]
    /// The kept checkpoint of exactly `size`, else the one `sign` makes, kept. A store shared by nodes
    /// calls `sign` at most once per (account, size) whichever nodes race to it; the default (one
    /// process) keeps the first one saved.
    func keepCheckpoint(accountId: Int64, size: Int64, sign: @escaping @Sendable () throws -> StoredCheckpoint) async throws -> StoredCheckpoint
}

extension MerkleLogStore {
    public func keepCheckpoint(accountId: Int64, size: Int64, sign: @escaping @Sendable () throws -> StoredCheckpoint) async throws -> StoredCheckpoint {
        if let kept = try await checkpoint(accountId: accountId, size: size) { return kept }
        let made = try sign()
        try await saveCheckpoint(made)
        // Two callers may race to the same size: the first one kept wins, and both answer with it.
        return try await checkpoint(accountId: accountId, size: size) ?? made
    }

    /// The hash of the leaves `range` (MTH of RFC 6962 for the ranges its proofs use, e.g. `0..<size`).
    public func merkleHash(accountId: Int64, range: Range<UInt64>) async throws -> MerkleHash {
        let nodes = MerkleNode.decompose(range)
        let hashes = try await merkleSubtrees(accountId: accountId, nodes)
        return rangeHash(try nodes.map { n in
            guard let h = hashes[n] else { throw StoreError(.merkleNodeMissing, "the log of account \(accountId) has no subtree \(n)") }
            return h
        })
    }

    /// The root of the account's tree when it had `size` leaves.
    public func merkleRoot(accountId: Int64, size: Int64) async throws -> MerkleHash {
        try await merkleHash(accountId: accountId, range: 0..<UInt64(size))
    }

    /// The tree's right edge when it had `size` leaves.
    public func merkleRange(accountId: Int64, size: Int64) async throws -> CompactRange {
        let nodes = MerkleNode.decompose(0..<UInt64(size))
        let hashes = try await merkleSubtrees(accountId: accountId, nodes)
        return try CompactRange(size: UInt64(size), hashes: nodes.map { hashes[$0] ?? [] })
    }

    public func inclusionProof(accountId: Int64, index: Int64, size: Int64) async throws -> [MerkleHash] {
        let plan = try ProofPlan.inclusion(index: UInt64(index), size: UInt64(size))
        return try plan.assemble(try await merkleSubtrees(accountId: accountId, plan.nodes))
    }

    public func consistencyProof(accountId: Int64, from size1: Int64, to size2: Int64) async throws -> [MerkleHash] {
        let plan = try ProofPlan.consistency(from: UInt64(size1), to: UInt64(size2))
        return try plan.assemble(try await merkleSubtrees(accountId: accountId, plan.nodes))
    }

    /// The hashes of `MerkleNode.decompose(range)`, in order: how a digest carries leaves it skips.
    public func subtreeHashes(accountId: Int64, range: Range<UInt64>) async throws -> [MerkleHash] {
        let nodes = MerkleNode.decompose(range)
        let hashes = try await merkleSubtrees(accountId: accountId, nodes)
        return nodes.map { hashes[$0] ?? [] }
    }
}

extension MerkleNode {
    /// The subtree's hash from its leaf hashes (every one, in order), for subtrees a store does not keep;
    /// throws `.merkleNodeMissing` when some leaves are missing.
    public func hash(fromLeaves hashes: [MerkleHash], accountId: Int64) throws -> MerkleHash {
        guard hashes.count == Int(end - begin) else { throw StoreError(.merkleNodeMissing, "the log of account \(accountId) lacks leaves of \(self)") }
        var range = CompactRange()
        for h in hashes { range.append(h) }
        return range.root()
    }
}
