import AuditModel

/// A tenant of the deployment.
public struct Account: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    /// nil: the deployment's default retention.
    public var retentionDays: Int?
    public var createdAt: Int64

    public init(id: Int64, name: String, retentionDays: Int?, createdAt: Int64) {
        self.id = id
        self.name = name
        self.retentionDays = retentionDays
        self.createdAt = createdAt
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
public protocol EventStore: Sendable {
    // Accounts
    func createAccount(name: String, retentionDays: Int?, id: Int64?) async throws -> Account
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
    public static func schemaTooNew(_ v: Int, _ known: Int) -> StoreError {
        .init("SchemaTooNew", "the database schema is version \(v) but this program knows only up to \(known); use a newer cloudaudit")
    }
}

public enum AccountIds {
    /// The default account of a deployment.
    public static let first: Int64 = 100_000_000_001
}
