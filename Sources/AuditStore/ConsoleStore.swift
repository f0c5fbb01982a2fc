import AuditModel

/// A console password of one account and role, as a self-describing slow hash (see `PasswordHash` in
/// AuditAuth); the password itself is never stored.
public struct ConsolePassword: Sendable, Equatable {
    public var accountId: Int64
    public var role: KeyRole
    public var hash: String
    public var updatedAt: Int64

    public init(accountId: Int64, role: KeyRole, hash: String, updatedAt: Int64) {
        self.accountId = accountId
        self.role = role
        self.hash = hash
        self.updatedAt = updatedAt
    }
}

/// A signed-in console session. The store keeps only the SHA-256 of the session token (the cookie),
/// so a copy of the database does not sign anybody in.
public struct ConsoleSession: Sendable, Equatable {
    public var tokenHash: [UInt8]
    public var accountId: Int64
    public var role: KeyRole
    /// The access key the session signed in with; nil for a password sign-in.
    public var secretId: String?
    /// Sent back by the page in `X-CSRF-Token` with every state-changing request.
    public var csrfToken: String
    public var createdAt: Int64
    public var lastSeenAt: Int64

    public init(tokenHash: [UInt8], accountId: Int64, role: KeyRole, secretId: String?, csrfToken: String, createdAt: Int64, lastSeenAt: Int64) {
        self.tokenHash = tokenHash
        self.accountId = accountId
        self.role = role
        self.secretId = secretId
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

/// One value of a lookup key and how many events carry it.
public struct ValueCount: Sendable, Equatable {
    public var value: String
    public var count: Int

    public init(value: String, count: Int) {
        self.value = value
        self.count = count
    }
}

/// What the web console keeps besides events: passwords and sessions (so that a restart or a second
/// node keeps them). The summaries its pages show are `EventLog.topValues` and `histogram`.
///
/// Contract (checked by the conformance suite):
/// - `setConsolePassword` refuses an account that does not exist and ends that (account, role)'s
///   password sessions; key sessions are not touched.
/// - `deleteConsoleSessions` removes the sessions idle since before `idleBefore` or created before
///   `createdBefore`.
public protocol ConsoleStore: Sendable {
    func setConsolePassword(_ password: ConsolePassword) async throws
    func consolePassword(accountId: Int64, role: KeyRole) async throws -> ConsolePassword?

    func createConsoleSession(_ session: ConsoleSession) async throws
    func consoleSession(tokenHash: [UInt8]) async throws -> ConsoleSession?
    func touchConsoleSession(tokenHash: [UInt8], lastSeenAt: Int64) async throws
    /// Returns false when there was no such session.
    func deleteConsoleSession(tokenHash: [UInt8]) async throws -> Bool
    /// Returns how many were removed.
    func deleteConsoleSessions(idleBefore: Int64, createdBefore: Int64) async throws -> Int
}

extension ValueCount {
    /// The fingerprints (with their counts) that can still rank among the first `limit` once ties are
    /// ordered by value, most frequent first, at most `limit + 1000`: the ones whose value a store reads.
    public static func candidates(_ counts: [Int64: Int], limit: Int) -> [(key: Int64, value: Int)] {
        let sorted = counts.filter { $0.value > 0 }.sorted { $0.value > $1.value }
        guard !sorted.isEmpty, limit > 0 else { return [] }
        let threshold = sorted[min(limit, sorted.count) - 1].value
        return Array(sorted.prefix(while: { $0.value >= threshold }).prefix(limit + 1000))
    }

    /// Most frequent first, ties by value: the order `topValues` answers in.
    public static func ranked(_ counts: [String: Int], limit: Int) -> [ValueCount] {
        counts.map { ValueCount(value: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.value < $1.value }
            .prefix(max(0, limit)).map { $0 }
    }
}
