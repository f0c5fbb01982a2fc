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
    private let closeBackend: @Sendable () async throws -> Void

    /// A backend whose roles are separate values.
    public init(accounts: any AccountDirectory, events: any EventLog, cursors: any PageCursorStore, tracks: any TrackStore,
                outbox: any NotificationOutbox, console: any ConsoleStore, kmsKeys: any KmsKeyStore,
                close: @escaping @Sendable () async throws -> Void) {
        self.accounts = accounts
        self.events = events
        self.cursors = cursors
        self.tracks = tracks
        self.outbox = outbox
        self.console = console
        self.kmsKeys = kmsKeys
        closeBackend = close
    }

    /// A backend that plays every role in one object.
    public init(_ backend: some StorageBackend) {
        self.init(accounts: backend, events: backend, cursors: backend, tracks: backend, outbox: backend, console: backend,
                  kmsKeys: backend, close: { try await backend.close() })
    }

    /// Closes the backend; nothing may use the storage after.
    public func close() async throws { try await closeBackend() }
}

/// A backend that plays every role in one object (SQLite, the in-memory store).
public protocol StorageBackend: AccountDirectory, EventLog, PageCursorStore, TrackStore, NotificationOutbox, ConsoleStore, KmsKeyStore {
    func close() async throws
}
