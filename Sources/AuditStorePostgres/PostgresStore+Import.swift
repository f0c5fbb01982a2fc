import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import NIOCore
import PostgresNIO

/// What `cloudaudit store copy` writes into an empty PostgreSQL store: another store's logs with their
/// sequence numbers and Merkle leaves as they were, and tracking sets with their ids.
extension PostgresStore {
    /// Whether the store holds no deployment yet (no account).
    public func holdsNoDeployment() async throws -> Bool {
        try await rows("SELECT 1 FROM accounts LIMIT 1").isEmpty
    }

    /// Appends to the account's log the leaves `leaves` (its leaves from index `tree.size` on, as the
    /// source kept them) and, of the events they stand for, those the source still keeps, each with its
    /// own sequence number; in one transaction. Each event's leaf must be its record's: a source whose
    /// log and records disagree is refused. Returns the tree after.
    public func importLog(accountId: Int64, leaves: [MerkleHash], events: [(event: AuditEvent, sequence: Int64)]) async throws -> CompactRange {
        let prepared = events.map { (PreparedEvent(event: $0.event, postings: fingerprint.postings(of: $0.event), leaf: RFC6962.leafHash($0.event.record)), $0.sequence) }
        try await ensurePartitions(days: Set(events.map { TimeBuckets.day($0.event.eventTime) }))
        let (logger, shard) = (self.logger, self.shard)
        return try await transaction { c in
            guard let row = try await c.query("SELECT merkle_range FROM accounts WHERE id = \(accountId) FOR UPDATE", logger: logger).collect().first else {
                throw StoreError.accountNotFound(accountId)
            }
            var tree = try row.decode(Data?.self).map { try CompactRange(serialized: Array($0)) } ?? CompactRange()
            let first = Int64(tree.size)
            var rows = AppendRows()
            var counts: [CountKey: Int64] = [:]
            for (p, seq) in prepared {
                let index = Int(seq - 1 - first)
                guard leaves.indices.contains(index), leaves[index] == p.leaf else {
                    throw StoreError(.merkleLogMismatch, "event \(seq) of account \(accountId) is not the one its Merkle leaf stands for")
                }
                rows.add(p, seq: seq, counts: &counts)
            }
            for leaf in leaves {
                tree.append(leaf) { node, hash in
                    if node.level == 0 || node.level >= Self.keptNodeLevel { rows.node(accountId, node, hash) }
                }
            }
            try await Self.insert(rows, counts: counts, shard: shard, c, logger)
            try await c.query("""
                UPDATE accounts SET next_seq = \(Int64(tree.size) + 1), merkle_range = \(ByteBuffer(bytes: tree.serialized)) WHERE id = \(accountId)
                """, logger: logger)
            return tree
        }
    }

    /// Stores a tracking set with its own id and creation time (no cursor is started: the source's
    /// delivery states follow with `saveDeliveryState`).
    public func importTrack(_ t: Track) async throws {
        let logger = self.logger
        let definition = try Self.encode(t)
        try await transaction { c in
            try await c.query("""
                INSERT INTO tracks(id, account_id, name, definition, created_at) VALUES (\(t.id), \(t.accountId), \(t.name), \(definition), \(t.createdAt))
                """, logger: logger)
            try await c.query("SELECT setval(pg_get_serial_sequence('tracks', 'id'), (SELECT max(id) FROM tracks))", logger: logger)
        }
    }

    /// Queues a notification as another store had it queued.
    public func importNotification(_ n: QueuedNotification) async throws {
        try await run("""
            INSERT INTO notifications(track_id, channel, body, message_id, attempts) VALUES (\(n.trackId), \(n.channel), \(Data(n.body)), \(n.messageId), \(n.attempts))
            """)
    }
}
