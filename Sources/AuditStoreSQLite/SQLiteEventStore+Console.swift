import AuditModel
import AuditStore
import Foundation
import GRDB

extension SQLiteEventStore {
    static func registerConsoleMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v5-console") { db in
            try db.execute(sql: """
                -- Console passwords: one per (account, role), as a self-describing scrypt hash.
                CREATE TABLE console_passwords (
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    role TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'ingest', 'service')),
                    hash TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, role)
                ) WITHOUT ROWID;

                -- Console sessions, by the SHA-256 of their token (the token itself is only in the cookie).
                CREATE TABLE console_sessions (
                    token_hash BLOB PRIMARY KEY NOT NULL,
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    role TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'ingest', 'service')),
                    secret_id TEXT,
                    csrf_token TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_seen_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX console_sessions_last_seen ON console_sessions(last_seen_at);
                CREATE INDEX console_sessions_created ON console_sessions(created_at);
                """)
        }
    }

    public func setConsolePassword(_ p: ConsolePassword) async throws {
        try await pool.write { db in
            guard try Self.fetchAccount(db, id: p.accountId) != nil else { throw StoreError.accountNotFound(p.accountId) }
            try db.execute(sql: """
                INSERT INTO console_passwords(account_id, role, hash, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(account_id, role) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at
                """, arguments: [p.accountId, p.role.rawValue, p.hash, p.updatedAt])
            // A new password ends the sessions signed in with the old one.
            try db.execute(sql: "DELETE FROM console_sessions WHERE account_id = ? AND role = ? AND secret_id IS NULL",
                           arguments: [p.accountId, p.role.rawValue])
        }
    }

    public func consolePassword(accountId: Int64, role: KeyRole) async throws -> ConsolePassword? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT hash, updated_at FROM console_passwords WHERE account_id = ? AND role = ?",
                             arguments: [accountId, role.rawValue]).map { ConsolePassword(accountId: accountId, role: role, hash: $0[0], updatedAt: $0[1]) }
        }
    }

    public func createConsoleSession(_ s: ConsoleSession) async throws {
        try await pool.write { db in
            guard try Self.fetchAccount(db, id: s.accountId) != nil else { throw StoreError.accountNotFound(s.accountId) }
            try db.execute(sql: """
                INSERT INTO console_sessions(token_hash, account_id, role, secret_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [Data(s.tokenHash), s.accountId, s.role.rawValue, s.secretId, s.csrfToken, s.createdAt, s.lastSeenAt])
        }
    }

    public func consoleSession(tokenHash: [UInt8]) async throws -> ConsoleSession? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT account_id, role, secret_id, csrf_token, created_at, last_seen_at FROM console_sessions WHERE token_hash = ?
                """, arguments: [Data(tokenHash)]) else { return nil }
            guard let role = KeyRole(rawValue: row[1]) else { return nil }
            return ConsoleSession(tokenHash: tokenHash, accountId: row[0], role: role, secretId: row[2], csrfToken: row[3], createdAt: row[4], lastSeenAt: row[5])
        }
    }

    public func touchConsoleSession(tokenHash: [UInt8], lastSeenAt: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE console_sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE token_hash = ?", arguments: [lastSeenAt, Data(tokenHash)])
        }
    }

    public func deleteConsoleSession(tokenHash: [UInt8]) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM console_sessions WHERE token_hash = ?", arguments: [Data(tokenHash)])
            return db.changesCount > 0
        }
    }

    public func deleteConsoleSessions(idleBefore: Int64, createdBefore: Int64) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ?", arguments: [idleBefore, createdBefore])
            return db.changesCount
        }
    }

    /// Whole hours from `hourly_counts`, the partial hours at either end from the posting lists; then
    /// the value of each leading fingerprint read from one of its events.
    public func topValues(accountId: Int64, key: LookupKey, startTime: Int64, endTime: Int64, limit: Int) async throws -> [ValueCount] {
        guard key.recordPath != nil, key.keepsHourlyCounts, startTime <= endTime, limit > 0 else { return [] }
        let (startTime, endTime) = (UTCTime.clamped(startTime), UTCTime.clamped(endTime))
        return try await pool.read { db in
            // Only the days that hold events of the account are walked, whatever the range asked.
            guard let days = try Self.days(db, accountId, startTime, endTime) else { return [] }
            var counts: [Int64: Int] = [:]
            func postings(_ from: Int64, _ to: Int64) throws {
                guard from <= to else { return }
                let (first, last) = (max(Self.day(from), days.lowerBound), min(Self.day(to), days.upperBound))
                guard first <= last else { return }
                let statement = try db.cachedStatement(sql: """
                    SELECT value_hash, COUNT(*) FROM postings WHERE account_id = ? AND key = ? AND day = ? AND event_time BETWEEN ? AND ? GROUP BY value_hash
                    """)
                for d in first...last {
                    for row in try Row.fetchAll(statement, arguments: [accountId, key.rawValue, d, from, to]) { counts[row[0], default: 0] += row[1] as Int }
                }
            }
            let hours = Self.wholeHours(startTime, endTime)
            if let hours {
                for row in try Row.fetchAll(db, sql: """
                    SELECT value_hash, SUM(count) FROM hourly_counts WHERE account_id = ? AND key = ? AND hour >= ? AND hour < ? GROUP BY value_hash
                    """, arguments: [accountId, key.rawValue, hours.lowerBound, hours.upperBound]) {
                    counts[row[0], default: 0] += row[1] as Int
                }
                try postings(startTime, hours.lowerBound - 1)
                try postings(hours.upperBound, endTime)
            } else {
                try postings(startTime, endTime)
            }
            let ranked = ValueCount.candidates(counts, limit: limit)
            guard !ranked.isEmpty else { return [] }
            let find = try db.cachedStatement(sql: """
                SELECT pos FROM postings WHERE account_id = ? AND key = ? AND day = ? AND value_hash = ? AND event_time BETWEEN ? AND ? LIMIT 1
                """)
            // One event of each candidate (the newest day first), then their records in one read.
            var candidates: [(pos: Int64, hash: Int64, count: Int)] = []
            for (hash, count) in ranked {
                for day in stride(from: days.upperBound, through: days.lowerBound, by: -1) {
                    if let pos = try Int64.fetchOne(find, arguments: [accountId, key.rawValue, day, hash, startTime, endTime]) {
                        candidates.append((pos, hash, count))
                        break
                    }
                }
            }
            let records = Dictionary(try Self.fetchEvents(db, candidates.map(\.pos)).map { ($0.position, $0.record) }, uniquingKeysWith: { a, _ in a })
            var named: [String: Int] = [:]
            for c in candidates {
                if let record = records[c.pos], let parsed = try? JSONParser.parse(record), let value = key.value(in: parsed),
                   fingerprint(key.rawValue, value) == c.hash {
                    named[value] = c.count
                }
            }
            return ValueCount.ranked(named, limit: limit)
        }
    }
}
