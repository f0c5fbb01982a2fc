import AuditAPI
import AuditModel
import AuditStore
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// Where `/metrics` (Prometheus text) is served: never openly on the public port. With
/// `--metrics-port` on a listener of its own (`--metrics-host`, 127.0.0.1 by default); with
/// `CLOUDAUDIT_METRICS_TOKEN` also on the public port, to `Authorization: Bearer <token>`; neither:
/// not at all.
enum MetricsEndpoint {
    static func response(_ registry: PrometheusCollectorRegistry) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }

    /// Whether `authorization` is `Bearer <token>` (compared in constant time).
    static func allows(_ authorization: String?, token: String) -> Bool {
        guard let authorization, authorization.utf8.count <= 1024, authorization.hasPrefix("Bearer ") else { return false }
        return constantTimeEquals(Array(authorization.utf8.dropFirst(7)), Array(token.utf8))
    }

    /// The token-protected route on the public port.
    static func addProtected<Context: RequestContext>(to router: Router<Context>, registry: PrometheusCollectorRegistry, token: String) {
        router.get("/metrics") { request, _ in
            guard Self.allows(request.headers[.authorization], token: token) else {
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"cloudaudit metrics\""])
            }
            return Self.response(registry)
        }
    }

    /// The listener of its own: `/metrics` and `/healthz` only.
    static func application(host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ in Self.response(registry) }
        router.get("/healthz") { _, _ in AuditAPI.healthResponse() }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "cloudaudit-metrics"),
                           onServerRunning: { channel in
                               logger.notice("metrics listening", metadata: ["server.address": "http://\(host):\(channel.localAddress?.port ?? port)/metrics"])
                           },
                           logger: logger)
    }
}

/// When a background pass last succeeded (Unix seconds), for the age gauges.
public final class PassClock: Sendable {
    private let last = Mutex<Int64?>(nil)
    public init() {}
    public func passed(at now: Int64) { last.withLock { $0 = now } }
    public var lastPass: Int64? { last.withLock { $0 } }
}

/// Every 15 s: `cloudaudit_store_bytes` (the store's files on disk, or a PostgreSQL store's database size) and
/// `cloudaudit_checkpoint_pass_age_seconds` (since the checkpoint service last completed a pass).
struct MetricsSampler: Service {
    let storage: Storage
    let checkpoints: PassClock
    var interval: Duration = .seconds(15)
    var clock: @Sendable () -> Int64 = unixNow

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sample()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    func sample() async {
        if let bytes = await storage.storedBytes() { Gauge(label: "cloudaudit_store_bytes").record(bytes) }
        if let last = checkpoints.lastPass { Gauge(label: "cloudaudit_checkpoint_pass_age_seconds").record(max(0, clock() - last)) }
    }
}
