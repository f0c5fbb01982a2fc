import AuditStore
import Foundation
import Logging
import ServiceLifecycle

/// Signs a checkpoint of every account whose log grew, on a timer (docs/integrity.md, "Checkpoints").
public struct CheckpointService: Service {
    let checkpointer: Checkpointer
    let interval: Duration
    let logger: Logger

    public init(checkpointer: Checkpointer, interval: Duration, logger: Logger) {
        self.checkpointer = checkpointer
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            do {
                let made = try await checkpointer.checkpointGrownLogs()
                if made > 0 { logger.debug("signed checkpoints", metadata: ["audit.accounts": "\(made)"]) }
            } catch {
                logger.error("checkpoint pass failed", metadata: ["error.message": "\(error)"])
            }
        }
    }
}
