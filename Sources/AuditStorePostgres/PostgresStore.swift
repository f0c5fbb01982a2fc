import AuditConfiguration
import AuditModel
import AuditStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL store (docs/postgres.md): every role of `StorageBackend` on one database that many
/// nodes share. Each node opens its own `PostgresStore`; nothing is kept in the node but caches of what
/// never changes (the fingerprint secret, the day partitions known to exist).
///
/// Appends are grouped per node (group commit, as the SQLite store does) and run in one transaction
/// that takes each account's row `FOR UPDATE`, so that appenders on every node extend each account's
/// sequence and Merkle log in one order. A caller is answered only after the commit.
public final class PostgresStore: StorageBackend, @unchecked Sendable {
    let client: PostgresClient
    let logger: Logger
    public let location: StoreLocation
    let fingerprint: ValueFingerprint
    private let secret: [UInt8]
    /// This node's row of the hourly counters (0-7), so that nodes do not queue on one row lock.
    let shard: Int16
    let committer = GroupCommitter<[PreparedEvent], [AppendOutcome]>()
    let partitions = PartitionCache()
    /// What this opening did to the schema.
    public let schema: SchemaUpgrade
    private let running: Task<Void, Never>

    private init(client: PostgresClient, running: Task<Void, Never>, location: StoreLocation, logger: Logger, secret: [UInt8], schema: SchemaUpgrade) {
        self.client = client
        self.running = running
        self.location = location
        self.logger = logger
        self.secret = secret
        self.schema = schema
        fingerprint = ValueFingerprint(secret: secret)
        shard = Int16.random(in: 0...7)
    }

    /// Connects to the store at `location` (checking first that it answers, for a precise error), applies
    /// the migrations it lacks (`migrate`; else a store that lacks one is refused, naming it), and
    /// records the deployment's default retention.
    public static func open(_ location: StoreLocation, password: String?, defaultRetentionDays: Int = 30, migrate: Bool = true,
                            logger: Logger) async throws -> PostgresStore {
        // The schema and the deployment's secret over one direct connection first: precise errors, and
        // no use of the pool before it runs.
        let (schema, secret) = try await PostgresConnector.withConnection(location, password: password, logger: logger) { c in
            let schema = migrate ? try await PostgresMigrator.migrate(c, logger: logger) : try await PostgresMigrator.check(c, logger: logger)
            let secret = try await c.transaction(logger: logger) { c -> [UInt8] in
                let retention = Data(String(defaultRetentionDays).utf8)
                try await c.query("""
                    INSERT INTO meta(name, value) VALUES ('default_retention_days', \(retention))
                    ON CONFLICT (name) DO UPDATE SET value = excluded.value
                    """, logger: logger)
                var rng = SystemRandomNumberGenerator()
                let fresh = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
                // The first node to get here decides the secret; every other reads it.
                try await c.query("INSERT INTO meta(name, value) VALUES ('fingerprint_key', \(fresh)) ON CONFLICT (name) DO NOTHING", logger: logger)
                let rows = try await c.query("SELECT value FROM meta WHERE name = 'fingerprint_key'", logger: logger).collect()
                guard let row = rows.first else { throw PostgresProblem("the store has no fingerprint key") }
                return Array(try row.decode(Data.self))
            }
            return (schema, secret)
        }
        let client = PostgresClient(configuration: try PostgresConnector.configuration(location, password: password), backgroundLogger: logger)
        let started = LeaseFlag()
        let running = Task {
            started.set()
            await client.run()
        }
        // (Queries before run() has begun are only queued, with a warning in the log.)
        while !started.isSet { await Task.yield() }
        return PostgresStore(client: client, running: running, location: location, logger: logger, secret: secret, schema: schema)
    }

    public func close() async throws {
        running.cancel()
        _ = await running.value
    }

    public func deploymentSecret() async throws -> [UInt8] { secret }

    /// Whether the store answers and its schema is this code's (`/readyz`).
    public func isReady() async -> Bool {
        guard let rows = try? await client.query("SELECT max(version) FROM schema_migrations", logger: logger).collect(),
              let version = try? rows.first?.decode(Int?.self) else { return false }
        return version == PostgresMigrator.latest
    }

    /// The database's size on its server (`pg_database_size`).
    public func databaseBytes() async throws -> Int {
        try await rows("SELECT pg_database_size(current_database())").first?.decode(Int.self) ?? 0
    }

    // MARK: Running queries

    /// Every row of `query`.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = self.logger
        return try await leased { c in try await c.query(query, logger: logger).collect() }
    }

    /// Runs `query` for its effect.
    func run(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// Runs `body` in one transaction on one connection; its own error is thrown as it was.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await leased { c in try await c.transaction(logger: logger, body) }
    }

    /// How long an operation waits for a connection of the pool before the store counts as unavailable
    /// (the pool itself keeps trying for about a minute while the server is down).
    static let leaseTimeout: Duration = .seconds(5)

    /// Runs `body` on a connection of the pool. Waiting longer than `leaseTimeout` for one, or losing it,
    /// throws `StoreError.unavailable`: a request during an outage is answered, never left hanging.
    func leased<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let got = LeaseFlag()
        let client = self.client
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { c in
                        got.set()
                        return try await body(c)
                    }
                }
                group.addTask {
                    let deadline = ContinuousClock.now + Self.leaseTimeout
                    while !got.isSet {
                        guard ContinuousClock.now < deadline else { throw LeaseTimeout() }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw CancellationError()
            }
        } catch {
            throw unavailable(error)
        }
    }

    struct LeaseTimeout: Error {}

    /// `error` as `StoreError.unavailable` when it says the store could not be reached or went away
    /// (the caller may retry), else unchanged.
    func unavailable(_ error: Error) -> Error {
        if error is LeaseTimeout {
            return StoreError(.unavailable, "no connection to the PostgreSQL store at \(location) within \(Self.leaseTimeout)")
        }
        guard PostgresProblem.isUnreachable(error) else { return error }
        return StoreError(.unavailable, "\(PostgresProblem.explaining(error, at: location))")
    }

    /// The number of rows a statement changed: `RETURNING 1` rows counted.
    static func changed(_ c: PostgresConnection, _ query: PostgresQuery, _ logger: Logger) async throws -> Int {
        try await c.query(query, logger: logger).collect().count
    }

    /// Free text (an error from a remote server) as a text column takes it: U+0000 replaced by U+FFFD.
    static func storable(_ text: String) -> String { text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") }

    // MARK: Accounts

    static let accountColumns = "id, name, retention_days, created_at, member_of"

    static func account(_ row: PostgresRow) throws -> Account {
        let (id, name, retention, created, memberOf) = try row.decode((Int64, String, Int?, Int64, Int64?).self)
        return Account(id: id, name: name, retentionDays: retention, createdAt: created, memberOf: memberOf)
    }

    static func fetchAccount(_ c: PostgresConnection, id: Int64, _ logger: Logger) async throws -> Account? {
        try await c.query("SELECT id, name, retention_days, created_at, member_of FROM accounts WHERE id = \(id)", logger: logger)
            .collect().first.map(account)
    }

    /// Account creation and renaming take this lock, so that names stay unique and ids are given once
    /// when nodes create accounts at the same moment.
    static let accountsLock: Int64 = 0x436C_6F75_6441_6363  // "CloudAcc"

    static func checkNameIsFree(_ c: PostgresConnection, _ name: String, except: Int64?, _ logger: Logger) async throws {
        let all = try await c.query("SELECT id, name, retention_days, created_at, member_of FROM accounts", logger: logger).collect().map(account)
        if let holder = AccountRules.holder(of: name, in: all, except: except) { throw StoreError.accountNameExists(holder) }
    }

    public func createAccount(name: String, retentionDays: Int?, id: Int64?, memberOf: Int64?) async throws -> Account {
        let now = unixNow()
        let logger = self.logger
        return try await transaction { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Self.accountsLock))", logger: logger)
            if let id, let existing = try await Self.fetchAccount(c, id: id, logger) { return existing }
            try await Self.checkNameIsFree(c, name, except: nil, logger)
            if let memberOf { try AccountRules.checkManagement(try await Self.fetchAccount(c, id: memberOf, logger), id: memberOf) }
            let newId: Int64
            if let id {
                newId = id
            } else {
                let top = try await c.query("SELECT max(id) FROM accounts", logger: logger).collect().first?.decode(Int64?.self) ?? nil
                newId = max(AccountIds.first, (top ?? 0) + 1)
            }
            try await c.query("""
                INSERT INTO accounts(id, name, retention_days, created_at, member_of) VALUES (\(newId), \(name), \(retentionDays), \(now), \(memberOf))
                """, logger: logger)
            if let memberOf {
                for t in try await Self.fetchTracks(c, accountId: memberOf, logger) where t.trackForAllMembers {
                    try await Self.startCursors(of: t, c, logger)
                }
            }
            return Account(id: newId, name: name, retentionDays: retentionDays, createdAt: now, memberOf: memberOf)
        }
    }

    public func account(id: Int64) async throws -> Account? {
        try await rows("SELECT id, name, retention_days, created_at, member_of FROM accounts WHERE id = \(id)").first.map(Self.account)
    }

    public func listAccounts() async throws -> [Account] {
        try await rows("SELECT id, name, retention_days, created_at, member_of FROM accounts ORDER BY id").map(Self.account)
    }

    public func renameAccount(id: Int64, name: String) async throws -> Account? {
        let logger = self.logger
        return try await transaction { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Self.accountsLock))", logger: logger)
            guard try await Self.fetchAccount(c, id: id, logger) != nil else { return nil }
            try await Self.checkNameIsFree(c, name, except: id, logger)
            try await c.query("UPDATE accounts SET name = \(name) WHERE id = \(id)", logger: logger)
            return try await Self.fetchAccount(c, id: id, logger)
        }
    }

    public func setAccountRetention(id: Int64, days: Int?) async throws -> Account? {
        try await rows("""
            UPDATE accounts SET retention_days = \(days) WHERE id = \(id) RETURNING id, name, retention_days, created_at, member_of
            """).first.map(Self.account)
    }

    // MARK: Keys

    static func key(_ row: PostgresRow) throws -> StoredAccessKey {
        let (secretId, accountId, role, sealed, status, created) = try row.decode((String, Int64, String, Data, String, Int64).self)
        return StoredAccessKey(secretId: secretId, accountId: accountId, role: KeyRole(rawValue: role) ?? .auditor, sealedSecret: Array(sealed),
                               status: KeyStatus(rawValue: status) ?? .disabled, createdAt: created)
    }

    public func createKey(_ key: StoredAccessKey) async throws {
        let logger = self.logger
        try await transaction { c in
            guard try await Self.fetchAccount(c, id: key.accountId, logger) != nil else { throw StoreError.accountNotFound(key.accountId) }
            let inserted = try await Self.changed(c, """
                INSERT INTO access_keys(secret_id, account_id, role, sealed_secret, status, created_at)
                VALUES (\(key.secretId), \(key.accountId), \(key.role.rawValue), \(Data(key.sealedSecret)), \(key.status.rawValue), \(key.createdAt))
                ON CONFLICT (secret_id) DO NOTHING RETURNING 1
                """, logger)
            if inserted == 0 { throw StoreError.keyExists(key.secretId) }
        }
    }

    public func key(secretId: String) async throws -> StoredAccessKey? {
        // (No stored text holds U+0000, which PostgreSQL's text refuses: such an id names nothing.)
        if secretId.contains("\u{0}") { return nil }
        return try await rows("SELECT secret_id, account_id, role, sealed_secret, status, created_at FROM access_keys WHERE secret_id = \(secretId)")
            .first.map(Self.key)
    }

    public func listKeys(accountId: Int64?) async throws -> [StoredAccessKey] {
        try await rows("""
            SELECT secret_id, account_id, role, sealed_secret, status, created_at FROM access_keys
            WHERE \(accountId)::bigint IS NULL OR account_id = \(accountId) ORDER BY created_at, secret_id
            """).map(Self.key)
    }

    public func setKeyStatus(secretId: String, status: KeyStatus) async throws -> Bool {
        try await !rows("UPDATE access_keys SET status = \(status.rawValue) WHERE secret_id = \(secretId) RETURNING 1").isEmpty
    }

    // MARK: Page cursors

    public func saveCursor(token: Int64, accountId: Int64, payload: [UInt8], expiresAt: Int64) async throws {
        try await run("""
            INSERT INTO cursors(account_id, token, payload, expires_at) VALUES (\(accountId), \(token), \(Data(payload)), \(expiresAt))
            ON CONFLICT (account_id, token) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at
            """)
    }

    public func cursor(token: Int64, accountId: Int64, now: Int64) async throws -> [UInt8]? {
        try await rows("SELECT payload FROM cursors WHERE account_id = \(accountId) AND token = \(token) AND expires_at > \(now)")
            .first.map { Array(try $0.decode(Data.self)) }
    }

    public func deleteExpiredCursors(now: Int64) async throws {
        try await run("DELETE FROM cursors WHERE expires_at <= \(now)")
    }
}

extension PostgresConnection {
    /// Runs `body` in one transaction on this connection; its own error is thrown as it was (postgres-nio
    /// wraps it in a `PostgresTransactionError`).
    func transaction<T: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withTransaction(logger: logger) { c in try await body(c) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }
}

/// Set once a connection has been leased (read by the timer that bounds the wait).
final class LeaseFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// The day partitions known to exist (they are never made twice, and dropped only by retention, which
/// clears this).
final class PartitionCache: @unchecked Sendable {
    private let lock = NSLock()
    private var days = Set<Int64>()

    func missing(_ wanted: Set<Int64>) -> Set<Int64> { lock.withLock { wanted.subtracting(days) } }
    func add(_ made: Set<Int64>) { lock.withLock { days.formUnion(made) } }
    func clear() { lock.withLock { days.removeAll() } }
}
