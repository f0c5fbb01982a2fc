import AuditStore
import Metrics

/// The delivery counters and gauges (swift-metrics; exported at `/metrics` by the server).
final class DeliveryMetrics: Sendable {
    func delivered(track: Int64, account: Int64, events: Int, bytes: Int) {
        let dims = Self.dimensions(track, account)
        Counter(label: "cloudaudit_delivery_files_total", dimensions: dims).increment()
        Counter(label: "cloudaudit_delivery_events_total", dimensions: dims).increment(by: events)
        Counter(label: "cloudaudit_delivery_bytes_total", dimensions: dims).increment(by: bytes)
    }

    func failed(track: Int64, account: Int64) {
        Counter(label: "cloudaudit_delivery_errors_total", dimensions: Self.dimensions(track, account)).increment()
    }

    func notified(channel: String) {
        Counter(label: "cloudaudit_notifications_acknowledged_total", dimensions: [("channel", channel)]).increment()
    }

    func publish(_ statuses: [DeliveryStatus], now: Int64) {
        for s in statuses {
            let dims = Self.dimensions(s.TrackId, s.AccountId)
            // Seconds since the set last wrote a digest for the account (the start of the period it
            // accumulates): past the digest interval, digests are late.
            if let start = s.DigestPeriodStart {
                Gauge(label: "cloudaudit_digest_age_seconds", dimensions: dims).record(max(0, now - start))
            }
            Gauge(label: "cloudaudit_delivery_lag_events", dimensions: dims).record(s.LagEvents)
            Gauge(label: "cloudaudit_delivery_lag_seconds", dimensions: dims).record(s.LagSeconds)
            Gauge(label: "cloudaudit_delivery_delivered_sequence", dimensions: dims).record(s.DeliveredSequence)
            Gauge(label: "cloudaudit_delivery_last_success_timestamp_seconds", dimensions: dims).record(s.DeliveredAt)
            Gauge(label: "cloudaudit_delivery_failing", dimensions: dims).record(s.LastError == nil ? 0 : 1)
            Gauge(label: "cloudaudit_delivery_pending_notifications", dimensions: [("track_id", String(s.TrackId))]).record(s.PendingNotifications)
        }
    }

    static func dimensions(_ track: Int64, _ account: Int64) -> [(String, String)] {
        [("track_id", String(track)), ("account_id", String(account))]
    }
}
