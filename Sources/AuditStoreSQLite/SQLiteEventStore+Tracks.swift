import AuditModel
import AuditStore
import Foundation
import GRDB

extension SQLiteEventStore {
    static func registerTrackMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v2-tracks") { db in
            try db.execute(sql: """
                ALTER TABLE accounts ADD COLUMN member_of INTEGER REFERENCES accounts(id);

                -- A tracking set: the definition as JSON, with the columns that are looked up.
                CREATE TABLE tracks (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    name TEXT NOT NULL,
                    definition BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    UNIQUE (account_id, name)
                );

                -- Where each set stands in each account's log it delivers.
                CREATE TABLE delivery_state (
                    track_id INTEGER NOT NULL,
                    account_id INTEGER NOT NULL,
                    delivered_seq INTEGER NOT NULL,
                    delivered_at INTEGER NOT NULL DEFAULT 0,
                    pending_first_seq INTEGER,
                    pending_key_time INTEGER,
                    last_error TEXT,
                    last_error_at INTEGER,
                    files INTEGER NOT NULL DEFAULT 0,
                    events INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (track_id, account_id)
                ) WITHOUT ROWID;

                -- The outbox of file notifications, written with the cursor that delivered the file.
                CREATE TABLE notifications (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    track_id INTEGER NOT NULL,
                    channel TEXT NOT NULL,
                    body BLOB NOT NULL,
                    message_id TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    due_at INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT
                );
                CREATE INDEX notifications_due ON notifications(due_at);
                """)
        }
    }

    // MARK: Events by sequence

    public func events(accountId: Int64, afterSequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, seq, event_id, event_time, record FROM events WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                             arguments: [accountId, afterSequence, limit]).map { row in
                let record: Data = row[4]
                return StoredEvent(accountId: accountId, sequence: row[1], eventId: Self.eventId(row[2]), eventTime: row[3], position: row[0], record: Array(record))
            }
        }
    }

    public func lastSequence(accountId: Int64) async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT next_seq - 1 FROM accounts WHERE id = ?", arguments: [accountId]) ?? 0 }
    }

    // MARK: Tracks

    public func createTrack(_ track: Track, quota: Int) async throws -> Track {
        let now = unixNow()
        return try await pool.write { db in
            guard try Self.fetchAccount(db, id: track.accountId) != nil else { throw StoreError.accountNotFound(track.accountId) }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tracks WHERE account_id = ?", arguments: [track.accountId]) ?? 0
            guard count < quota else { throw StoreError.trackQuota(quota) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM tracks WHERE account_id = ? AND name = ?", arguments: [track.accountId, track.name]) == true {
                throw StoreError.trackNameExists(track.name)
            }
            var t = track
            t.createdAt = now
            // The id is the row's; the stored definition's own id is not read back.
            try db.execute(sql: "INSERT INTO tracks(account_id, name, definition, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [t.accountId, t.name, try Self.encode(t), now])
            t.id = db.lastInsertedRowID
            try Self.startCursors(of: t, db)
            return t
        }
    }

    /// Cursors at the last sequence for the accounts the set covers and has none for yet.
    static func startCursors(of t: Track, _ db: Database) throws {
        let sql = "SELECT id, next_seq - 1 FROM accounts WHERE id = ?" + (t.trackForAllMembers ? " OR member_of = ?" : "")
        let args: StatementArguments = t.trackForAllMembers ? [t.accountId, t.accountId] : [t.accountId]
        for row in try Row.fetchAll(db, sql: sql, arguments: args) {
            let account: Int64 = row[0]
            let last: Int64 = row[1]
            try db.execute(sql: "INSERT INTO delivery_state(track_id, account_id, delivered_seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           arguments: [t.id, account, last])
        }
    }

    public func track(id: Int64) async throws -> Track? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT id, definition FROM tracks WHERE id = ?", arguments: [id]).map(Self.decode) }
    }

    public func track(accountId: Int64, name: String) async throws -> Track? {
        if name.utf8.contains(0) { return nil }  // (see `key(secretId:)`)
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, definition FROM tracks WHERE account_id = ? AND name = ?", arguments: [accountId, name]).map(Self.decode)
        }
    }

    public func tracks(accountId: Int64?) async throws -> [Track] {
        try await pool.read { db in try Self.fetchTracks(db, accountId: accountId) }
    }

    static func fetchTracks(_ db: Database, accountId: Int64?) throws -> [Track] {
        let sql = "SELECT id, definition FROM tracks" + (accountId == nil ? "" : " WHERE account_id = ?") + " ORDER BY id"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(accountId.map { [$0] } ?? [])).map(decode)
    }

    public func updateTrack(_ track: Track) async throws -> Bool {
        try await pool.write { db in
            guard let old = try Row.fetchOne(db, sql: "SELECT id, definition FROM tracks WHERE id = ?", arguments: [track.id]).map(Self.decode) else { return false }
            var t = track
            t.name = old.name
            t.accountId = old.accountId
            t.createdAt = old.createdAt
            try db.execute(sql: "UPDATE tracks SET definition = ? WHERE id = ?", arguments: [try Self.encode(t), t.id])
            try Self.startCursors(of: t, db)
            return true
        }
    }

    public func deleteTrack(id: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM tracks WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM delivery_state WHERE track_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM notifications WHERE track_id = ?", arguments: [id])
            return true
        }
    }

    static func encode(_ t: Track) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return try e.encode(t)
    }

    /// A set from its `(id, definition)` row.
    static func decode(_ row: Row) throws -> Track {
        var t = try JSONDecoder().decode(Track.self, from: row[1] as Data)
        t.id = row[0]
        return t
    }

    // MARK: Delivery state

    public func deliveryStates(trackId: Int64?) async throws -> [DeliveryState] {
        try await pool.read { db in
            let sql = """
                SELECT track_id, account_id, delivered_seq, delivered_at, pending_first_seq, pending_key_time, last_error, last_error_at, files, events, digest
                FROM delivery_state
                """ + (trackId == nil ? "" : " WHERE track_id = ?") + " ORDER BY track_id, account_id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(trackId.map { [$0] } ?? [])).map { r in
                DeliveryState(trackId: r[0], accountId: r[1], deliveredSequence: r[2], deliveredAt: r[3], pendingFirstSequence: r[4], pendingKeyTime: r[5],
                              lastError: r[6], lastErrorAt: r[7], files: r[8], events: r[9],
                              digest: try (r[10] as Data?).map { try DigestPeriod.decode(Array($0)) })
            }
        }
    }

    public func saveDeliveryState(_ s: DeliveryState, expectedSequence: Int64?, notifications: [OutgoingNotification]) async throws {
        try await pool.write { db in
            // A deleted set keeps no state.
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM tracks WHERE id = ?", arguments: [s.trackId]) == true else { return }
            if let expectedSequence {
                let current = try Int64.fetchOne(db, sql: "SELECT delivered_seq FROM delivery_state WHERE track_id = ? AND account_id = ?",
                                                 arguments: [s.trackId, s.accountId]) ?? 0
                guard current == expectedSequence else { throw StoreError.cursorMoved }
            }
            try db.execute(sql: """
                INSERT INTO delivery_state(track_id, account_id, delivered_seq, delivered_at, pending_first_seq, pending_key_time, last_error, last_error_at,
                    files, events, digest)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(track_id, account_id) DO UPDATE SET delivered_seq = excluded.delivered_seq, delivered_at = excluded.delivered_at,
                    pending_first_seq = excluded.pending_first_seq, pending_key_time = excluded.pending_key_time, last_error = excluded.last_error,
                    last_error_at = excluded.last_error_at, files = excluded.files, events = excluded.events, digest = excluded.digest
                """, arguments: [s.trackId, s.accountId, s.deliveredSequence, s.deliveredAt, s.pendingFirstSequence, s.pendingKeyTime,
                                 s.lastError, s.lastErrorAt, s.files, s.events, try s.digest.map { Data(try $0.encode()) }])
            for n in notifications {
                try db.execute(sql: "INSERT INTO notifications(track_id, channel, body, message_id) VALUES (?, ?, ?, ?)",
                               arguments: [s.trackId, n.channel, Data(n.body), n.messageId])
            }
        }
    }

    public func pendingNotifications(dueBy now: Int64, limit: Int) async throws -> [QueuedNotification] {
        // Read first: the claim is a write, which the usual empty answer (every half second) need not take.
        let due = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, track_id, channel, body, message_id, attempts FROM notifications WHERE due_at <= ? ORDER BY id LIMIT ?",
                             arguments: [now, limit]).map { r in
                let body: Data = r[3]
                return QueuedNotification(id: r[0], trackId: r[1], channel: r[2], body: Array(body), messageId: r[4], attempts: r[5])
            }
        }
        if due.isEmpty { return [] }
        // One process (the serve lock) claims: no other claimer can come between the read and the write.
        try await pool.write { db in
            for n in due {
                try db.execute(sql: "UPDATE notifications SET due_at = ? WHERE id = ?", arguments: [QueuedNotification.claimEnd(now), n.id])
            }
        }
        return due
    }

    public func queuedNotifications() async throws -> [QueuedNotification] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, track_id, channel, body, message_id, attempts FROM notifications ORDER BY id").map { r in
                let body: Data = r[3]
                return QueuedNotification(id: r[0], trackId: r[1], channel: r[2], body: Array(body), messageId: r[4], attempts: r[5])
            }
        }
    }

    public func acknowledgeNotification(id: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM notifications WHERE id = ?", arguments: [id]) }
    }

    public func postponeNotification(id: Int64, until: Int64, error: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE notifications SET attempts = attempts + 1, due_at = ?, last_error = ? WHERE id = ?", arguments: [until, error, id])
        }
    }

    public func pendingNotificationCounts() async throws -> [Int64: Int] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT track_id, COUNT(*) FROM notifications GROUP BY track_id").reduce(into: [:]) { $0[$1[0]] = $1[1] }
        }
    }
}
