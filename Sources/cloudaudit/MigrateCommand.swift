import ArgumentParser
import AuditServer

/// `cloudaudit migrate --store postgres://...`: brings a PostgreSQL store's schema to this version (the
/// embedded SQLite store migrates itself when it is opened).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring a PostgreSQL store's schema to this version of cloudaudit (docs/postgres.md).",
        discussion: """
            Applies the migrations the database has not had, in one transaction under a lock (several nodes \
            may run it at once), and says what it applied. A database at a newer version is refused. The \
            password comes from PGPASSWORD or --store-password-file, never from the URL.
            """)

    @Option(help: "The store: postgres://USER@HOST:PORT/DATABASE[?sslmode=require|verify-full&sslrootcert=FILE] (env CLOUDAUDIT_STORE).")
    var store: String?
    @Option(help: "An owner-only file that holds the store's password (else the PGPASSWORD environment variable).")
    var storePasswordFile: String?

    func run() async throws {
        let access = try PostgresStoreAccess(store: store, passwordFile: storePasswordFile)
        let location = access.location
        let upgrade = try await access.migrate()
        if upgrade.applied.isEmpty {
            print("the schema of \(location) is current (\(upgrade.current)); nothing to apply")
        } else if upgrade.created {
            print("created the schema of \(location): applied \(upgrade.applied.joined(separator: ", "))")
        } else {
            print("migrated \(location) from \(upgrade.previous ?? "?") to \(upgrade.current): applied \(upgrade.applied.joined(separator: ", "))")
        }
    }
}

