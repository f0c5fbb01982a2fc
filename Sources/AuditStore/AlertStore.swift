import AuditModel
import Foundation

/// A notification channel of an account (issue 15). `config` is the channel's JSON as the API stores it
/// (its secrets sealed by the API before they get here).
public struct StoredAlertChannel: Sendable, Equatable {
    public var accountId: Int64
    public var id: Int64
    public var name: String
    public var type: AlertChannelType
    public var config: [UInt8]
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(accountId: Int64, id: Int64, name: String, type: AlertChannelType, config: [UInt8], createdAt: Int64, updatedAt: Int64) {
        self.accountId = accountId
        self.id = id
        self.name = name
        self.type = type
        self.config = config
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An alert rule of an account and where its evaluation stands: `cursor` is the sequence number of the
/// account's last event it has evaluated, `state` its threshold windows (the evaluator's bytes).
public struct StoredAlertRule: Sendable, Equatable {
    public var accountId: Int64
    public var id: Int64
    public var spec: AlertRuleSpec
    public var createdAt: Int64
    /// Changes with every modification: an evaluation made under another version does not move the cursor.
    public var updatedAt: Int64
    public var cursor: Int64
    public var state: [UInt8]

    public init(accountId: Int64, id: Int64, spec: AlertRuleSpec, createdAt: Int64, updatedAt: Int64, cursor: Int64, state: [UInt8] = []) {
        self.accountId = accountId
        self.id = id
        self.spec = spec
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.cursor = cursor
        self.state = state
    }
}

/// An alert a rule fired. Its id is made from the rule and the event that fired it, so evaluating the
/// same events again (after a node died mid-way) makes the same alert, which is stored once.
public struct FiredAlert: Sendable, Equatable, Codable {
    public var accountId: Int64
    public var id: String
    public var ruleId: Int64
    public var ruleName: String
    public var severity: AlertSeverity
    /// The event time of the event that fired it.
    public var firedAt: Int64
    /// The matching events it is about, oldest first (at most the rule's threshold count, or one).
    public var eventIds: [String]
    /// The value of the rule's `GroupBy` key, when it has one.
    public var group: String?
    public var count: Int
    /// The alert's own event in the account's log (`eventType` `CloudAuditAlert`).
    public var alertEventId: String
    public var createdAt: Int64

    public init(accountId: Int64, id: String, ruleId: Int64, ruleName: String, severity: AlertSeverity, firedAt: Int64, eventIds: [String],
                group: String?, count: Int, alertEventId: String, createdAt: Int64) {
        self.accountId = accountId
        self.id = id
        self.ruleId = ruleId
        self.ruleName = ruleName
        self.severity = severity
        self.firedAt = firedAt
        self.eventIds = eventIds
        self.group = group
        self.count = count
        self.alertEventId = alertEventId
        self.createdAt = createdAt
    }
}

/// One alert to send to one channel, until the receiver acknowledges it.
public struct AlertDelivery: Sendable, Equatable {
    public var accountId: Int64
    public var alertId: String
    public var channelId: Int64
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String

    public init(accountId: Int64, alertId: String, channelId: Int64, attempts: Int = 0, nextAttemptAt: Int64, lastError: String = "") {
        self.accountId = accountId
        self.alertId = alertId
        self.channelId = channelId
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}

/// The progress of one rule an evaluation pass commits.
public struct RuleProgress: Sendable, Equatable {
    public var ruleId: Int64
    /// The rule version (`updatedAt`) the pass evaluated: a rule modified since keeps its cursor.
    public var version: Int64
    public var cursor: Int64
    public var state: [UInt8]

    public init(ruleId: Int64, version: Int64, cursor: Int64, state: [UInt8]) {
        self.ruleId = ruleId
        self.version = version
        self.cursor = cursor
        self.state = state
    }
}

/// Alert channels, rules, fired alerts and their deliveries (issue 15).
///
/// Contract (checked by the conformance suite):
/// - Channels and rules belong to one account: reads, changes and deletions name the account, and never
///   see or touch another's. Names are unique per account (`alertNameExists`); at most `limit` per account
///   (`alertQuota`). Ids are chosen by the caller and unique per account.
/// - `updateAlertRule` changes the spec and `updatedAt`, keeps the cursor, and clears the state.
/// - `commitAlertEvaluation` is one transaction: the alerts not stored yet (by id) are stored and their
///   deliveries queued (alerts already stored, and their deliveries, are left as they are); each rule
///   that still exists at the version given gets its cursor and state. A shared store refuses it when the
///   task's `Lease.current` has passed to another holder (`leaseLost`).
/// - `pendingAlertDeliveries` returns due deliveries oldest first and claims them for
///   `QueuedNotification.claimSeconds` (none is returned again before, unless postponed).
/// - Deleting a channel drops its queued deliveries; deleting a rule keeps its fired alerts.
public protocol AlertStore: Sendable {
    func createAlertChannel(_ channel: StoredAlertChannel, limit: Int) async throws
    /// The account's channels, by id.
    func alertChannels(accountId: Int64) async throws -> [StoredAlertChannel]
    /// Returns false when the account has no such channel.
    func updateAlertChannel(_ channel: StoredAlertChannel) async throws -> Bool
    func deleteAlertChannel(accountId: Int64, id: Int64) async throws -> Bool

    func createAlertRule(_ rule: StoredAlertRule, limit: Int) async throws
    /// The account's rules by id (nil: every account's, for the evaluator).
    func alertRules(accountId: Int64?) async throws -> [StoredAlertRule]
    func updateAlertRule(accountId: Int64, id: Int64, spec: AlertRuleSpec, updatedAt: Int64) async throws -> Bool
    func deleteAlertRule(accountId: Int64, id: Int64) async throws -> Bool

    func commitAlertEvaluation(accountId: Int64, progress: [RuleProgress], alerts: [FiredAlert], deliveries: [AlertDelivery]) async throws
    /// The account's alerts fired in [from, to] (by `firedAt`), newest first, optionally of one rule or
    /// severity, `offset` and `limit` paging them; with how many match in all.
    func alerts(accountId: Int64, from: Int64, to: Int64, ruleId: Int64?, severity: AlertSeverity?, offset: Int, limit: Int) async throws
        -> (alerts: [FiredAlert], total: Int)
    func alert(accountId: Int64, id: String) async throws -> FiredAlert?

    func pendingAlertDeliveries(dueBy now: Int64, limit: Int) async throws -> [AlertDelivery]
    /// The receiver acknowledged it: it is not sent again.
    func finishAlertDelivery(accountId: Int64, alertId: String, channelId: Int64) async throws
    func postponeAlertDelivery(accountId: Int64, alertId: String, channelId: Int64, until: Int64, error: String) async throws
    /// Queued deliveries per account (all, for the status line and tests).
    func queuedAlertDeliveries(accountId: Int64) async throws -> [AlertDelivery]
}

extension StoreError.Code {
    public static let alertNameExists = StoreError.Code(base: .alertNameExists)
    public static let alertQuota = StoreError.Code(base: .alertQuota)
}

extension StoreError {
    public static func alertNameExists(_ kind: String, _ name: String) -> StoreError {
        .init(.alertNameExists, "the account already has an alert \(kind) named \(name); choose another name")
    }
    public static func alertQuota(_ kind: String, _ limit: Int) -> StoreError {
        .init(.alertQuota, "the account already has \(limit) alert \(kind)s, the most allowed; delete one first")
    }
}

/// The alert role kept in memory (the in-memory backend's; also what the conformance suite compares with).
public final class MemoryAlertStore: AlertStore, @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [Int64: [Int64: StoredAlertChannel]] = [:]
    private var rules: [Int64: [Int64: StoredAlertRule]] = [:]
    private var fired: [Int64: [String: FiredAlert]] = [:]
    private var outbox: [String: (delivery: AlertDelivery, claimedUntil: Int64)] = [:]

    public init() {}

    static func outboxKey(_ accountId: Int64, _ alertId: String, _ channelId: Int64) -> String { "\(accountId)/\(channelId)/\(alertId)" }

    public func createAlertChannel(_ channel: StoredAlertChannel, limit: Int) async throws {
        try lock.withLock {
            let mine = channels[channel.accountId, default: [:]]
            if mine.values.contains(where: { $0.name == channel.name }) || mine[channel.id] != nil { throw StoreError.alertNameExists("channel", channel.name) }
            if mine.count >= limit { throw StoreError.alertQuota("channel", limit) }
            channels[channel.accountId, default: [:]][channel.id] = channel
        }
    }

    public func alertChannels(accountId: Int64) async throws -> [StoredAlertChannel] {
        lock.withLock { channels[accountId, default: [:]].values.sorted { $0.id < $1.id } }
    }

    public func updateAlertChannel(_ channel: StoredAlertChannel) async throws -> Bool {
        try lock.withLock {
            guard channels[channel.accountId]?[channel.id] != nil else { return false }
            if channels[channel.accountId, default: [:]].values.contains(where: { $0.name == channel.name && $0.id != channel.id }) {
                throw StoreError.alertNameExists("channel", channel.name)
            }
            channels[channel.accountId]?[channel.id] = channel
            return true
        }
    }

    public func deleteAlertChannel(accountId: Int64, id: Int64) async throws -> Bool {
        lock.withLock {
            guard channels[accountId]?.removeValue(forKey: id) != nil else { return false }
            outbox = outbox.filter { !($0.value.delivery.accountId == accountId && $0.value.delivery.channelId == id) }
            return true
        }
    }

    public func createAlertRule(_ rule: StoredAlertRule, limit: Int) async throws {
        try lock.withLock {
            let mine = rules[rule.accountId, default: [:]]
            if mine.values.contains(where: { $0.spec.name == rule.spec.name }) || mine[rule.id] != nil { throw StoreError.alertNameExists("rule", rule.spec.name) }
            if mine.count >= limit { throw StoreError.alertQuota("rule", limit) }
            rules[rule.accountId, default: [:]][rule.id] = rule
        }
    }

    public func alertRules(accountId: Int64?) async throws -> [StoredAlertRule] {
        lock.withLock {
            let all = accountId.map { rules[$0].map { Array($0.values) } ?? [] } ?? rules.values.flatMap(\.values)
            return all.sorted { ($0.accountId, $0.id) < ($1.accountId, $1.id) }
        }
    }

    public func updateAlertRule(accountId: Int64, id: Int64, spec: AlertRuleSpec, updatedAt: Int64) async throws -> Bool {
        try lock.withLock {
            guard var r = rules[accountId]?[id] else { return false }
            if rules[accountId, default: [:]].values.contains(where: { $0.spec.name == spec.name && $0.id != id }) {
                throw StoreError.alertNameExists("rule", spec.name)
            }
            r.spec = spec
            r.updatedAt = updatedAt
            r.state = []
            rules[accountId]?[id] = r
            return true
        }
    }

    public func deleteAlertRule(accountId: Int64, id: Int64) async throws -> Bool {
        lock.withLock { rules[accountId]?.removeValue(forKey: id) != nil }
    }

    public func commitAlertEvaluation(accountId: Int64, progress: [RuleProgress], alerts: [FiredAlert], deliveries: [AlertDelivery]) async throws {
        lock.withLock {
            var new = Set<String>()
            for a in alerts where a.accountId == accountId && fired[accountId]?[a.id] == nil {
                fired[accountId, default: [:]][a.id] = a
                new.insert(a.id)
            }
            for d in deliveries where d.accountId == accountId && new.contains(d.alertId) {
                outbox[Self.outboxKey(accountId, d.alertId, d.channelId)] = (d, 0)
            }
            for p in progress {
                guard var r = rules[accountId]?[p.ruleId], r.updatedAt == p.version else { continue }
                r.cursor = p.cursor
                r.state = p.state
                rules[accountId]?[p.ruleId] = r
            }
        }
    }

    public func alerts(accountId: Int64, from: Int64, to: Int64, ruleId: Int64?, severity: AlertSeverity?, offset: Int, limit: Int) async throws
        -> (alerts: [FiredAlert], total: Int) {
        lock.withLock {
            let all = (fired[accountId].map { Array($0.values) } ?? [])
                .filter { $0.firedAt >= from && $0.firedAt <= to && (ruleId == nil || $0.ruleId == ruleId) && (severity == nil || $0.severity == severity) }
                .sorted { ($0.firedAt, $0.createdAt, $0.id) > ($1.firedAt, $1.createdAt, $1.id) }
            return (Array(all.dropFirst(max(0, offset)).prefix(max(0, limit))), all.count)
        }
    }

    public func alert(accountId: Int64, id: String) async throws -> FiredAlert? {
        lock.withLock { fired[accountId]?[id] }
    }

    public func pendingAlertDeliveries(dueBy now: Int64, limit: Int) async throws -> [AlertDelivery] {
        lock.withLock {
            let due = outbox.values.filter { $0.delivery.nextAttemptAt <= now && $0.claimedUntil <= now }
                .map(\.delivery)
                .sorted { ($0.nextAttemptAt, $0.accountId, $0.alertId, $0.channelId) < ($1.nextAttemptAt, $1.accountId, $1.alertId, $1.channelId) }
                .prefix(max(0, limit))
            for d in due { outbox[Self.outboxKey(d.accountId, d.alertId, d.channelId)]?.claimedUntil = QueuedNotification.claimEnd(now) }
            return Array(due)
        }
    }

    public func finishAlertDelivery(accountId: Int64, alertId: String, channelId: Int64) async throws {
        lock.withLock { _ = outbox.removeValue(forKey: Self.outboxKey(accountId, alertId, channelId)) }
    }

    public func postponeAlertDelivery(accountId: Int64, alertId: String, channelId: Int64, until: Int64, error: String) async throws {
        lock.withLock {
            let key = Self.outboxKey(accountId, alertId, channelId)
            guard var entry = outbox[key] else { return }
            entry.delivery.attempts += 1
            entry.delivery.nextAttemptAt = until
            entry.delivery.lastError = TextClip.utf8(error, 1024)
            entry.claimedUntil = 0
            outbox[key] = entry
        }
    }

    public func queuedAlertDeliveries(accountId: Int64) async throws -> [AlertDelivery] {
        lock.withLock {
            outbox.values.map(\.delivery).filter { $0.accountId == accountId }
                .sorted { ($0.nextAttemptAt, $0.alertId, $0.channelId) < ($1.nextAttemptAt, $1.alertId, $1.channelId) }
        }
    }
}

/// How the database backends keep a rule's spec and an alert's event ids: JSON (keys sorted, so that the
/// same spec is the same bytes).
public enum AlertSpecCoding {
    public static func encode(_ spec: AlertRuleSpec) throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try e.encode(spec))
    }

    public static func decode(_ bytes: [UInt8]) -> AlertRuleSpec? { try? JSONDecoder().decode(AlertRuleSpec.self, from: Data(bytes)) }

    public static func encodeIds(_ ids: [String]) throws -> String { String(decoding: try JSONEncoder().encode(ids), as: UTF8.self) }

    public static func decodeIds(_ text: String) -> [String]? { try? JSONDecoder().decode([String].self, from: Data(text.utf8)) }
}

/// Sends an alert to a channel (the composition root's: webhook, email, syslog), one attempt per call:
/// the alert service retries from its outbox, and `TestAlertChannel` sends a test alert through it.
public protocol AlertNotifier: Sendable {
    /// Returns the receiver's answer in words (`HTTP 200`, `250 2.0.0 Ok: queued as ...`, `written to
    /// host:port`); throws when the receiver refused or could not be reached, with a message a person
    /// can act on (no secret in it). `timeout` bounds the whole attempt (connecting included).
    func send(_ alert: FiredAlert, channel: StoredAlertChannel, timeout: Duration) async throws -> String
}
