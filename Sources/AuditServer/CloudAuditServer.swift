import AuditAPI
import AuditAlerts
import AuditAuth
import AuditConfiguration
import AuditConsole
import AuditDelivery
import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// The composition root: configuration -> store, API, services -> one ServiceGroup.
///
/// SIGTERM/SIGINT drain in reverse order of `services`: the HTTP server stops accepting and finishes
/// in-flight requests, retention stops, then the store drains self-audit and closes.
public enum CloudAuditServer {
    public struct Built {
        public var group: ServiceGroup
        public var api: AuditAPI
        public var storage: Storage
        /// The data directory's `serve.lock`, held while this value lives (nil: the nodes share a store).
        var lock: ServeLock?

        /// Runs the services until a signal stops them.
        /// - Throws: ``ListenError`` when the server cannot listen on one of its addresses (nothing else has run).
        public func run() async throws { try await group.run() }
    }

    /// Builds the API over `storage`: used by `serve` and by tests (with any backend).
    /// Without `signingKey` (tests), checkpoints are signed with a key made for the occasion.
    public static func makeAPI(storage: Storage, sealer: SecretSealer, configuration c: ServerConfiguration, regions: any RegionCatalog,
                               signingKey: SigningKey? = nil, logger: Logger, clock: @escaping @Sendable () -> Int64 = unixNow,
                               alertNotifier: (any AlertNotifier)? = nil) async throws -> AuditAPI {
        let secret = try await storage.cursors.deploymentSecret()
        let checkpointer = Checkpointer(storage: storage, key: try signingKey ?? SigningKey.generate(name: SigningKeys.defaultName), clock: clock)
        var environment = APIEnvironment(storage: storage, cursors: PageCursorCodec(secret: secret), defaultRetentionDays: c.retentionDays,
                                         regions: regions, trackQuota: c.trackQuota, checkpointer: checkpointer, clock: clock)
        environment.sealer = sealer
        environment.alertNotifier = alertNotifier
        environment.sensitiveActions = try sensitiveActions(c)
        let root = c.rootSecretId.flatMap { id in
            c.rootSecretKey.map { Authenticator.EnvironmentKey(secretId: id, secretKey: $0, accountId: AccountIds.first) }
        }
        var proxies = TrustedProxies.none
        if let text = c.trustedProxies {
            switch TrustedProxies.parse(text) {
            case .success(let p): proxies = p
            case .failure(let e): throw ServerError("--trusted-proxies: \"\(e.entry)\" is not an IP network")
            }
        }
        return AuditAPI(environment: environment, authenticator: Authenticator(accounts: storage.accounts, sealer: sealer, rootKey: root, clock: clock),
                        limiter: RequestLimiter(ratePerSecond: c.rateLimit, maxInFlight: c.maxConcurrentRequests),
                        selfAudit: SelfAuditRecorder(log: storage.events, logger: logger, signal: environment.appendSignal),
                        trustedProxies: proxies)
    }

    public static func build(_ c: ServerConfiguration, logger: Logger) async throws -> Built {
        // Configuration errors first, before anything is written to the data directory.
        let regions = try RegionRegistry.load(file: c.regionsFile, dataDirectory: c.dataDirectory, logger: logger)
        let deployment = try Deployment(c)
        let dir = deployment.directory
        // A node of a shared store keeps nothing that the others need, and may share its data directory.
        var lock: ServeLock?
        if !deployment.isShared {
            try dir.ensureExists()
            lock = try ServeLock(directory: dir)
        }
        let masterKey = try deployment.masterKey(logger: logger)
        let sealer = try SecretSealer(masterKey: masterKey)
        let signingKey = try SigningKeys(directory: dir, operatorKeyFile: c.signingKeyFile).load(create: !deployment.isShared, logger: logger)
        let storage = try await deployment.openStorage(logger: logger)
        logSchema(storage.schema, at: deployment.storage.location, logger: logger)
        let admin = Administration(storage: storage, sealer: sealer)
        _ = try await admin.ensureDefaultAccount()
        try await ensureRootCredentials(c, dir: dir, shared: deployment.isShared, admin: admin, logger: logger)

        logger.notice("storage regions", metadata: ["audit.regions": "\(regions.regions.map(\.name).joined(separator: ", "))"])
        // Alerts: the channels' sender, for the alert service and TestAlertChannel.
        let notifier = ChannelNotifier(sealer: sealer, smtp: try ChannelNotifier.smtpSettings(c),
                                       caPEM: try c.alertCAFile.map { try Self.readOperatorFile($0, what: "--alert-ca-file") }, logger: logger)
        let api = try await makeAPI(storage: storage, sealer: sealer, configuration: c, regions: regions, signingKey: signingKey, logger: logger,
                                    alertNotifier: notifier)
        logger.notice("signing checkpoints and digests", metadata: ["audit.public_key": "\(signingKey.publicKey.verifierKey)"])
        var deliveryConfig = DeliveryService.Configuration()
        deliveryConfig.interval = c.deliveryInterval
        deliveryConfig.maxEventsPerFile = c.deliveryMaxEvents
        deliveryConfig.digestInterval = c.digestInterval
        let delivery = DeliveryService(storage: storage, regions: regions, configuration: deliveryConfig, checkpointer: api.environment.checkpointer,
                                       vault: KeyVault(keys: storage.kmsKeys, masterKey: masterKey), logger: logger)
        let alertService = AlertService(storage: storage, notifier: notifier, signal: api.environment.appendSignal, logger: logger)
        let router = api.buildRouter()
        WebConsole(api: api, configuration: c.console).addRoutes(to: router)
        let metrics = Self.metricsRegistry
        if let token = c.metricsToken { MetricsEndpoint.addProtected(to: router, registry: metrics, token: token) }
        router.add(middleware: RequestDeadlineMiddleware(timeout: c.requestTimeout) { request, context, timeout in
            request.uri.path.hasPrefix("/console") ? WebConsole.timedOut(context, after: timeout) : AuditAPI.timedOut(context, after: timeout)
        })
        let http = HTTP1Channel.Configuration(
            idleTimeout: TimeAmount.seconds(c.idleTimeout.components.seconds),
            // Headers: the SDKs send a dozen of a few hundred bytes; the request line (a GET form's query
            // string) counts in the list size.
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 64 * 1024, maxHeaderListSize: 80 * 1024, maxHeaderFieldCount: 100))
        let listening = ListeningGate()
        let tls = try c.tlsCertificate.map { try TLSMaterial(certificate: $0, key: c.tlsKey ?? "") }
        let server: HTTPServerBuilder
        if let tls {
            server = try HTTPServerBuilder.tls(HTTPServerBuilder.http1(configuration: http), tlsConfiguration: tls.configuration())
        } else {
            server = HTTPServerBuilder.http1(configuration: http)
        }
        let scheme = tls == nil ? "http" : "https"
        let app = Application(router: router, server: server,
                              configuration: .init(address: .hostname(c.host, port: c.port), serverName: "cloudaudit"),
                              onServerRunning: { channel in
                                  listening.open()
                                  logger.notice("listening", metadata: ["server.address": "\(scheme)://\(c.host):\(channel.localAddress?.port ?? c.port)",
                                                                        "file.data_dir": "\(c.dataDirectory)"])
                              },
                              logger: logger)
        let checkpointPasses = PassClock()
        var services: [any Service] = [
            StoreLifecycleService(storage: storage, drain: { await api.selfAudit.drain() }, logger: logger),
            AfterListening(gate: listening, inner: RetentionService(storage: storage, defaultRetentionDays: c.retentionDays,
                                                                    interval: c.retentionInterval, logger: logger)),
            AfterListening(gate: listening, inner: CheckpointService(checkpointer: api.environment.checkpointer, leases: storage.leases, interval: c.checkpointInterval,
                                                                     logger: logger, passes: checkpointPasses)),
            AfterListening(gate: listening, inner: delivery),
            AfterListening(gate: listening, inner: alertService),
            AfterListening(gate: listening, inner: MetricsSampler(storage: storage, checkpoints: checkpointPasses)),
            ExplainedListener(inner: app, host: c.host, port: c.port, flag: "--port"),
        ]
        if let tls { services.append(TLSReloadService(material: tls, logger: logger)) }
        if let port = c.metricsPort {
            services.append(ExplainedListener(inner: MetricsEndpoint.application(host: c.metricsHost, port: port, registry: metrics, logger: logger),
                                              host: c.metricsHost, port: port, flag: "--metrics-port"))
        }
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        return Built(group: group, api: api, storage: storage, lock: lock)
    }

    /// The built-in sensitive-action catalogue with the operator's file applied (a bad line refuses the start).
    static func sensitiveActions(_ c: ServerConfiguration) throws -> SensitiveActions {
        guard let path = c.sensitiveActionsFile else { return .standard }
        let bytes = try readOperatorFile(path, what: "--sensitive-actions")
        switch SensitiveActions.withFile(String(decoding: bytes, as: UTF8.self)) {
        case .success(let s): return s
        case .failure(let why): throw ServerError("--sensitive-actions \(path): \(why.message)")
        }
    }

    /// A file an operator names (CA certificates, the sensitive-actions list), at most 1 MiB.
    static func readOperatorFile(_ path: String, what: String) throws -> [UInt8] {
        do {
            guard let pem = try LocalFile.read(path, limit: 1 << 20, what: what) else { throw ServerError("\(what): \(path) does not exist") }
            return pem
        } catch let e as ServerError { throw e } catch { throw ServerError("\(error)") }
    }

    /// The process-wide metrics registry, bootstrapped once (tests build several servers in one process).
    static let metricsRegistry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// The root key: from the environment when set (never written anywhere), else generated on first
    /// start into `<data-dir>/root-credentials.json` (0600). The log says where, never the secret.
    /// Says what opening the store did to its schema: an upgrade is worth a line in the operator's log.
    static func logSchema(_ schema: SchemaUpgrade?, at location: String, logger: Logger) {
        guard let schema else { return }
        let meta: Logger.Metadata = ["store.location": "\(location)", "store.schema": "\(schema.current)"]
        if schema.created {
            logger.notice("created the database (\(schema.applied.count) migrations, schema \(schema.current))", metadata: meta)
        } else if !schema.applied.isEmpty {
            logger.notice("migrated the database from schema \(schema.previous ?? "?") to \(schema.current): applied \(schema.applied.joined(separator: ", "))",
                          metadata: meta)
        } else {
            logger.info("the database schema is current (\(schema.current)); no migration was pending", metadata: meta)
        }
    }

    static func ensureRootCredentials(_ c: ServerConfiguration, dir: DataDirectory, shared: Bool, admin: Administration, logger: Logger) async throws {
        if c.rootSecretId != nil {
            logger.notice("root key taken from the root-secret-id / root-secret-key settings")
            return
        }
        if shared {
            // One node's file would hold a key the others do not know of: the operator gives the root key
            // to every node, or makes admin keys with `cloudaudit keys create --store ...`.
            logger.notice("no root key is configured (root-secret-id / root-secret-key); admin keys are made with cloudaudit keys create --store ... --role admin")
            return
        }
        if FileManager.default.fileExists(atPath: dir.rootCredentialsPath) {
            logger.notice("root credentials are in \(dir.rootCredentialsPath)")
            return
        }
        let key = try await admin.createKey(accountId: AccountIds.first, role: .admin)
        let json = #"{"SecretId": "\#(key.SecretId)", "SecretKey": "\#(key.SecretKey)", "AccountId": \#(key.AccountId)}"# + "\n"
        try dir.writeSecretFile(dir.rootCredentialsPath, contents: json)
        logger.notice("generated a root admin key; its credentials are in \(dir.rootCredentialsPath) (owner-only)",
                      metadata: ["audit.secret_id": "\(key.SecretId)"])
    }
}
