import AuditAuth
import AuditModel
import AuditStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The API 3.0 endpoint: `POST /` (JSON) and `GET /?...`, plus `GET /healthz`.
public struct AuditAPI: Sendable {
    public static let version = "2019-03-19"
    public static let maxBodyBytes = 5 * 1024 * 1024

    public let environment: APIEnvironment
    public let authenticator: Authenticator
    public let limiter: RequestLimiter
    public let selfAudit: SelfAuditRecorder
    /// Whose forwarding headers name the client (none: the TCP peer is the client).
    public let trustedProxies: TrustedProxies

    public init(environment: APIEnvironment, authenticator: Authenticator, limiter: RequestLimiter, selfAudit: SelfAuditRecorder,
                trustedProxies: TrustedProxies = .none) {
        self.environment = environment
        self.authenticator = authenticator
        self.limiter = limiter
        self.selfAudit = selfAudit
        self.trustedProxies = trustedProxies
    }

    /// `GET /healthz`'s answer (the API's port and the metrics listener both serve it).
    public static func healthResponse() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }

    /// `GET /readyz`: 200 when the storage answers within 2 s and is at this code's schema (a load
    /// balancer sends requests to this node), else 503 (it sends them elsewhere). `/healthz` says only
    /// that the process serves.
    public static func readinessResponse(_ storage: Storage) async -> Response {
        let ready = await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await storage.readiness() }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        } ?? false
        let body = ready ? #"{"status":"ready"}"#
            : #"{"status":"not ready","reason":"the store does not answer, or its schema is not this version's (see the server's log)"}"#
        return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The API's routes, after the middleware that finds each request's client address (routes added to
    /// `router` later, the console's, get it too).
    public func addRoutes(to router: Router<AuditRequestContext>) {
        router.add(middleware: ClientAddressMiddleware(proxies: trustedProxies))
        router.get("/healthz") { _, _ in Self.healthResponse() }
        router.get("/readyz") { _, _ in await Self.readinessResponse(self.environment.storage) }
        router.post("/") { request, context in try await self.handle(request, context) }
        router.get("/") { request, context in try await self.handle(request, context) }
    }

    public func buildRouter() -> Router<AuditRequestContext> {
        let router = Router(context: AuditRequestContext.self)
        addRoutes(to: router)
        return router
    }

    func header(_ request: Request, _ name: String) -> String? {
        Self.header(name, in: request.headers, authority: request.head.authority)
    }

    /// A request header by lower-case name; `host` is the request's authority (HTTP/1.1 `Host`).
    static func header(_ name: String, in headers: HTTPFields, authority: String?) -> String? {
        if name == "host" { return authority ?? headers[.init("Host")!] }
        return HTTPField.Name(name).flatMap { headers[$0] }
    }

    func handle(_ request: Request, _ context: AuditRequestContext) async throws -> Response {
        var request = request
        let logger = context.logger
        // Every answer is counted and timed once (APIMetrics), by its action and code.
        let started = ContinuousClock.now
        var metricAction = "", metricCode = "OK"
        defer { APIMetrics.request(action: metricAction, code: metricCode, since: started) }
        func refuse(_ e: APIError) -> Response {
            metricCode = e.code
            return respond(context, error: e)
        }
        guard limiter.enter() else { return refuse(.serverBusy) }
        defer { limiter.leave() }

        let body: [UInt8]
        do {
            let buffer = try await request.collectBody(upTo: Self.maxBodyBytes)
            body = Array(buffer.readableBytesView)
        } catch {
            return refuse(.requestSizeLimitExceeded(limit: Self.maxBodyBytes))
        }
        let query = request.uri.query ?? ""
        let getParams: RequestParameters?
        do { getParams = request.method == .get ? try RequestParameters.fromQuery(query) : nil } catch {
            return refuse(error as? APIError ?? .internalError)
        }
        let action = header(request, "x-tc-action") ?? getParams?.root["Action"]?.stringValue ?? ""
        metricAction = action
        let version = header(request, "x-tc-version") ?? getParams?.root["Version"]?.stringValue ?? ""
        let region = header(request, "x-tc-region") ?? getParams?.root["Region"]?.stringValue ?? ""
        let timestamp = header(request, "x-tc-timestamp") ?? getParams?.root["Timestamp"]?.stringValue
        let requestHeaders = request.headers
        let authority = request.head.authority
        let signed = Authenticator.SignedParts(
            method: request.method.rawValue, query: request.method == .get ? query : "",
            authorization: header(request, "authorization"), timestamp: timestamp,
            header: { Self.header($0, in: requestHeaders, authority: authority) }, body: body)
        let now = environment.clock()
        // Every call is recorded in the caller's account, except ingestion itself (PutEvents).
        let selfAudited = !action.isEmpty && ActionTable.implemented[action]?.kind != .ingest
        let call = { (caller: Caller) in
            SelfAuditRecorder.Call(action: action, caller: caller, request: request, context: context, region: region)
        }
        let caller: Caller
        do {
            caller = try await authenticator.authenticate(signed)
        } catch let failure as Authenticator.Failure {
            logger.notice("authentication failed", metadata: ["error.code": "\(failure.error.code)", "audit.action": "\(APIError.clip(action))"])
            APIMetrics.authenticationFailure(code: failure.error.code, via: "api")
            if let known = failure.knownCaller, selfAudited {
                var audit = call(known)
                audit.error = failure.error
                selfAudit.record(audit, now: now)
            }
            return refuse(failure.error)
        } catch let e as StoreError where e.code == .unavailable {
            logger.warning("store unavailable", metadata: ["error.message": "\(e.message)"])
            return refuse(.storeUnavailable)
        } catch {
            logger.error("authentication error", metadata: ["error.message": "\(error)"])
            return refuse(.internalError)
        }
        var audit = call(caller)
        var logMeta: Logger.Metadata = ["audit.account": "\(caller.accountId)", "audit.action": "\(APIError.clip(action))"]

        var tail: TailEvents.Request?
        var outcome = await perform(action, definition: ActionTable.implemented[action], caller: caller, requestId: context.requestId, logger: logger,
                                    check: { guard version == Self.version else { throw APIError.noSuchVersion(version) } }) {
            let params = try getParams ?? RequestParameters.fromBody(body)
            if selfAudited { audit.parameters = String(decoding: JSONWriter.encode(.object(SelfAuditRecorder.redacted(params.root))), as: UTF8.self) }
            if action == TailEvents.name, let getParams {
                tail = try TailEvents.parse(getParams, accountId: caller.accountId, lastEventId: header(request, "last-event-id"))
            }
            return params
        }
        // A live tail answers with a stream (once its parameters and the caller's role passed).
        var stream: Response?
        if case .success = outcome, let tail {
            do {
                stream = try TailEvents.response(tail, environment: environment, logger: logger) { [authenticator] in
                    await authenticator.stillHolds(caller)
                }
            } catch {
                outcome = .failure(error as? APIError ?? .internalError)
            }
        }
        if selfAudited {
            if case .failure(let e) = outcome { audit.error = e }
            selfAudit.record(audit, now: now)
        }
        if let stream { return stream }
        switch outcome {
        case .success(let fields):
            logger.debug("ok", metadata: logMeta)
            return respond(context, fields: fields)
        case .failure(let e):
            logMeta["error.code"] = "\(e.code)"
            logger.info("request refused", metadata: logMeta)
            return refuse(e)
        }
    }

    /// Runs one action for an authenticated caller: the rate limit, `check`, the action's existence and
    /// role, then `parameters` (which may refuse the call) and the action itself. Any error that is not an
    /// `APIError` is logged and answered as `InternalError`, without its details.
    public func perform(_ action: String, definition: ActionDefinition?, caller: Caller, requestId: String, logger: Logger,
                        check: () throws -> Void = {}, parameters: () throws -> RequestParameters) async -> Result<[(String, JSONValue)], APIError> {
        do {
            guard limiter.allow(caller.rateLimitKey) else { throw APIError.requestLimitExceeded }
            try check()
            guard let def = definition else { throw APIError.invalidAction(action) }
            guard def.kind.allows(role: caller.role) else { throw APIError.unauthorizedOperation(role: caller.role.rawValue, action: action) }
            let params = try parameters()
            let call = ActionCall(caller: caller, params: params, requestId: requestId, environment: environment, logger: logger)
            return .success(try await def.run(call))
        } catch let e as APIError {
            return .failure(e)
        } catch let e as StoreError where e.code == .unavailable {
            logger.warning("store unavailable", metadata: ["audit.action": "\(APIError.clip(action))", "error.message": "\(e.message)"])
            return .failure(.storeUnavailable)
        } catch {
            logger.error("action failed", metadata: ["audit.account": "\(caller.accountId)", "audit.action": "\(APIError.clip(action))", "error.message": "\(error)"])
            return .failure(.internalError)
        }
    }

    /// The API's answer: `{"Response": {fields..., "RequestId"}}` or `{"Response": {"Error": {...}, "RequestId"}}`.
    public static func envelope(_ outcome: Result<[(String, JSONValue)], APIError>, requestId: String) -> JSONValue {
        switch outcome {
        case .success(let fields):
            return .obj([("Response", .obj(fields + [("RequestId", .string(requestId))]))])
        case .failure(let error):
            return .obj([("Response", .obj([("Error", .obj([("Code", .string(error.code)), ("Message", .string(error.message))])),
                                            ("RequestId", .string(requestId))]))])
        }
    }

    func respond(_ context: AuditRequestContext, fields: [(String, JSONValue)]) -> Response {
        json(Self.envelope(.success(fields), requestId: context.requestId))
    }

    func respond(_ context: AuditRequestContext, error: APIError) -> Response {
        json(Self.envelope(.failure(error), requestId: context.requestId))
    }

    /// The answer to an API request that outlived its deadline (`RequestDeadlineMiddleware`).
    public static func timedOut(_ context: AuditRequestContext, after timeout: Duration) -> Response {
        let bytes = JSONWriter.encode(envelope(.failure(.requestTimedOut(seconds: timeout.components.seconds)), requestId: context.requestId))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func json(_ v: JSONValue) -> Response {
        let bytes = JSONWriter.encode(v)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
