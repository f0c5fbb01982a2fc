import AuditConfiguration
import AuditConsole
import Foundation

/// How `cloudaudit serve` runs, and what the other commands read of a deployment (its data directory,
/// retention, regions, master key). Every setting is declared once in `options`: its flag, its
/// `CLOUDAUDIT_*` variable, its key in a `--config` file, its default and its validation; the sources
/// take precedence in that order (flag, environment, file, default) and are all validated the same way.
/// Secrets (the root secret key, the master key) come only from the environment or an owner-only file.
public struct ServerConfiguration: Sendable {
    public var dataDirectory = "./cloudaudit-data"
    /// The PostgreSQL store that the nodes of a deployment share (docs/postgres.md); nil: the data
    /// directory's embedded SQLite file.
    public var store: String?
    /// An owner-only file holding the store's password (else PGPASSWORD).
    public var storePasswordFile: String?
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
    /// The master key that seals stored secrets (hex or base64 of 32 bytes); nil: `<data-dir>/master.key`.
    public var masterKey: String?
    /// The operator's signing key file; nil: `<data-dir>/signing.key`.
    public var signingKeyFile: String?
    public var logLevel = "info"
    /// The proxies whose `Forwarded` / `X-Forwarded-For` name the client (normalized CIDRs, comma-separated); nil: none.
    public var trustedProxies: String?
    /// The PEM certificate chain and private key to serve HTTPS with (both or neither; reloaded on SIGHUP).
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// A listener of its own for `/metrics` (nil: none) and its address.
    public var metricsPort: Int?
    public var metricsHost = "127.0.0.1"
    /// A bearer token that opens `/metrics` on the public port (nil: it is not served there).
    public var metricsToken: String?
    /// `text` (swift-log's lines) or `json` (one object per line).
    public var logFormat = "text"
    /// The operator's SMTP server for email alert channels: `smtp://[user@]host[:port]` (STARTTLS when offered)
    /// or `smtps://...`; nil: email channels cannot send. Its password from `smtpPassword` or `smtpPasswordFile`.
    public var smtpURL: String?
    public var smtpFrom: String?
    public var smtpPassword: String?
    public var smtpPasswordFile: String?
    /// A PEM CA file the SMTP server's and syslog receivers' certificates are checked against (else the system's roots).
    public var alertCAFile: String?
    /// An operator's additions to (and removals from) the sensitive-action catalogue.
    public var sensitiveActionsFile: String?

    public init() {}

    /// Every setting, in the order `--help` and `--print-config` show them. The defaults are those of
    /// the properties above (one place: `ServerConfiguration()`).
    public static let options: [ConfigOption] = {
        let d = ServerConfiguration()
        func secs(_ x: Duration) -> String { String(x.components.seconds) }
        return [
            ConfigOption("data-dir", environment: "CLOUDAUDIT_DATA_DIR", kind: .text, default: d.dataDirectory,
                         help: "Directory of the database and keys."),
            ConfigOption("store", environment: "CLOUDAUDIT_STORE", kind: .store,
                         help: "A PostgreSQL store shared by the nodes of a deployment: postgres://USER@HOST:PORT/DATABASE[?sslmode=require|verify-full&sslrootcert=FILE] (docs/postgres.md); the password from PGPASSWORD or store-password-file, never here. Unset: the data directory's embedded SQLite database."),
            ConfigOption("store-password-file", environment: "CLOUDAUDIT_STORE_PASSWORD_FILE", kind: .text,
                         help: "An owner-only file holding the store's password; unset: PGPASSWORD."),
            ConfigOption("host", environment: "CLOUDAUDIT_HOST", kind: .text, default: d.host, help: "Address to listen on."),
            ConfigOption("port", environment: "CLOUDAUDIT_PORT", kind: .integer(0...65535), default: String(d.port), help: "Port to listen on."),
            ConfigOption("tls-cert", environment: "CLOUDAUDIT_TLS_CERT", kind: .text,
                         help: "PEM certificate chain to serve HTTPS with (with tls-key); reloaded on SIGHUP. The console's cookie is then Secure."),
            ConfigOption("tls-key", environment: "CLOUDAUDIT_TLS_KEY", kind: .text,
                         help: "PEM private key of tls-cert, in an owner-only file; reloaded on SIGHUP."),
            ConfigOption("trusted-proxies", environment: "CLOUDAUDIT_TRUSTED_PROXIES", kind: .networks,
                         help: "Networks of the load balancers or proxies in front of the server (e.g. 10.0.0.0/8, fd00::/8): from these only, Forwarded or X-Forwarded-For names the client's address; unset: the peer is the client."),
            ConfigOption("retention-days", environment: "CLOUDAUDIT_RETENTION_DAYS", kind: .integer(1...3650), default: String(d.retentionDays),
                         help: "Default retention of events in days."),
            ConfigOption("rate-limit", environment: "CLOUDAUDIT_RATE_LIMIT", kind: .number(0.001...1_000_000), default: ConfigOption.plain(d.rateLimit),
                         help: "Requests per second allowed per SecretId."),
            ConfigOption("max-concurrent", environment: "CLOUDAUDIT_MAX_CONCURRENT", kind: .integer(1...100_000), default: String(d.maxConcurrentRequests),
                         help: "Requests in flight allowed across the server."),
            ConfigOption("retention-interval", environment: "CLOUDAUDIT_RETENTION_INTERVAL", kind: .seconds(1...86400),
                         default: secs(d.retentionInterval), help: "Seconds between retention passes."),
            ConfigOption("regions", environment: "CLOUDAUDIT_REGIONS_FILE", kind: .text,
                         help: "Regions file (JSON) of the object stores tracking sets deliver to; unset: only the built-in local region."),
            ConfigOption("delivery-interval", environment: "CLOUDAUDIT_DELIVERY_INTERVAL", kind: .seconds(1...86400), default: secs(d.deliveryInterval),
                         help: "Seconds between a tracking set's files (a full file goes at once)."),
            ConfigOption("delivery-max-events", environment: "CLOUDAUDIT_DELIVERY_MAX_EVENTS", kind: .integer(1...1_000_000),
                         default: String(d.deliveryMaxEvents), help: "Events per delivered file at most."),
            ConfigOption("track-quota", environment: "CLOUDAUDIT_TRACK_QUOTA", kind: .integer(0...10_000), default: String(d.trackQuota),
                         help: "Tracking sets allowed per account."),
            ConfigOption("checkpoint-interval", environment: "CLOUDAUDIT_CHECKPOINT_INTERVAL", kind: .seconds(1...86400),
                         default: secs(d.checkpointInterval), help: "Seconds between signed checkpoints of the logs that grew."),
            ConfigOption("digest-interval", environment: "CLOUDAUDIT_DIGEST_INTERVAL", kind: .seconds(1...86400), default: secs(d.digestInterval),
                         help: "Seconds between a tracking set's signed digests (also written when a set is stopped)."),
            ConfigOption("console-idle-timeout", environment: "CLOUDAUDIT_CONSOLE_IDLE_TIMEOUT", kind: .seconds(1...86400),
                         default: String(d.console.idleTimeout), help: "Seconds without a request after which a console session ends."),
            ConfigOption("console-session-lifetime", environment: "CLOUDAUDIT_CONSOLE_SESSION_LIFETIME", kind: .seconds(1...(30 * 86400)),
                         default: String(d.console.lifetime), help: "Seconds after sign-in after which a console session ends."),
            ConfigOption("console-secure-cookies", environment: "CLOUDAUDIT_CONSOLE_SECURE_COOKIES", kind: .toggle, default: String(d.console.secureCookies),
                         help: "Mark the console's session cookie Secure (serve it over HTTPS, e.g. behind a proxy)."),
            ConfigOption("request-timeout", environment: "CLOUDAUDIT_REQUEST_TIMEOUT", kind: .seconds(1...3600), default: secs(d.requestTimeout),
                         help: "Seconds after which an unanswered request is answered with an error (FailedOperation) and its work cancelled."),
            ConfigOption("idle-timeout", environment: "CLOUDAUDIT_IDLE_TIMEOUT", kind: .seconds(1...3600), default: secs(d.idleTimeout),
                         help: "Seconds without a byte from a connection after which it is closed."),
            ConfigOption("log-level", environment: "CLOUDAUDIT_LOG_LEVEL", kind: .choice(["trace", "debug", "info", "notice", "warning", "error"]),
                         default: d.logLevel, help: "Log level."),
            ConfigOption("log-format", environment: "CLOUDAUDIT_LOG_FORMAT", kind: .choice(["text", "json"]), default: d.logFormat,
                         help: "Log lines on standard error: text, or json (one object per line, with the request id of each request's lines)."),
            ConfigOption("metrics-port", environment: "CLOUDAUDIT_METRICS_PORT", kind: .integer(0...65535),
                         help: "Serve /metrics (Prometheus) on a listener of its own at metrics-host:metrics-port; unset: no such listener."),
            ConfigOption("metrics-host", environment: "CLOUDAUDIT_METRICS_HOST", kind: .text, default: d.metricsHost,
                         help: "Address of the metrics listener."),
            ConfigOption("metrics-token", environment: "CLOUDAUDIT_METRICS_TOKEN", kind: .text, secret: true,
                         help: "A bearer token that opens /metrics on the public port too; unset: /metrics is not served there."),
            ConfigOption("smtp-url", environment: "CLOUDAUDIT_SMTP_URL", kind: .text,
                         help: "The SMTP server email alert channels send through: smtp://[user@]host[:port] (STARTTLS when the server offers it; a password is sent only over TLS) or smtps://host[:port]; unset: email channels cannot send."),
            ConfigOption("smtp-from", environment: "CLOUDAUDIT_SMTP_FROM", kind: .text,
                         help: "The From address of alert emails (required with smtp-url)."),
            ConfigOption("smtp-password", environment: "CLOUDAUDIT_SMTP_PASSWORD", kind: .text, secret: true,
                         help: "The SMTP user's password (the user is smtp-url's); or smtp-password-file."),
            ConfigOption("smtp-password-file", environment: "CLOUDAUDIT_SMTP_PASSWORD_FILE", kind: .text,
                         help: "An owner-only file holding the SMTP user's password."),
            ConfigOption("alert-ca-file", environment: "CLOUDAUDIT_ALERT_CA_FILE", kind: .text,
                         help: "A PEM CA file the SMTP server's and TLS syslog receivers' certificates are checked against; unset: the system's roots."),
            ConfigOption("sensitive-actions", environment: "CLOUDAUDIT_SENSITIVE_ACTIONS", kind: .text,
                         help: "A file extending the built-in list of sensitive operations (recorded with sensitiveAction true when a producer leaves the field out): one EventName or eventSource:EventName per line, -Name to remove one, # comments."),
            ConfigOption("signing-key-file", environment: "CLOUDAUDIT_SIGNING_KEY_FILE", kind: .text,
                         help: "The operator's Ed25519 signing key file (owner-only); unset: <data-dir>/signing.key, created on first start."),
            ConfigOption("root-secret-id", environment: "CLOUDAUDIT_ROOT_SECRET_ID", kind: .text,
                         help: "SecretId of the root admin key (with root-secret-key); unset: one is generated into <data-dir>/root-credentials.json."),
            ConfigOption("root-secret-key", environment: "CLOUDAUDIT_ROOT_SECRET_KEY", kind: .text, secret: true,
                         help: "SecretKey of the root admin key."),
            ConfigOption("master-key", environment: "CLOUDAUDIT_MASTER_KEY", kind: .text, secret: true,
                         help: "Master key sealing stored secrets (64 hex characters); unset: <data-dir>/master.key, created on first start."),
        ]
    }()

    /// The settings from a command line's flags (name -> text), the environment and a `--config` file.
    /// - Throws: `ConfigurationError` naming the option and the source of a bad value.
    public static func resolve(flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment,
                               configFile: String?) throws -> (ServerConfiguration, Configuration) {
        let file = try configFile.map { try ConfigFile.load($0) }
        let resolved = try Configuration.resolve(options, flags: flags, environment: environment, file: file)
        return (try ServerConfiguration(resolved), resolved)
    }

    /// The server configuration of resolved settings (see `options`).
    public init(_ c: Configuration) throws {
        func required(_ name: String) -> String { c.string(name) ?? "" }
        dataDirectory = required("data-dir")
        store = c.string("store")
        storePasswordFile = c.string("store-password-file")
        host = required("host")
        port = c.int("port") ?? port
        retentionDays = c.int("retention-days") ?? retentionDays
        rateLimit = c.double("rate-limit") ?? rateLimit
        maxConcurrentRequests = c.int("max-concurrent") ?? maxConcurrentRequests
        retentionInterval = c.seconds("retention-interval") ?? retentionInterval
        regionsFile = c.string("regions")
        trustedProxies = c.string("trusted-proxies")
        deliveryInterval = c.seconds("delivery-interval") ?? deliveryInterval
        deliveryMaxEvents = c.int("delivery-max-events") ?? deliveryMaxEvents
        trackQuota = c.int("track-quota") ?? trackQuota
        checkpointInterval = c.seconds("checkpoint-interval") ?? checkpointInterval
        digestInterval = c.seconds("digest-interval") ?? digestInterval
        console.idleTimeout = c.int("console-idle-timeout").map(Int64.init) ?? console.idleTimeout
        console.lifetime = c.int("console-session-lifetime").map(Int64.init) ?? console.lifetime
        console.secureCookies = c.bool("console-secure-cookies")
        requestTimeout = c.seconds("request-timeout") ?? requestTimeout
        idleTimeout = c.seconds("idle-timeout") ?? idleTimeout
        logLevel = required("log-level")
        logFormat = required("log-format")
        tlsCertificate = c.string("tls-cert")
        tlsKey = c.string("tls-key")
        metricsPort = c.int("metrics-port")
        metricsHost = required("metrics-host")
        metricsToken = c.string("metrics-token")
        signingKeyFile = c.string("signing-key-file")
        smtpURL = c.string("smtp-url")
        smtpFrom = c.string("smtp-from")
        smtpPassword = c.string("smtp-password")
        smtpPasswordFile = c.string("smtp-password-file")
        alertCAFile = c.string("alert-ca-file")
        sensitiveActionsFile = c.string("sensitive-actions")
        rootSecretId = c.string("root-secret-id")
        rootSecretKey = c.string("root-secret-key")
        masterKey = c.string("master-key")
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            let given = c.setting(tlsCertificate == nil ? "tls-key" : "tls-cert")!
            throw ConfigurationError("tls-cert and tls-key go together; only \(given.option.name) is set (\(given.source))")
        }
        if tlsCertificate != nil { console.secureCookies = true }
        guard (rootSecretId == nil) == (rootSecretKey == nil) else {
            let given = c.setting(rootSecretId == nil ? "root-secret-key" : "root-secret-id")!
            throw ConfigurationError("root-secret-id and root-secret-key go together; only \(given.option.name) is set (\(given.source))")
        }
    }
}
