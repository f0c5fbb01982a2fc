import AuditStore
import Foundation
import Logging
import ServiceLifecycle

/// Signs a checkpoint of every account whose log grew, on a timer (docs/integrity.md, "Checkpoints").
public struct CheckpointService: Service {
    let checkpointer: Checkpointer
    let interval: Duration
    let logger: Logger
    /// Set after each pass that completed (for `cloudaudit_checkpoint_pass_age_seconds`).
    let passes: PassClock

    public init(checkpointer: Checkpointer, interval: Duration, logger: Logger, passes: PassClock = PassClock()) {
        self.checkpointer = checkpointer
        self.interval = interval
        self.logger = logger
        self.passes = passes
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            do {
                let made = try await checkpointer.checkpointGrownLogs()
                if made > 0 { logger.debug("signed checkpoints", metadata: ["audit.accounts": "\(made)"]) }
                passes.passed(at: unixNow())
            } catch {
                logger.error("checkpoint pass failed", metadata: ["error.message": "\(error)"])
            }
        }
    }
}
