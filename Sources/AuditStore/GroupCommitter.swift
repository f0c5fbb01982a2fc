import Foundation
import Metrics

/// Group commit: callers submit work concurrently; one writer takes everything pending and runs it in
/// one transaction, then answers each caller. One fsync then serves many requests.
///
/// If the group's transaction fails, each caller's work is retried alone, so that one caller's bad
/// input cannot fail the others; except when the store is unavailable, which fails every caller at once.
public final class GroupCommitter<Item: Sendable, Result: Sendable>: @unchecked Sendable {
    public typealias Writer = @Sendable ([Item]) async throws -> [Result]

    private let lock = NSLock()
    private var pending: [(item: Item, continuation: CheckedContinuation<Result, Error>)] = []
    private var flushing = false

    public init() {}

    public func submit(_ item: Item, write: @escaping Writer) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let start = lock.withLock {
                pending.append((item, continuation))
                defer { flushing = true }
                return !flushing
            }
            if start { Task { await self.flush(write) } }
        }
    }

    /// One group's size and time to durable commit: `cloudaudit_group_commit_size` and
    /// `cloudaudit_group_commit_seconds` (histograms).
    static func measured(_ size: Int, since start: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        Recorder(label: "cloudaudit_group_commit_size", aggregate: true).record(size)
        Metrics.Timer(label: "cloudaudit_group_commit_seconds").recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Everything pending; when nothing is, the flush ends (under the same lock, so no submit is missed).
    private func takePending() -> [(item: Item, continuation: CheckedContinuation<Result, Error>)] {
        lock.withLock {
            let items = pending
            pending = []
            if items.isEmpty { flushing = false }
            return items
        }
    }

    private func flush(_ write: Writer) async {
        while true {
            let items = takePending()
            if items.isEmpty { return }
            do {
                let started = ContinuousClock.now
                let results = try await write(items.map(\.item))
                Self.measured(items.count, since: started)
                for (i, entry) in items.enumerated() { entry.continuation.resume(returning: results[i]) }
            } catch {
                // One caller's bad input is found by retrying each alone; a store that cannot be reached
                // fails them all at once (retrying each would make the last wait for every one before it).
                if items.count == 1 || (error as? StoreError)?.code == .unavailable {
                    for entry in items { entry.continuation.resume(throwing: error) }
                    continue
                }
                for entry in items {
                    do { entry.continuation.resume(returning: try await write([entry.item])[0]) } catch { entry.continuation.resume(throwing: error) }
                }
            }
        }
    }
}
