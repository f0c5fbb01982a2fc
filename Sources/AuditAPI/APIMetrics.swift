import Metrics

/// The API's counters and timers (swift-metrics; the server exports them at `/metrics`). Labels are
/// bounded: an action the table does not know is counted as `other`, and codes are the catalogue's.
public enum APIMetrics {
    /// One answered API call: `cloudaudit_requests_total{action,code}` and
    /// `cloudaudit_request_duration_seconds{action}` (a histogram).
    static func request(action: String, code: String, since start: ContinuousClock.Instant) {
        let name = ActionTable.implemented[action] != nil ? action : "other"
        Counter(label: "cloudaudit_requests_total", dimensions: [("action", name), ("code", code)]).increment()
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        Timer(label: "cloudaudit_request_duration_seconds", dimensions: [("action", name)])
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// A refused signature, key or password: `cloudaudit_authentication_failures_total{via,code}`
    /// (`via`: `api` or `console`).
    public static func authenticationFailure(code: String, via: String) {
        Counter(label: "cloudaudit_authentication_failures_total", dimensions: [("via", via), ("code", code)]).increment()
    }

    /// Events appended to the store: `cloudaudit_events_appended_total{source}` (`api`: PutEvents,
    /// `self_audit`: the service's own calls) and `cloudaudit_events_duplicate_total{source}` (an eventId
    /// already stored, nothing written).
    static func appended(stored: Int, duplicates: Int, source: String) {
        if stored > 0 { Counter(label: "cloudaudit_events_appended_total", dimensions: [("source", source)]).increment(by: stored) }
        if duplicates > 0 { Counter(label: "cloudaudit_events_duplicate_total", dimensions: [("source", source)]).increment(by: duplicates) }
    }
}
