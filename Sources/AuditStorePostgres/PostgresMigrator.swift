import AuditStore
import Logging
import PostgresNIO

/// Brings a PostgreSQL database to this code's schema (`PostgresSchema.migrations`): in one
/// transaction that holds an advisory lock, so that nodes starting together apply each migration once
/// and a failed migration leaves nothing half done. A database at a version this code does not know is
/// refused, naming both versions.
public enum PostgresMigrator {
    /// The newest schema version this code knows.
    public static var latest: Int { PostgresSchema.migrations.last?.version ?? 0 }

    /// Applies what is pending; says what it did.
    public static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> SchemaUpgrade {
        try await connection.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            let applied = try await appliedVersions(connection, logger: logger)
            try refuseNewer(applied)
            let before = PostgresSchema.migrations.last { applied.contains($0.version) }
            let pending = PostgresSchema.migrations.filter { !applied.contains($0.version) }
            for migration in pending {
                for statement in statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                                           logger: logger)
            }
            return SchemaUpgrade(created: applied.isEmpty, previous: before.map(label), applied: pending.map(label),
                                 current: PostgresSchema.migrations.last.map(label) ?? "")
        }
    }

    /// What the store's schema is, refusing one that lacks a migration (for nodes told not to migrate)
    /// or has one this code does not know.
    public static func check(_ connection: PostgresConnection, logger: Logger) async throws -> SchemaUpgrade {
        let applied = try await appliedVersions(connection, logger: logger)
        try refuseNewer(applied)
        let pending = PostgresSchema.migrations.filter { !applied.contains($0.version) }
        if !pending.isEmpty {
            throw PostgresProblem("the store lacks migration\(pending.count == 1 ? "" : "s") \(pending.map(label).joined(separator: ", ")); "
                                  + "apply with cloudaudit migrate --store ...")
        }
        let current = PostgresSchema.migrations.last.map(label) ?? ""
        return SchemaUpgrade(created: false, previous: current, applied: [], current: current)
    }

    static func label(_ m: PostgresSchema.Migration) -> String { "\(m.version)-\(m.name)" }

    static func appliedVersions(_ connection: PostgresConnection, logger: Logger) async throws -> Set<Int> {
        let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
        var found = false
        for try await present in exists.decode(Bool.self) { found = present }
        guard found else { return [] }
        var versions = Set<Int>()
        for try await v in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) { versions.insert(v) }
        return versions
    }

    static func refuseNewer(_ applied: Set<Int>) throws {
        if let newest = applied.max(), newest > latest {
            throw StoreError(.schemaTooNew, "the database is at schema version \(newest), and this cloudaudit knows versions up to \(latest); use a newer version")
        }
    }

    /// The statements of a migration's text, one per `;` at the end of a line, a `$$ ... $$` body kept
    /// whole (the extended query protocol takes one statement at a time). Comment-only lines go.
    static func statements(_ sql: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inBody, trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody, trimmed.hasSuffix(";") {
                out.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { out.append(rest) }
        return out
    }
}
