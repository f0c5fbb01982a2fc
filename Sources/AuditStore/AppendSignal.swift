import Foundation

/// Tells the readers that follow an account's log as it grows (the live tail, alert evaluation) that
/// this process appended to it, so that they read at once instead of at their next poll.
///
/// It is a hint, never the source of truth: readers read the store from their own cursor, and poll it
/// anyway (another process or node may have appended), so a signal lost or early costs at most one
/// poll interval and never an event. Each account has a generation number that every append bumps;
/// a reader takes it before reading and waits for it to change, so an append between its read and its
/// wait is not missed.
public final class AppendSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var generations: [Int64: UInt64] = [:]
    private var waiters: [Int64: [UInt64: CheckedContinuation<Void, Never>]] = [:]
    private var nextWaiter: UInt64 = 0

    public init() {}

    /// The account's generation now: pass it to ``wait(accountId:changedFrom:upTo:)``.
    public func generation(accountId: Int64) -> UInt64 {
        lock.withLock { generations[accountId, default: 0] }
    }

    /// Records that events of these accounts were appended, and wakes their waiters.
    public func appended<S: Sequence>(accountIds: S) where S.Element == Int64 {
        var woken: [CheckedContinuation<Void, Never>] = []
        lock.withLock {
            for id in Set(accountIds) {
                generations[id, default: 0] &+= 1
                if let ws = waiters.removeValue(forKey: id) { woken += ws.values }
            }
            // Accounts nobody waits on need no generation kept beyond a bound (a stale generation only
            // costs a reader one extra read).
            if generations.count > 100_000 { generations = generations.filter { waiters[$0.key] != nil } }
        }
        for w in woken { w.resume() }
    }

    /// Returns when the account's generation is no longer `generation`, after `timeout`, or at once when
    /// the task is cancelled.
    public func wait(accountId: Int64, changedFrom generation: UInt64, upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(accountId: accountId, from: generation) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(accountId: Int64, from generation: UInt64) async {
        let id: UInt64 = lock.withLock {
            nextWaiter &+= 1
            return nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = lock.withLock {
                    if generations[accountId, default: 0] != generation || Task.isCancelled { return true }
                    waiters[accountId, default: [:]][id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c: CheckedContinuation<Void, Never>? = lock.withLock {
                let c = waiters[accountId]?.removeValue(forKey: id)
                if waiters[accountId]?.isEmpty == true { waiters[accountId] = nil }
                return c
            }
            c?.resume()
        }
    }
}
