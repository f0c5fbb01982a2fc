import AuditModel

/// A tenant of the deployment.
public struct Account: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    /// nil: the deployment's default retention.
    public var retentionDays: Int?
    public var createdAt: Int64
    /// The organization's management account this account belongs to, if any.
    public var memberOf: Int64?

    public init(id: Int64, name: String, retentionDays: Int?, createdAt: Int64, memberOf: Int64? = nil) {
        self.id = id
        self.name = name
        self.retentionDays = retentionDays
        self.createdAt = createdAt
        self.memberOf = memberOf
    }
}

public enum KeyRole: String, Sendable, Codable, CaseIterable {
    case admin, auditor, ingest, service
}

public enum KeyStatus: String, Sendable, Codable {
    case enabled, disabled
}

/// An access key as stored: the SecretKey only sealed (see `SecretSealer`).
public struct StoredAccessKey: Sendable, Equatable {
    public var secretId: String
    public var accountId: Int64
    public var role: KeyRole
    public var sealedSecret: [UInt8]
    public var status: KeyStatus
    public var createdAt: Int64

    public init(secretId: String, accountId: Int64, role: KeyRole, sealedSecret: [UInt8], status: KeyStatus, createdAt: Int64) {
        self.secretId = secretId
        self.accountId = accountId
        self.role = role
        self.sealedSecret = sealedSecret
        self.status = status
        self.createdAt = createdAt
    }
}

/// Where a page ended: events are ordered by (eventTime, position) descending, and a page continues
/// strictly after this point. Positions are assigned by the store in insertion order.
public struct PagePosition: Sendable, Equatable, Hashable, Comparable {
    public var eventTime: Int64
    public var position: Int64

    public init(eventTime: Int64, position: Int64) {
        self.eventTime = eventTime
        self.position = position
    }

    /// Newest first: a position "comes before" another when it is newer.
    public static func < (a: PagePosition, b: PagePosition) -> Bool {
        a.eventTime != b.eventTime ? a.eventTime > b.eventTime : a.position > b.position
    }
}

public struct EventQuery: Sendable, Equatable {
    public var accountId: Int64
    /// Inclusive bounds, Unix seconds.
    public var startTime: Int64
    public var endTime: Int64
    /// ANDed; the values within one condition are ORed.
    public var conditions: [LookupCondition]
    /// Continue strictly after this position (nil: from the newest).
    public var after: PagePosition?
    public var limit: Int
    public var includeTotalCount: Bool

    public init(accountId: Int64, startTime: Int64, endTime: Int64, conditions: [LookupCondition] = [], after: PagePosition? = nil,
                limit: Int, includeTotalCount: Bool = true) {
        self.accountId = accountId
        self.startTime = startTime
        self.endTime = endTime
        self.conditions = conditions
        self.after = after
        self.limit = limit
        self.includeTotalCount = includeTotalCount
    }
}

extension EventQuery {
    /// The query with its bounds inside the times an event can have (`UTCTime.representable`): the same
    /// answer, and a store's arithmetic on the bounds (`end + 1`, day and hour numbers) cannot overflow
    /// whatever numbers a caller put in. The API refuses far-off times before a query gets here.
    public var clampedToRepresentableTimes: EventQuery {
        var q = self
        q.startTime = UTCTime.clamped(startTime)
        q.endTime = UTCTime.clamped(endTime)
        return q
    }
}

public struct StoredEvent: Sendable, Equatable {
    public var accountId: Int64
    /// The account's sequence number: 1, 2, 3... in append order.
    public var sequence: Int64
    public var eventId: String
    public var eventTime: Int64
    public var position: Int64
    public var record: [UInt8]

    public init(accountId: Int64, sequence: Int64, eventId: String, eventTime: Int64, position: Int64, record: [UInt8]) {
        self.accountId = accountId
        self.sequence = sequence
        self.eventId = eventId
        self.eventTime = eventTime
        self.position = position
        self.record = record
    }

    public var pagePosition: PagePosition { PagePosition(eventTime: eventTime, position: position) }
}

public struct EventPage: Sendable {
    /// Newest first.
    public var events: [StoredEvent]
    /// True when no event matches after the last one returned.
    public var listOver: Bool
    /// The number of events matching the query over its whole time range (nil if not asked).
    public var totalCount: Int?

    public init(events: [StoredEvent], listOver: Bool, totalCount: Int?) {
        self.events = events
        self.listOver = listOver
        self.totalCount = totalCount
    }
}

/// What happened to one event of an append.
public enum AppendOutcome: Sendable, Equatable {
    /// Stored now, with the account's sequence number.
    case stored(sequence: Int64)
    /// An event with the same (account, eventId) was already stored; nothing was written.
    case duplicate(sequence: Int64)
}

/// The storage of accounts, keys and events.
///
/// Every backend passes the same conformance suite (`AuditStoreConformance`). Contract:
/// - `append` returns only after the events are durable and visible to `lookup`; events of one call
///   are stored atomically (all or none); an (account, eventId) already present is not written again.
/// - Each account's sequence numbers are 1, 2, 3... without gaps, in append order.
/// - `lookup` never returns another account's events.
public protocol EventStore: MerkleLogStore, KmsKeyStore, ConsoleStore, Sendable {
    // Accounts
    /// Creates an account (or returns the existing one with `id`). `memberOf` must name an existing
    /// account that is not itself a member; the new member gets a cursor at 0 in each of that
    /// account's sets with TrackForAllMembers (all its events are newer than those sets).
    func createAccount(name: String, retentionDays: Int?, id: Int64?, memberOf: Int64?) async throws -> Account
    func account(id: Int64) async throws -> Account?
    func listAccounts() async throws -> [Account]

    // Keys
    func createKey(_ key: StoredAccessKey) async throws
    func key(secretId: String) async throws -> StoredAccessKey?
    func listKeys(accountId: Int64?) async throws -> [StoredAccessKey]
    /// Returns false when no such key exists.
    func setKeyStatus(secretId: String, status: KeyStatus) async throws -> Bool

    // Events
    func append(_ events: [AuditEvent]) async throws -> [AppendOutcome]
    func lookup(_ query: EventQuery) async throws -> EventPage
    /// Drops the account's events with eventTime < `cutoff`; returns how many.
    func deleteEvents(accountId: Int64, olderThan cutoff: Int64) async throws -> Int

    // Server-side page cursors (for clients whose NextToken is an integer)
    func saveCursor(token: Int64, accountId: Int64, payload: [UInt8], expiresAt: Int64) async throws
    func cursor(token: Int64, accountId: Int64, now: Int64) async throws -> [UInt8]?
    func deleteExpiredCursors(now: Int64) async throws

    // Events in sequence order (delivery)
    /// The account's events with sequence > `afterSequence`, ascending, at most `limit`.
    func events(accountId: Int64, afterSequence: Int64, limit: Int) async throws -> [StoredEvent]
    /// The account's last assigned sequence number (0 when it has none).
    func lastSequence(accountId: Int64) async throws -> Int64

    // Tracking sets and their delivery state: see `TrackStore.swift`.
    /// Stores a new set (assigning `id`, `createdAt`), refusing more than `quota` per account or a
    /// duplicate name, and starts its cursors at each covered account's last sequence, so it never
    /// delivers earlier events.
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
    /// Saves a cursor: when `expectedSequence` is given, only if the stored cursor still equals it
    /// (else `StoreError.cursorMoved`), together with the notifications to queue, in one transaction.
    func saveDeliveryState(_ state: DeliveryState, expectedSequence: Int64?, notifications: [OutgoingNotification]) async throws
    func pendingNotifications(dueBy now: Int64, limit: Int) async throws -> [QueuedNotification]
    /// Removes an acknowledged notification.
    func acknowledgeNotification(id: Int64) async throws
    /// Records a failed attempt and when to try again.
    func postponeNotification(id: Int64, until: Int64, error: String) async throws
    func pendingNotificationCounts() async throws -> [Int64: Int]

    /// A random secret generated when the store was created, for keyed hashing of cursors.
    func deploymentSecret() async throws -> [UInt8]

    func close() async throws
}

public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func accountNotFound(_ id: Int64) -> StoreError { .init("AccountNotFound", "account \(id) does not exist") }
    public static func keyExists(_ id: String) -> StoreError { .init("KeyExists", "access key \(id) already exists") }
    /// The codes callers tell apart.
    public enum Codes {
        public static let trackQuota = "TrackQuota"
        public static let trackNameExists = "TrackNameExists"
    }

    public static func trackQuota(_ quota: Int) -> StoreError { .init(Codes.trackQuota, "the account already has \(quota) tracking sets, its quota") }
    public static func trackNameExists(_ name: String) -> StoreError { .init(Codes.trackNameExists, "a tracking set named \(name) already exists") }
    public static let cursorMoved = StoreError("CursorMoved", "the delivery cursor was moved by another writer")
    public static func schemaTooNew(_ v: Int, _ known: Int) -> StoreError {
        .init("SchemaTooNew", "the database schema is version \(v) but this program knows only up to \(known); use a newer cloudaudit")
    }
}

public enum AccountIds {
    /// The default account of a deployment.
    public static let first: Int64 = 100_000_000_001
}

extension EventStore {
    public func createAccount(name: String, retentionDays: Int?, id: Int64?) async throws -> Account {
        try await createAccount(name: name, retentionDays: retentionDays, id: id, memberOf: nil)
    }

    /// The accounts whose `memberOf` is `accountId`.
    public func members(of accountId: Int64) async throws -> [Account] {
        try await listAccounts().filter { $0.memberOf == accountId }
    }
}

public enum AccountRules {
    /// An account may join `parent` as a member only when `parent` exists and is not a member itself.
    public static func checkManagement(_ parent: Account?, id: Int64) throws {
        guard let parent else { throw StoreError.accountNotFound(id) }
        if let grand = parent.memberOf {
            throw StoreError("MemberOfMember", "account \(id) is itself a member of \(grand); members must join a management account")
        }
    }
}
