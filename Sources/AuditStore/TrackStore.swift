import AuditIntegrity
import AuditModel
import Foundation

/// Where one tracking set stands in one account's log.
public struct DeliveryState: Sendable, Equatable {
    public var trackId: Int64
    /// The account whose events these are (the set's own, or a member's).
    public var accountId: Int64
    /// Every event up to this sequence has been delivered (or did not match).
    public var deliveredSequence: Int64
    /// When the last file landed (0: never).
    public var deliveredAt: Int64
    /// The file being written: its first sequence and key time, recorded before the upload so that a
    /// retry writes the same object.
    public var pendingFirstSequence: Int64?
    public var pendingKeyTime: Int64?
    public var lastError: String?
    public var lastErrorAt: Int64?
    public var files: Int64
    public var events: Int64
    /// The digest period being accumulated (nil until the set's first pass over this account).
    public var digest: DigestPeriod?

    public init(trackId: Int64, accountId: Int64, deliveredSequence: Int64, deliveredAt: Int64 = 0, pendingFirstSequence: Int64? = nil,
                pendingKeyTime: Int64? = nil, lastError: String? = nil, lastErrorAt: Int64? = nil, files: Int64 = 0, events: Int64 = 0,
                digest: DigestPeriod? = nil) {
        self.trackId = trackId
        self.accountId = accountId
        self.deliveredSequence = deliveredSequence
        self.deliveredAt = deliveredAt
        self.pendingFirstSequence = pendingFirstSequence
        self.pendingKeyTime = pendingKeyTime
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.files = files
        self.events = events
        self.digest = digest
    }
}

/// What a tracking set has delivered for one account since its last digest, saved with the cursor so
/// that a file and its digest entry are recorded together.
public struct DigestPeriod: Sendable, Equatable, Codable {
    /// The account's log size when the period began.
    public var startSize: Int64
    public var startTime: Int64
    public var files: [DeliveredFile]
    public var previousKey: String?
    public var previousSignature: String?
    /// The end time of the digest being written, saved before the upload so that a retry writes the same key.
    public var pendingEndTime: Int64?

    public init(startSize: Int64, startTime: Int64, files: [DeliveredFile] = [], previousKey: String? = nil, previousSignature: String? = nil,
                pendingEndTime: Int64? = nil) {
        self.startSize = startSize
        self.startTime = startTime
        self.files = files
        self.previousKey = previousKey
        self.previousSignature = previousSignature
        self.pendingEndTime = pendingEndTime
    }

    public func encode() throws -> [UInt8] { Array(try JSONEncoder().encode(self)) }
    public static func decode(_ bytes: [UInt8]) throws -> DigestPeriod { try JSONDecoder().decode(DigestPeriod.self, from: Data(bytes)) }
}

/// A delivered file as a digest lists it (`DigestFile.LogFile`), in a form the state can store.
public struct DeliveredFile: Sendable, Equatable, Codable {
    public var key: String
    public var sha256: String
    public var objectSHA256: String
    public var events: Int
    public var firstEventTime: Int64
    public var lastEventTime: Int64
    /// Inclusive runs of sequences, as [first, last] pairs.
    public var sequences: [[Int64]]

    public init(_ f: DigestFile.LogFile) {
        key = f.key
        sha256 = f.sha256.hexString
        objectSHA256 = f.objectSHA256.hexString
        events = f.events
        firstEventTime = f.firstEventTime
        lastEventTime = f.lastEventTime
        sequences = f.sequences.map { [$0.lowerBound, $0.upperBound] }
    }

    public var logFile: DigestFile.LogFile {
        DigestFile.LogFile(key: key, sha256: [UInt8](hex: sha256) ?? [], objectSHA256: [UInt8](hex: objectSHA256) ?? [], events: events,
                           firstEventTime: firstEventTime, lastEventTime: lastEventTime, sequences: sequences.map { $0[0]...$0[1] })
    }
}

/// A notification to queue with a cursor move.
public struct OutgoingNotification: Sendable, Equatable {
    public var channel: String
    public var body: [UInt8]
    public var messageId: String

    public init(channel: String, body: [UInt8], messageId: String) {
        self.channel = channel
        self.body = body
        self.messageId = messageId
    }
}

/// A notification waiting for its channel's acknowledgement.
public struct QueuedNotification: Sendable, Equatable {
    /// How long a notification handed out by `pendingNotifications` stays with its claimer.
    public static let claimSeconds: Int64 = 60

    /// When a claim made at `now` runs out (saturating: `now` may be any number a caller passes).
    public static func claimEnd(_ now: Int64) -> Int64 { min(now, Int64.max - claimSeconds) + claimSeconds }

    public var id: Int64
    public var trackId: Int64
    /// `<region>/<channel name>`.
    public var channel: String
    public var body: [UInt8]
    public var messageId: String
    public var attempts: Int

    public init(id: Int64, trackId: Int64, channel: String, body: [UInt8], messageId: String, attempts: Int) {
        self.id = id
        self.trackId = trackId
        self.channel = channel
        self.body = body
        self.messageId = messageId
        self.attempts = attempts
    }
}

/// Tracking sets and where each stands in each account's log.
///
/// Contract (checked by the conformance suite):
/// - `createTrack` refuses more than `quota` sets per account (`StoreError.Code.trackQuota`) and a
///   duplicate name (`.trackNameExists`), and starts the set's cursors at each covered account's last
///   sequence, so that it never delivers earlier events.
/// - `saveDeliveryState` with an `expectedSequence` saves only if the stored cursor still equals it
///   (else `.cursorMoved`), together with the notifications to queue, in one transaction: this is what
///   keeps two writers (two nodes) from delivering the same events twice.
public protocol TrackStore: Sendable {
    /// Stores a new set (assigning `id`, `createdAt`).
    func createTrack(_ track: Track, quota: Int) async throws -> Track
    func track(id: Int64) async throws -> Track?
    func track(accountId: Int64, name: String) async throws -> Track?
    /// The account's sets, or every set when nil, in id order.
    func tracks(accountId: Int64?) async throws -> [Track]
    /// Replaces a set's definition (the name and account stay); cursors of accounts it newly covers
    /// start at their last sequence. Returns false when the set does not exist.
    func updateTrack(_ track: Track) async throws -> Bool
    /// Deletes the set, its cursors and queued notifications. Returns false when it did not exist.
    func deleteTrack(id: Int64) async throws -> Bool

    func deliveryStates(trackId: Int64?) async throws -> [DeliveryState]
    func saveDeliveryState(_ state: DeliveryState, expectedSequence: Int64?, notifications: [OutgoingNotification]) async throws
}

/// Notifications queued with delivery-state moves (`TrackStore.saveDeliveryState`), until their channel
/// acknowledges them.
public protocol NotificationOutbox: Sendable {
    /// Queued notifications whose next attempt is due by `now`, oldest first, at most `limit`, claimed:
    /// none is returned again (to this caller or another node) before `now + QueuedNotification.claimSeconds`,
    /// unless it is postponed; a claimer that dies leaves it to be claimed again after that.
    func pendingNotifications(dueBy now: Int64, limit: Int) async throws -> [QueuedNotification]
    /// Removes an acknowledged notification.
    func acknowledgeNotification(id: Int64) async throws
    /// Records a failed attempt and when to try again.
    func postponeNotification(id: Int64, until: Int64, error: String) async throws
    /// Queued notifications per tracking set.
    func pendingNotificationCounts() async throws -> [Int64: Int]
    /// Every queued notification, oldest first, claimed or not (`store copy` carries them over).
    func queuedNotifications() async throws -> [QueuedNotification]
}
