import AuditStore
import Foundation
import Logging
import ServiceLifecycle

/// Drops events older than each account's retention, on a timer, in whole hours (so hourly counts
/// stay exact), and expires server-side page cursors.
public struct RetentionService: Service {
    let storage: Storage
    let defaultRetentionDays: Int
    let interval: Duration
    let logger: Logger
    let clock: @Sendable () -> Int64

    public init(storage: Storage, defaultRetentionDays: Int, interval: Duration, logger: Logger, clock: @escaping @Sendable () -> Int64 = unixNow) {
        self.storage = storage
        self.defaultRetentionDays = defaultRetentionDays
        self.interval = interval
        self.logger = logger
        self.clock = clock
    }

    /// One pass over every account; returns the number of events dropped. One node of a deployment runs
    /// it at a time (the lease `retention`); another node's pass answers 0.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = clock()
        guard try await storage.leases.claim("retention", now: now) != nil else { return 0 }
        var dropped = 0
        let accounts = try await storage.accounts.listAccounts()
        func cutoff(_ account: Account) -> Int64 { TimeBuckets.hour(now - Int64(account.retentionDays ?? defaultRetentionDays) * 86400) }
        // Whole periods first (PostgreSQL's day partitions), up to the longest retention's cutoff: then
        // the accounts with a shorter retention lose the rest row by row.
        let whole = try await storage.events.dropWholePeriods(olderThan: accounts.map(cutoff).min() ?? TimeBuckets.hour(now - Int64(defaultRetentionDays) * 86400),
                                                             now: now)
        if whole > 0 { logger.info("retention dropped whole days", metadata: ["retention.dropped": "\(whole)"]) }
        dropped += whole
        for account in accounts {
            let n = try await storage.events.deleteEvents(accountId: account.id, olderThan: cutoff(account))
            if n > 0 { logger.info("retention dropped events", metadata: ["audit.account": "\(account.id)", "retention.dropped": "\(n)"]) }
            dropped += n
        }
        try await storage.cursors.deleteExpiredCursors(now: now)
        return dropped
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await runOnce() } catch { logger.error("retention pass failed", metadata: ["error.message": "\(error)"]) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// Holds the store open for the life of the process; at shutdown (after the HTTP server has stopped)
/// waits for self-audit records in flight and closes the store.
public struct StoreLifecycleService: Service {
    let storage: Storage
    let drain: @Sendable () async -> Void
    let logger: Logger

    public init(storage: Storage, drain: @escaping @Sendable () async -> Void, logger: Logger) {
        self.storage = storage
        self.drain = drain
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await drain()
        try await storage.close()
        logger.info("store closed")
    }
}
