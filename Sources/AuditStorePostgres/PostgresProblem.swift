import AuditConfiguration
import PostgresNIO

/// What went wrong with the PostgreSQL store, said for an operator: which store (never its password),
/// and what to check. postgres-nio's own errors name internal states ("PSQLError(code: connectionError)").
public struct PostgresProblem: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }

    /// `error` from talking to the store at `location`, explained; other errors pass unchanged.
    public static func explaining(_ error: Error, at location: StoreLocation) -> Error {
        let at = "the PostgreSQL store at \(location)"
        if "\(type(of: error))" == "ConnectionPoolError" {
            return PostgresProblem("cannot reach \(at) (no connection could be made); check that it runs and that this host may connect, then retry")
        }
        guard let psql = error as? PSQLError else { return error }
        if let server = psql.serverInfo, let state = server[.sqlState] {
            let said = server[.message].map { ": \($0)" } ?? ""
            switch state {
            case "28P01", "28000":
                return PostgresProblem("\(at) refused user \(location.user)\(said); check the user, and the password in PGPASSWORD or --store-password-file")
            case "3D000":
                return PostgresProblem("\(at) has no database \(location.database)\(said); create it (CREATE DATABASE \(location.database) OWNER \(location.user))")
            case "42501":
                return PostgresProblem("\(at) did not allow what was asked\(said); the user needs to own the database")
            default:
                return PostgresProblem("\(at) answered SQLSTATE \(state)\(said)")
            }
        }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            return PostgresProblem("cannot reach \(at)\(cause(psql.underlying)); check that it runs and that this host may connect, then retry")
        case .sslUnsupported:
            return PostgresProblem("\(at) does not offer TLS, which sslmode=\(location.tlsMode.rawValue) asks for")
        case .failedToAddSSLHandler:
            return PostgresProblem("TLS to \(at) could not start; check sslrootcert")
        default:
            return PostgresProblem("\(at) failed (\(psql.code))")
        }
    }

    /// Whether `error` says the store could not be reached or went away: connection failures, the pool
    /// giving up on connecting, and the server shutting down or refusing connections (SQLSTATE classes
    /// 08 and 57P, 53300). Retrying later may succeed.
    public static func isUnreachable(_ error: Error) -> Bool {
        if "\(type(of: error))" == "ConnectionPoolError" { return true }
        guard let psql = error as? PSQLError else { return false }
        if let state = psql.serverInfo?[.sqlState] {
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300"
        }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection: return true
        default: return false
        }
    }

    /// What a connection failure was, in a few words (NIO's own text names its internals).
    static func cause(_ underlying: Error?) -> String {
        guard let underlying else { return "" }
        let text = String(describing: underlying).lowercased()
        if text.contains("connection refused") { return " (connection refused)" }
        if text.contains("timed out") || text.contains("timeout") { return " (no answer in time)" }
        if text.contains("getaddrinfo") || text.contains("no such host") || text.contains("name or service not known") { return " (no such host)" }
        if text.contains("unreachable") { return " (the network is unreachable)" }
        return ""
    }
}
