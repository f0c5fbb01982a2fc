import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import GRDB
import GRDBSQLite

/// The embedded default store: one SQLite file in WAL mode.
///
/// Appends from concurrent requests are grouped into one transaction and one fsync (group commit):
/// each caller's events are validated before, written atomically inside, and acknowledged after the
/// commit. Readers run in parallel on the pool's reader connections.
public final class SQLiteEventStore: StorageBackend, @unchecked Sendable {
    public let path: String
    let pool: DatabasePool
    let fingerprint: ValueFingerprint
    private let secret: [UInt8]
    private let committer = GroupCommitter<[PreparedEvent], [AppendOutcome]>()
    /// False only in `cloudaudit bench`, to measure what the Merkle log costs: such a store has no log.
    let merkleLog: Bool
    /// What this opening did to the schema (created it, migrated it, or found it current).
    public let schema: SchemaUpgrade

    /// Opens (creating if needed) the database at `path`.
    /// - Parameter defaultRetentionDays: recorded for the schema's retention guard.
    /// - Throws: `StoreError.schemaTooNew` when the file was written by a newer cloudaudit.
    public init(path: String, defaultRetentionDays: Int = 30, readOnly: Bool = false, merkleLog: Bool = true) throws {
        self.path = path
        self.merkleLog = merkleLog
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 4
        config.prepareDatabase { db in
            // FULL: an acknowledged append survives power loss, not only a crash. Checkpoints every
            // ~40 MB of WAL so pages dirtied by many commits are written back once.
            try db.execute(sql: """
                PRAGMA synchronous = FULL; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;
                PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864
                """)
        }
        pool = try DatabasePool(path: path, configuration: config)
        let migrator = Self.migrator
        let before = try pool.write { db -> Set<String> in
            let known = Set(migrator.migrations)
            let applied = try migrator.appliedIdentifiers(db)
            if !applied.isSubset(of: known) {
                let newest = applied.subtracting(known).sorted().last ?? "?"
                throw StoreError(.schemaTooNew, "the database at \(path) has migration \"\(newest)\", which this cloudaudit does not know; use a newer version")
            }
            return applied
        }
        try migrator.migrate(pool)
        // Migrations are registered oldest first: the newest one present before is the last of those.
        schema = SchemaUpgrade(created: before.isEmpty, previous: migrator.migrations.last(where: before.contains),
                               applied: migrator.migrations.filter { !before.contains($0) }, current: migrator.migrations.last ?? "")
        secret = try pool.write { db -> [UInt8] in
            try db.execute(sql: "INSERT INTO meta(name, value) VALUES ('default_retention_days', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                           arguments: [String(defaultRetentionDays)])
            if let data = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'fingerprint_key'") { return Array(data) }
            var rng = SystemRandomNumberGenerator()
            let fresh = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try db.execute(sql: "INSERT INTO meta(name, value) VALUES ('fingerprint_key', ?)", arguments: [Data(fresh)])
            return fresh
        }
        fingerprint = ValueFingerprint(secret: secret)

    }

    public func close() async throws {
        try pool.close()
    }

    public func deploymentSecret() async throws -> [UInt8] { secret }

    // MARK: Accounts

    public func createAccount(name: String, retentionDays: Int?, id: Int64?, memberOf: Int64?) async throws -> Account {
        let now = unixNow()
        return try await pool.write { db in
            if let id, let existing = try Self.fetchAccount(db, id: id) { return existing }
            try Self.checkNameIsFree(db, name, except: nil)
            if let memberOf { try AccountRules.checkManagement(try Self.fetchAccount(db, id: memberOf), id: memberOf) }
            let newId = try id ?? max(AccountIds.first, (Int64.fetchOne(db, sql: "SELECT MAX(id) FROM accounts") ?? 0) + 1)
            try db.execute(sql: "INSERT INTO accounts(id, name, retention_days, created_at, member_of) VALUES (?, ?, ?, ?, ?)",
                           arguments: [newId, name, retentionDays, now, memberOf])
            if let memberOf {
                for t in try Self.fetchTracks(db, accountId: memberOf) where t.trackForAllMembers { try Self.startCursors(of: t, db) }
            }
            return Account(id: newId, name: name, retentionDays: retentionDays, createdAt: now, memberOf: memberOf)
        }
    }

    public func account(id: Int64) async throws -> Account? {
        try await pool.read { db in try Self.fetchAccount(db, id: id) }
    }

    public func listAccounts() async throws -> [Account] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, retention_days, created_at, member_of FROM accounts ORDER BY id").map(Self.account(from:))
        }
    }

    public func renameAccount(id: Int64, name: String) async throws -> Account? {
        try await pool.write { db in
            guard try Self.fetchAccount(db, id: id) != nil else { return nil }
            try Self.checkNameIsFree(db, name, except: id)
            try db.execute(sql: "UPDATE accounts SET name = ? WHERE id = ?", arguments: [name, id])
            return try Self.fetchAccount(db, id: id)
        }
    }

    public func setAccountRetention(id: Int64, days: Int?) async throws -> Account? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE accounts SET retention_days = ? WHERE id = ?", arguments: [days, id])
            return try Self.fetchAccount(db, id: id)
        }
    }

    /// Throws `.accountNameExists` when an account other than `except` has `name` (compared in Swift, by
    /// ``AccountRules/nameKey(_:)``, as every backend does; a deployment has few accounts).
    static func checkNameIsFree(_ db: Database, _ name: String, except: Int64?) throws {
        let all = try Row.fetchAll(db, sql: "SELECT id, name, retention_days, created_at, member_of FROM accounts").map(account(from:))
        if let holder = AccountRules.holder(of: name, in: all, except: except) { throw StoreError.accountNameExists(holder) }
    }

    static func fetchAccount(_ db: Database, id: Int64) throws -> Account? {
        try Row.fetchOne(db, sql: "SELECT id, name, retention_days, created_at, member_of FROM accounts WHERE id = ?", arguments: [id]).map(account(from:))
    }

    static func account(from row: Row) -> Account {
        Account(id: row[0], name: row[1], retentionDays: row[2], createdAt: row[3], memberOf: row[4])
    }

    // MARK: Keys

    public func createKey(_ key: StoredAccessKey) async throws {
        try await pool.write { db in
            guard try Self.fetchAccount(db, id: key.accountId) != nil else { throw StoreError.accountNotFound(key.accountId) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM access_keys WHERE secret_id = ?", arguments: [key.secretId]) == true {
                throw StoreError.keyExists(key.secretId)
            }
            try db.execute(sql: "INSERT INTO access_keys(secret_id, account_id, role, sealed_secret, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [key.secretId, key.accountId, key.role.rawValue, Data(key.sealedSecret), key.status.rawValue, key.createdAt])
        }
    }

    public func key(secretId: String) async throws -> StoredAccessKey? {
        // (The C text binding stops at U+0000: such an id would find the key of its first part. None is stored.)
        if secretId.utf8.contains(0) { return nil }
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT secret_id, account_id, role, sealed_secret, status, created_at FROM access_keys WHERE secret_id = ?",
                             arguments: [secretId]).map(Self.key(from:))
        }
    }

    public func listKeys(accountId: Int64?) async throws -> [StoredAccessKey] {
        try await pool.read { db in
            let sql = "SELECT secret_id, account_id, role, sealed_secret, status, created_at FROM access_keys"
                + (accountId == nil ? "" : " WHERE account_id = ?") + " ORDER BY created_at, secret_id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(accountId.map { [$0] } ?? [])).map(Self.key(from:))
        }
    }

    public func setKeyStatus(secretId: String, status: KeyStatus) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE access_keys SET status = ? WHERE secret_id = ?", arguments: [status.rawValue, secretId])
            return db.changesCount > 0
        }
    }

    static func key(from row: Row) -> StoredAccessKey {
        let data: Data = row[3]
        return StoredAccessKey(secretId: row[0], accountId: row[1], role: KeyRole(rawValue: row[2]) ?? .auditor,
                               sealedSecret: Array(data), status: KeyStatus(rawValue: row[4]) ?? .disabled, createdAt: row[5])
    }

    // MARK: Cursors

    public func saveCursor(token: Int64, accountId: Int64, payload: [UInt8], expiresAt: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO cursors(token, account_id, payload, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [token, accountId, Data(payload), expiresAt])
        }
    }

    public func cursor(token: Int64, accountId: Int64, now: Int64) async throws -> [UInt8]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT payload FROM cursors WHERE token = ? AND account_id = ? AND expires_at > ?",
                              arguments: [token, accountId, now]).map { Array($0) }
        }
    }

    public func deleteExpiredCursors(now: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM cursors WHERE expires_at <= ?", arguments: [now]) }
    }

    // MARK: Append

    public func append(_ events: [AuditEvent]) async throws -> [AppendOutcome] {
        if events.isEmpty { return [] }
        // Fingerprints are computed here, on the caller's task, so the single writer only writes.
        let merkleLog = self.merkleLog
        let prepared = events.map { PreparedEvent($0, fingerprint: fingerprint, leaf: merkleLog) }
        return try await committer.submit(prepared) { batches in
            try await self.pool.write { db in try batches.map { try Self.insert($0, merkleLog: merkleLog, db) } }
        }
    }

    struct PreparedEvent: Sendable {
        var event: AuditEvent
        var postings: [(key: Int, hash: Int64)]
        var packedKeys: Data
        /// The event's Merkle leaf hash (RFC 6962) over the record as stored.
        var leaf: MerkleHash

        init(_ e: AuditEvent, fingerprint: ValueFingerprint, leaf withLeaf: Bool) {
            event = e
            leaf = withLeaf ? RFC6962.leafHash(e.record) : []
            postings = fingerprint.postings(of: e)
            var packed = Data(capacity: postings.count * 9)
            for (key, h) in postings {
                packed.append(UInt8(key))
                withUnsafeBytes(of: h.bigEndian) { packed.append(contentsOf: $0) }
            }
            packedKeys = packed
        }
    }

    /// Inserts one caller's events; runs inside the group transaction.
    static func insert(_ batch: [PreparedEvent], merkleLog: Bool, _ db: Database) throws -> [AppendOutcome] {
        var nextSeq: [Int64: Int64] = [:]
        var trees: [Int64: CompactRange] = [:]
        var counts: [CountKey: Int64] = [:]
        var out: [AppendOutcome] = []
        out.reserveCapacity(batch.count)
        let insertEvent = try db.cachedStatement(sql: """
            INSERT INTO events(account_id, seq, event_id, event_time, record, posting_keys) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(account_id, event_id) DO NOTHING
            """)
        let insertPosting = try db.cachedStatement(sql: "INSERT INTO postings(account_id, key, day, value_hash, event_time, pos) VALUES (?, ?, ?, ?, ?, ?)")
        for p in batch {
            let e = p.event
            let seq: Int64
            if let s = nextSeq[e.accountId] {
                seq = s
            } else {
                guard let s = try Int64.fetchOne(db, sql: "SELECT next_seq FROM accounts WHERE id = ?", arguments: [e.accountId]) else {
                    throw StoreError.accountNotFound(e.accountId)
                }
                seq = s
            }
            try insertEvent.execute(arguments: [e.accountId, seq, Self.eventIdValue(e.eventId), e.eventTime, e.record.withUnsafeBufferPointer { Data(buffer: $0) }, p.packedKeys])
            if db.changesCount == 0 {
                let existing = try Int64.fetchOne(db, sql: "SELECT seq FROM events WHERE account_id = ? AND event_id = ?", arguments: [e.accountId, Self.eventIdValue(e.eventId)]) ?? 0
                out.append(.duplicate(sequence: existing))
                nextSeq[e.accountId] = seq
                continue
            }
            let pos = db.lastInsertedRowID
            nextSeq[e.accountId] = seq + 1
            if merkleLog {
                var tree = try trees[e.accountId] ?? fetchMerkleRange(db, account: e.accountId)
                guard tree.size == UInt64(seq - 1) else {
                    throw StoreError(.merkleLogMismatch, "the Merkle log of account \(e.accountId) has \(tree.size) leaves but the next sequence is \(seq)")
                }
                var nodes: [(MerkleNode, MerkleHash)] = []
                tree.append(p.leaf) { node, hash in nodes.append((node, hash)) }
                try insertNodes(nodes, account: e.accountId, db)
                trees[e.accountId] = tree
            }
            let hour = TimeBuckets.hour(e.eventTime)
            let day = Self.day(e.eventTime)
            for posting in p.postings {
                try Self.execute(insertPosting, db, [e.accountId, Int64(posting.key), day, posting.hash, e.eventTime, pos])
                if LookupKey(rawValue: posting.key)?.keepsHourlyCounts == true {
                    counts[CountKey(account: e.accountId, key: posting.key, hash: posting.hash, hour: hour), default: 0] += 1
                }
            }
            out.append(.stored(sequence: seq))
        }
        for (account, next) in nextSeq {
            try db.execute(sql: "UPDATE accounts SET next_seq = ? WHERE id = ?", arguments: [next, account])
        }
        for (account, tree) in trees {
            try db.execute(sql: "UPDATE accounts SET merkle_range = ? WHERE id = ?", arguments: [Data(tree.serialized), account])
        }
        try applyCounts(counts, db)
        return out
    }

    struct CountKey: Hashable {
        var account: Int64
        var key: Int
        var hash: Int64
        var hour: Int64
    }

    static func applyCounts(_ counts: [CountKey: Int64], _ db: Database) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO hourly_counts(account_id, key, value_hash, hour, count) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(account_id, key, value_hash, hour) DO UPDATE SET count = count + excluded.count
            """)
        for (k, n) in counts where n != 0 {
            try execute(upsert, db, [k.account, Int64(k.key), k.hash, k.hour, n])
        }
        if counts.values.contains(where: { $0 < 0 }) {
            try db.execute(sql: "DELETE FROM hourly_counts WHERE count <= 0")
        }
    }

    // MARK: Retention

    public func deleteEvents(accountId: Int64, olderThan cutoff: Int64) async throws -> Int {
        var total = 0
        // In slices, so that appends are not held up behind one long transaction.
        while true {
            let n = try await pool.write { db -> Int in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT p.pos, p.event_time, e.posting_keys FROM postings p JOIN events e ON e.id = p.pos
                    WHERE p.account_id = ? AND p.key = 0 AND p.day <= ? AND p.value_hash = ? AND p.event_time < ?
                    ORDER BY p.day, p.event_time, p.pos LIMIT 5000
                    """, arguments: [accountId, Self.day(cutoff), self.fingerprint(LookupKey.all.rawValue, ""), cutoff])
                if rows.isEmpty { return 0 }
                let deletePosting = try db.cachedStatement(sql: "DELETE FROM postings WHERE account_id = ? AND key = ? AND day = ? AND value_hash = ? AND event_time = ? AND pos = ?")
                var counts: [CountKey: Int64] = [:]
                for row in rows {
                    let pos: Int64 = row[0]
                    let time: Int64 = row[1]
                    let hour = TimeBuckets.hour(time)
                    let keys: Data = row[2]
                    for (key, hash) in Self.unpack(keys) {
                        try deletePosting.execute(arguments: [accountId, key, Self.day(time), hash, time, pos])
                        if LookupKey(rawValue: key)?.keepsHourlyCounts == true {
                            counts[CountKey(account: accountId, key: key, hash: hash, hour: hour), default: 0] -= 1
                        }
                    }
                    try db.execute(sql: "DELETE FROM events WHERE id = ?", arguments: [pos])
                }
                try Self.applyCounts(counts, db)
                return rows.count
            }
            total += n
            if n == 0 { return total }
        }
    }

    /// Runs a cached statement whose parameters are all integers straight through the SQLite C API:
    /// on the append path this runs ~20 times per event, where building `StatementArguments` costs more
    /// than SQLite's own work.
    static func execute(_ statement: Statement, _ db: Database, _ values: [Int64]) throws {
        let raw = statement.sqliteStatement
        for (i, v) in values.enumerated() { sqlite3_bind_int64(raw, Int32(i + 1), v) }
        let rc = sqlite3_step(raw)
        sqlite3_reset(raw)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// An eventId as bound: text, as always, or its UTF-8 bytes as a blob when it holds U+0000, which
    /// the C text binding would cut off there (two ids that differ after it would be taken for one).
    static func eventIdValue(_ id: String) -> DatabaseValueConvertible { id.utf8.contains(0) ? Data(id.utf8) : id }

    /// An eventId as read (text, or the blob of one holding U+0000).
    static func eventId(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .string(let s): return s
        case .blob(let d): return String(decoding: d, as: UTF8.self)
        default: return ""
        }
    }

    /// The day (UTC) of a Unix time: the partition of the posting lists.
    static func day(_ t: Int64) -> Int64 { TimeBuckets.day(t) }

    static func unpack(_ data: Data) -> [(Int, Int64)] {
        let bytes = [UInt8](data)
        var out: [(Int, Int64)] = []
        var i = 0
        while i + 9 <= bytes.count {
            var h: UInt64 = 0
            for j in 1...8 { h = h << 8 | UInt64(bytes[i + j]) }
            out.append((Int(bytes[i]), Int64(bitPattern: h)))
            i += 9
        }
        return out
    }
}

extension SQLiteEventStore {
    /// Copies the database at `path`, as of one moment, into a new database file at `destination` with
    /// SQLite's online backup API, read from one read transaction: writers (a running server) go on, and
    /// the copy holds every transaction committed before it began and none after. Nothing is written to
    /// the source (no migration, no setting).
    public static func backup(databaseAt path: String, to destination: String) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        let source = try DatabasePool(path: path, configuration: config)
        let target = try DatabaseQueue(path: destination)
        try source.backup(to: target)
        try target.close()
        try source.close()
    }
}
