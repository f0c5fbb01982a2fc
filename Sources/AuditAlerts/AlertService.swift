import AuditModel
import AuditStore
import Foundation
import Logging
import ServiceLifecycle

/// Evaluates every enabled rule over its account's log and sends the alerts it fires (issue 15).
///
/// Evaluation reads each account's events in sequence order from the rules' durable cursors (never from
/// the request path), so counts include every node's events and a restart neither loses nor repeats an
/// alert. Each account's evaluation is claimed through a lease (`alerts:<account>`), and its commit is
/// fenced by it. A pass appends the alerts' own events (`CloudAuditAlert`, idempotent by eventId), then
/// commits the alerts, their deliveries and the cursors in one transaction: evaluated again after a crash,
/// the same events make the same alert ids, stored and queued once.
///
/// Sending works from the outbox: each delivery is claimed, sent once, then finished, or postponed with
/// backoff (2 s doubling to 60 s) until the receiver acknowledges it.
public final class AlertService: Service, Sendable {
    public struct Configuration: Sendable {
        /// How often the rules are evaluated (and the outbox looked at).
        public var interval: Duration = .milliseconds(500)
        /// Events read per account per batch, and batches per account per pass.
        public var batch = 500
        public var batchesPerPass = 20
        public var maxBackoffSeconds: Int64 = 60
        /// One attempt to send one alert, connecting included.
        public var sendTimeout: Duration = .seconds(20)

        public init() {}
    }

    let storage: Storage
    let notifier: any AlertNotifier
    let signal: AppendSignal?
    let configuration: Configuration
    let logger: Logger
    let clock: @Sendable () -> Int64

    public init(storage: Storage, notifier: any AlertNotifier, signal: AppendSignal?, configuration: Configuration = .init(), logger: Logger,
                clock: @escaping @Sendable () -> Int64 = unixNow) {
        self.storage = storage
        self.notifier = notifier
        self.signal = signal
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop("evaluation") { try await self.evaluatePass() } }
            group.addTask { await self.loop("sending") { try await self.sendPass() } }
        }
    }

    func loop(_ what: String, _ pass: @escaping @Sendable () async throws -> Void) async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await pass()
            } catch let e as StoreError where e.code == .unavailable || e.code == .leaseLost {
                logger.notice("alert \(what) pass stopped", metadata: ["error.message": "\(e.message)"])
            } catch is CancellationError {
                return
            } catch {
                logger.error("alert \(what) pass failed", metadata: ["error.message": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.configuration.interval) }
        }
    }

    // MARK: Evaluation

    /// One pass over every account with an enabled rule.
    public func evaluatePass() async throws {
        let rules = try await storage.alerts.alertRules(accountId: nil).filter(\.spec.enabled)
        let byAccount = Dictionary(grouping: rules, by: \.accountId)
        for (account, rules) in byAccount.sorted(by: { $0.key < $1.key }) {
            guard let lease = try await storage.leases.claim("alerts:\(account)", now: clock()) else { continue }
            try await Lease.$current.withValue(lease) { try await evaluate(account: account, rules: rules) }
        }
    }

    func evaluate(account: Int64, rules initial: [StoredAlertRule]) async throws {
        var rules = initial
        var states = rules.map { RuleEvaluator.State.decode($0.state) }
        for _ in 0..<configuration.batchesPerPass {
            guard let from = rules.map(\.cursor).min() else { return }
            let batch = try await storage.events.events(accountId: account, afterSequence: from, limit: configuration.batch)
            guard let last = batch.last else { return }
            let parsed = batch.compactMap(EvaluatedEvent.init)
            let now = clock()
            var alerts: [FiredAlert] = []
            var progress: [RuleProgress] = []
            var deliveries: [AlertDelivery] = []
            for i in rules.indices {
                let fired = RuleEvaluator(rule: rules[i]).evaluate(parsed, state: &states[i], now: now)
                alerts += fired
                for a in fired {
                    deliveries += rules[i].spec.channelIds.map { AlertDelivery(accountId: account, alertId: a.id, channelId: $0, nextAttemptAt: now) }
                }
                rules[i].cursor = max(rules[i].cursor, last.sequence)
                progress.append(RuleProgress(ruleId: rules[i].id, version: rules[i].updatedAt, cursor: rules[i].cursor, state: states[i].encoded()))
            }
            if !alerts.isEmpty {
                let events = alerts.compactMap { AlertEvents.event(of: $0, now: now) }
                _ = try await storage.events.append(events)
                signal?.appended(accountIds: [account])
                logger.info("alerts fired", metadata: ["audit.account": "\(account)", "alert.count": "\(alerts.count)"])
            }
            try await storage.alerts.commitAlertEvaluation(accountId: account, progress: progress, alerts: alerts, deliveries: deliveries)
            if batch.count < configuration.batch { return }
        }
    }

    // MARK: Sending

    public func sendPass() async throws {
        let now = clock()
        let due = try await storage.alerts.pendingAlertDeliveries(dueBy: now, limit: 50)
        var channels: [Int64: [Int64: StoredAlertChannel]] = [:]
        for d in due {
            if channels[d.accountId] == nil {
                channels[d.accountId] = Dictionary(uniqueKeysWithValues: try await storage.alerts.alertChannels(accountId: d.accountId).map { ($0.id, $0) })
            }
            guard let channel = channels[d.accountId]?[d.channelId], let alert = try await storage.alerts.alert(accountId: d.accountId, id: d.alertId) else {
                // The channel (or the alert) is gone: nothing to send any more.
                try await storage.alerts.finishAlertDelivery(accountId: d.accountId, alertId: d.alertId, channelId: d.channelId)
                continue
            }
            do {
                let answer = try await notifier.send(alert, channel: channel, timeout: configuration.sendTimeout)
                try await storage.alerts.finishAlertDelivery(accountId: d.accountId, alertId: d.alertId, channelId: d.channelId)
                logger.debug("alert sent", metadata: ["alert.id": "\(d.alertId)", "alert.channel": "\(d.channelId)", "alert.answer": "\(answer)"])
            } catch {
                let wait = min(configuration.maxBackoffSeconds, Int64(2) << min(d.attempts, 20))
                try await storage.alerts.postponeAlertDelivery(accountId: d.accountId, alertId: d.alertId, channelId: d.channelId,
                                                               until: clock() + wait, error: "\(error)")
                logger.notice("alert not delivered; will retry", metadata: ["alert.id": "\(d.alertId)", "alert.channel": "\(d.channelId)",
                                                                           "alert.retry_seconds": "\(wait)", "error.message": "\(error)"])
            }
        }
    }
}

/// The event an alert is in the account's log: `eventType` `CloudAuditAlert`, so that it is searchable,
/// delivered and verifiable like any event (docs/contract.md, "Alerts").
public enum AlertEvents {
    public static func record(of a: FiredAlert, now: Int64) -> JSONValue {
        .obj([
            ("eventVersion", "1.0"), ("eventId", .string(a.alertEventId)), ("eventTime", .int(now)),
            ("eventName", "AlertFired"), ("eventSource", "cloudaudit.alerts"), ("eventType", "CloudAuditAlert"),
            ("eventRegion", "local"), ("actionType", "Read"), ("sensitiveAction", .bool(a.severity == .critical)),
            ("resourceType", "cloudaudit"), ("resourceName", .string("alert-rule/\(a.ruleId)")),
            ("userIdentity", .obj([("type", "CloudAudit"), ("principalId", "cloudaudit-alerts"), ("userName", "cloudaudit-alerts")])),
            ("sourceIPAddress", ""), ("userAgent", "cloudaudit"), ("requestID", .string(a.id)),
            ("requestParameters", .obj([("AlertId", .string(a.id)), ("RuleId", .int(a.ruleId)), ("RuleName", .string(a.ruleName)),
                                        ("Severity", .string(a.severity.rawValue)), ("Group", a.group.map { .string($0) } ?? .null),
                                        ("Count", .int(Int64(a.count))), ("FiredAt", .int(a.firedAt)),
                                        ("EventIds", .array(a.eventIds.map { .string($0) }))])),
            ("responseElements", ""), ("errorCode", 0), ("errorMessage", ""), ("apiErrorCode", ""), ("apiErrorMessage", ""),
        ])
    }

    public static func event(of a: FiredAlert, now: Int64) -> AuditEvent? {
        EventRecordValidator.serverEvent(record(of: a, now: now), accountId: a.accountId, now: now)
    }
}
