import AuditAPI
import AuditAuth
import AuditModel
import AuditStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The web console under `/console/`: the page and its assets, sign-in and sessions, one endpoint
/// that runs the API's actions (and the console's own) as the signed-in caller, and the export.
/// The contract with the page is in docs/console.md.
public struct WebConsole: Sendable {
    static let maxBodyBytes = 1 << 20
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "same-origin"),
    ]

    let api: AuditAPI
    let sessions: SessionManager
    let throttle: SignInThrottle
    let hashing = HashingGate(limit: 2)
    let configuration: ConsoleConfiguration
    let actions: [String: ActionDefinition]

    public init(api: AuditAPI, configuration: ConsoleConfiguration) {
        self.api = api
        self.configuration = configuration
        sessions = SessionManager(store: api.environment.storage.console, authenticator: api.authenticator, configuration: configuration,
                                  clock: api.environment.clock)
        throttle = SignInThrottle(base: configuration.failedSignInDelay)
        let regions = api.environment.regions
        actions = ConsoleActions.definitions { region, bucket, prefix in
            // Where the files are, in terms a tenant can use: the bucket's URL, never a path on the server
            // (the local region's folders are the operator's business: `cloudaudit tracks status`).
            if let url = regions.location(region: region, bucket: bucket, prefix: prefix), !url.hasPrefix("file:") { return url }
            return "\(region)/\(bucket)/\(prefix)"
        }
    }

    public func addRoutes(to router: Router<AuditRequestContext>) {
        // The router treats "/console" and "/console/" alike; the page's relative links need the slash.
        router.get("/console/") { request, context in
            request.uri.path.hasSuffix("/") ? self.asset("", context) : Response(status: .found, headers: [.location: "/console/"])
        }
        router.get("/console/assets/:name") { _, context in self.asset("assets/" + (context.parameters.get("name") ?? ""), context) }
        router.post("/console/api/session") { request, context in await self.signIn(request, context) }
        router.get("/console/api/session") { request, context in await self.withSession(request, context, csrf: false) { active in
            self.json(.ok, .obj([("Session", self.sessionJSON(active.session))]))
        } }
        router.delete("/console/api/session") { request, context in await self.signOut(request, context) }
        router.post("/console/api/call") { request, context in await self.call(request, context) }
        router.get("/console/api/export") { request, context in await self.export(request, context) }
        router.get("/console/api/tail") { request, context in await self.tail(request, context) }
    }

    // MARK: Live tail

    /// `GET /console/api/tail?<TailEvents parameters>`: the session's account as it grows, as
    /// server-sent events (the page's EventSource sends `Last-Event-ID` when it reconnects). A GET reads
    /// only, so it needs no CSRF token; the session cookie and a same-site origin are still required.
    /// A refused tail is the console's error shape with a 4xx status (an EventSource gives up on it).
    func tail(_ request: Request, _ context: AuditRequestContext) async -> Response {
        await withSession(request, context, csrf: false) { active in
            var params: RequestParameters?
            var tail: TailEvents.Request?
            var outcome = await api.perform(TailEvents.name, definition: ActionTable.implemented[TailEvents.name], caller: active.caller,
                                            requestId: context.requestId, logger: context.logger) {
                let p = try RequestParameters.fromQuery(request.uri.query ?? "")
                params = p
                tail = try TailEvents.parse(p, accountId: active.caller.accountId, lastEventId: request.headers[HTTPField.Name("Last-Event-ID")!])
                return p
            }
            var stream: Response?
            if case .success = outcome, let tail {
                let token = Self.sessionToken(request)
                do {
                    stream = try TailEvents.response(tail, environment: api.environment, logger: context.logger) { [sessions] in
                        do {
                            _ = try await sessions.resolve(token: token)
                            return true
                        } catch is SessionManager.Problem {
                            return false
                        } catch {
                            return true
                        }
                    }
                } catch {
                    outcome = .failure(error as? APIError ?? .internalError)
                }
            }
            let failure: APIError? = if case .failure(let e) = outcome { e } else { nil }
            audit(TailEvents.name, caller: active.caller, request: request, context: context, parameters: params?.root, error: failure)
            if let stream { return stream }
            let refusal = failure ?? .internalError
            let status: HTTPResponse.Status = refusal == .tooManyTails || refusal.code == APIError.requestLimitExceeded.code ? .tooManyRequests
                : refusal.code.hasPrefix("AuthFailure") ? .forbidden : .badRequest
            return error(status, refusal, context)
        }
    }

    // MARK: Responses

    func asset(_ path: String, _ context: AuditRequestContext) -> Response {
        guard let file = ConsoleAssets.files[path] else { return error(.notFound, .consolePageNotFound, context) }
        var headers = HTTPFields()
        headers[.contentType] = file.contentType
        headers[.cacheControl] = "no-cache"
        return secured(Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.body))))
    }

    func secured(_ response: Response) -> Response {
        var r = response
        for (name, value) in Self.securityHeaders { r.headers[name] = value }
        return r
    }

    func json(_ status: HTTPResponse.Status, _ value: JSONValue, cookie: String? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        if let cookie { headers[.setCookie] = cookie }
        return secured(Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.encode(value)))))
    }

    /// The answer to a console request that outlived its deadline (`RequestDeadlineMiddleware`).
    public static func timedOut(_ context: AuditRequestContext, after timeout: Duration) -> Response {
        let error = APIError.requestTimedOut(seconds: timeout.components.seconds)
        let body = JSONWriter.encode(errorBody(error, requestId: context.requestId))
        var response = Response(status: .serviceUnavailable, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        for (name, value) in securityHeaders { response.headers[name] = value }
        return response
    }

    /// A refusal from the one catalogue (`APIError`), with the request's id as the API gives it.
    func error(_ status: HTTPResponse.Status, _ error: APIError, _ context: AuditRequestContext, cookie: String? = nil) -> Response {
        json(status, Self.errorBody(error, requestId: context.requestId), cookie: cookie)
    }

    static func errorBody(_ error: APIError, requestId: String) -> JSONValue {
        .obj([("Error", .obj([("Code", .string(error.code)), ("Message", .string(error.message))])), ("RequestId", .string(requestId))])
    }

    func sessionJSON(_ s: ConsoleSession) -> JSONValue {
        .obj([("AccountId", .int(s.accountId)), ("Role", .string(s.role.rawValue)), ("UserName", .string(SessionManager.caller(of: s).userName)),
              ("CsrfToken", .string(s.csrfToken)), ("IdleTimeout", .int(configuration.idleTimeout)),
              ("ExpiresAt", .int(s.createdAt + configuration.lifetime))])
    }

    func cookie(_ token: String, maxAge: Int64) -> String {
        "\(SessionManager.cookieName)=\(token); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (configuration.secureCookies ? "; Secure" : "")
    }

    // MARK: Request checks

    static func sessionToken(_ request: Request) -> String? {
        request.cookies[SessionManager.cookieName]?.value
    }

    /// A request from a page of another site: its `Origin` (when sent) names another host.
    static func foreignOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return false }
        guard let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!], let url = URL(string: origin),
              let originHost = url.host, url.scheme == "http" || url.scheme == "https" else { return true }
        let originAuthority = originHost + (url.port.map { ":\($0)" } ?? "")
        return originAuthority.lowercased() != host.lowercased()
    }

    /// Runs `body` for the request's session; 401 without one, 403 for a missing or wrong CSRF token
    /// (when `csrf`) or a foreign origin.
    func withSession(_ request: Request, _ context: AuditRequestContext, csrf: Bool,
                     _ body: (SessionManager.Active) async throws -> Response) async -> Response {
        do {
            if Self.foreignOrigin(request) { return error(.forbidden, .originNotAllowed, context) }
            let active = try await sessions.resolve(token: Self.sessionToken(request))
            if csrf {
                let sent = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? ""
                guard constantTimeEquals(sent, active.session.csrfToken) else {
                    return error(.forbidden, .csrfTokenInvalid, context)
                }
            }
            return try await body(active)
        } catch SessionManager.Problem.notSignedIn {
            return error(.unauthorized, .notSignedIn, context, cookie: cookie("", maxAge: 0))
        } catch SessionManager.Problem.expired {
            return error(.unauthorized, .sessionExpired, context, cookie: cookie("", maxAge: 0))
        } catch {
            context.logger.error("console request failed", metadata: ["error.message": "\(error)"])
            return self.error(.internalServerError, .internalError, context)
        }
    }

    func readJSONObject(_ request: Request) async -> JSONObject? {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: Self.maxBodyBytes),
              case .object(let o)? = try? JSONParser.parse(Array(buffer.readableBytesView)) else { return nil }
        return o
    }

    func audit(_ action: String, caller: Caller, request: Request, context: AuditRequestContext, parameters: JSONObject?, error: APIError?) {
        let call = SelfAuditRecorder.Call(action: action, caller: caller, request: request, context: context,
                                          parameters: parameters.map { String(decoding: JSONWriter.encode(.object(SelfAuditRecorder.redacted($0))), as: UTF8.self) } ?? "",
                                          error: error, eventType: "ConsoleCall")
        api.selfAudit.record(call, now: api.environment.clock())
    }

    // MARK: Sign-in

    func signIn(_ request: Request, _ context: AuditRequestContext) async -> Response {
        if Self.foreignOrigin(request) { return error(.forbidden, .originNotAllowed, context) }
        guard let body = await readJSONObject(request) else {
            return error(.badRequest, .signInInvalid("Send a JSON object with SecretId and SecretKey, or AccountId, Role and Password."), context)
        }
        let address = context.remoteAddress
        let caller: Caller
        do {
            if let secretId = body["SecretId"]?.stringValue {
                guard let secretKey = body["SecretKey"]?.stringValue, !secretId.isEmpty, secretId.utf8.count <= 128, secretKey.utf8.count <= 256 else {
                    return error(.badRequest, .signInInvalid("Give both SecretId and SecretKey."), context)
                }
                caller = try await api.authenticator.verify(secretId: secretId, secretKey: secretKey)
            } else {
                caller = try await passwordSignIn(body)
            }
        } catch let problem as SignInProblem {
            return error(.badRequest, .signInInvalid(problem.message), context)
        } catch let failure as Authenticator.Failure {
            if let known = failure.knownCaller {
                audit("ConsoleLogin", caller: known, request: request, context: context, parameters: nil, error: failure.error)
            }
            context.logger.notice("console sign-in failed", metadata: ["error.code": "\(failure.error.code)", "client.address": "\(address)"])
            APIMetrics.authenticationFailure(code: failure.error.code, via: "console")
            let delay = throttle.failed(address, now: api.environment.clock())
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            return error(.unauthorized, .signInFailed, context)
        } catch {
            context.logger.error("console sign-in error", metadata: ["error.message": "\(error)"])
            return self.error(.internalServerError, .internalError, context)
        }
        guard caller.role == .admin || caller.role == .auditor else {
            let refusal = APIError.consoleRole(caller.role.rawValue)
            audit("ConsoleLogin", caller: caller, request: request, context: context, parameters: nil, error: refusal)
            return error(.forbidden, refusal, context)
        }
        do {
            let (token, active) = try await sessions.create(accountId: caller.accountId, role: caller.role, secretId: caller.secretId.isEmpty ? nil : caller.secretId)
            throttle.succeeded(address)
            audit("ConsoleLogin", caller: active.caller, request: request, context: context, parameters: nil, error: nil)
            return json(.ok, .obj([("Session", sessionJSON(active.session))]), cookie: cookie(token, maxAge: configuration.lifetime))
        } catch {
            context.logger.error("console session could not be stored", metadata: ["error.message": "\(error)"])
            return self.error(.internalServerError, .internalError, context)
        }
    }

    struct SignInProblem: Error {
        var message: String
    }

    /// `{AccountId, Role, Password}`: the account's console password of that role. A missing password
    /// costs the same hashing as a wrong one.
    func passwordSignIn(_ body: JSONObject) async throws -> Caller {
        let accountId: Int64
        switch body["AccountId"] {
        case .int(let n)?: accountId = n
        case .string(let s)?:
            guard let n = Int64(s) else { throw SignInProblem(message: "AccountId must be the account's number.") }
            accountId = n
        default: throw SignInProblem(message: "Give SecretId and SecretKey, or AccountId, Role and Password.")
        }
        let roleName = body["Role"]?.stringValue ?? "admin"
        guard let role = KeyRole(rawValue: roleName), role == .admin || role == .auditor else {
            throw SignInProblem(message: "Role must be admin or auditor.")
        }
        guard let password = body["Password"]?.stringValue, !password.isEmpty else { throw SignInProblem(message: "Give the Password.") }
        let storage = api.environment.storage
        let account = try await storage.accounts.account(id: accountId)
        let stored = account == nil ? nil : try await storage.console.consolePassword(accountId: accountId, role: role)
        let hash = stored?.hash ?? Self.decoyHash
        let matches = await hashing.run { (try? PasswordHash.verify(password, against: hash)) ?? false }
        let caller = Caller(secretId: "", accountId: accountId, role: role, userName: "console:\(role.rawValue)")
        guard stored != nil, matches else {
            throw Authenticator.Failure(error: .signatureFailure, knownCaller: account == nil ? nil : caller)
        }
        return caller
    }

    /// Verified against when the account has no password, so that the answer takes as long.
    static let decoyHash: String = (try? PasswordHash.make(CredentialGenerator.token())) ?? ""

    func signOut(_ request: Request, _ context: AuditRequestContext) async -> Response {
        await withSession(request, context, csrf: true) { active in
            try await sessions.end(token: Self.sessionToken(request))
            audit("ConsoleLogout", caller: active.caller, request: request, context: context, parameters: nil, error: nil)
            return json(.ok, .obj([]), cookie: cookie("", maxAge: 0))
        }
    }

    // MARK: Actions

    func call(_ request: Request, _ context: AuditRequestContext) async -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        var response = await withSession(request, context, csrf: true) { active in
            guard api.limiter.enter() else { return json(.ok, AuditAPI.envelope(.failure(.serverBusy), requestId: context.requestId)) }
            defer { api.limiter.leave() }
            guard let body = await readJSONObject(request), let action = body["Action"]?.stringValue else {
                return json(.ok, AuditAPI.envelope(.failure(.invalidBody("send a JSON object {\"Action\": ..., \"Params\": {...}}")), requestId: context.requestId))
            }
            var definition = actions[action] ?? ActionTable.implemented[action]
            // Ingestion is for producers' keys, not for the console.
            if definition?.kind == .ingest { definition = nil }
            var params: JSONObject?
            let outcome = await api.perform(action, definition: definition, caller: active.caller, requestId: context.requestId, logger: context.logger) {
                switch body["Params"] {
                case nil, .null?: params = JSONObject(fields: [])
                case .object(let o)?: params = o
                case let v?: throw APIError.wrongType("Params", expected: "an object", got: v.typeName)
                }
                return RequestParameters(root: params!, body: [])
            }
            let failure: APIError? = if case .failure(let e) = outcome { e } else { nil }
            audit(action.isEmpty ? "-" : String(action.prefix(64)), caller: active.caller, request: request, context: context, parameters: params, error: failure)
            return json(.ok, AuditAPI.envelope(outcome, requestId: context.requestId))
        }
        // The server's own time for the call (what `bench --suite console` reports), for the browser's tools too.
        let millis = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        response.headers[HTTPField.Name("Server-Timing")!] = String(format: "app;dur=%.2f", millis)
        return response
    }
}
