import AuditStore
import AuditStoreSQLite
import Foundation

/// Where a deployment (or a benchmark) keeps its data: the one place a storage backend is chosen and
/// opened. A second backend is one more case here and one more target.
public enum StorageChoice: Sendable, Equatable {
    /// The embedded default: one SQLite database file (with its `-wal` and `-shm` companions).
    case sqlite(path: String)

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

    /// Opens the storage, creating it when it does not exist.
    public func open(_ options: Options = .init()) throws -> Storage {
        switch self {
        case .sqlite(let path):
            let store = try SQLiteEventStore(path: path, defaultRetentionDays: options.defaultRetentionDays, merkleLog: options.merkleLog)
            var storage = Storage(store)
            storage.schema = store.schema
            return storage
        }
    }

    /// Whether the storage has been created.
    public var exists: Bool {
        switch self {
        case .sqlite(let path): return FileManager.default.fileExists(atPath: path)
        }
    }

    /// What the storage names itself in messages (a path, a server).
    public var location: String {
        switch self {
        case .sqlite(let path): return path
        }
    }

    /// The bytes the storage takes on disk (nil when the backend cannot tell).
    public func bytesOnDisk() -> Int? {
        switch self {
        case .sqlite(let path):
            return Self.sqliteFiles(path).reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        }
    }

    /// Writes a copy of the storage as of one moment to the new file `destination`, while others may
    /// keep writing to it (for SQLite: the online backup API, from one read transaction).
    public func backup(to destination: String) throws {
        switch self {
        case .sqlite(let path):
            guard exists else { throw ServerError("no database at \(path)") }
            try SQLiteEventStore.backup(databaseAt: path, to: destination)
        }
    }

    /// Deletes the storage and everything in it (benchmarks' scratch stores). The storage must be closed.
    public func destroy() {
        switch self {
        case .sqlite(let path): for f in Self.sqliteFiles(path) { try? FileManager.default.removeItem(atPath: f) }
        }
    }

    static func sqliteFiles(_ path: String) -> [String] { [path, path + "-wal", path + "-shm"] }
}
