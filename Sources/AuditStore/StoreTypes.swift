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
    /// Events that match every one of these conditions (as `conditions` would match them) are left out
    /// of the page and the counts. Empty: nothing is left out. (The console hides CloudAudit's own
    /// reads with `eventSource = cloudaudit.api` and `actionType = Read`.)
    public var excluding: [LookupCondition]
    /// Only the account's events with a sequence number at most this (those stored when it was read
    /// with `lastSequence`): two queries with the same bound list and count the same events, whatever
    /// was appended in between. Nil: every stored event.
    public var throughSequence: Int64?
    /// Continue strictly after this position (nil: from the newest).
    public var after: PagePosition?
    public var limit: Int
    public var includeTotalCount: Bool

    public init(accountId: Int64, startTime: Int64, endTime: Int64, conditions: [LookupCondition] = [], excluding: [LookupCondition] = [],
                throughSequence: Int64? = nil, after: PagePosition? = nil, limit: Int, includeTotalCount: Bool = true) {
        self.accountId = accountId
        self.startTime = startTime
        self.endTime = endTime
        self.conditions = conditions
        self.excluding = excluding
        self.throughSequence = throughSequence
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

public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, as a value callers compare (never by its text). A struct over a private enum, so
    /// that a backend's new code is one more static member and no caller's `switch` breaks.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable {
            case accountNotFound = "AccountNotFound", memberOfMember = "MemberOfMember", keyExists = "KeyExists", accountNameExists = "AccountNameExists"
            case trackQuota = "TrackQuota", trackNameExists = "TrackNameExists", cursorMoved = "CursorMoved"
            case kmsKeyExists = "KmsKeyExists", kmsAliasExists = "KmsAliasExists"
            case merkleNodeMissing = "MerkleNodeMissing", merkleLogMismatch = "MerkleLogMismatch", schemaTooNew = "SchemaTooNew"
            case unavailable = "Unavailable", leaseLost = "LeaseLost"
            case alertNameExists = "AlertNameExists", alertQuota = "AlertQuota"
        }

        let base: Base

        public static let accountNotFound = Code(base: .accountNotFound)
        /// An account may join only a management account, not a member.
        public static let memberOfMember = Code(base: .memberOfMember)
        public static let keyExists = Code(base: .keyExists)
        /// Another account has the name (compared by ``AccountRules/nameKey(_:)``).
        public static let accountNameExists = Code(base: .accountNameExists)
        public static let trackQuota = Code(base: .trackQuota)
        public static let trackNameExists = Code(base: .trackNameExists)
        /// A delivery cursor was saved with an `expectedSequence` another writer had already moved.
        public static let cursorMoved = Code(base: .cursorMoved)
        public static let kmsKeyExists = Code(base: .kmsKeyExists)
        public static let kmsAliasExists = Code(base: .kmsAliasExists)
        /// A Merkle subtree asked for lies outside the stored log.
        public static let merkleNodeMissing = Code(base: .merkleNodeMissing)
        /// The stored log and the event sequences disagree: the store is damaged.
        public static let merkleLogMismatch = Code(base: .merkleLogMismatch)
        /// The store was written by a newer cloudaudit.
        public static let schemaTooNew = Code(base: .schemaTooNew)
        /// The store could not be reached (a server restarting, a network cut): the operation may be
        /// retried. An append that fails so may or may not have been committed; retrying it is safe,
        /// since events are idempotent by eventId.
        public static let unavailable = Code(base: .unavailable)
        /// A write made under a lease (`Lease.current`) that has since passed to another node: refused,
        /// so that two nodes never both record the same shared work.
        public static let leaseLost = Code(base: .leaseLost)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func accountNotFound(_ id: Int64) -> StoreError { .init(.accountNotFound, "account \(id) does not exist") }
    public static func accountNameExists(_ holder: Account) -> StoreError {
        .init(.accountNameExists, "account \(holder.id) is already named \"\(TextClip.scalars(holder.name, 128, printable: true))\"")
    }
    public static func keyExists(_ id: String) -> StoreError { .init(.keyExists, "access key \(id) already exists") }
    public static func trackQuota(_ quota: Int) -> StoreError { .init(.trackQuota, "the account already has \(quota) tracking sets, its quota") }
    public static func trackNameExists(_ name: String) -> StoreError { .init(.trackNameExists, "a tracking set named \(name) already exists") }
    public static let cursorMoved = StoreError(.cursorMoved, "the delivery cursor was moved by another writer")
}

public enum AccountIds {
    /// The default account of a deployment.
    public static let first: Int64 = 100_000_000_001
}

public enum AccountRules {
    /// What makes two account names the same: surrounding white space and ASCII case do not count
    /// ("Acme" and " acme" are one name), so that a person cannot tell two accounts apart by them.
    public static func nameKey(_ name: String) -> String {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last].map {
            (65...90).contains($0.value) ? Unicode.Scalar(UInt8($0.value + 32)) : $0
        }))
    }

    /// The account of `accounts` other than `except` whose name is `name`'s, if any.
    public static func holder(of name: String, in accounts: [Account], except: Int64?) -> Account? {
        let key = nameKey(name)
        return accounts.first { $0.id != except && nameKey($0.name) == key }
    }

    /// An account may join `parent` as a member only when `parent` exists and is not a member itself.
    public static func checkManagement(_ parent: Account?, id: Int64) throws {
        guard let parent else { throw StoreError.accountNotFound(id) }
        if let grand = parent.memberOf {
            throw StoreError(.memberOfMember, "account \(id) is itself a member of \(grand); members must join a management account")
        }
    }
}
