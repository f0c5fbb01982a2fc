import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteEventStore {
    /// Subtrees of at least 2^6 leaves are kept; smaller ones are hashed again from their leaves.
    static let keptNodeLevel = 6
    /// SQLITE_TRANSIENT (a C macro Swift cannot import): SQLite copies the bound bytes.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func registerIntegrityMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v3-merkle") { db in
            try db.execute(sql: """
                -- The right edge of each account's Merkle tree (CompactRange.serialized), moved with next_seq.
                ALTER TABLE accounts ADD COLUMN merkle_range BLOB;

                -- Leaf hashes (level 0) and the perfect subtrees of 64 leaves and more. Kept after
                -- retention removes the events, so that old checkpoints and proofs stay valid.
                CREATE TABLE merkle_nodes (
                    account_id INTEGER NOT NULL,
                    level INTEGER NOT NULL,
                    idx INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    PRIMARY KEY (account_id, level, idx)
                ) WITHOUT ROWID;
                CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE ON merkle_nodes
                BEGIN SELECT RAISE(ABORT, 'the Merkle log is append-only'); END;
                CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
                BEGIN SELECT RAISE(ABORT, 'the Merkle log is append-only'); END;

                CREATE TABLE checkpoints (
                    account_id INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    root BLOB NOT NULL,
                    time INTEGER NOT NULL,
                    note TEXT NOT NULL,
                    PRIMARY KEY (account_id, size)
                ) WITHOUT ROWID;

                -- The digest period a tracking set is accumulating for one account (JSON).
                ALTER TABLE delivery_state ADD COLUMN digest BLOB;
                """)
            // Logs of events stored before this version: their leaves, in sequence order.
            for account in try Int64.fetchAll(db, sql: "SELECT id FROM accounts ORDER BY id") {
                var range = CompactRange()
                let rows = try Row.fetchCursor(db, sql: "SELECT record FROM events WHERE account_id = ? ORDER BY seq", arguments: [account])
                var nodes: [(MerkleNode, MerkleHash)] = []
                while let row = try rows.next() {
                    let record: Data = row[0]
                    range.append(RFC6962.leafHash(Array(record))) { node, hash in nodes.append((node, hash)) }
                }
                try insertNodes(nodes, account: account, db)
                try db.execute(sql: "UPDATE accounts SET merkle_range = ? WHERE id = ?", arguments: [Data(range.serialized), account])
            }
        }
    }

    /// Writes the leaves and the kept subtrees that an append completed.
    static func insertNodes(_ nodes: [(MerkleNode, MerkleHash)], account: Int64, _ db: Database) throws {
        let insert = try db.cachedStatement(sql: "INSERT INTO merkle_nodes(account_id, level, idx, hash) VALUES (?, ?, ?, ?)")
        let raw = insert.sqliteStatement
        for (node, hash) in nodes where node.level == 0 || node.level >= keptNodeLevel {
            sqlite3_bind_int64(raw, 1, account)
            sqlite3_bind_int64(raw, 2, Int64(node.level))
            sqlite3_bind_int64(raw, 3, Int64(node.index))
            _ = hash.withUnsafeBytes { sqlite3_bind_blob(raw, 4, $0.baseAddress, Int32($0.count), Self.transient) }
            let rc = sqlite3_step(raw)
            sqlite3_reset(raw)
            guard rc == SQLITE_DONE else {
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
        }
    }

    static func fetchMerkleRange(_ db: Database, account: Int64) throws -> CompactRange {
        guard let data = try Data.fetchOne(db, sql: "SELECT merkle_range FROM accounts WHERE id = ?", arguments: [account]) else { return CompactRange() }
        return try CompactRange(serialized: Array(data))
    }

    public func merkleRange(accountId: Int64) async throws -> CompactRange {
        try await pool.read { db in try Self.fetchMerkleRange(db, account: accountId) }
    }

    public func merkleSubtrees(accountId: Int64, _ nodes: [MerkleNode]) async throws -> [MerkleNode: MerkleHash] {
        try await pool.read { db in
            let size = try Self.fetchMerkleRange(db, account: accountId).size
            let kept = try db.cachedStatement(sql: "SELECT hash FROM merkle_nodes WHERE account_id = ? AND level = ? AND idx = ?")
            let leaves = try db.cachedStatement(sql: "SELECT hash FROM merkle_nodes WHERE account_id = ? AND level = 0 AND idx >= ? AND idx < ? ORDER BY idx")
            var out: [MerkleNode: MerkleHash] = [:]
            for n in nodes {
                guard n.end <= size else { throw StoreError(.merkleNodeMissing, "subtree \(n) lies beyond the log of account \(accountId), of size \(size)") }
                if n.level == 0 || n.level >= Self.keptNodeLevel {
                    guard let h = try Data.fetchOne(kept, arguments: [accountId, n.level, Int64(n.index)]) else {
                        throw StoreError(.merkleNodeMissing, "the log of account \(accountId) has no subtree \(n)")
                    }
                    out[n] = Array(h)
                } else {
                    let hashes = try Data.fetchAll(leaves, arguments: [accountId, Int64(n.begin), Int64(n.end)]).map { Array($0) }
                    out[n] = try n.hash(fromLeaves: hashes, accountId: accountId)
                }
            }
            return out
        }
    }

    public func sequence(accountId: Int64, eventId: String) async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM events WHERE account_id = ? AND event_id = ?", arguments: [accountId, Self.eventIdValue(eventId)])
        }
    }

    public func saveCheckpoint(_ c: StoredCheckpoint) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO checkpoints(account_id, size, root, time, note) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           arguments: [c.accountId, c.size, Data(c.root), c.time, c.note])
        }
    }

    public func checkpoints(accountId: Int64) async throws -> [StoredCheckpoint] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT size, root, time, note FROM checkpoints WHERE account_id = ? ORDER BY size", arguments: [accountId]).map { row in
                let root: Data = row[1]
                return StoredCheckpoint(accountId: accountId, size: row[0], root: Array(root), time: row[2], note: row[3])
            }
        }
    }

    public func checkpoint(accountId: Int64, size: Int64?) async throws -> StoredCheckpoint? {
        try await pool.read { db in
            let sql = "SELECT account_id, size, root, time, note FROM checkpoints WHERE account_id = ?"
                + (size == nil ? " ORDER BY size DESC LIMIT 1" : " AND size = ?")
            return try Row.fetchOne(db, sql: sql, arguments: StatementArguments([accountId] + (size.map { [$0] } ?? []))).map { row in
                let root: Data = row[2]
                return StoredCheckpoint(accountId: row[0], size: row[1], root: Array(root), time: row[3], note: row[4])
            }
        }
    }
}
