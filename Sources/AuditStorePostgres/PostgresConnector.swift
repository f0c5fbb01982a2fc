import AuditConfiguration
import Logging
import NIOPosix
import NIOSSL
import PostgresNIO

/// The `PostgresClient` configuration of a `StoreLocation` (docs/postgres.md, "Choosing it"): TLS as
/// its `sslmode` says, the password given apart from the URL.
public enum PostgresConnector {
    /// The TLS settings its sslmode means (nil: no TLS).
    static func tlsConfiguration(_ location: StoreLocation) -> TLSConfiguration? {
        switch location.tlsMode {
        case .disable:
            return nil
        case .require:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .none
            return c
        case .verifyFull:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .fullVerification
            if let file = location.rootCertificateFile { c.trustRoots = .file(file) }
            return c
        }
    }

    /// One direct connection (no pool): the store's reachability, the user, the password and the
    /// database checked in one step, within `timeout` seconds, with the server's own error when one fails
    /// (the pool of `PostgresClient` retries behind a circuit breaker and reports only that it tripped).
    public static func connect(_ location: StoreLocation, password: String?, timeout: Int64 = 5, logger: Logger) async throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user, password: password,
                                                             database: location.database,
                                                             tls: try tlsConfiguration(location).map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
        configuration.options.connectTimeout = .seconds(timeout)
        return try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 0, logger: logger).get()
    }

    /// Runs `body` on one direct connection, closed after; errors explained for an operator.
    public static func withConnection<T: Sendable>(_ location: StoreLocation, password: String?, logger: Logger,
                                                   _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection: PostgresConnection
        do { connection = try await connect(location, password: password, logger: logger) } catch { throw PostgresProblem.explaining(error, at: location) }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw PostgresProblem.explaining(error, at: location)
        }
    }

    public static func configuration(_ location: StoreLocation, password: String?) throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = tlsConfiguration(location).map { .require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user, password: password,
                                                         database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 20
        // The lookups' prepared statements keep one generic plan (PostgresStatements); other queries are
        // unnamed, planned for their values each time.
        configuration.options.additionalStartupParameters = [("plan_cache_mode", "force_generic_plan")]
        return configuration
    }
}
