import AuditStore
import Foundation
import Logging
import ServiceLifecycle

/// Signs a checkpoint of every account whose log grew, on a timer (docs/integrity.md, "Checkpoints").
public struct CheckpointService: Service {
    let checkpointer: Checkpointer
    /// One node signs the timer's checkpoints at a time (a proof asked of any node may still sign one:
    /// the store signs each size once).
    let leases: any WorkLeases
    let interval: Duration
    let logger: Logger
    /// Set after each pass that completed (for `cloudaudit_checkpoint_pass_age_seconds`).
    let passes: PassClock

    public init(checkpointer: Checkpointer, leases: any WorkLeases = LocalLeases(), interval: Duration, logger: Logger, passes: PassClock = PassClock()) {
        self.checkpointer = checkpointer
        self.leases = leases
        self.interval = interval
        self.logger = logger
        self.passes = passes
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            do {
                // Another node's pass runs meanwhile: this node's pass counts as done.
                if try await leases.claim("checkpoints", now: unixNow()) != nil {
                    let made = try await checkpointer.checkpointGrownLogs()
                    if made > 0 { logger.debug("signed checkpoints", metadata: ["audit.accounts": "\(made)"]) }
                }
                passes.passed(at: unixNow())
            } catch {
                logger.error("checkpoint pass failed", metadata: ["error.message": "\(error)"])
            }
        }
    }
}
