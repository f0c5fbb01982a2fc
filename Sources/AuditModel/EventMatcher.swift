/// Whether one event matches lookup conditions the way `LookUpEvents` finds it: every condition holds
/// (conditions are ANDed), a condition holds when the event carries one of its values under its key
/// (values are ORed), and an event that matches every `excluding` condition is left out.
///
/// Used where events are matched one by one as they are read in sequence order (the live tail, alert
/// rules) rather than found through the store's postings: the same postings, so the same answers.
public struct EventMatcher: Sendable, Hashable {
    public var conditions: [LookupCondition]
    public var excluding: [LookupCondition]

    public init(conditions: [LookupCondition], excluding: [LookupCondition] = []) {
        self.conditions = conditions
        self.excluding = excluding
    }

    /// True when nothing is filtered: every event matches.
    public var matchesEverything: Bool { conditions.isEmpty && excluding.isEmpty }

    /// Whether an event with these postings (``AuditEvent/postings``) matches.
    public func matches(_ postings: [(key: LookupKey, value: String)]) -> Bool {
        func all(_ cs: [LookupCondition]) -> Bool {
            cs.allSatisfy { c in postings.contains { p in p.key == c.key && c.values.contains(p.value) } }
        }
        return all(conditions) && (excluding.isEmpty || !all(excluding))
    }

    /// Whether a stored record matches; false for bytes that are not a record this server accepted.
    public func matches(storedRecord record: [UInt8], eventTime: Int64) -> Bool {
        if matchesEverything { return true }
        guard let postings = EventRecordValidator.postings(ofStored: record, eventTime: eventTime) else { return false }
        return matches(postings)
    }
}

extension EventRecordValidator {
    /// The postings an accepted record was stored with, computed again from its bytes (a stored record
    /// has its `eventId` and `eventTime`, so nothing is generated). Nil when the bytes do not parse as
    /// an accepted record (never for a record read back from the store).
    public static func postings(ofStored record: [UInt8], eventTime: Int64) -> [(key: LookupKey, value: String)]? {
        stored(record, eventTime: eventTime)?.postings
    }

    /// A stored record read again: its postings and its `eventType`. Nil when the bytes do not parse as an
    /// accepted record (never for a record read back from the store).
    public static func stored(_ record: [UInt8], eventTime: Int64) -> (postings: [(key: LookupKey, value: String)], eventType: String)? {
        guard record.count <= maxRecordBytes, let value = try? JSONParser.parse(record) else { return nil }
        // The retention and clock checks of `validate` pass for the record's own time.
        let scope = AccountScope(accountId: 0, retentionDays: 1)
        switch validate(value, source: record, now: eventTime, resolveAccount: { _ in .success(scope) }, serverTypes: true) {
        case .success(let e): return (e.postings, value["eventType"]?.stringValue ?? "")
        case .failure: return nil
        }
    }
}

extension EventRecordValidator {
    /// A record the server writes itself (a self-audit record, an alert), encoded and accepted like any
    /// record, its server-only event type allowed; nil if it is not valid (a bug of the writer).
    public static func serverEvent(_ record: JSONValue, accountId: Int64, now: Int64) -> AuditEvent? {
        let bytes = JSONWriter.encode(record)
        let scope = AccountScope(accountId: accountId, retentionDays: 36500)
        guard let parsed = try? JSONParser.parse(bytes),
              case .success(let e) = validate(parsed, source: bytes, now: now, resolveAccount: { _ in .success(scope) }, serverTypes: true)
        else { return nil }
        return e
    }
}
