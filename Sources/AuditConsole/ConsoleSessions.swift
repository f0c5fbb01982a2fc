import AuditAPI
import AuditAuth
import AuditStore
import Crypto
import Foundation

/// How the console's sessions behave (`serve --console-idle-timeout`, `--console-session-lifetime`,
/// `--console-secure-cookies`).
public struct ConsoleConfiguration: Sendable {
    /// Seconds without a request after which a session ends.
    public var idleTimeout: Int64 = 1800
    /// Seconds after sign-in after which a session ends however active it is.
    public var lifetime: Int64 = 43_200
    /// Mark the cookie `Secure` (when the console is served over HTTPS, e.g. behind a proxy).
    public var secureCookies = false
    /// The fixed delay of a failed sign-in, before the per-address exponential part.
    public var failedSignInDelay: Double = 1

    public init() {}
}

/// Server-side sessions: the token lives only in the browser's cookie, the store keeps its SHA-256.
struct SessionManager: Sendable {
    static let cookieName = "cloudaudit_session"

    enum Problem: Error {
        case notSignedIn
        case expired
    }

    let store: any ConsoleStore
    let authenticator: Authenticator
    let configuration: ConsoleConfiguration
    let clock: @Sendable () -> Int64

    /// A signed-in session and the caller it acts as.
    struct Active: Sendable {
        var session: ConsoleSession
        var caller: Caller
    }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    static func caller(of s: ConsoleSession) -> Caller {
        Caller(secretId: s.secretId ?? "", accountId: s.accountId, role: s.role, userName: s.secretId ?? "console:\(s.role.rawValue)")
    }

    /// Starts a session; also forgets the sessions that have timed out.
    func create(accountId: Int64, role: KeyRole, secretId: String?) async throws -> (token: String, active: Active) {
        let now = clock()
        _ = try await store.deleteConsoleSessions(idleBefore: now - configuration.idleTimeout, createdBefore: now - configuration.lifetime)
        let token = CredentialGenerator.token()
        let session = ConsoleSession(tokenHash: Self.hash(token), accountId: accountId, role: role, secretId: secretId,
                                     csrfToken: CredentialGenerator.token(), createdAt: now, lastSeenAt: now)
        try await store.createConsoleSession(session)
        return (token, Active(session: session, caller: Self.caller(of: session)))
    }

    /// The session of a cookie's token, refreshed; `Problem` when there is none, it timed out, or its
    /// key is no longer usable.
    func resolve(token: String?) async throws -> Active {
        guard let token, !token.isEmpty, token.utf8.count <= 128 else { throw Problem.notSignedIn }
        let hash = Self.hash(token)
        guard let s = try await store.consoleSession(tokenHash: hash) else { throw Problem.notSignedIn }
        let now = clock()
        if now - s.lastSeenAt >= configuration.idleTimeout || now - s.createdAt >= configuration.lifetime {
            // Kept (it grants nothing) until the sweep in `create`: the page's concurrent calls with this
            // cookie all hear "expired", whichever reaches the server first.
            throw Problem.expired
        }
        if let secretId = s.secretId {
            // A key disabled (or its role changed) since sign-in ends the session.
            guard let current = try await authenticator.currentCaller(secretId: secretId), current.role == s.role,
                  current.accountId == s.accountId else {
                _ = try await store.deleteConsoleSession(tokenHash: hash)
                throw Problem.notSignedIn
            }
        }
        // Written at most once per `touchEvery` seconds, not on every request.
        if now - s.lastSeenAt >= max(1, min(60, configuration.idleTimeout / 10)) {
            try await store.touchConsoleSession(tokenHash: hash, lastSeenAt: now)
        }
        var refreshed = s
        refreshed.lastSeenAt = now
        return Active(session: refreshed, caller: Self.caller(of: s))
    }

    func end(token: String?) async throws {
        guard let token, !token.isEmpty else { return }
        _ = try await store.deleteConsoleSession(tokenHash: Self.hash(token))
    }
}

/// Slows down failed sign-ins: every failure waits `base` seconds, plus an exponential part per source
/// address (0.25 s doubling with each failure in the last 15 minutes, at most 30 s). A success clears
/// the address. Kept in memory, bounded.
final class SignInThrottle: @unchecked Sendable {
    private let lock = NSLock()
    private var failures: [String: (count: Int, last: Int64)] = [:]
    let base: Double
    static let window: Int64 = 900
    static let maxTracked = 10_000

    init(base: Double) {
        self.base = base
    }

    /// Records a failure from `address`; returns how long to wait before answering.
    func failed(_ address: String, now: Int64) -> Double {
        lock.withLock {
            if failures.count >= Self.maxTracked { failures = failures.filter { now - $0.value.last < Self.window } }
            if failures.count >= Self.maxTracked { failures.removeAll() }
            var entry = failures[address] ?? (0, now)
            if now - entry.last >= Self.window { entry.count = 0 }
            entry.count += 1
            entry.last = now
            failures[address] = entry
            return base + min(30, 0.25 * (pow(2, Double(min(entry.count, 20) - 1)) - 1))
        }
    }

    func succeeded(_ address: String) {
        _ = lock.withLock { failures.removeValue(forKey: address) }
    }
}

/// At most `limit` password hashes at once: each scrypt takes 32 MB and a core for a moment, so a
/// burst of sign-ins waits in line instead of exhausting memory.
actor HashingGate {
    let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.limit = limit
    }

    func acquire() async {
        if running < limit {
            running += 1
        } else {
            // The releaser hands its slot over, so `running` stays as it is.
            await withCheckedContinuation { waiting.append($0) }
        }
    }

    func release() {
        if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
    }

    /// Runs `work` (off the actor) once a slot is free.
    nonisolated func run<T: Sendable>(_ work: @Sendable () -> T) async -> T {
        await acquire()
        let result = work()
        await release()
        return result
    }
}
