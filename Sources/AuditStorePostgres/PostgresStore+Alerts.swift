import AuditModel
import AuditStore
import Foundation
import PostgresNIO

/// Alert channels, rules, fired alerts and their outbox (issue 15; migration 2) on the shared store.
/// Creations lock the account's row, so the name and quota checks hold across nodes; an evaluation
/// commits under its lease's fencing token.
extension PostgresStore {
    // MARK: Channels

    static func channel(_ row: PostgresRow) throws -> StoredAlertChannel? {
        let (account, id, name, type, config, created, updated) = try row.decode((Int64, Int64, String, String, Data, Int64, Int64).self)
        guard let t = AlertChannelType(rawValue: type) else { return nil }
        return StoredAlertChannel(accountId: account, id: id, name: name, type: t, config: Array(config), createdAt: created, updatedAt: updated)
    }

    /// Locks the account's row (creations of its channels and rules are ordered by it), or throws when
    /// the account does not exist.
    static func lockAccount(_ id: Int64, _ c: PostgresConnection, _ logger: Logger) async throws {
        guard try await !c.query("SELECT 1 FROM accounts WHERE id = \(id) FOR UPDATE", logger: logger).collect().isEmpty else {
            throw StoreError.accountNotFound(id)
        }
    }

    public func createAlertChannel(_ channel: StoredAlertChannel, limit: Int) async throws {
        let logger = self.logger
        try await transaction { c in
            try await Self.lockAccount(channel.accountId, c, logger)
            if try await !c.query("""
                SELECT 1 FROM alert_channels WHERE account_id = \(channel.accountId) AND (name = \(channel.name) OR id = \(channel.id))
                """, logger: logger).collect().isEmpty {
                throw StoreError.alertNameExists("channel", channel.name)
            }
            let count = try await c.query("SELECT count(*) FROM alert_channels WHERE account_id = \(channel.accountId)", logger: logger)
                .collect().first?.decode(Int.self) ?? 0
            if count >= limit { throw StoreError.alertQuota("channel", limit) }
            try await c.query("""
                INSERT INTO alert_channels(account_id, id, name, type, config, created_at, updated_at)
                VALUES (\(channel.accountId), \(channel.id), \(channel.name), \(channel.type.rawValue), \(Data(channel.config)), \(channel.createdAt),
                    \(channel.updatedAt))
                """, logger: logger)
        }
    }

    public func alertChannels(accountId: Int64) async throws -> [StoredAlertChannel] {
        try await rows("""
            SELECT account_id, id, name, type, config, created_at, updated_at FROM alert_channels WHERE account_id = \(accountId) ORDER BY id
            """).compactMap(Self.channel)
    }

    public func updateAlertChannel(_ channel: StoredAlertChannel) async throws -> Bool {
        let logger = self.logger
        return try await transaction { c in
            guard try await !c.query("SELECT 1 FROM alert_channels WHERE account_id = \(channel.accountId) AND id = \(channel.id) FOR UPDATE",
                                     logger: logger).collect().isEmpty else { return false }
            if try await !c.query("""
                SELECT 1 FROM alert_channels WHERE account_id = \(channel.accountId) AND name = \(channel.name) AND id <> \(channel.id)
                """, logger: logger).collect().isEmpty {
                throw StoreError.alertNameExists("channel", channel.name)
            }
            return try await !c.query("""
                UPDATE alert_channels SET name = \(channel.name), type = \(channel.type.rawValue), config = \(Data(channel.config)),
                    updated_at = \(channel.updatedAt)
                WHERE account_id = \(channel.accountId) AND id = \(channel.id) RETURNING 1
                """, logger: logger).collect().isEmpty
        }
    }

    public func deleteAlertChannel(accountId: Int64, id: Int64) async throws -> Bool {
        let logger = self.logger
        return try await transaction { c in
            guard try await !c.query("DELETE FROM alert_channels WHERE account_id = \(accountId) AND id = \(id) RETURNING 1", logger: logger)
                .collect().isEmpty else { return false }
            try await c.query("DELETE FROM alert_outbox WHERE account_id = \(accountId) AND channel_id = \(id)", logger: logger)
            return true
        }
    }

    // MARK: Rules

    static func rule(_ row: PostgresRow) throws -> StoredAlertRule? {
        let (account, id, spec, created, updated, cursor, state) = try row.decode((Int64, Int64, Data, Int64, Int64, Int64, Data).self)
        guard let decoded = AlertSpecCoding.decode(Array(spec)) else { return nil }
        return StoredAlertRule(accountId: account, id: id, spec: decoded, createdAt: created, updatedAt: updated, cursor: cursor, state: Array(state))
    }

    public func createAlertRule(_ rule: StoredAlertRule, limit: Int) async throws {
        let logger = self.logger
        let spec = Data(try AlertSpecCoding.encode(rule.spec))
        try await transaction { c in
            try await Self.lockAccount(rule.accountId, c, logger)
            if try await !c.query("""
                SELECT 1 FROM alert_rules WHERE account_id = \(rule.accountId) AND (name = \(rule.spec.name) OR id = \(rule.id))
                """, logger: logger).collect().isEmpty {
                throw StoreError.alertNameExists("rule", rule.spec.name)
            }
            let count = try await c.query("SELECT count(*) FROM alert_rules WHERE account_id = \(rule.accountId)", logger: logger)
                .collect().first?.decode(Int.self) ?? 0
            if count >= limit { throw StoreError.alertQuota("rule", limit) }
            try await c.query("""
                INSERT INTO alert_rules(account_id, id, name, spec, created_at, updated_at, cursor, state)
                VALUES (\(rule.accountId), \(rule.id), \(rule.spec.name), \(spec), \(rule.createdAt), \(rule.updatedAt), \(rule.cursor), \(Data(rule.state)))
                """, logger: logger)
        }
    }

    public func alertRules(accountId: Int64?) async throws -> [StoredAlertRule] {
        try await rows("""
            SELECT account_id, id, spec, created_at, updated_at, cursor, state FROM alert_rules
            WHERE \(accountId)::bigint IS NULL OR account_id = \(accountId) ORDER BY account_id, id
            """).compactMap(Self.rule)
    }

    public func updateAlertRule(accountId: Int64, id: Int64, spec: AlertRuleSpec, updatedAt: Int64) async throws -> Bool {
        let logger = self.logger
        let encoded = Data(try AlertSpecCoding.encode(spec))
        return try await transaction { c in
            guard try await !c.query("SELECT 1 FROM alert_rules WHERE account_id = \(accountId) AND id = \(id) FOR UPDATE", logger: logger)
                .collect().isEmpty else { return false }
            if try await !c.query("""
                SELECT 1 FROM alert_rules WHERE account_id = \(accountId) AND name = \(spec.name) AND id <> \(id)
                """, logger: logger).collect().isEmpty {
                throw StoreError.alertNameExists("rule", spec.name)
            }
            return try await !c.query("""
                UPDATE alert_rules SET name = \(spec.name), spec = \(encoded), updated_at = \(updatedAt), state = ''::bytea
                WHERE account_id = \(accountId) AND id = \(id) RETURNING 1
                """, logger: logger).collect().isEmpty
        }
    }

    public func deleteAlertRule(accountId: Int64, id: Int64) async throws -> Bool {
        try await !rows("DELETE FROM alert_rules WHERE account_id = \(accountId) AND id = \(id) RETURNING 1").isEmpty
    }

    // MARK: Evaluation and alerts

    public func commitAlertEvaluation(accountId: Int64, progress: [RuleProgress], alerts: [FiredAlert], deliveries: [AlertDelivery]) async throws {
        let logger = self.logger
        let fence = Lease.current
        let encoded = try alerts.filter { $0.accountId == accountId }.map { ($0, try AlertSpecCoding.encodeIds($0.eventIds)) }
        try await transaction { c in
            try await Self.checkFence(fence, c, logger)
            var new = Set<String>()
            for (a, ids) in encoded {
                let inserted = try await c.query("""
                    INSERT INTO alerts(account_id, id, rule_id, rule_name, severity, fired_at, event_ids, grp, count, alert_event_id, created_at)
                    VALUES (\(a.accountId), \(a.id), \(a.ruleId), \(Self.storable(a.ruleName)), \(a.severity.rawValue), \(a.firedAt), \(ids),
                        \(a.group.map(Self.storable)), \(a.count), \(a.alertEventId), \(a.createdAt))
                    ON CONFLICT (account_id, id) DO NOTHING RETURNING 1
                    """, logger: logger).collect()
                if !inserted.isEmpty { new.insert(a.id) }
            }
            for d in deliveries where d.accountId == accountId && new.contains(d.alertId) {
                try await c.query("""
                    INSERT INTO alert_outbox(account_id, alert_id, channel_id, attempts, next_attempt_at, claimed_until, last_error)
                    VALUES (\(d.accountId), \(d.alertId), \(d.channelId), \(d.attempts), \(d.nextAttemptAt), 0, \(Self.storable(d.lastError)))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            for p in progress {
                try await c.query("""
                    UPDATE alert_rules SET cursor = \(p.cursor), state = \(Data(p.state))
                    WHERE account_id = \(accountId) AND id = \(p.ruleId) AND updated_at = \(p.version)
                    """, logger: logger)
            }
        }
    }

    static func alert(_ row: PostgresRow) throws -> FiredAlert? {
        let (account, id, rule, ruleName, severity, firedAt, ids, group, count, eventId, created) =
            try row.decode((Int64, String, Int64, String, String, Int64, String, String?, Int, String, Int64).self)
        guard let s = AlertSeverity(rawValue: severity), let eventIds = AlertSpecCoding.decodeIds(ids) else { return nil }
        return FiredAlert(accountId: account, id: id, ruleId: rule, ruleName: ruleName, severity: s, firedAt: firedAt, eventIds: eventIds, group: group,
                          count: count, alertEventId: eventId, createdAt: created)
    }

    static let alertColumns = "account_id, id, rule_id, rule_name, severity, fired_at, event_ids, grp, count, alert_event_id, created_at"

    public func alerts(accountId: Int64, from: Int64, to: Int64, ruleId: Int64?, severity: AlertSeverity?, offset: Int, limit: Int) async throws
        -> (alerts: [FiredAlert], total: Int) {
        let s = severity?.rawValue
        let filter: PostgresQuery = """
            WHERE account_id = \(accountId) AND fired_at >= \(from) AND fired_at <= \(to)
                AND (\(ruleId)::bigint IS NULL OR rule_id = \(ruleId)) AND (\(s)::text IS NULL OR severity = \(s))
            """
        let total = try await rows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM alerts " + filter.sql, binds: filter.binds)).first?.decode(Int.self) ?? 0
        let page = try await rows(PostgresQuery(unsafeSQL: "SELECT \(Self.alertColumns) FROM alerts " + filter.sql
            + " ORDER BY fired_at DESC, created_at DESC, id DESC LIMIT \(max(0, limit)) OFFSET \(max(0, offset))", binds: filter.binds))
        return (try page.compactMap(Self.alert), total)
    }

    public func alert(accountId: Int64, id: String) async throws -> FiredAlert? {
        if id.contains("\u{0}") { return nil }
        return try await rows("SELECT \(unescaped: Self.alertColumns) FROM alerts WHERE account_id = \(accountId) AND id = \(id)").first.flatMap(Self.alert)
    }

    // MARK: Outbox

    static func delivery(_ row: PostgresRow) throws -> AlertDelivery {
        let (account, alert, channel, attempts, next, error) = try row.decode((Int64, String, Int64, Int, Int64, String).self)
        return AlertDelivery(accountId: account, alertId: alert, channelId: channel, attempts: attempts, nextAttemptAt: next, lastError: error)
    }

    /// Claims the due deliveries (`FOR UPDATE SKIP LOCKED`: rows another node is claiming are skipped).
    public func pendingAlertDeliveries(dueBy now: Int64, limit: Int) async throws -> [AlertDelivery] {
        try await rows("""
            UPDATE alert_outbox o SET claimed_until = \(QueuedNotification.claimEnd(now))
            FROM (SELECT account_id, alert_id, channel_id FROM alert_outbox WHERE next_attempt_at <= \(now) AND claimed_until <= \(now)
                  ORDER BY next_attempt_at, account_id, alert_id, channel_id LIMIT \(Int64(max(0, limit))) FOR UPDATE SKIP LOCKED) due
            WHERE o.account_id = due.account_id AND o.alert_id = due.alert_id AND o.channel_id = due.channel_id
            RETURNING o.account_id, o.alert_id, o.channel_id, o.attempts, o.next_attempt_at, o.last_error
            """).map(Self.delivery)
            .sorted { ($0.nextAttemptAt, $0.accountId, $0.alertId, $0.channelId) < ($1.nextAttemptAt, $1.accountId, $1.alertId, $1.channelId) }
    }

    public func finishAlertDelivery(accountId: Int64, alertId: String, channelId: Int64) async throws {
        try await run("DELETE FROM alert_outbox WHERE account_id = \(accountId) AND alert_id = \(alertId) AND channel_id = \(channelId)")
    }

    public func postponeAlertDelivery(accountId: Int64, alertId: String, channelId: Int64, until: Int64, error: String) async throws {
        try await run("""
            UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = \(until), last_error = \(Self.storable(TextClip.utf8(error, 1024))),
                claimed_until = 0
            WHERE account_id = \(accountId) AND alert_id = \(alertId) AND channel_id = \(channelId)
            """)
    }

    public func queuedAlertDeliveries(accountId: Int64) async throws -> [AlertDelivery] {
        try await rows("""
            SELECT account_id, alert_id, channel_id, attempts, next_attempt_at, last_error FROM alert_outbox WHERE account_id = \(accountId)
            ORDER BY next_attempt_at, alert_id, channel_id
            """).map(Self.delivery)
    }
}
