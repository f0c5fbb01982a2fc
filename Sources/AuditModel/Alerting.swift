/// Alert rules and notification channels (issue 15): what an account asks to be told about, and where.
/// The API checks and stores them; the alert service evaluates the rules over each account's log.

/// How urgent an alert is.
public enum AlertSeverity: String, Sendable, Codable, CaseIterable {
    case info, warning, critical
}

/// A notification channel's kind.
public enum AlertChannelType: String, Sendable, Codable, CaseIterable {
    case webhook, email, syslog
}

/// One condition of a rule as the caller gave it (`{AttributeKey, AttributeValue}` of LookUpEvents),
/// with the postings it means (what the matcher compares).
public struct AlertCondition: Sendable, Equatable, Codable {
    public var attributeKey: String
    public var attributeValue: String
    /// `LookupKey` raw value and posting values, as `LookupAttributes` would query them.
    public var key: Int
    public var values: [String]

    public init(attributeKey: String, attributeValue: String, key: LookupKey, values: [String]) {
        self.attributeKey = attributeKey
        self.attributeValue = attributeValue
        self.key = key.rawValue
        self.values = values
    }
}

/// "At least `count` matching events within `windowSeconds`, per value of `groupBy`".
public struct AlertThreshold: Sendable, Equatable, Codable {
    public static let counts = 2...100
    public static let windows: ClosedRange<Int64> = 1...(7 * 86400)

    public var count: Int
    public var windowSeconds: Int64
    /// A lookup attribute name whose key has one value per event (`Username`, `SourceIPAddress`...); nil:
    /// one group for the whole account.
    public var groupBy: String?

    public init(count: Int, windowSeconds: Int64, groupBy: String?) {
        self.count = count
        self.windowSeconds = windowSeconds
        self.groupBy = groupBy
    }

    /// The key `groupBy` names, when it names one with a single value per event.
    public var groupKey: LookupKey? {
        guard let groupBy, let a = LookupAttributeName.named(groupBy), a.key.recordPath != nil else { return nil }
        return a.key
    }
}

/// What a rule is: its name, severity, the events it matches, its threshold and where it notifies.
public struct AlertRuleSpec: Sendable, Equatable, Codable {
    public var name: String
    public var severity: AlertSeverity
    public var conditions: [AlertCondition]
    /// Only events that failed: a non-zero `errorCode` or a non-empty `apiErrorCode`.
    public var errorOnly: Bool
    public var threshold: AlertThreshold?
    public var channelIds: [Int64]
    public var enabled: Bool
    /// The template it was made from, if any.
    public var template: String?

    public init(name: String, severity: AlertSeverity, conditions: [AlertCondition], errorOnly: Bool, threshold: AlertThreshold?,
                channelIds: [Int64], enabled: Bool, template: String? = nil) {
        self.name = name
        self.severity = severity
        self.conditions = conditions
        self.errorOnly = errorOnly
        self.threshold = threshold
        self.channelIds = channelIds
        self.enabled = enabled
        self.template = template
    }

    /// The conditions as the matcher takes them: one condition per key, values ORed (as LookupAttributes).
    public var matcher: EventMatcher {
        var byKey: [(Int, [String])] = []
        for c in conditions {
            if let i = byKey.firstIndex(where: { $0.0 == c.key }) { byKey[i].1 += c.values } else { byKey.append((c.key, c.values)) }
        }
        return EventMatcher(conditions: byKey.compactMap { k, v in LookupKey(rawValue: k).map { LookupCondition(key: $0, values: Array(Set(v)).sorted()) } })
    }
}

extension EventRecordValidator {
    /// Whether a record's operation failed: a non-zero `errorCode` or a non-empty `apiErrorCode` (what an
    /// alert rule's `ErrorOnly` means), from its postings.
    public static func failed(_ postings: [(key: LookupKey, value: String)]) -> Bool {
        postings.contains { ($0.key == .camErrorCode && $0.value != "0") || ($0.key == .apiErrorCode && !$0.value.isEmpty) }
    }
}
