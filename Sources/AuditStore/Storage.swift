/// Every role a backend plays, as one value: what the composition root builds from a backend choice and
/// hands out, each consumer taking only the roles it uses.
public struct Storage: Sendable {
    public let accounts: any AccountDirectory
    public let events: any EventLog
    public let cursors: any PageCursorStore
    public let tracks: any TrackStore
    public let outbox: any NotificationOutbox
    public let console: any ConsoleStore
    public let kmsKeys: any KmsKeyStore
    /// Leases on the work that the nodes of a deployment share (in memory for a one-node backend).
    public let leases: any WorkLeases
    public let alerts: any AlertStore
    /// What opening the storage did to its schema, for the operator's log (nil: the backend does not say).
    public var schema: SchemaUpgrade?
    /// Whether the storage can serve now (`/readyz`): reachable, and at this code's schema. An embedded
    /// store is always ready once open.
    public var readiness: @Sendable () async -> Bool = { true }
    /// The bytes the storage takes (its files, or its database's size on a server); nil when unknown.
    public var storedBytes: @Sendable () async -> Int? = { nil }
    private let closeBackend: @Sendable () async throws -> Void

    /// A backend whose roles are separate values.
    public init(accounts: any AccountDirectory, events: any EventLog, cursors: any PageCursorStore, tracks: any TrackStore,
                outbox: any NotificationOutbox, console: any ConsoleStore, kmsKeys: any KmsKeyStore, leases: any WorkLeases = LocalLeases(),
                alerts: any AlertStore, close: @escaping @Sendable () async throws -> Void) {
        self.accounts = accounts
        self.events = events
        self.cursors = cursors
        self.tracks = tracks
        self.outbox = outbox
        self.console = console
        self.kmsKeys = kmsKeys
        self.leases = leases
        self.alerts = alerts
        closeBackend = close
    }

    /// A backend that plays every role in one object.
    public init(_ backend: some StorageBackend) {
        self.init(accounts: backend, events: backend, cursors: backend, tracks: backend, outbox: backend, console: backend,
                  kmsKeys: backend, leases: backend as? any WorkLeases ?? LocalLeases(), alerts: backend, close: { try await backend.close() })
    }

    /// Closes the backend; nothing may use the storage after.
    public func close() async throws { try await closeBackend() }
}

/// A backend that plays every role in one object (SQLite, the in-memory store).
public protocol StorageBackend: AccountDirectory, EventLog, PageCursorStore, TrackStore, NotificationOutbox, ConsoleStore, KmsKeyStore, AlertStore {
    func close() async throws
}

/// What opening a storage did to its schema: created it, applied migrations to it, or found it current.
public struct SchemaUpgrade: Sendable, Equatable {
    /// The storage was new: every migration was applied to an empty one.
    public var created: Bool
    /// The newest migration the storage had before (nil when it was new).
    public var previous: String?
    /// The migrations this opening applied, in order (empty when the schema was current).
    public var applied: [String]
    /// The newest migration the storage has now.
    public var current: String

    public init(created: Bool, previous: String?, applied: [String], current: String) {
        self.created = created
        self.previous = previous
        self.applied = applied
        self.current = current
    }
}
