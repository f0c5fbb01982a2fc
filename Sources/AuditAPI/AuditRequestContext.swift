import AuditStore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Per-request state: the request id returned to the client and logged on every line, and the peer.
public struct AuditRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let requestId: String
    /// The client's address: the TCP peer's, or the one a trusted proxy forwarded (`TrustedProxies`).
    public internal(set) var remoteAddress: String
    /// The TCP peer's address (a proxy's, behind one).
    public let peerAddress: String
    /// The connection, closed when a request outlives its deadline (`RequestDeadlineMiddleware`).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        requestId = UUID().uuidString.lowercased()
        peerAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        remoteAddress = peerAddress
        logger[metadataKey: "request.id"] = .string(requestId)
    }
}

/// Who made a call: the verified key.
public struct Caller: Sendable, Equatable {
    /// The access key ("" for a console password session).
    public var secretId: String
    public var accountId: Int64
    public var role: KeyRole
    /// The name recorded in self-audit events: the SecretId, or `console:<role>` for a password session.
    public var userName: String

    public init(secretId: String, accountId: Int64, role: KeyRole, userName: String? = nil) {
        self.secretId = secretId
        self.accountId = accountId
        self.role = role
        self.userName = userName ?? secretId
    }

    /// What the request rate is limited by: the key, or the account and role of a password session.
    public var rateLimitKey: String { secretId.isEmpty ? "\(accountId)/\(userName)" : secretId }
}
