import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import PostgresNIO

// The Merkle log, tracking sets, the outbox, the console and KMS keys: one statement or one short
// transaction each, as in the SQLite store.

extension PostgresStore {
    // MARK: Merkle log

    public func merkleRange(accountId: Int64) async throws -> CompactRange {
        guard let data = try await rows("SELECT merkle_range FROM accounts WHERE id = \(accountId)").first?.decode(Data?.self) else { return CompactRange() }
        return try CompactRange(serialized: Array(data))
    }

    public func merkleSubtrees(accountId: Int64, _ nodes: [MerkleNode]) async throws -> [MerkleNode: MerkleHash] {
        let size = try await merkleRange(accountId: accountId).size
        var out: [MerkleNode: MerkleHash] = [:]
        var kept: [MerkleNode] = []
        for n in nodes {
            guard n.end <= size else { throw StoreError(.merkleNodeMissing, "subtree \(n) lies beyond the log of account \(accountId), of size \(size)") }
            if n.level == 0 || n.level >= Self.keptNodeLevel { kept.append(n) }
        }
        if !kept.isEmpty {
            for row in try await rows("""
                SELECT m.level, m.idx, m.hash FROM merkle_nodes m
                JOIN UNNEST(\(kept.map { Int16($0.level) }), \(kept.map { Int64($0.index) })) AS k(level, idx) ON m.level = k.level AND m.idx = k.idx
                WHERE m.account_id = \(accountId)
                """) {
                let (level, index, hash) = try row.decode((Int16, Int64, Data).self)
                if let node = kept.first(where: { $0.level == Int(level) && $0.index == UInt64(index) }) { out[node] = Array(hash) }
            }
        }
        for n in nodes where out[n] == nil {
            guard n.level != 0, n.level < Self.keptNodeLevel else { throw StoreError(.merkleNodeMissing, "the log of account \(accountId) has no subtree \(n)") }
            let hashes = try await rows("""
                SELECT hash FROM merkle_nodes WHERE account_id = \(accountId) AND level = 0 AND idx >= \(Int64(n.begin)) AND idx < \(Int64(n.end)) ORDER BY idx
                """).map { Array(try $0.decode(Data.self)) }
            out[n] = try n.hash(fromLeaves: hashes, accountId: accountId)
        }
        return out
    }

    public func sequence(accountId: Int64, eventId: String) async throws -> Int64? {
        try await rows("SELECT seq FROM event_ids WHERE account_id = \(accountId) AND event_id = \(ByteBuffer(string: eventId))").first?.decode(Int64.self)
    }

    public func saveCheckpoint(_ c: StoredCheckpoint) async throws {
        try await run("""
            INSERT INTO checkpoints(account_id, size, root, time, note) VALUES (\(c.accountId), \(c.size), \(Data(c.root)), \(c.time), \(c.note))
            ON CONFLICT DO NOTHING
            """)
    }

    /// The kept checkpoint of `size`, else the one `sign` makes, kept: under a transaction-scoped
    /// advisory lock per account, so that nodes racing to the same size sign it once.
    public func keepCheckpoint(accountId: Int64, size: Int64, sign: @escaping @Sendable () throws -> StoredCheckpoint) async throws -> StoredCheckpoint {
        let logger = self.logger
        let fence = Lease.current
        return try await transaction { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Self.checkpointLock), hashtext(\(String(accountId))))", logger: logger)
            try await Self.checkFence(fence, c, logger)
            if let kept = try await c.query("""
                SELECT root, time, note FROM checkpoints WHERE account_id = \(accountId) AND size = \(size)
                """, logger: logger).collect().first {
                let (root, time, note) = try kept.decode((Data, Int64, String).self)
                return StoredCheckpoint(accountId: accountId, size: size, root: Array(root), time: time, note: note)
            }
            let made = try sign()
            try await c.query("""
                INSERT INTO checkpoints(account_id, size, root, time, note) VALUES (\(accountId), \(size), \(Data(made.root)), \(made.time), \(made.note))
                """, logger: logger)
            return made
        }
    }

    /// The first key of the advisory locks that order checkpoint signing (the second is the account's hash).
    static let checkpointLock: Int32 = 0x4368_6B70  // "Chkp"

    public func checkpoints(accountId: Int64) async throws -> [StoredCheckpoint] {
        try await rows("SELECT size, root, time, note FROM checkpoints WHERE account_id = \(accountId) ORDER BY size").map { row in
            let (size, root, time, note) = try row.decode((Int64, Data, Int64, String).self)
            return StoredCheckpoint(accountId: accountId, size: size, root: Array(root), time: time, note: note)
        }
    }

    public func checkpoint(accountId: Int64, size: Int64?) async throws -> StoredCheckpoint? {
        try await rows("""
            SELECT size, root, time, note FROM checkpoints WHERE account_id = \(accountId) AND (\(size)::bigint IS NULL OR size = \(size))
            ORDER BY size DESC LIMIT 1
            """).first.map { row in
            let (size, root, time, note) = try row.decode((Int64, Data, Int64, String).self)
            return StoredCheckpoint(accountId: accountId, size: size, root: Array(root), time: time, note: note)
        }
    }

    // MARK: Tracking sets

    static func encode(_ t: Track) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return try e.encode(t)
    }

    /// A set from its `(id, definition)` row.
    static func track(_ row: PostgresRow) throws -> Track {
        let (id, definition) = try row.decode((Int64, Data).self)
        var t = try JSONDecoder().decode(Track.self, from: definition)
        t.id = id
        return t
    }

    static func fetchTracks(_ c: PostgresConnection, accountId: Int64?, _ logger: Logger) async throws -> [Track] {
        try await c.query("SELECT id, definition FROM tracks WHERE \(accountId)::bigint IS NULL OR account_id = \(accountId) ORDER BY id", logger: logger)
            .collect().map(track)
    }

    /// Cursors at the last sequence for the accounts the set covers and has none for yet.
    static func startCursors(of t: Track, _ c: PostgresConnection, _ logger: Logger) async throws {
        try await c.query("""
            INSERT INTO delivery_state(account_id, track_id, delivered_seq)
            SELECT id, \(t.id), next_seq - 1 FROM accounts WHERE id = \(t.accountId) OR (\(t.trackForAllMembers) AND member_of = \(t.accountId))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func createTrack(_ track: Track, quota: Int) async throws -> Track {
        let now = unixNow()
        let logger = self.logger
        return try await transaction { c in
            // The account's row orders the creations of its sets (the quota counts the others' commits).
            guard try await !c.query("SELECT 1 FROM accounts WHERE id = \(track.accountId) FOR UPDATE", logger: logger).collect().isEmpty else {
                throw StoreError.accountNotFound(track.accountId)
            }
            let count = try await c.query("SELECT count(*) FROM tracks WHERE account_id = \(track.accountId)", logger: logger).collect().first?.decode(Int.self) ?? 0
            guard count < quota else { throw StoreError.trackQuota(quota) }
            if try await !c.query("SELECT 1 FROM tracks WHERE account_id = \(track.accountId) AND name = \(track.name)", logger: logger).collect().isEmpty {
                throw StoreError.trackNameExists(track.name)
            }
            var t = track
            t.createdAt = now
            // The id is the row's; the stored definition's own id is not read back.
            let definition = try Self.encode(t)
            t.id = try await c.query("""
                INSERT INTO tracks(account_id, name, definition, created_at) VALUES (\(t.accountId), \(t.name), \(definition), \(now)) RETURNING id
                """, logger: logger).collect().first?.decode(Int64.self) ?? 0
            try await Self.startCursors(of: t, c, logger)
            return t
        }
    }

    public func track(id: Int64) async throws -> Track? {
        try await rows("SELECT id, definition FROM tracks WHERE id = \(id)").first.map(Self.track)
    }

    public func track(accountId: Int64, name: String) async throws -> Track? {
        // (No stored text holds U+0000, which PostgreSQL's text refuses: such a name names nothing.)
        if name.contains("\u{0}") { return nil }
        return try await rows("SELECT id, definition FROM tracks WHERE account_id = \(accountId) AND name = \(name)").first.map(Self.track)
    }

    public func tracks(accountId: Int64?) async throws -> [Track] {
        try await rows("SELECT id, definition FROM tracks WHERE \(accountId)::bigint IS NULL OR account_id = \(accountId) ORDER BY id").map(Self.track)
    }

    public func updateTrack(_ track: Track) async throws -> Bool {
        let logger = self.logger
        return try await transaction { c in
            guard let old = try await c.query("SELECT id, definition FROM tracks WHERE id = \(track.id) FOR UPDATE", logger: logger).collect().first.map(Self.track)
            else { return false }
            var t = track
            t.name = old.name
            t.accountId = old.accountId
            t.createdAt = old.createdAt
            try await c.query("UPDATE tracks SET definition = \(try Self.encode(t)) WHERE id = \(t.id)", logger: logger)
            try await Self.startCursors(of: t, c, logger)
            return true
        }
    }

    public func deleteTrack(id: Int64) async throws -> Bool {
        let logger = self.logger
        return try await transaction { c in
            guard try await Self.changed(c, "DELETE FROM tracks WHERE id = \(id) RETURNING 1", logger) > 0 else { return false }
            try await c.query("DELETE FROM delivery_state WHERE track_id = \(id)", logger: logger)
            try await c.query("DELETE FROM notifications WHERE track_id = \(id)", logger: logger)
            return true
        }
    }

    // MARK: Delivery state and outbox

    public func deliveryStates(trackId: Int64?) async throws -> [DeliveryState] {
        try await rows("""
            SELECT track_id, account_id, delivered_seq, delivered_at, pending_first_seq, pending_key_time, last_error, last_error_at, files, events, digest
            FROM delivery_state WHERE \(trackId)::bigint IS NULL OR track_id = \(trackId) ORDER BY track_id, account_id
            """).map { r in
            let (track, account, seq, at, pendingFirst, pendingKey, error, errorAt, files, events, digest) =
                try r.decode((Int64, Int64, Int64, Int64, Int64?, Int64?, String?, Int64?, Int64, Int64, Data?).self)
            return DeliveryState(trackId: track, accountId: account, deliveredSequence: seq, deliveredAt: at, pendingFirstSequence: pendingFirst,
                                 pendingKeyTime: pendingKey, lastError: error, lastErrorAt: errorAt, files: files, events: events,
                                 digest: try digest.map { try DigestPeriod.decode(Array($0)) })
        }
    }

    public func saveDeliveryState(_ s: DeliveryState, expectedSequence: Int64?, notifications: [OutgoingNotification]) async throws {
        let logger = self.logger
        let digest = try s.digest.map { Data(try $0.encode()) }
        let fence = Lease.current
        try await transaction { c in
            try await Self.checkFence(fence, c, logger)
            // A deleted set keeps no state (the set's row, locked, orders this against its deletion).
            guard try await !c.query("SELECT 1 FROM tracks WHERE id = \(s.trackId) FOR SHARE", logger: logger).collect().isEmpty else { return }
            if let expectedSequence {
                let current = try await c.query("""
                    SELECT delivered_seq FROM delivery_state WHERE account_id = \(s.accountId) AND track_id = \(s.trackId) FOR UPDATE
                    """, logger: logger).collect().first?.decode(Int64.self) ?? 0
                guard current == expectedSequence else { throw StoreError.cursorMoved }
            }
            try await c.query("""
                INSERT INTO delivery_state(account_id, track_id, delivered_seq, delivered_at, pending_first_seq, pending_key_time, last_error, last_error_at,
                    files, events, digest)
                VALUES (\(s.accountId), \(s.trackId), \(s.deliveredSequence), \(s.deliveredAt), \(s.pendingFirstSequence), \(s.pendingKeyTime),
                    \(s.lastError.map(Self.storable)), \(s.lastErrorAt), \(s.files), \(s.events), \(digest))
                ON CONFLICT (account_id, track_id) DO UPDATE SET delivered_seq = excluded.delivered_seq, delivered_at = excluded.delivered_at,
                    pending_first_seq = excluded.pending_first_seq, pending_key_time = excluded.pending_key_time, last_error = excluded.last_error,
                    last_error_at = excluded.last_error_at, files = excluded.files, events = excluded.events, digest = excluded.digest
                """, logger: logger)
            for n in notifications {
                try await c.query("""
                    INSERT INTO notifications(track_id, channel, body, message_id) VALUES (\(s.trackId), \(n.channel), \(Data(n.body)), \(n.messageId))
                    """, logger: logger)
            }
        }
    }

    /// Claims the due notifications: rows locked by another node's claim are skipped, and the claimed
    /// ones are due again only after the claim (`FOR UPDATE SKIP LOCKED`, then a later `due_at`).
    public func pendingNotifications(dueBy now: Int64, limit: Int) async throws -> [QueuedNotification] {
        try await rows("""
            UPDATE notifications SET due_at = \(QueuedNotification.claimEnd(now))
            WHERE id IN (SELECT id FROM notifications WHERE due_at <= \(now) ORDER BY id LIMIT \(Int64(max(0, limit))) FOR UPDATE SKIP LOCKED)
            RETURNING id, track_id, channel, body, message_id, attempts
            """).map { r in
            let (id, track, channel, body, messageId, attempts) = try r.decode((Int64, Int64, String, Data, String, Int).self)
            return QueuedNotification(id: id, trackId: track, channel: channel, body: Array(body), messageId: messageId, attempts: attempts)
        }.sorted { $0.id < $1.id }
    }

    public func queuedNotifications() async throws -> [QueuedNotification] {
        try await rows("SELECT id, track_id, channel, body, message_id, attempts FROM notifications ORDER BY id").map { r in
            let (id, track, channel, body, messageId, attempts) = try r.decode((Int64, Int64, String, Data, String, Int).self)
            return QueuedNotification(id: id, trackId: track, channel: channel, body: Array(body), messageId: messageId, attempts: attempts)
        }
    }

    public func acknowledgeNotification(id: Int64) async throws {
        try await run("DELETE FROM notifications WHERE id = \(id)")
    }

    public func postponeNotification(id: Int64, until: Int64, error: String) async throws {
        try await run("UPDATE notifications SET attempts = attempts + 1, due_at = \(until), last_error = \(Self.storable(error)) WHERE id = \(id)")
    }

    public func pendingNotificationCounts() async throws -> [Int64: Int] {
        try await rows("SELECT track_id, count(*) FROM notifications GROUP BY track_id").reduce(into: [:]) { out, row in
            let (track, n) = try row.decode((Int64, Int).self)
            out[track] = n
        }
    }

    // MARK: Console

    public func setConsolePassword(_ p: ConsolePassword) async throws {
        let logger = self.logger
        try await transaction { c in
            guard try await Self.fetchAccount(c, id: p.accountId, logger) != nil else { throw StoreError.accountNotFound(p.accountId) }
            try await c.query("""
                INSERT INTO console_passwords(account_id, role, hash, updated_at) VALUES (\(p.accountId), \(p.role.rawValue), \(p.hash), \(p.updatedAt))
                ON CONFLICT (account_id, role) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at
                """, logger: logger)
            // A new password ends the sessions signed in with the old one.
            try await c.query("DELETE FROM console_sessions WHERE account_id = \(p.accountId) AND role = \(p.role.rawValue) AND secret_id IS NULL",
                              logger: logger)
        }
    }

    public func consolePassword(accountId: Int64, role: KeyRole) async throws -> ConsolePassword? {
        try await rows("SELECT hash, updated_at FROM console_passwords WHERE account_id = \(accountId) AND role = \(role.rawValue)").first.map { row in
            let (hash, updated) = try row.decode((String, Int64).self)
            return ConsolePassword(accountId: accountId, role: role, hash: hash, updatedAt: updated)
        }
    }

    public func createConsoleSession(_ s: ConsoleSession) async throws {
        let logger = self.logger
        try await transaction { c in
            guard try await Self.fetchAccount(c, id: s.accountId, logger) != nil else { throw StoreError.accountNotFound(s.accountId) }
            try await c.query("""
                INSERT INTO console_sessions(token_hash, account_id, role, secret_id, csrf_token, created_at, last_seen_at)
                VALUES (\(Data(s.tokenHash)), \(s.accountId), \(s.role.rawValue), \(s.secretId), \(s.csrfToken), \(s.createdAt), \(s.lastSeenAt))
                """, logger: logger)
        }
    }

    public func consoleSession(tokenHash: [UInt8]) async throws -> ConsoleSession? {
        guard let row = try await rows("""
            SELECT account_id, role, secret_id, csrf_token, created_at, last_seen_at FROM console_sessions WHERE token_hash = \(Data(tokenHash))
            """).first else { return nil }
        let (account, role, secretId, csrf, created, lastSeen) = try row.decode((Int64, String, String?, String, Int64, Int64).self)
        guard let role = KeyRole(rawValue: role) else { return nil }
        return ConsoleSession(tokenHash: tokenHash, accountId: account, role: role, secretId: secretId, csrfToken: csrf, createdAt: created, lastSeenAt: lastSeen)
    }

    public func touchConsoleSession(tokenHash: [UInt8], lastSeenAt: Int64) async throws {
        try await run("UPDATE console_sessions SET last_seen_at = greatest(last_seen_at, \(lastSeenAt)) WHERE token_hash = \(Data(tokenHash))")
    }

    public func deleteConsoleSession(tokenHash: [UInt8]) async throws -> Bool {
        try await !rows("DELETE FROM console_sessions WHERE token_hash = \(Data(tokenHash)) RETURNING 1").isEmpty
    }

    public func deleteConsoleSessions(idleBefore: Int64, createdBefore: Int64) async throws -> Int {
        try await rows("DELETE FROM console_sessions WHERE last_seen_at < \(idleBefore) OR created_at < \(createdBefore) RETURNING 1").count
    }

    // MARK: KMS keys

    static func kmsKey(_ row: PostgresRow) throws -> KmsKey {
        let (keyId, account, region, alias, status, sealed, created) = try row.decode((String, Int64, String, String, String, Data, Int64).self)
        return KmsKey(keyId: keyId, accountId: account, region: region, alias: alias, status: KeyStatus(rawValue: status) ?? .disabled,
                      sealedKey: Array(sealed), createdAt: created)
    }

    public func createKmsKey(_ key: KmsKey) async throws {
        let logger = self.logger
        try await transaction { c in
            // The account's row orders the creations of its keys, so the alias checks below hold.
            guard try await !c.query("SELECT 1 FROM accounts WHERE id = \(key.accountId) FOR UPDATE", logger: logger).collect().isEmpty else {
                throw StoreError.accountNotFound(key.accountId)
            }
            if try await !c.query("SELECT 1 FROM kms_keys WHERE key_id = \(key.keyId)", logger: logger).collect().isEmpty {
                throw StoreError.kmsKeyExists(key.keyId)
            }
            if try await !c.query("""
                SELECT 1 FROM kms_keys WHERE account_id = \(key.accountId) AND region = \(key.region) AND alias = \(key.alias)
                """, logger: logger).collect().isEmpty {
                throw StoreError.kmsAliasExists(key.alias, region: key.region)
            }
            try await c.query("""
                INSERT INTO kms_keys(key_id, account_id, region, alias, status, sealed_key, created_at)
                VALUES (\(key.keyId), \(key.accountId), \(key.region), \(key.alias), \(key.status.rawValue), \(Data(key.sealedKey)), \(key.createdAt))
                """, logger: logger)
        }
    }

    public func kmsKey(id: String) async throws -> KmsKey? {
        if id.contains("\u{0}") { return nil }
        return try await rows("SELECT key_id, account_id, region, alias, status, sealed_key, created_at FROM kms_keys WHERE key_id = \(id)").first.map(Self.kmsKey)
    }

    public func kmsKeys(accountId: Int64?, region: String?) async throws -> [KmsKey] {
        if region?.contains("\u{0}") == true { return [] }
        return try await rows("""
            SELECT key_id, account_id, region, alias, status, sealed_key, created_at FROM kms_keys
            WHERE (\(accountId)::bigint IS NULL OR account_id = \(accountId)) AND (\(region)::text IS NULL OR region = \(region))
            ORDER BY created_at, key_id
            """).map(Self.kmsKey)
    }

    public func setKmsKeyStatus(id: String, status: KeyStatus) async throws -> Bool {
        try await !rows("UPDATE kms_keys SET status = \(status.rawValue) WHERE key_id = \(id) RETURNING 1").isEmpty
    }
}

// MARK: Leases on shared work

extension PostgresStore: WorkLeases {
    public var fencesWrites: Bool { true }

    /// One statement: a free or expired lease (or the caller's own) is taken or renewed; the token grows
    /// when the holder changes (or the holder's own lease had run out).
    public func claimLease(_ name: String, holder: String, ttl: Int64, now: Int64) async throws -> Lease? {
        let until = min(now, Int64.max - ttl) + ttl
        return try await rows("""
            INSERT INTO leases(name, holder, token, expires_at) VALUES (\(name), \(holder), 1, \(until))
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
                token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > \(now) THEN leases.token ELSE leases.token + 1 END
            WHERE leases.expires_at <= \(now) OR leases.holder = excluded.holder
            RETURNING token, expires_at
            """).first.map { row in
            let (token, expires) = try row.decode((Int64, Int64).self)
            return Lease(name: name, token: token, expiresAt: expires)
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await run("UPDATE leases SET expires_at = 0 WHERE name = \(name) AND holder = \(holder)")
    }

    /// Inside a write's transaction: refuses it when the task works under a lease (`Lease.current`) whose
    /// token has since changed (another node took the work over). The row stays share-locked until the
    /// commit, so the lease cannot change hands in between.
    static func checkFence(_ fence: Lease?, _ c: PostgresConnection, _ logger: Logger) async throws {
        guard let fence else { return }
        let token = try await c.query("SELECT token FROM leases WHERE name = \(fence.name) FOR SHARE", logger: logger).collect().first?.decode(Int64.self)
        guard token == fence.token else {
            throw StoreError(.leaseLost, "the lease \(fence.name) passed to another node (token \(token.map(String.init) ?? "none"), held \(fence.token)); its work is theirs now")
        }
    }
}
