import AuditModel
import AuditStore
import Foundation

/// One event as the evaluator sees it: its sequence, id, time, postings and type, parsed once per pass
/// for every rule of the account.
public struct EvaluatedEvent: Sendable {
    public var sequence: Int64
    public var eventId: String
    public var eventTime: Int64
    public var postings: [(key: LookupKey, value: String)]
    /// `eventType`: alerts (`CloudAuditAlert`) are never matched by rules, so that no rule feeds on itself.
    public var eventType: String

    public init(sequence: Int64, eventId: String, eventTime: Int64, postings: [(key: LookupKey, value: String)], eventType: String) {
        self.sequence = sequence
        self.eventId = eventId
        self.eventTime = eventTime
        self.postings = postings
        self.eventType = eventType
    }

    /// A stored event, parsed; nil for bytes that are not a record this server accepted.
    public init?(_ e: StoredEvent) {
        guard let parsed = EventRecordValidator.stored(e.record, eventTime: e.eventTime) else { return nil }
        self.init(sequence: e.sequence, eventId: e.eventId, eventTime: e.eventTime, postings: parsed.postings, eventType: parsed.eventType)
    }
}

/// Evaluates one rule over the account's events in sequence order, from the state its last pass left.
///
/// Without a threshold, each matching event fires one alert. With one, the matching events of each group
/// (the value of `GroupBy`) are kept while they lie within `windowSeconds` of the group's newest: when
/// `count` of them are, the rule fires once for the group, and the group is quiet until the window has
/// passed after that alert (events of the group before then do not count). An event that arrives later
/// than the window behind its group's newest event (by event time) no longer counts. docs/alerts.md says
/// this with examples.
///
/// Bounded: a group keeps fewer than `count` (at most 100) entries; a rule keeps at most `maxGroups`
/// groups, the ones with the oldest newest event dropped first.
public struct RuleEvaluator: Sendable {
    public static let maxGroups = 1000

    /// The threshold windows, kept between passes as JSON (`StoredAlertRule.state`).
    public struct State: Codable, Equatable, Sendable {
        public struct Group: Codable, Equatable, Sendable {
            /// Matching events within the window of the newest: times ascending, ids alongside.
            public var times: [Int64] = []
            public var ids: [String] = []
            /// The group's newest matching event time.
            public var newest: Int64 = .min
            /// No alert before this event time (the window after the last alert).
            public var quietUntil: Int64 = .min
        }
        public var groups: [String: Group] = [:]
        /// The newest matching event time of any group.
        public var newest: Int64 = .min

        public init() {}

        public static func decode(_ bytes: [UInt8]) -> State {
            bytes.isEmpty ? State() : (try? JSONDecoder().decode(State.self, from: Data(bytes))) ?? State()
        }

        public func encoded() -> [UInt8] {
            let e = JSONEncoder()
            e.outputFormatting = .sortedKeys
            return (try? Array(e.encode(self))) ?? []
        }
    }

    public let rule: StoredAlertRule
    let matcher: EventMatcher

    public init(rule: StoredAlertRule) {
        self.rule = rule
        self.matcher = rule.spec.matcher
    }

    /// The alert id of the rule fired by the event at `sequence` (the same whenever it is evaluated again).
    public static func alertId(ruleId: Int64, sequence: Int64) -> String { "r\(ruleId)-s\(sequence)" }

    public func matches(_ e: EvaluatedEvent) -> Bool {
        if e.eventType == "CloudAuditAlert" { return false }
        if rule.spec.errorOnly, !EventRecordValidator.failed(e.postings) { return false }
        return matcher.matches(e.postings)
    }

    /// The alerts `events` (after the rule's cursor, ascending by sequence) fire, and the state after them.
    public func evaluate(_ events: [EvaluatedEvent], state: inout State, now: Int64) -> [FiredAlert] {
        var out: [FiredAlert] = []
        for e in events where e.sequence > rule.cursor && matches(e) {
            guard let threshold = rule.spec.threshold else {
                out.append(alert(for: e, ids: [e.eventId], group: nil, count: 1, firedAt: e.eventTime, now: now))
                continue
            }
            let window = min(max(threshold.windowSeconds, 1), AlertThreshold.windows.upperBound)
            let needed = min(max(threshold.count, AlertThreshold.counts.lowerBound), AlertThreshold.counts.upperBound)
            let name = threshold.groupKey.flatMap { key in e.postings.first { $0.key == key }?.value } ?? ""
            var g = state.groups[name] ?? State.Group()
            if e.eventTime < g.quietUntil { continue }
            // Where the event goes among the kept ones (by time, then arrival).
            let at = g.times.firstIndex { $0 > e.eventTime } ?? g.times.count
            g.times.insert(e.eventTime, at: at)
            g.ids.insert(e.eventId, at: at)
            g.newest = max(g.newest, e.eventTime)
            state.newest = max(state.newest, e.eventTime)
            // Keep what lies within the window of the newest (a span under `window`).
            let (start, _) = g.newest.subtractingReportingOverflow(window)
            let keep = g.times.firstIndex { $0 > start } ?? g.times.count
            g.times.removeFirst(keep)
            g.ids.removeFirst(keep)
            if g.times.count >= needed {
                out.append(alert(for: e, ids: g.ids, group: threshold.groupBy == nil ? nil : name, count: g.times.count, firedAt: g.newest, now: now))
                let (quiet, overflow) = g.newest.addingReportingOverflow(window)
                g.quietUntil = overflow ? .max : quiet
                g.times = []
                g.ids = []
            }
            state.groups[name] = g
        }
        prune(&state)
        return out
    }

    func alert(for e: EvaluatedEvent, ids: [String], group: String?, count: Int, firedAt: Int64, now: Int64) -> FiredAlert {
        let id = Self.alertId(ruleId: rule.id, sequence: e.sequence)
        return FiredAlert(accountId: rule.accountId, id: id, ruleId: rule.id, ruleName: rule.spec.name, severity: rule.spec.severity, firedAt: firedAt,
                          eventIds: ids, group: group, count: count, alertEventId: "cloudaudit-alert-\(rule.accountId)-\(id)", createdAt: now)
    }

    /// Drops the groups that can neither fire nor be quiet any more, then the oldest beyond `maxGroups`.
    func prune(_ state: inout State) {
        guard let window = rule.spec.threshold?.windowSeconds else {
            state = State()
            return
        }
        let (horizon, overflow) = state.newest.subtractingReportingOverflow(max(window, 1))
        if !overflow {
            state.groups = state.groups.filter { $0.value.newest > horizon || $0.value.quietUntil > state.newest }
        }
        if state.groups.count > Self.maxGroups {
            let kept = state.groups.sorted { ($0.value.newest, $0.key) > ($1.value.newest, $1.key) }.prefix(Self.maxGroups)
            state.groups = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
    }
}
