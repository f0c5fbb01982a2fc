import AuditModel
import AuditStore
import Foundation
import GRDB

/// Alert channels, rules, fired alerts and their outbox (issue 15): `AlertStore` on SQLite.
extension SQLiteEventStore {
    static func registerAlertMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v6-alerts") { db in
            try db.execute(sql: """
                -- Notification channels; config is the API's JSON, its secrets sealed.
                CREATE TABLE alert_channels (
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    id INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    type TEXT NOT NULL,
                    config BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, id),
                    UNIQUE (account_id, name)
                ) WITHOUT ROWID;
                -- Rules, with where their evaluation stands: the last sequence evaluated and the
                -- evaluator's threshold state.
                CREATE TABLE alert_rules (
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    id INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    spec BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    cursor INTEGER NOT NULL,
                    state BLOB NOT NULL,
                    PRIMARY KEY (account_id, id),
                    UNIQUE (account_id, name)
                ) WITHOUT ROWID;
                -- Fired alerts (kept when their rule is deleted); the id is made from the rule and the
                -- event that fired it.
                CREATE TABLE alerts (
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    id TEXT NOT NULL,
                    rule_id INTEGER NOT NULL,
                    rule_name TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    fired_at INTEGER NOT NULL,
                    event_ids TEXT NOT NULL,
                    grp TEXT,
                    count INTEGER NOT NULL,
                    alert_event_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, id)
                ) WITHOUT ROWID;
                CREATE INDEX alerts_by_time ON alerts(account_id, fired_at);
                -- Each alert to send to each of its rule's channels, until acknowledged.
                CREATE TABLE alert_outbox (
                    account_id INTEGER NOT NULL,
                    alert_id TEXT NOT NULL,
                    channel_id INTEGER NOT NULL,
                    attempts INTEGER NOT NULL,
                    next_attempt_at INTEGER NOT NULL,
                    claimed_until INTEGER NOT NULL,
                    last_error TEXT NOT NULL,
                    PRIMARY KEY (account_id, alert_id, channel_id)
                ) WITHOUT ROWID;
                CREATE INDEX alert_outbox_due ON alert_outbox(next_attempt_at);
                """)
        }
    }

    static let channelColumns = "account_id, id, name, type, config, created_at, updated_at"
    static let ruleColumns = "account_id, id, spec, created_at, updated_at, cursor, state"
    static let alertColumns = "account_id, id, rule_id, rule_name, severity, fired_at, event_ids, grp, count, alert_event_id, created_at"
    static let outboxColumns = "account_id, alert_id, channel_id, attempts, next_attempt_at, last_error"

    // MARK: Channels

    public func createAlertChannel(_ channel: StoredAlertChannel, limit: Int) async throws {
        try await pool.write { db in
            guard try Self.fetchAccount(db, id: channel.accountId) != nil else { throw StoreError.accountNotFound(channel.accountId) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM alert_channels WHERE account_id = ? AND (name = ? OR id = ?)",
                                 arguments: [channel.accountId, channel.name, channel.id]) == true {
                throw StoreError.alertNameExists("channel", channel.name)
            }
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM alert_channels WHERE account_id = ?", arguments: [channel.accountId]) ?? 0 >= limit {
                throw StoreError.alertQuota("channel", limit)
            }
            try db.execute(sql: "INSERT INTO alert_channels(\(Self.channelColumns)) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [channel.accountId, channel.id, channel.name, channel.type.rawValue, Data(channel.config), channel.createdAt,
                                       channel.updatedAt])
        }
    }

    public func alertChannels(accountId: Int64) async throws -> [StoredAlertChannel] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.channelColumns) FROM alert_channels WHERE account_id = ? ORDER BY id", arguments: [accountId])
                .compactMap(Self.channel(from:))
        }
    }

    public func updateAlertChannel(_ channel: StoredAlertChannel) async throws -> Bool {
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM alert_channels WHERE account_id = ? AND id = ?", arguments: [channel.accountId, channel.id]) == true
            else { return false }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM alert_channels WHERE account_id = ? AND name = ? AND id <> ?",
                                 arguments: [channel.accountId, channel.name, channel.id]) == true {
                throw StoreError.alertNameExists("channel", channel.name)
            }
            try db.execute(sql: "UPDATE alert_channels SET name = ?, type = ?, config = ?, updated_at = ? WHERE account_id = ? AND id = ?",
                           arguments: [channel.name, channel.type.rawValue, Data(channel.config), channel.updatedAt, channel.accountId, channel.id])
            return db.changesCount > 0
        }
    }

    public func deleteAlertChannel(accountId: Int64, id: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM alert_channels WHERE account_id = ? AND id = ?", arguments: [accountId, id])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM alert_outbox WHERE account_id = ? AND channel_id = ?", arguments: [accountId, id])
            return true
        }
    }

    static func channel(from row: Row) -> StoredAlertChannel? {
        guard let type = AlertChannelType(rawValue: row[3]) else { return nil }
        let config: Data = row[4]
        return StoredAlertChannel(accountId: row[0], id: row[1], name: row[2], type: type, config: Array(config), createdAt: row[5], updatedAt: row[6])
    }

    // MARK: Rules

    public func createAlertRule(_ rule: StoredAlertRule, limit: Int) async throws {
        let spec = try AlertSpecCoding.encode(rule.spec)
        try await pool.write { db in
            guard try Self.fetchAccount(db, id: rule.accountId) != nil else { throw StoreError.accountNotFound(rule.accountId) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM alert_rules WHERE account_id = ? AND (name = ? OR id = ?)",
                                 arguments: [rule.accountId, rule.spec.name, rule.id]) == true {
                throw StoreError.alertNameExists("rule", rule.spec.name)
            }
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM alert_rules WHERE account_id = ?", arguments: [rule.accountId]) ?? 0 >= limit {
                throw StoreError.alertQuota("rule", limit)
            }
            try db.execute(sql: "INSERT INTO alert_rules(account_id, id, name, spec, created_at, updated_at, cursor, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [rule.accountId, rule.id, rule.spec.name, Data(spec), rule.createdAt, rule.updatedAt, rule.cursor, Data(rule.state)])
        }
    }

    public func alertRules(accountId: Int64?) async throws -> [StoredAlertRule] {
        try await pool.read { db in
            let rows = if let accountId {
                try Row.fetchAll(db, sql: "SELECT \(Self.ruleColumns) FROM alert_rules WHERE account_id = ? ORDER BY id", arguments: [accountId])
            } else {
                try Row.fetchAll(db, sql: "SELECT \(Self.ruleColumns) FROM alert_rules ORDER BY account_id, id")
            }
            return rows.compactMap(Self.rule(from:))
        }
    }

    public func updateAlertRule(accountId: Int64, id: Int64, spec: AlertRuleSpec, updatedAt: Int64) async throws -> Bool {
        let encoded = try AlertSpecCoding.encode(spec)
        return try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM alert_rules WHERE account_id = ? AND id = ?", arguments: [accountId, id]) == true else { return false }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM alert_rules WHERE account_id = ? AND name = ? AND id <> ?", arguments: [accountId, spec.name, id]) == true {
                throw StoreError.alertNameExists("rule", spec.name)
            }
            try db.execute(sql: "UPDATE alert_rules SET name = ?, spec = ?, updated_at = ?, state = x'' WHERE account_id = ? AND id = ?",
                           arguments: [spec.name, Data(encoded), updatedAt, accountId, id])
            return db.changesCount > 0
        }
    }

    public func deleteAlertRule(accountId: Int64, id: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM alert_rules WHERE account_id = ? AND id = ?", arguments: [accountId, id])
            return db.changesCount > 0
        }
    }

    static func rule(from row: Row) -> StoredAlertRule? {
        let spec: Data = row[2]
        let state: Data = row[6]
        guard let decoded = AlertSpecCoding.decode(Array(spec)) else { return nil }
        return StoredAlertRule(accountId: row[0], id: row[1], spec: decoded, createdAt: row[3], updatedAt: row[4], cursor: row[5], state: Array(state))
    }

    // MARK: Evaluation and alerts

    public func commitAlertEvaluation(accountId: Int64, progress: [RuleProgress], alerts: [FiredAlert], deliveries: [AlertDelivery]) async throws {
        let encoded = try alerts.filter { $0.accountId == accountId }.map { ($0, try AlertSpecCoding.encodeIds($0.eventIds)) }
        try await pool.write { db in
            var new = Set<String>()
            for (a, ids) in encoded {
                try db.execute(sql: "INSERT OR IGNORE INTO alerts(\(Self.alertColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [a.accountId, a.id, a.ruleId, a.ruleName, a.severity.rawValue, a.firedAt, ids, a.group, a.count, a.alertEventId,
                                           a.createdAt])
                if db.changesCount > 0 { new.insert(a.id) }
            }
            for d in deliveries where d.accountId == accountId && new.contains(d.alertId) {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO alert_outbox(account_id, alert_id, channel_id, attempts, next_attempt_at, claimed_until, last_error)
                    VALUES (?, ?, ?, ?, ?, 0, ?)
                    """, arguments: [d.accountId, d.alertId, d.channelId, d.attempts, d.nextAttemptAt, d.lastError])
            }
            for p in progress {
                try db.execute(sql: "UPDATE alert_rules SET cursor = ?, state = ? WHERE account_id = ? AND id = ? AND updated_at = ?",
                               arguments: [p.cursor, Data(p.state), accountId, p.ruleId, p.version])
            }
        }
    }

    public func alerts(accountId: Int64, from: Int64, to: Int64, ruleId: Int64?, severity: AlertSeverity?, offset: Int, limit: Int) async throws
        -> (alerts: [FiredAlert], total: Int) {
        try await pool.read { db in
            var sql = " FROM alerts WHERE account_id = ? AND fired_at >= ? AND fired_at <= ?"
            var arguments: StatementArguments = [accountId, from, to]
            if let ruleId {
                sql += " AND rule_id = ?"
                arguments += [ruleId]
            }
            if let severity {
                sql += " AND severity = ?"
                arguments += [severity.rawValue]
            }
            let total = try Int.fetchOne(db, sql: "SELECT count(*)" + sql, arguments: arguments) ?? 0
            let page = try Row.fetchAll(db, sql: "SELECT \(Self.alertColumns)" + sql + " ORDER BY fired_at DESC, created_at DESC, id DESC LIMIT ? OFFSET ?",
                                        arguments: arguments + [max(0, limit), max(0, offset)])
            return (page.compactMap(Self.alert(from:)), total)
        }
    }

    public func alert(accountId: Int64, id: String) async throws -> FiredAlert? {
        if id.utf8.contains(0) { return nil }  // (see `key(secretId:)`)
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.alertColumns) FROM alerts WHERE account_id = ? AND id = ?", arguments: [accountId, id])
                .flatMap(Self.alert(from:))
        }
    }

    static func alert(from row: Row) -> FiredAlert? {
        guard let severity = AlertSeverity(rawValue: row[4]), let ids = AlertSpecCoding.decodeIds(row[6]) else { return nil }
        return FiredAlert(accountId: row[0], id: row[1], ruleId: row[2], ruleName: row[3], severity: severity, firedAt: row[5], eventIds: ids,
                          group: row[7], count: row[8], alertEventId: row[9], createdAt: row[10])
    }

    // MARK: Outbox

    public func pendingAlertDeliveries(dueBy now: Int64, limit: Int) async throws -> [AlertDelivery] {
        try await pool.write { db in
            let due = try Row.fetchAll(db, sql: """
                SELECT \(Self.outboxColumns) FROM alert_outbox WHERE next_attempt_at <= ? AND claimed_until <= ?
                ORDER BY next_attempt_at, account_id, alert_id, channel_id LIMIT ?
                """, arguments: [now, now, max(0, limit)]).map(Self.delivery(from:))
            for d in due {
                try db.execute(sql: "UPDATE alert_outbox SET claimed_until = ? WHERE account_id = ? AND alert_id = ? AND channel_id = ?",
                               arguments: [QueuedNotification.claimEnd(now), d.accountId, d.alertId, d.channelId])
            }
            return due
        }
    }

    public func finishAlertDelivery(accountId: Int64, alertId: String, channelId: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM alert_outbox WHERE account_id = ? AND alert_id = ? AND channel_id = ?", arguments: [accountId, alertId, channelId])
        }
    }

    public func postponeAlertDelivery(accountId: Int64, alertId: String, channelId: Int64, until: Int64, error: String) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, claimed_until = 0
                WHERE account_id = ? AND alert_id = ? AND channel_id = ?
                """, arguments: [until, TextClip.utf8(error, 1024), accountId, alertId, channelId])
        }
    }

    public func queuedAlertDeliveries(accountId: Int64) async throws -> [AlertDelivery] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.outboxColumns) FROM alert_outbox WHERE account_id = ? ORDER BY next_attempt_at, alert_id, channel_id",
                             arguments: [accountId]).map(Self.delivery(from:))
        }
    }

    static func delivery(from row: Row) -> AlertDelivery {
        AlertDelivery(accountId: row[0], alertId: row[1], channelId: row[2], attempts: row[3], nextAttemptAt: row[4], lastError: row[5])
    }
}
