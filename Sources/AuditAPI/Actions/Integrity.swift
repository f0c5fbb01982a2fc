import AuditIntegrity
import AuditModel
import AuditStore

/// `GetCheckpoint`, `GetInclusionProof`, `GetConsistencyProof`: the caller account's Merkle log
/// (docs/integrity.md). Read actions: an auditor key may call them.
enum IntegrityActions {
    static let definitions: [ActionDefinition] = [
        ActionDefinition(name: "GetCheckpoint", kind: .read) { call in
            let account = call.caller.accountId
            let checkpoint: StoredCheckpoint
            if let size = try await treeSize(call, "TreeSize") {
                // A size the log has reached: the checkpoint kept for it, else one signed now.
                checkpoint = try await call.environment.checkpointer.checkpoint(accountId: account, size: size)
            } else {
                checkpoint = try await call.environment.checkpointer.latest(accountId: account)
            }
            return view(checkpoint)
        },
        ActionDefinition(name: "GetInclusionProof", kind: .read) { call in
            let account = call.caller.accountId
            guard let eventId = try call.params.string("EventId"), !eventId.isEmpty else { throw APIError.missing("EventId") }
            guard let sequence = try await call.environment.storage.events.sequence(accountId: account, eventId: eventId) else {
                throw APIError("ResourceNotFound.EventNotExist", "The account has no event with EventId \(APIError.clip(eventId)) (it may have passed the retention period).")
            }
            let checkpoint: StoredCheckpoint
            if let size = try await treeSize(call, "TreeSize") {
                guard sequence <= size else {
                    throw APIError("InvalidParameterValue.TreeSize", "The event is leaf \(sequence - 1) of the log; TreeSize must be at least \(sequence).")
                }
                checkpoint = try await call.environment.checkpointer.checkpoint(accountId: account, size: size)
            } else {
                checkpoint = try await call.environment.checkpointer.covering(accountId: account, size: sequence)
            }
            let proof = try await call.environment.storage.events.inclusionProof(accountId: account, index: sequence - 1, size: checkpoint.size)
            let leaf = try await call.environment.storage.events.merkleSubtrees(accountId: account, [MerkleNode(level: 0, index: UInt64(sequence - 1))])
            // The event's time, so that a verifier can fetch its record with a LookUpEvents of one second.
            let stored = try await call.environment.storage.events.events(accountId: account, afterSequence: sequence - 1, limit: 1).first
            return [("EventId", .string(eventId)), ("EventTime", .int(stored?.eventTime ?? 0)), ("LeafIndex", .int(sequence - 1)),
                    ("LeafHash", .string(leaf.values.first?.hexString ?? "")), ("AuditPath", .array(proof.map { .string($0.hexString) }))] + view(checkpoint)
        },
        ActionDefinition(name: "GetConsistencyProof", kind: .read) { call in
            let account = call.caller.accountId
            guard let first = try await treeSize(call, "FirstTreeSize") else { throw APIError.missing("FirstTreeSize") }
            guard let second = try await treeSize(call, "SecondTreeSize") else { throw APIError.missing("SecondTreeSize") }
            guard first <= second else {
                throw APIError("InvalidParameterValue.TreeSize", "FirstTreeSize (\(first)) cannot be larger than SecondTreeSize (\(second)).")
            }
            let proof = try await call.environment.storage.events.consistencyProof(accountId: account, from: first, to: second)
            let root1 = try await call.environment.storage.events.merkleRoot(accountId: account, size: first)
            let root2 = try await call.environment.storage.events.merkleRoot(accountId: account, size: second)
            return [("FirstTreeSize", .int(first)), ("SecondTreeSize", .int(second)), ("FirstRootHash", .string(root1.hexString)),
                    ("SecondRootHash", .string(root2.hexString)), ("Proof", .array(proof.map { .string($0.hexString) }))]
        },
    ]

    /// A tree size the caller's log has reached (0 allowed), or nil when the field is absent.
    static func treeSize(_ call: ActionCall, _ field: String) async throws -> Int64? {
        guard let size = try call.params.integer(field) else { return nil }
        guard size >= 0 else { throw APIError("InvalidParameterValue.TreeSize", "\(field) cannot be negative.") }
        let current = Int64(try await call.environment.storage.events.merkleRange(accountId: call.caller.accountId).size)
        guard size <= current else {
            throw APIError("InvalidParameterValue.TreeSize", "\(field) (\(size)) is larger than the account's log, which has \(current) events.")
        }
        return size
    }

    static func view(_ c: StoredCheckpoint) -> [(String, JSONValue)] {
        [("TreeSize", .int(c.size)), ("RootHash", .string(c.root.hexString)), ("Timestamp", .int(c.time)), ("Checkpoint", .string(c.note))]
    }
}
