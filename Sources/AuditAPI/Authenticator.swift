import AuditAuth
import AuditModel
import AuditSigning
import AuditStore
import Foundation

/// Verifies TC3-HMAC-SHA256 requests against the keys in the store (plus an optional root key given
/// by the environment, which is never written to disk).
public struct Authenticator: Sendable {
    public static let service = "cloudaudit"
    public static let maxSkew: Int64 = 300
    public static let maxAuthorizationBytes = 4096

    public struct EnvironmentKey: Sendable {
        public var secretId: String
        public var secretKey: String
        public var accountId: Int64
        public init(secretId: String, secretKey: String, accountId: Int64) {
            self.secretId = secretId
            self.secretKey = secretKey
            self.accountId = accountId
        }
    }

    /// What the request said, as the signature covers it.
    public struct SignedParts: Sendable {
        public var method: String
        public var query: String
        public var authorization: String?
        public var timestamp: String?
        /// Header lookup by lower-case name (`host` included).
        public var header: @Sendable (String) -> String?
        public var body: [UInt8]

        public init(method: String, query: String, authorization: String?, timestamp: String?, header: @escaping @Sendable (String) -> String?, body: [UInt8]) {
            self.method = method
            self.query = query
            self.authorization = authorization
            self.timestamp = timestamp
            self.header = header
            self.body = body
        }
    }

    /// A failed authentication, with the account of the key when it was known (for self-audit).
    public struct Failure: Error, Sendable {
        public var error: APIError
        public var knownCaller: Caller?

        public init(error: APIError, knownCaller: Caller?) {
            self.error = error
            self.knownCaller = knownCaller
        }
    }

    let accounts: any AccountDirectory
    let sealer: SecretSealer
    let rootKey: EnvironmentKey?
    let clock: @Sendable () -> Int64

    public init(accounts: any AccountDirectory, sealer: SecretSealer, rootKey: EnvironmentKey?, clock: @escaping @Sendable () -> Int64 = unixNow) {
        self.accounts = accounts
        self.sealer = sealer
        self.rootKey = rootKey
        self.clock = clock
    }

    public func authenticate(_ r: SignedParts) async throws -> Caller {
        guard let header = r.authorization, !header.isEmpty else {
            throw Failure(error: .invalidAuthorization("it is missing"), knownCaller: nil)
        }
        // The SDKs' header is under 300 bytes; parse nothing longer.
        guard header.utf8.count <= Self.maxAuthorizationBytes, let auth = TC3Authorization(header: header) else {
            throw Failure(error: .invalidAuthorization("it could not be parsed"), knownCaller: nil)
        }
        guard let tsText = r.timestamp, let ts = Int64(tsText) else {
            throw Failure(error: .invalidAuthorization("X-TC-Timestamp must be the Unix time in seconds"), knownCaller: nil)
        }
        // Resolve the key first, so that failures can be recorded in the key's account.
        let (caller, secretKey) = try await resolve(secretId: auth.secretId)
        if let skew = Self.excessSkew(timestamp: ts, now: clock()) {
            throw Failure(error: .signatureExpire(skew: skew), knownCaller: caller)
        }
        var headers: [(name: String, value: String)] = []
        for name in auth.signedHeaders {
            guard let v = r.header(name) else {
                throw Failure(error: .invalidAuthorization("the signed header \(APIError.clip(name)) is not in the request"), knownCaller: caller)
            }
            headers.append((name, v))
        }
        let unsigned = r.header("x-tc-content-sha256") == "UNSIGNED-PAYLOAD"
        let payloadHash = TC3Signer.hexSHA256(unsigned ? Array("UNSIGNED-PAYLOAD".utf8) : r.body)
        let request = TC3Signer.Request(method: r.method, uri: "/", query: r.query, signedHeaders: headers,
                                        payloadHash: payloadHash, timestamp: ts, service: Self.service)
        // The SDKs sign header values as sent; the signature document lower-cases them. Accept either.
        var lowered = request
        lowered.signedHeaders = headers.map { ($0.name, $0.value.lowercased()) }
        let matches = constantTimeEquals(TC3Signer.signature(request, secretKey: secretKey), auth.signature)
            || (lowered.signedHeaders.map(\.value) != headers.map(\.value) && constantTimeEquals(TC3Signer.signature(lowered, secretKey: secretKey), auth.signature))
        guard auth.service == Self.service, auth.date == request.date, matches else {
            throw Failure(error: .signatureFailure, knownCaller: caller)
        }
        return caller
    }

    /// How far `timestamp` is from `now` when that is more than `maxSkew` (negative: in the past), or
    /// nil when the timestamp is close enough. Total for every pair of 64-bit values: a difference
    /// that does not fit saturates instead of overflowing.
    public static func excessSkew(timestamp: Int64, now: Int64) -> Int64? {
        let (difference, overflow) = timestamp.subtractingReportingOverflow(now)
        let skew = overflow ? (timestamp < now ? -Int64.max : Int64.max) : difference
        return skew.magnitude > UInt64(maxSkew) ? skew : nil
    }

    /// The caller and SecretKey of a SecretId: the root key given by the environment, or an enabled
    /// stored key. Throws `Failure` (`SecretIdNotFound`) for any other.
    func resolve(secretId: String) async throws -> (Caller, String) {
        if let root = rootKey, constantTimeEquals(root.secretId, secretId) {
            return (Caller(secretId: root.secretId, accountId: root.accountId, role: .admin), root.secretKey)
        }
        guard let key = try await accounts.key(secretId: secretId), key.status == .enabled,
              let secret = try? sealer.open(key.sealedSecret, secretId: key.secretId) else {
            throw Failure(error: .secretIdNotFound, knownCaller: nil)
        }
        return (Self.caller(of: key), secret)
    }

    static func caller(of key: StoredAccessKey) -> Caller {
        Caller(secretId: key.secretId, accountId: key.accountId, role: key.role)
    }

    /// Checks a SecretId and SecretKey given in full (the console's sign-in). Throws `Failure`:
    /// `SecretIdNotFound` for an unknown or disabled key, `SignatureFailure` (with the key's caller) for
    /// a wrong secret.
    public func verify(secretId: String, secretKey: String) async throws -> Caller {
        let (caller, secret) = try await resolve(secretId: secretId)
        guard constantTimeEquals(secret, secretKey) else { throw Failure(error: .signatureFailure, knownCaller: caller) }
        return caller
    }

    /// Whether `caller`'s key still grants what it did (enabled, same account and role), for a
    /// long-lived request (a live tail) that checks again while it runs. A store that does not answer
    /// is not a reason to end it: its next read fails anyway.
    public func stillHolds(_ caller: Caller) async -> Bool {
        do {
            guard let current = try await currentCaller(secretId: caller.secretId) else { return false }
            return current.accountId == caller.accountId && current.role == caller.role
        } catch {
            return true
        }
    }

    /// The caller of a key that is still usable now (enabled, or the environment's root key), else nil.
    /// Run on every console request, so the secret is not unsealed: only the key's record is read.
    public func currentCaller(secretId: String) async throws -> Caller? {
        if let root = rootKey, constantTimeEquals(root.secretId, secretId) {
            return Caller(secretId: root.secretId, accountId: root.accountId, role: .admin)
        }
        guard let key = try await accounts.key(secretId: secretId), key.status == .enabled else { return nil }
        return Self.caller(of: key)
    }
}
