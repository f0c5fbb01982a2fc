import AuditModel
import AuditStore
import Foundation
import Hummingbird
import Logging

/// Records the calls made to CloudAudit as events of the caller's account (`eventSource`
/// `cloudaudit.api`). Written asynchronously so a query does not wait for a commit; `drain()` waits for
/// what is in flight (at shutdown).
public final class SelfAuditRecorder: @unchecked Sendable {
    let log: any EventLog
    let logger: Logger
    /// Told of each append, for the live tails of this node.
    let signal: AppendSignal?
    private let lock = NSLock()
    private var inFlight = 0

    public init(log: any EventLog, logger: Logger, signal: AppendSignal? = nil) {
        self.log = log
        self.logger = logger
        self.signal = signal
    }

    /// The names of parameters whose values never reach the log (an alert channel's `Secret`...).
    static let secretNames: Set<String> = ["Secret", "SecretKey", "Password"]

    /// A call's parameters as recorded: every value under a secret's name, at any depth, replaced.
    public static func redacted(_ o: JSONObject) -> JSONObject {
        func walk(_ v: JSONValue, depth: Int) -> JSONValue {
            guard depth < 80 else { return .string("...") }
            switch v {
            case .object(let o):
                return .object(JSONObject(fields: o.fields.map { ($0.key, secretNames.contains($0.key) ? .string("******") : walk($0.value, depth: depth + 1)) }))
            case .array(let a):
                return .array(a.map { walk($0, depth: depth + 1) })
            default:
                return v
            }
        }
        guard case .object(let out) = walk(.object(o), depth: 0) else { return o }
        return out
    }

    /// The numeric `errorCode` recorded for authentication failures (0 = none).
    public static func authErrorCode(_ code: String) -> Int64 {
        switch code {
        case "AuthFailure.SignatureFailure": return 4100
        case "AuthFailure.UnauthorizedOperation": return 4102
        case "AuthFailure.SecretIdNotFound": return 4104
        case "AuthFailure.SignatureExpire": return 4110
        case "AuthFailure.InvalidAuthorization": return 4111
        default: return 0
        }
    }

    public struct Call: Sendable {
        public var action: String
        public var caller: Caller
        public var requestId: String
        public var sourceIP: String
        public var userAgent: String
        public var httpMethod: String
        public var region: String
        public var parameters: String
        public var error: APIError?
        public var eventType: String

        /// A call made by `request`: its request id, source address, User-Agent and method.
        public init(action: String, caller: Caller, request: Request, context: AuditRequestContext, region: String = "",
                    parameters: String = "", error: APIError? = nil, eventType: String = "ApiCall") {
            self.action = action
            self.caller = caller
            requestId = context.requestId
            sourceIP = context.remoteAddress
            userAgent = request.headers[.userAgent] ?? ""
            httpMethod = request.method.rawValue
            self.region = region
            self.parameters = parameters
            self.error = error
            self.eventType = eventType
        }
    }

    public func record(_ call: Call, now: Int64) {
        let eventId = UUID().uuidString.lowercased()
        let read = ActionTable.isReadName(call.action)
        let authCode = call.error.map { Self.authErrorCode($0.code) } ?? 0
        let record = JSONValue.obj([
            ("eventVersion", "1.0"), ("eventId", .string(eventId)), ("eventTime", .int(now)),
            ("eventName", .string(Self.fit(call.action, 128))), ("eventSource", "cloudaudit.api"), ("eventType", .string(call.eventType)),
            ("eventRegion", .string(Self.fit(call.region, 128))), ("actionType", .string(read ? "Read" : "Write")), ("sensitiveAction", false),
            ("resourceType", "cloudaudit"), ("resourceName", ""),
            ("userIdentity", .obj([("type", "CAMUser"), ("principalId", .string(Self.fit(call.caller.userName, 256))),
                                   ("accountId", .string(String(call.caller.accountId))),
                                   ("secretId", .string(Self.fit(call.caller.secretId, 256))), ("userName", .string(Self.fit(call.caller.userName, 256)))])),
            ("sourceIPAddress", .string(Self.fit(call.sourceIP, 256))), ("userAgent", .string(Self.fit(call.userAgent, 512))),
            ("httpMethod", .string(Self.fit(call.httpMethod, 16))), ("apiVersion", "2019-03-19"), ("requestID", .string(call.requestId)),
            ("requestParameters", .string(Self.fit(call.parameters, 2048))), ("responseElements", ""),
            ("errorCode", .int(authCode)), ("errorMessage", .string(Self.fit(authCode != 0 ? call.error?.message ?? "" : "", 2048))),
            ("apiErrorCode", .string(Self.fit(call.error?.code ?? "", 128))), ("apiErrorMessage", .string(Self.fit(call.error?.message ?? "", 2048))),
        ])
        guard let event = EventRecordValidator.serverEvent(record, accountId: call.caller.accountId, now: now) else {
            logger.error("self-audit record failed validation", metadata: ["audit.action": "\(call.action)"])
            return
        }
        lock.withLock { inFlight += 1 }
        Task {
            defer { self.lock.withLock { self.inFlight -= 1 } }
            do {
                _ = try await self.log.append([event])
                self.signal?.appended(accountIds: [event.accountId])
                APIMetrics.appended(stored: 1, duplicates: 0, source: "self_audit")
            } catch {
                self.logger.error("self-audit append failed", metadata: ["error.message": "\(error)", "request.id": "\(call.requestId)"])
            }
        }
    }

    /// `s` cut to at most `maxBytes` of UTF-8 (at a Unicode scalar, marked with "…"), so that whatever a
    /// client sends in a header or a parameter, its call's record stays within the record's field limits
    /// and is stored: a long X-TC-Region must not keep a call out of the trail. (Characters are no bound:
    /// one letter with 150,000 combining marks is one Character.)
    static func fit(_ s: String, _ maxBytes: Int) -> String { TextClip.utf8(s, maxBytes) }

    /// Waits (up to `timeout` seconds) until the records in flight are stored.
    public func drain(timeout: Double = 10) async {
        let deadline = Date().addingTimeInterval(timeout)
        while lock.withLock({ inFlight }) > 0, Date() < deadline {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}
