import AuditIntegrity
import AuditModel
import AuditObjectStorage
import AuditStore
import Foundation
import Logging
import ServiceLifecycle

/// Ships each enabled tracking set's matching events to its bucket, in sequence order, from a durable
/// cursor per (set, account), and sends the file notifications queued with each cursor move.
///
/// A file holds the matching events after the cursor, up to `maxEventsPerFile`; it is written when
/// that many are waiting or when `interval` has passed since the set's last file for that account.
/// Before the upload the file's first sequence and key time are saved, so a retry after a crash or an
/// outage writes the same key with the same first event: an object is overwritten, never duplicated.
public final class DeliveryService: Service, Sendable {
    public struct Configuration: Sendable {
        public var interval: Duration = .seconds(60)
        public var maxEventsPerFile = 10_000
        /// How often the service looks for work (at most `interval`).
        public var tick: Duration = .milliseconds(500)
        /// Events read per store query while scanning for matches.
        public var scanBatch = 5_000
        public var gzipLevel = 6
        public var maxBackoff: Int64 = 60
        /// Each (set, account) writes a signed digest at most this often (docs/integrity.md, "Digest files").
        public var digestInterval: Duration = .seconds(3600)

        public init() {}
    }

    let storage: Storage
    let regions: RegionRegistry
    let configuration: Configuration
    let webhooks: WebhookSender
    let logger: Logger
    let clock: @Sendable () -> Int64
    let metrics: DeliveryMetrics
    /// Signs digests (nil: no digests, for tools that only move files).
    let checkpointer: Checkpointer?
    /// Seals the files of sets that ask for encryption.
    let vault: KeyVault?

    /// - Parameter webhooks: the notification sender; nil: the default one, logging to `logger`.
    public init(storage: Storage, regions: RegionRegistry, configuration: Configuration, webhooks: WebhookSender? = nil,
                checkpointer: Checkpointer? = nil, vault: KeyVault? = nil, logger: Logger, clock: @escaping @Sendable () -> Int64 = unixNow) {
        self.storage = storage
        self.checkpointer = checkpointer
        self.vault = vault
        self.regions = regions
        self.configuration = configuration
        self.webhooks = webhooks ?? WebhookSender(logger: logger)
        self.logger = logger
        self.clock = clock
        self.metrics = DeliveryMetrics()
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.deliveryLoop() }
            group.addTask { await self.notificationLoop() }
        }
    }

    /// Sleeps `d`, waking early on graceful shutdown; false when shutting down.
    func pause(_ d: Duration) async -> Bool {
        var left = d
        while left > .zero {
            if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            let step = min(left, .milliseconds(200))
            try? await Task.sleep(for: step)
            left -= step
        }
        return !(Task.isShuttingDownGracefully || Task.isCancelled)
    }

    // MARK: Delivery

    /// Delivers everything waiting now, whatever the interval: for tools, benchmarks and tests.
    public func deliverPending() async throws {
        var schedule = Schedule()
        try await pass(&schedule, finalPass: true)
    }

    /// Per (set, account): when its last file was written and when it may next try after an error.
    struct Schedule {
        var lastFlush: [Key: Int64] = [:]
        var retryAt: [Key: Int64] = [:]
        var failures: [Key: Int] = [:]
        /// The last sequence seen by a scan that found less than a full file before the set was due:
        /// until a full file's worth of events is appended after it, there is no need to scan again.
        var partialScanAt: [Key: Int64] = [:]
    }

    struct Key: Hashable {
        var track: Int64
        var account: Int64
    }

    func deliveryLoop() async {
        var schedule = Schedule()
        let tick = min(configuration.tick, configuration.interval)
        var published: Int64 = 0
        repeat {
            do {
                try await pass(&schedule)
                if clock() - published >= 5 {
                    published = clock()
                    metrics.publish(try await DeliveryStatus.collect(storage: storage, now: published), now: published)
                }
            } catch {
                logger.error("delivery pass failed", metadata: ["error.message": "\(error)"])
            }
        } while await pause(tick)
        // One last pass so that files that were due are not left for the next start.
        try? await pass(&schedule, finalPass: true)
    }

    /// Visits every enabled set once; writes the files that are due.
    func pass(_ schedule: inout Schedule, finalPass: Bool = false) async throws {
        let tracks = try await storage.tracks.tracks(accountId: nil)
        let states = Dictionary(grouping: try await storage.tracks.deliveryStates(trackId: nil), by: \.trackId)
        for track in tracks {
            if Task.isCancelled { return }
            // The store keeps a cursor for every account a set covers (members too, from when they join).
            var own = states[track.id] ?? []
            if !track.trackForAllMembers { own.removeAll { $0.accountId != track.accountId } }
            // One node delivers a set at a time (the others skip it while its lease runs); the store refuses
            // the cursor moves of a node that lost the lease while it worked (Lease.current).
            guard !own.isEmpty, let lease = try await storage.leases.claim("track:\(track.id)", now: clock()) else { continue }
            await Lease.$current.withValue(lease) {
                for state in own {
                    if Task.isCancelled { return }
                    let key = Key(track: track.id, account: state.accountId)
                    let now = clock()
                    if let at = schedule.retryAt[key], at > now { continue }
                    do {
                        if track.enabled {
                            let delivered = try await deliver(track, state, key: key, schedule: &schedule, force: finalPass)
                            try await digestIfDue(track, delivered, force: finalPass)
                        } else {
                            // A stopped set closes its period at once, so its last files are covered.
                            try await digestIfDue(track, state, force: true)
                        }
                        schedule.failures[key] = nil
                        schedule.retryAt[key] = nil
                    } catch let e as StoreError where e.code == .leaseLost {
                        // Another node took the set over while this one worked: its work now, not a failure.
                        logger.info("tracking set taken over by another node", metadata: ["delivery.track": "\(track.id)", "error.message": "\(e.message)"])
                        return
                    } catch {
                        await recordFailure(track, key: key, error: error, schedule: &schedule)
                    }
                }
            }
        }
    }

    /// Writes the files of one (set, account) that are due; returns where the set then stands.
    @discardableResult
    func deliver(_ initialTrack: Track, _ initial: DeliveryState, key: Key, schedule: inout Schedule, force: Bool) async throws -> DeliveryState {
        var state = initial
        var track = initialTrack
        let interval = Int64(configuration.interval.components.seconds)
        // The first digest period starts where the cursor is; it is saved with the next cursor move.
        if state.digest == nil, checkpointer != nil {
            state.digest = DigestPeriod(startSize: state.deliveredSequence, startTime: clock())
            try await storage.tracks.saveDeliveryState(state, expectedSequence: state.deliveredSequence, notifications: [])
        }
        while true {
            let now = clock()
            let due = force || now - schedule.lastFlush[key, default: 0] >= interval
            let last = try await storage.events.lastSequence(accountId: state.accountId)
            if last <= state.deliveredSequence { return state }
            // Not due: only a full file may go now, which needs at least that many new events.
            let scannedFrom = max(state.deliveredSequence, schedule.partialScanAt[key] ?? 0)
            if !due, last - scannedFrom < Int64(configuration.maxEventsPerFile) { return state }
            let batch = try await collect(track, accountId: state.accountId, after: state.deliveredSequence)
            // The definition read after the events: a change acknowledged before they were appended is
            // in it, so they are filtered, stored and announced as the set was when they arrived.
            guard let current = try await storage.tracks.track(id: track.id), current.enabled,
                  current.trackForAllMembers || state.accountId == current.accountId else { return state }
            if current != track {
                track = current
                continue
            }
            if batch.events.isEmpty {
                // Nothing matched: move past what was scanned without a file.
                let expected = state.deliveredSequence
                state.deliveredSequence = batch.scannedTo
                state.pendingFirstSequence = nil
                state.pendingKeyTime = nil
                try await storage.tracks.saveDeliveryState(state, expectedSequence: expected, notifications: [])
                continue
            }
            let full = batch.events.count >= configuration.maxEventsPerFile
            guard full || due else {
                schedule.partialScanAt[key] = last
                return state
            }
            schedule.partialScanAt[key] = nil
            state = try await write(track, state, batch)
            schedule.lastFlush[key] = clock()
            if !full { return state }
        }
    }

    struct Batch {
        var events: [StoredEvent]
        /// The last sequence examined: the cursor once these events are delivered.
        var scannedTo: Int64
    }

    /// The matching events after `after`, up to a full file, and how far the scan went.
    func collect(_ track: Track, accountId: Int64, after: Int64) async throws -> Batch {
        let matchAll = track.filters.contains { $0.actionType == "*" && $0.resourceType == "*" && $0.eventNames == ["*"] }
        var out: [StoredEvent] = []
        var cursor = after
        while out.count < configuration.maxEventsPerFile {
            let page = try await storage.events.events(accountId: accountId, afterSequence: cursor, limit: configuration.scanBatch)
            if page.isEmpty { break }
            for e in page {
                cursor = e.sequence
                if matchAll || matches(track, e.record) {
                    out.append(e)
                    if out.count == configuration.maxEventsPerFile { return Batch(events: out, scannedTo: cursor) }
                }
            }
            if page.count < configuration.scanBatch { break }
        }
        return Batch(events: out, scannedTo: cursor)
    }

    static let filterKeys = ["actionType", "resourceType", "eventName"].map { Array($0.utf8) }

    /// Whether a stored record matches the set's filters (reads only the three fields they test).
    func matches(_ track: Track, _ record: [UInt8]) -> Bool {
        let f = JSONFieldScanner.strings(record, keys: Self.filterKeys)
        return track.matches(actionType: f[0] ?? "", resourceType: f[1] ?? "", eventName: f[2] ?? "")
    }

    /// Uploads one file and moves the cursor past it, queueing its notifications in the same step.
    func write(_ track: Track, _ initial: DeliveryState, _ batch: Batch) async throws -> DeliveryState {
        var state = initial
        guard let region = regions.region(track.storage.region) else {
            throw DeliveryError("region \(track.storage.region) is no longer configured")
        }
        let first = batch.events[0].sequence
        if state.pendingFirstSequence != first || state.pendingKeyTime == nil {
            // Record the file's identity before writing it, so a retry writes the same key.
            state.pendingFirstSequence = first
            state.pendingKeyTime = clock()
            try await storage.tracks.saveDeliveryState(state, expectedSequence: initial.deliveredSequence, notifications: [])
        }
        var file = DeliveryFile.build(track: track, accountId: state.accountId, keyTime: state.pendingKeyTime!, events: batch.events,
                                      gzipLevel: configuration.gzipLevel)
        if track.legacy.kmsEncrypt {
            // Never plaintext for a set that asked for encryption: without its key the cursor waits.
            guard let vault else { throw DeliveryError("the set asks for KMS encryption but this server has no key store") }
            try await file.encrypt(with: vault, keyId: track.legacy.keyId, accountId: state.accountId)
        }
        let started = ContinuousClock.now
        try await region.store.put(bucket: track.storage.bucket, key: file.key, body: file.body, contentType: file.contentType)
        let now = clock()
        let expected = state.deliveredSequence
        state.deliveredSequence = batch.scannedTo
        state.deliveredAt = now
        state.pendingFirstSequence = nil
        state.pendingKeyTime = nil
        state.lastError = nil
        state.lastErrorAt = nil
        state.files += 1
        state.events += Int64(file.eventCount)
        state.digest?.files.append(DeliveredFile(file.entry))
        try await storage.tracks.saveDeliveryState(state, expectedSequence: expected, notifications: notifications(for: file, track: track, accountId: state.accountId))
        metrics.delivered(track: track.id, account: state.accountId, events: file.eventCount, bytes: file.body.count)
        logger.debug("delivered", metadata: ["audit.track": "\(track.id)", "audit.account": "\(state.accountId)", "audit.object_key": "\(file.key)",
                                             "audit.events": "\(file.eventCount)", "delivery.elapsed": "\(ContinuousClock.now - started)"])
        return state
    }

    /// One message per channel of the storage region, plus a legacy audit's own queue.
    func notifications(for file: DeliveryFile, track: Track, accountId: Int64) -> [OutgoingNotification] {
        var channels = regions.region(track.storage.region)?.channels.map { "\(track.storage.region)/\($0.name)" } ?? []
        if track.legacy.cmqNotify {
            let own = "\(track.legacy.cmqRegion)/\(track.legacy.cmqQueueName)"
            if !channels.contains(own) { channels.append(own) }
        }
        guard !channels.isEmpty else { return [] }
        let messageId = "\(track.id)-\(accountId)-\(file.firstSequence)"
        let body = JSONWriter.encode(.obj([
            ("bucket", .string(track.storage.bucket)), ("objectKeys", .array([.string(file.key)])), ("trackId", .int(track.id)),
            ("accountId", .int(accountId)), ("messageId", .string(messageId)),
        ]))
        return channels.map { OutgoingNotification(channel: $0, body: body, messageId: messageId) }
    }

    // MARK: Digests

    /// Writes the (set, account)'s digest when its period is due: after `digestInterval`, or at once
    /// when `force`d (stopped set, shutdown) and the period covers anything.
    func digestIfDue(_ track: Track, _ state: DeliveryState, force: Bool) async throws {
        guard checkpointer != nil, let period = state.digest else { return }
        // A digest whose upload failed is retried first; an enabled set writes one per interval, even for
        // an empty period (so that a missing digest shows as a gap); a forced one only if it covers events.
        let retry = period.pendingEndTime != nil
        let intervalOver = clock() - period.startTime >= Int64(configuration.digestInterval.components.seconds)
        let covers = !period.files.isEmpty || period.startSize < state.deliveredSequence
        if retry || (track.enabled && intervalOver) || (force && covers) { try await writeDigest(track, state) }
    }

    /// Signs and uploads the digest of the current period, then starts the next one, chained to it.
    func writeDigest(_ track: Track, _ initial: DeliveryState) async throws {
        guard let checkpointer, var period = initial.digest else { return }
        var state = initial
        guard let region = regions.region(track.storage.region) else {
            throw DeliveryError("region \(track.storage.region) is no longer configured")
        }
        if period.pendingEndTime == nil {
            // Recorded before the upload, so that a retry writes the same key. Keys have one-second
            // resolution: a digest never ends in the second its predecessor ended, or it would take its key.
            period.pendingEndTime = max(clock(), period.startTime + 1)
            state.digest = period
            try await storage.tracks.saveDeliveryState(state, expectedSequence: state.deliveredSequence, notifications: [])
        }
        let end = period.pendingEndTime!
        let account = state.accountId
        let endSize = state.deliveredSequence
        let treeStart = try await storage.events.merkleRange(accountId: account, size: period.startSize)
        let checkpoint = try await checkpointer.checkpoint(accountId: account, size: endSize)
        let digest = DigestFile(accountId: account, trackId: track.id, startTime: period.startTime, endTime: end, previousKey: period.previousKey,
                                previousSignature: period.previousSignature, treeStart: treeStart, checkpoint: checkpoint.note,
                                files: period.files.map(\.logFile),
                                skipped: try await skipped(period, accountId: account, endSize: endSize), signingKey: checkpointer.key.publicKey.verifierKey)
        let (bytes, signature) = try digest.signed(with: checkpointer.key)
        let key = DigestFile.key(prefix: track.storage.prefix, accountId: account, trackId: track.id, endTime: end)
        try await region.store.put(bucket: track.storage.bucket, key: key, body: bytes, contentType: "application/json")
        state.digest = DigestPeriod(startSize: endSize, startTime: end, previousKey: key, previousSignature: signature)
        try await storage.tracks.saveDeliveryState(state, expectedSequence: state.deliveredSequence, notifications: [])
        logger.debug("digest", metadata: ["audit.track": "\(track.id)", "audit.account": "\(account)", "audit.object_key": "\(key)", "audit.files": "\(digest.files.count)"])
    }

    /// The period's sequences that no file holds, with their leaves as subtree hashes.
    func skipped(_ period: DigestPeriod, accountId: Int64, endSize: Int64) async throws -> [DigestFile.Skipped] {
        var gaps: [ClosedRange<Int64>] = []
        var next = period.startSize + 1
        for run in period.files.flatMap(\.sequences).sorted(by: { $0[0] < $1[0] }) {
            if run[0] > next { gaps.append(next...run[0] - 1) }
            next = max(next, run[1] + 1)
        }
        if next <= endSize { gaps.append(next...endSize) }
        let ranges = gaps.map { UInt64($0.lowerBound - 1)..<UInt64($0.upperBound) }
        let hashes = try await storage.events.merkleSubtrees(accountId: accountId, ranges.flatMap { MerkleNode.decompose($0) })
        return zip(gaps, ranges).map { gap, range in
            DigestFile.Skipped(from: gap.lowerBound, to: gap.upperBound, subtrees: MerkleNode.decompose(range).map { hashes[$0] ?? [] })
        }
    }

    func recordFailure(_ track: Track, key: Key, error: Error, schedule: inout Schedule) async {
        let n = schedule.failures[key, default: 0] + 1
        schedule.failures[key] = n
        let delay = min(configuration.maxBackoff, Int64(1) << min(n - 1, 6))
        let now = clock()
        schedule.retryAt[key] = now + delay
        let message = Self.describe(error, track: track)
        metrics.failed(track: track.id, account: key.account)
        logger.warning("delivery failed; will retry", metadata: ["audit.track": "\(track.id)", "audit.account": "\(key.account)", "error.message": "\(message)",
                                                                  "delivery.retry_in": "\(delay)s"])
        do {
            guard var s = try await storage.tracks.deliveryStates(trackId: track.id).first(where: { $0.accountId == key.account }) else { return }
            s.lastError = message
            s.lastErrorAt = now
            try await storage.tracks.saveDeliveryState(s, expectedSequence: s.deliveredSequence, notifications: [])
        } catch {
            logger.error("could not record a delivery error", metadata: ["error.message": "\(error)"])
        }
    }

    static func describe(_ error: Error, track: Track) -> String {
        if let e = error as? ObjectStoreError {
            switch e.kind {
            case .noSuchBucket: return "bucket \(track.storage.bucket) does not exist in region \(track.storage.region)"
            default: return e.message
            }
        }
        if let e = error as? DeliveryError { return e.message }
        if let e = error as? KmsError { return e.description }
        if let e = error as? EnvelopeError { return e.description }
        return "internal error: \(error)"
    }

    // MARK: Notifications

    func notificationLoop() async {
        repeat {
            do {
                try await sendDue()
            } catch {
                logger.error("notification pass failed", metadata: ["error.message": "\(error)"])
            }
        } while await pause(.milliseconds(500))
    }

    func sendDue() async throws {
        let now = clock()
        for n in try await storage.outbox.pendingNotifications(dueBy: now, limit: 100) {
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            let retry = now + min(configuration.maxBackoff, Int64(1) << min(n.attempts, 6))
            guard let channel = regions.channel(n.channel) else {
                try await storage.outbox.postponeNotification(id: n.id, until: now + configuration.maxBackoff, error: "channel \(n.channel) is not configured")
                continue
            }
            do {
                if try await webhooks.send(url: channel.url, secret: channel.secret, body: n.body, messageId: n.messageId) {
                    try await storage.outbox.acknowledgeNotification(id: n.id)
                    metrics.notified(channel: n.channel)
                } else {
                    try await storage.outbox.postponeNotification(id: n.id, until: retry, error: "not acknowledged")
                }
            } catch {
                logger.warning("notification failed; will retry", metadata: ["webhook.channel": "\(n.channel)", "error.message": "\(error)"])
                try await storage.outbox.postponeNotification(id: n.id, until: retry, error: "\(error)")
            }
        }
    }
}

public struct DeliveryError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
