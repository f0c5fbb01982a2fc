import Foundation

/// Protects the server: a token bucket per SecretId (one noisy client is refused, others are not
/// slowed) and a cap on requests in flight across the server.
public final class RequestLimiter: @unchecked Sendable {
    public let ratePerSecond: Double
    public let burst: Double
    public let maxInFlight: Int
    private let lock = NSLock()
    private var buckets: [String: (tokens: Double, at: Double)] = [:]
    private var inFlight = 0

    public init(ratePerSecond: Double, maxInFlight: Int) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, ratePerSecond * 2)
        self.maxInFlight = maxInFlight
    }

    /// Takes one token of `key`'s bucket; false when it is empty.
    public func allow(_ key: String, now: Double = Date().timeIntervalSince1970) -> Bool {
        lock.withLock {
            var b = buckets[key] ?? (burst, now)
            b.tokens = min(burst, b.tokens + (now - b.at) * ratePerSecond)
            b.at = now
            let ok = b.tokens >= 1
            if ok { b.tokens -= 1 }
            buckets[key] = b
            if buckets.count > 100_000 { buckets = buckets.filter { now - $0.value.at < 10 } }
            return ok
        }
    }

    /// Enters the server; false when it is full. Pair with `leave()`.
    public func enter() -> Bool {
        lock.withLock {
            guard inFlight < maxInFlight else { return false }
            inFlight += 1
            return true
        }
    }

    public func leave() { lock.withLock { inFlight -= 1 } }
}
