import AuditStore
import AuditStorePostgres
import AuditStoreSQLite
import Foundation
import Logging

/// Where a deployment (or a benchmark) keeps its data: the one place a storage backend is chosen and
/// opened. A second backend is one more case here and one more target.
public enum StorageChoice: Sendable, Equatable {
    /// The embedded default: one SQLite database file (with its `-wal` and `-shm` companions).
    case sqlite(path: String)
    /// A PostgreSQL database that the nodes of a deployment share (docs/postgres.md).
    case postgres(PostgresStoreAccess)

    public struct Options: Sendable {
        /// The retention of accounts that have none of their own.
        public var defaultRetentionDays = 30
        /// Appends without extending the Merkle log: only for the benchmark that measures the log's cost.
        public var merkleLog = true

        public init(defaultRetentionDays: Int = 30, merkleLog: Bool = true) {
            self.defaultRetentionDays = defaultRetentionDays
            self.merkleLog = merkleLog
        }
    }

    /// Opens the storage, creating it (or applying its pending migrations) as needed.
    public func open(_ options: Options = .init(), logger: Logger = PostgresStoreAccess.quietLogger) async throws -> Storage {
        switch self {
        case .sqlite(let path):
            let store = try SQLiteEventStore(path: path, defaultRetentionDays: options.defaultRetentionDays, merkleLog: options.merkleLog)
            var storage = Storage(store)
            storage.schema = store.schema
            storage.storedBytes = { self.bytesOnDisk() }
            return storage
        case .postgres(let access):
            let store = try await access.open(defaultRetentionDays: options.defaultRetentionDays, logger: logger)
            var storage = Storage(store)
            storage.schema = store.schema
            storage.readiness = { await store.isReady() }
            storage.storedBytes = { try? await store.databaseBytes() }
            return storage
        }
    }

    /// Whether the storage has been created (a PostgreSQL store is taken to exist: opening it says).
    public var exists: Bool {
        switch self {
        case .sqlite(let path): return FileManager.default.fileExists(atPath: path)
        case .postgres: return true
        }
    }

    /// What the storage names itself in messages (a path, a server: never a password).
    public var location: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let access): return access.location.description
        }
    }

    /// Whether the deployment's data is in a store that several nodes share.
    public var isShared: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// The bytes the storage takes on this machine's disk (nil when it is elsewhere).
    public func bytesOnDisk() -> Int? {
        switch self {
        case .sqlite(let path):
            return Self.sqliteFiles(path).reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        case .postgres:
            return nil
        }
    }

    /// Writes a copy of the storage as of one moment to the new file `destination`, while others may
    /// keep writing to it (for SQLite: the online backup API, from one read transaction).
    public func backup(to destination: String) throws {
        switch self {
        case .sqlite(let path):
            guard exists else { throw ServerError("no database at \(path)") }
            try SQLiteEventStore.backup(databaseAt: path, to: destination)
        case .postgres(let access):
            throw ServerError("the store is the PostgreSQL database \(access.location); back it up with PostgreSQL's own tools (pg_dump, or its base backups and WAL archive: README, \"Production\")")
        }
    }

    /// Deletes the storage and everything in it (benchmarks' scratch stores). The storage must be closed.
    public func destroy() {
        switch self {
        case .sqlite(let path): for f in Self.sqliteFiles(path) { try? FileManager.default.removeItem(atPath: f) }
        case .postgres: break
        }
    }

    static func sqliteFiles(_ path: String) -> [String] { [path, path + "-wal", path + "-shm"] }
}
