import AuditAuth
import AuditStore
import Foundation
import Logging

/// What the commands open of a deployment, from its settings: the storage (the data directory's
/// embedded SQLite file, or the PostgreSQL store of `--store` that its nodes share) and the master key.
/// The one place that decides, so that `serve` and every admin command agree.
public struct Deployment: Sendable {
    public let settings: ServerConfiguration
    public let directory: DataDirectory
    public let storage: StorageChoice

    public init(_ settings: ServerConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.settings = settings
        directory = DataDirectory(path: settings.dataDirectory)
        if let store = settings.store {
            storage = .postgres(try PostgresStoreAccess(store: store, passwordFile: settings.storePasswordFile, environment: environment))
        } else {
            storage = directory.storage
        }
    }

    /// Whether the deployment's nodes share a store (then nothing that all of them need is made in one
    /// node's data directory: keys are given to every node).
    public var isShared: Bool { storage.isShared }

    /// The master key: the setting, else `<data-dir>/master.key`, created on first use by an embedded
    /// deployment only.
    public func masterKey(logger: Logger) throws -> [UInt8] {
        if !isShared { try directory.ensureExists() }
        return try directory.masterKey(given: settings.masterKey, create: !isShared, logger: logger)
    }

    /// Opens the storage, creating an embedded one (and its directory) or migrating a shared one as needed.
    public func openStorage(logger: Logger = PostgresStoreAccess.quietLogger) async throws -> Storage {
        if !isShared { try directory.ensureExists() }
        return try await storage.open(.init(defaultRetentionDays: settings.retentionDays), logger: logger)
    }

    /// The storage and master key of a deployment that exists, for tools that read its data (decrypt,
    /// verify): nothing is created when they are missing.
    public func openExisting(logger: Logger) async throws -> (storage: Storage, masterKey: [UInt8]) {
        guard storage.exists else {
            throw ServerError("\(directory.path) is not a deployment's data directory (no \(storage.location))")
        }
        guard !(settings.masterKey ?? "").isEmpty || FileManager.default.fileExists(atPath: directory.masterKeyPath) else {
            throw ServerError("\(directory.path) has no master key (\(directory.masterKeyPath)) and CLOUDAUDIT_MASTER_KEY is not set")
        }
        let key = try directory.masterKey(given: settings.masterKey, create: false, logger: logger)
        return (try await storage.open(.init(defaultRetentionDays: settings.retentionDays), logger: logger), key)
    }
}
