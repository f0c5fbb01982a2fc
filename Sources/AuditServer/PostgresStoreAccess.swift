import AuditConfiguration
import AuditModel
import AuditStore
import AuditStorePostgres
import Foundation
import Logging

/// A PostgreSQL store named by `--store` (or `CLOUDAUDIT_STORE`) with its password (`--store-password-file`,
/// else `PGPASSWORD`), for the commands that talk to one (docs/postgres.md).
public struct PostgresStoreAccess: Sendable, Equatable {
    public let location: StoreLocation
    let password: String?

    public init(store: String?, passwordFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let text = store ?? environment["CLOUDAUDIT_STORE"], !text.isEmpty else {
            throw ConfigurationError("give the store with --store postgres://USER@HOST:PORT/DATABASE (or CLOUDAUDIT_STORE)")
        }
        switch StoreLocation.parse(text) {
        case .success(let l): location = l
        case .failure(let refusal): throw ConfigurationError("--store \(refusal.reason)")
        }
        var password = environment["PGPASSWORD"]
        if let passwordFile {
            let bytes = try SecretFile.read(passwordFile, what: "--store-password-file")
            password = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        self.password = password
    }

    init(location: StoreLocation, password: String?) {
        self.location = location
        self.password = password
    }

    /// The URL to give `--store` (never with the password).
    public var url: String { location.description }

    /// For `cloudaudit bench --store`: an empty database `<database>_<suffix>` beside this one.
    public func scratch(_ suffix: String) async throws -> PostgresStoreAccess {
        let made = try await PostgresBenchSupport.createScratch(location, password: password, suffix: suffix, logger: Self.quietLogger)
        return PostgresStoreAccess(location: made, password: password)
    }

    public func drop(_ scratch: PostgresStoreAccess) async throws {
        try await PostgresBenchSupport.dropScratch(scratch.location, from: location, password: password, logger: Self.quietLogger)
    }

    /// PostgreSQL's own COPY of the rows that appending `events` writes (`PostgresBenchSupport.copyCeiling`).
    public func copyCeiling(_ events: [AuditEvent], writers: Int) async throws -> Double {
        try await PostgresBenchSupport.copyCeiling(events, into: location, password: password, writers: writers, logger: Self.quietLogger)
    }

    /// The environment a `serve` child process needs to reach this store (its password included, never
    /// as an argument).
    public var childEnvironment: [String: String] {
        var env = ["CLOUDAUDIT_STORE": url]
        if let password { env["PGPASSWORD"] = password }
        return env
    }

    /// Applies the migrations the store has not had (`cloudaudit migrate`).
    public func migrate(logger: Logger = PostgresStoreAccess.quietLogger) async throws -> SchemaUpgrade {
        try await PostgresConnector.withConnection(location, password: password, logger: logger) { c in try await PostgresMigrator.migrate(c, logger: logger) }
    }

    /// Opens the store (applying pending migrations), with its roles as one `Storage`.
    func open(defaultRetentionDays: Int, logger: Logger) async throws -> PostgresStore {
        try await PostgresStore.open(location, password: password, defaultRetentionDays: defaultRetentionDays, logger: logger)
    }

    public static var quietLogger: Logger {
        var logger = Logger(label: "cloudaudit")
        logger.logLevel = .error
        return logger
    }
}
