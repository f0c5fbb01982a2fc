import AuditModel

/// Where one tracking set stands for one account: what `cloudaudit tracks status` prints and the
/// `cloudaudit_delivery_*` gauges export.
public struct DeliveryStatus: Sendable, Codable, Equatable {
    public var TrackId: Int64
    /// The account whose events these are (the set's own, or a member's).
    public var AccountId: Int64
    public var OwnerAccountId: Int64
    public var Name: String
    /// 1 delivering, 0 stopped.
    public var Status: Int
    public var Region: String
    public var Bucket: String
    public var Prefix: String
    public var DeliveredSequence: Int64
    /// Unix seconds of the last file (0: none yet).
    public var DeliveredAt: Int64
    /// Events appended after the cursor (matching or not).
    public var LagEvents: Int64
    /// Age of the oldest event after the cursor, by its eventTime (0 when none waits).
    public var LagSeconds: Int64
    public var LastError: String?
    public var LastErrorAt: Int64?
    public var Files: Int64
    public var Events: Int64
    public var PendingNotifications: Int
    /// When the digest period being accumulated began: when the set's previous digest for this account
    /// was written (nil before its first pass). Not in the JSON; the digest-age gauge reads it.
    public var DigestPeriodStart: Int64? = nil

    enum CodingKeys: String, CodingKey {
        case TrackId, AccountId, OwnerAccountId, Name, Status, Region, Bucket, Prefix, DeliveredSequence, DeliveredAt, LagEvents, LagSeconds,
             LastError, LastErrorAt, Files, Events, PendingNotifications
    }

    /// Like the synthesized encoder, but a missing error is written as `null` rather than left out.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(TrackId, forKey: .TrackId)
        try c.encode(AccountId, forKey: .AccountId)
        try c.encode(OwnerAccountId, forKey: .OwnerAccountId)
        try c.encode(Name, forKey: .Name)
        try c.encode(Status, forKey: .Status)
        try c.encode(Region, forKey: .Region)
        try c.encode(Bucket, forKey: .Bucket)
        try c.encode(Prefix, forKey: .Prefix)
        try c.encode(DeliveredSequence, forKey: .DeliveredSequence)
        try c.encode(DeliveredAt, forKey: .DeliveredAt)
        try c.encode(LagEvents, forKey: .LagEvents)
        try c.encode(LagSeconds, forKey: .LagSeconds)
        try c.encode(LastError, forKey: .LastError)
        try c.encode(LastErrorAt, forKey: .LastErrorAt)
        try c.encode(Files, forKey: .Files)
        try c.encode(Events, forKey: .Events)
        try c.encode(PendingNotifications, forKey: .PendingNotifications)
    }

    /// Every set's status (or one account's sets'), in TrackId then AccountId order.
    public static func collect(storage: Storage, ownerAccountId: Int64? = nil, now: Int64 = unixNow()) async throws -> [DeliveryStatus] {
        let tracks = Dictionary(uniqueKeysWithValues: try await storage.tracks.tracks(accountId: ownerAccountId).map { ($0.id, $0) })
        let pending = try await storage.outbox.pendingNotificationCounts()
        var out: [DeliveryStatus] = []
        for s in try await storage.tracks.deliveryStates(trackId: nil) {
            guard let t = tracks[s.trackId] else { continue }
            if s.accountId != t.accountId, !t.trackForAllMembers { continue }
            let last = try await storage.events.lastSequence(accountId: s.accountId)
            let lag = max(0, last - s.deliveredSequence)
            var lagSeconds: Int64 = 0
            if lag > 0, let oldest = try await storage.events.events(accountId: s.accountId, afterSequence: s.deliveredSequence, limit: 1).first {
                lagSeconds = max(0, now - oldest.eventTime)
            }
            out.append(DeliveryStatus(TrackId: t.id, AccountId: s.accountId, OwnerAccountId: t.accountId, Name: t.name, Status: t.enabled ? 1 : 0,
                                      Region: t.storage.region, Bucket: t.storage.bucket, Prefix: t.storage.prefix,
                                      DeliveredSequence: s.deliveredSequence, DeliveredAt: s.deliveredAt, LagEvents: lag, LagSeconds: lagSeconds,
                                      LastError: s.lastError, LastErrorAt: s.lastErrorAt, Files: s.files, Events: s.events,
                                      PendingNotifications: pending[t.id] ?? 0, DigestPeriodStart: s.digest?.startTime))
        }
        return out
    }
}
