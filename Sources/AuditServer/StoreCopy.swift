import AuditIntegrity
import AuditModel
import AuditStore
import AuditStorePostgres
import Foundation

/// `cloudaudit store copy --from DATA_DIR --to postgres://...` (docs/postgres.md, "Moving an embedded
/// deployment"): everything an embedded deployment keeps, into an empty PostgreSQL store. Secrets stay
/// sealed by the same master key (the nodes must be given that key); events keep their sequence
/// numbers, the Merkle logs their leaves (also those of events retention removed), tracking sets their
/// ids, cursors and digest chains. It ends by comparing every account's tree size and root on both sides.
public enum StoreCopy {
    public struct AccountCheck: Sendable, Equatable {
        public var accountId: Int64
        public var size: Int64
        public var events: Int
        public var sourceRoot: String
        public var targetRoot: String
        public var same: Bool { sourceRoot == targetRoot }
    }

    public struct Report: Sendable {
        public var accounts: [AccountCheck]
        public var keys = 0, kmsKeys = 0, passwords = 0, tracks = 0, checkpoints = 0, notifications = 0
        public var alertChannels = 0, alertRules = 0, alerts = 0
    }

    /// Leaves (and events) per transaction.
    static let batch = 2000

    /// Opens both stores, copies, closes both.
    public static func run(from dir: DataDirectory, to access: PostgresStoreAccess, progress: @Sendable (String) -> Void = { _ in }) async throws -> Report {
        guard dir.storage.exists else { throw ServerError("\(dir.path) is not a deployment's data directory (no \(dir.storage.location))") }
        let source = try await dir.storage.open()
        let target: PostgresStore
        do { target = try await access.open(defaultRetentionDays: ServerConfiguration().retentionDays, logger: PostgresStoreAccess.quietLogger) } catch {
            try? await source.close()
            throw error
        }
        let result: Result<Report, Error>
        do { result = .success(try await run(from: source, to: target, progress: progress)) } catch { result = .failure(error) }
        try? await target.close()
        try? await source.close()
        return try result.get()
    }

    static func run(from source: Storage, to target: PostgresStore, progress: @Sendable (String) -> Void) async throws -> Report {
        guard try await target.holdsNoDeployment() else {
            throw ServerError("the store at \(target.location) already holds a deployment (it has accounts); copy into an empty database")
        }
        // Management accounts before their members (a member names its management account).
        let accounts = try await source.accounts.listAccounts().sorted { ($0.memberOf != nil ? 1 : 0, $0.id) < ($1.memberOf != nil ? 1 : 0, $1.id) }
        var report = Report(accounts: [])
        for a in accounts {
            _ = try await target.createAccount(name: a.name, retentionDays: a.retentionDays, id: a.id, memberOf: a.memberOf)
        }
        for k in try await source.accounts.listKeys(accountId: nil) {
            try await target.createKey(k)
            report.keys += 1
        }
        for k in try await source.kmsKeys.kmsKeys(accountId: nil, region: nil) {
            try await target.createKmsKey(k)
            report.kmsKeys += 1
        }
        for a in accounts {
            for role in KeyRole.allCases {
                if let p = try await source.console.consolePassword(accountId: a.id, role: role) {
                    try await target.setConsolePassword(p)
                    report.passwords += 1
                }
            }
        }
        for a in accounts {
            let size = Int64(try await source.events.merkleRange(accountId: a.id).size)
            var copied = 0
            var index: Int64 = 0
            while index < size {
                let end = min(size, index + Int64(batch))
                let nodes = (index..<end).map { MerkleNode(level: 0, index: UInt64($0)) }
                let hashes = try await source.events.merkleSubtrees(accountId: a.id, nodes)
                let leaves = try nodes.map { n in
                    guard let h = hashes[n] else { throw ServerError("the log of account \(a.id) in the source lacks leaf \(n.index)") }
                    return h
                }
                let kept = try await source.events.events(accountId: a.id, afterSequence: index, limit: batch).filter { $0.sequence <= end }
                let events = try kept.map { (event: try auditEvent($0), sequence: $0.sequence) }
                _ = try await target.importLog(accountId: a.id, leaves: leaves, events: events)
                copied += events.count
                index = end
                progress("account \(a.id): \(index)/\(size) leaves, \(copied) events")
            }
            for c in try await source.events.checkpoints(accountId: a.id) {
                try await target.saveCheckpoint(c)
                report.checkpoints += 1
            }
            let sourceRoot = try await source.events.merkleRoot(accountId: a.id, size: size).hexString
            let targetSize = Int64(try await target.merkleRange(accountId: a.id).size)
            let targetRoot = targetSize == size ? try await target.merkleRoot(accountId: a.id, size: size).hexString : "size \(targetSize)"
            report.accounts.append(AccountCheck(accountId: a.id, size: size, events: copied, sourceRoot: sourceRoot, targetRoot: targetRoot))
        }
        for t in try await source.tracks.tracks(accountId: nil) {
            try await target.importTrack(t)
            report.tracks += 1
        }
        for s in try await source.tracks.deliveryStates(trackId: nil) {
            try await target.saveDeliveryState(s, expectedSequence: nil, notifications: [])
        }
        for n in try await source.outbox.queuedNotifications() {
            try await target.importNotification(n)
            report.notifications += 1
        }
        try await copyAlerts(accounts.map(\.id), from: source.alerts, to: target, &report)
        return report
    }

    /// Alert channels (their secrets still sealed), rules with their cursors and threshold state, fired
    /// alerts and the deliveries still queued.
    static func copyAlerts(_ accounts: [Int64], from source: any AlertStore, to target: PostgresStore, _ report: inout Report) async throws {
        for a in accounts {
            for c in try await source.alertChannels(accountId: a) {
                try await target.createAlertChannel(c, limit: .max)
                report.alertChannels += 1
            }
            for r in try await source.alertRules(accountId: a) {
                try await target.createAlertRule(r, limit: .max)
                report.alertRules += 1
            }
            let queued = try await source.queuedAlertDeliveries(accountId: a)
            var offset = 0
            while true {
                let page = try await source.alerts(accountId: a, from: .min, to: .max, ruleId: nil, severity: nil, offset: offset, limit: batch).alerts
                if page.isEmpty { break }
                let ids = Set(page.map(\.id))
                try await target.commitAlertEvaluation(accountId: a, progress: [], alerts: page, deliveries: queued.filter { ids.contains($0.alertId) })
                report.alerts += page.count
                offset += page.count
            }
        }
    }

    /// The stored event as the event it was appended as: its record read again (the record keeps its
    /// eventId and eventTime, so the bytes and postings come out the same).
    static func auditEvent(_ e: StoredEvent) throws -> AuditEvent {
        let parsed = try JSONParser.parse(e.record)
        let scope = AccountScope(accountId: e.accountId, retentionDays: 3650)
        switch EventRecordValidator.validate(parsed, source: e.record, now: e.eventTime, resolveAccount: { _ in .success(scope) }) {
        case .success(let event):
            guard event.record == e.record, event.eventId == e.eventId else {
                throw ServerError("event \(e.sequence) of account \(e.accountId) does not read back as stored")
            }
            return event
        case .failure(let why):
            throw ServerError("event \(e.sequence) of account \(e.accountId) cannot be read again: \(why.message)")
        }
    }
}
