import AuditConfiguration
import AuditStore
import AuditStorePostgres
import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL store named by `--store` (or `CLOUDAUDIT_STORE`) with its password (`--store-password-file`,
/// else `PGPASSWORD`), for the commands that talk to one (docs/postgres.md).
public struct PostgresStoreAccess: Sendable {
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

    /// Applies the migrations the store has not had (`cloudaudit migrate`).
    public func migrate(logger: Logger = PostgresStoreAccess.quietLogger) async throws -> SchemaUpgrade {
        try await withClient(logger: logger) { client in try await PostgresMigrator.migrate(client, logger: logger) }
    }

    public static var quietLogger: Logger {
        var logger = Logger(label: "cloudaudit")
        logger.logLevel = .error
        return logger
    }

    /// Runs `body` with a client of the store that runs meanwhile; the store's errors explained.
    func withClient<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: try PostgresConnector.configuration(location, password: password), backgroundLogger: logger)
        do {
            try await PostgresConnector.probe(location, password: password, logger: logger)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                group.addTask { try await body(client) }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw CancellationError()
            }
        } catch {
            throw PostgresProblem.explaining(error, at: location)
        }
    }
}
