import ArgumentParser
import AuditServer
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the CloudAudit API server on the embedded SQLite store.",
        discussion: """
            The root admin key comes from CLOUDAUDIT_ROOT_SECRET_ID and CLOUDAUDIT_ROOT_SECRET_KEY; without them the
            first start writes one to <data-dir>/root-credentials.json (owner-only). Stored secrets are sealed with
            CLOUDAUDIT_MASTER_KEY (64 hex characters) or <data-dir>/master.key, created on first start. Checkpoints and
            digests are signed with CLOUDAUDIT_SIGNING_KEY_FILE or <data-dir>/signing.key (Ed25519, created on first start).
            The web console is at http://<host>:<port>/console/ (sign in with an admin or auditor key, or a password set
            with `cloudaudit accounts set-password`).
            SIGTERM stops accepting, finishes in-flight requests and closes the store.
            """)

    @Option(help: "Directory of the database and keys (env CLOUDAUDIT_DATA_DIR).") var dataDir: String?
    @Option(help: "Address to listen on (env CLOUDAUDIT_HOST).") var host: String?
    @Option(help: "Port to listen on (env CLOUDAUDIT_PORT).") var port: Int?
    @Option(help: "Default retention of events in days (env CLOUDAUDIT_RETENTION_DAYS).") var retentionDays: Int?
    @Option(help: "Requests per second allowed per SecretId.") var rateLimit: Double?
    @Option(help: "Requests in flight allowed across the server.") var maxConcurrent: Int?
    @Option(help: "Seconds between retention passes.") var retentionInterval: Int?
    @Option(help: "Regions file (JSON) of the object stores tracking sets deliver to (env CLOUDAUDIT_REGIONS_FILE).") var regions: String?
    @Option(help: "Seconds between a tracking set's files (a full file goes at once).") var deliveryInterval: Int?
    @Option(help: "Events per delivered file at most.") var deliveryMaxEvents: Int?
    @Option(help: "Tracking sets allowed per account (env CLOUDAUDIT_TRACK_QUOTA).") var trackQuota: Int?
    @Option(help: "Seconds between signed checkpoints of the logs that grew.") var checkpointInterval: Int?
    @Option(help: "Seconds between a tracking set's signed digests (also written when a set is stopped).") var digestInterval: Int?
    @Option(help: "Seconds without a request after which a console session ends.") var consoleIdleTimeout: Int?
    @Option(help: "Seconds after sign-in after which a console session ends.") var consoleSessionLifetime: Int?
    @Flag(help: "Mark the console's session cookie Secure (serve it over HTTPS, e.g. behind a proxy).") var consoleSecureCookies = false
    @Option(help: "Seconds after which an unanswered request is answered with an error (FailedOperation) and its work cancelled.")
    var requestTimeout: Int?
    @Option(help: "Seconds without a byte from a connection (between requests, or while it sends its headers) after which it is closed.")
    var idleTimeout: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    func validate() throws {
        if let d = retentionDays, d < 1 || d > 3650 { throw ValidationError("--retention-days must be between 1 and 3650") }
        if let p = port, p < 0 || p > 65535 { throw ValidationError("--port must be between 0 and 65535") }
        if let r = rateLimit, r <= 0 { throw ValidationError("--rate-limit must be positive") }
        if let m = maxConcurrent, m < 1 { throw ValidationError("--max-concurrent must be at least 1") }
        if let i = retentionInterval, i < 1 { throw ValidationError("--retention-interval must be at least 1 second") }
        if let i = deliveryInterval, i < 1 || i > 86400 { throw ValidationError("--delivery-interval must be between 1 and 86400 seconds") }
        if let m = deliveryMaxEvents, m < 1 || m > 1_000_000 { throw ValidationError("--delivery-max-events must be between 1 and 1000000") }
        if let q = trackQuota, q < 0 { throw ValidationError("--track-quota cannot be negative") }
        if let i = checkpointInterval, i < 1 || i > 86400 { throw ValidationError("--checkpoint-interval must be between 1 and 86400 seconds") }
        if let i = digestInterval, i < 1 || i > 86400 { throw ValidationError("--digest-interval must be between 1 and 86400 seconds") }
        if let t = consoleIdleTimeout, t < 1 || t > 86400 { throw ValidationError("--console-idle-timeout must be between 1 and 86400 seconds") }
        if let t = consoleSessionLifetime, t < 1 || t > 30 * 86400 {
            throw ValidationError("--console-session-lifetime must be between 1 second and 30 days (2592000)")
        }
        if let t = requestTimeout, t < 1 || t > 3600 { throw ValidationError("--request-timeout must be between 1 and 3600 seconds") }
        if let t = idleTimeout, t < 1 || t > 3600 { throw ValidationError("--idle-timeout must be between 1 and 3600 seconds") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error") }
    }

    func run() async throws {
        var c = ServerConfiguration.fromEnvironment()
        if let dataDir { c.dataDirectory = dataDir }
        if let host { c.host = host }
        if let port { c.port = port }
        if let retentionDays { c.retentionDays = retentionDays }
        if let rateLimit { c.rateLimit = rateLimit }
        if let maxConcurrent { c.maxConcurrentRequests = maxConcurrent }
        if let retentionInterval { c.retentionInterval = .seconds(retentionInterval) }
        if let regions { c.regionsFile = regions }
        if let deliveryInterval { c.deliveryInterval = .seconds(deliveryInterval) }
        if let deliveryMaxEvents { c.deliveryMaxEvents = deliveryMaxEvents }
        if let trackQuota { c.trackQuota = trackQuota }
        if let checkpointInterval { c.checkpointInterval = .seconds(checkpointInterval) }
        if let digestInterval { c.digestInterval = .seconds(digestInterval) }
        if let consoleIdleTimeout { c.console.idleTimeout = Int64(consoleIdleTimeout) }
        if let consoleSessionLifetime { c.console.lifetime = Int64(consoleSessionLifetime) }
        if consoleSecureCookies { c.console.secureCookies = true }
        if let requestTimeout { c.requestTimeout = .seconds(requestTimeout) }
        if let idleTimeout { c.idleTimeout = .seconds(idleTimeout) }
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "cloudaudit")
        let built = try await CloudAuditServer.build(c, logger: logger)
        try await built.group.run()
    }
}
