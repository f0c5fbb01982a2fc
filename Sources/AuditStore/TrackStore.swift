import AuditModel

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

    public init(trackId: Int64, accountId: Int64, deliveredSequence: Int64, deliveredAt: Int64 = 0, pendingFirstSequence: Int64? = nil,
                pendingKeyTime: Int64? = nil, lastError: String? = nil, lastErrorAt: Int64? = nil, files: Int64 = 0, events: Int64 = 0) {
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
