import AuditIntegrity
import AuditModel

/// Signs and keeps checkpoints of the accounts' logs with the deployment key.
public struct Checkpointer: Sendable {
    let accounts: any AccountDirectory
    let log: any MerkleLogStore
    public let key: SigningKey
    let clock: @Sendable () -> Int64

    public init(storage: Storage, key: SigningKey, clock: @escaping @Sendable () -> Int64 = unixNow) {
        accounts = storage.accounts
        log = storage.events
        self.key = key
        self.clock = clock
    }

    public func origin(accountId: Int64) -> String { Checkpoint.origin(keyName: key.name, accountId: accountId) }

    /// The account's newest checkpoint, made now when the log grew since the last one kept.
    public func latest(accountId: Int64) async throws -> StoredCheckpoint {
        let size = Int64(try await log.merkleRange(accountId: accountId).size)
        if let kept = try await log.checkpoint(accountId: accountId, size: nil), kept.size >= size { return kept }
        return try await checkpoint(accountId: accountId, size: size)
    }

    /// The newest kept checkpoint when it covers the first `size` leaves, else one of the log now: a
    /// proof need not wait for the timer, nor make a checkpoint per request.
    public func covering(accountId: Int64, size: Int64) async throws -> StoredCheckpoint {
        if let kept = try await log.checkpoint(accountId: accountId, size: nil), kept.size >= size { return kept }
        return try await latest(accountId: accountId)
    }

    /// The kept checkpoint of exactly `size`, else one made now (the log must have reached `size`).
    public func checkpoint(accountId: Int64, size: Int64) async throws -> StoredCheckpoint {
        if let kept = try await log.checkpoint(accountId: accountId, size: size) { return kept }
        let root = try await log.merkleRoot(accountId: accountId, size: size)
        let (origin, key, clock) = (origin(accountId: accountId), self.key, self.clock)
        return try await log.keepCheckpoint(accountId: accountId, size: size) {
            let now = clock()
            let note = try Checkpoint(origin: origin, size: UInt64(size), root: root, time: now).signed(with: key)
            return StoredCheckpoint(accountId: accountId, size: size, root: root, time: now, note: note)
        }
    }

    /// Checkpoints every account whose log grew since its newest one; returns how many were made.
    @discardableResult
    public func checkpointGrownLogs() async throws -> Int {
        var made = 0
        for account in try await accounts.listAccounts() {
            let size = Int64(try await log.merkleRange(accountId: account.id).size)
            let kept = try await log.checkpoint(accountId: account.id, size: nil)?.size ?? 0
            if size > kept {
                _ = try await checkpoint(accountId: account.id, size: size)
                made += 1
            }
        }
        return made
    }
}
