import AuditConsole
import Foundation

/// How `cloudaudit serve` runs. Flags override environment variables (`CLOUDAUDIT_*`), which override
/// the defaults. Secrets never come from flags.
public struct ServerConfiguration: Sendable {
    public var dataDirectory = "./cloudaudit-data"
    public var host = "127.0.0.1"
    public var port = 9780
    public var retentionDays = 30
    /// Requests per second allowed per SecretId (burst: twice that).
    public var rateLimit: Double = 5000
    public var maxConcurrentRequests = 512
    /// A request still unanswered after this is answered with an error and its work cancelled (longer than
    /// the console's longest sign-in delay, 31 s).
    public var requestTimeout: Duration = .seconds(60)
    /// A connection that sends nothing for this long (between requests, or while sending its headers
    /// or body) is closed.
    public var idleTimeout: Duration = .seconds(30)
    public var retentionInterval: Duration = .seconds(600)
    /// The regions file (JSON); nil: only the built-in `local` region.
    public var regionsFile: String?
    /// A tracking set writes a file at most this often (or when a file is full).
    public var deliveryInterval: Duration = .seconds(60)
    public var deliveryMaxEvents = 10_000
    public var trackQuota = 5
    /// How often each account whose log grew gets a signed checkpoint.
    public var checkpointInterval: Duration = .seconds(60)
    /// A tracking set writes a digest per account at most this often (and when it is stopped).
    public var digestInterval: Duration = .seconds(3600)
    /// Console sessions: idle timeout, absolute lifetime, `Secure` cookies.
    public var console = ConsoleConfiguration()
    public var rootSecretId: String?
    public var rootSecretKey: String?

    public init() {}

    /// Reads `CLOUDAUDIT_DATA_DIR`, `CLOUDAUDIT_HOST`, `CLOUDAUDIT_PORT`, `CLOUDAUDIT_RETENTION_DAYS` and
    /// `CLOUDAUDIT_REGIONS_FILE`, `CLOUDAUDIT_TRACK_QUOTA` and the root key (`CLOUDAUDIT_ROOT_SECRET_ID`,
    /// `CLOUDAUDIT_ROOT_SECRET_KEY`).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> ServerConfiguration {
        var c = ServerConfiguration()
        if let v = env["CLOUDAUDIT_DATA_DIR"], !v.isEmpty { c.dataDirectory = v }
        if let v = env["CLOUDAUDIT_HOST"], !v.isEmpty { c.host = v }
        if let v = env["CLOUDAUDIT_PORT"].flatMap(Int.init) { c.port = v }
        if let v = env["CLOUDAUDIT_RETENTION_DAYS"].flatMap(Int.init), (1...3650).contains(v) { c.retentionDays = v }
        if let v = env["CLOUDAUDIT_REGIONS_FILE"], !v.isEmpty { c.regionsFile = v }
        if let v = env["CLOUDAUDIT_TRACK_QUOTA"].flatMap(Int.init), v >= 0 { c.trackQuota = v }
        if let id = env["CLOUDAUDIT_ROOT_SECRET_ID"], let key = env["CLOUDAUDIT_ROOT_SECRET_KEY"], !id.isEmpty, !key.isEmpty {
            c.rootSecretId = id
            c.rootSecretKey = key
        }
        return c
    }
}
