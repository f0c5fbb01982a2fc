import ArgumentParser
import AuditServer
import Foundation

/// `cloudaudit store copy`: moves an embedded deployment into a PostgreSQL store (docs/postgres.md).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Move a deployment's store.",
        subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy an embedded deployment (its data directory) into an empty PostgreSQL store, and check the copy.",
            discussion: """
                Copies accounts, access keys and KMS keys (still sealed: the nodes on the copy need the same master key, \
                as CLOUDAUDIT_MASTER_KEY or <data-dir>/master.key, and the same signing key), console passwords, every \
                account's events with their sequence numbers and its whole Merkle log (leaves of events that retention \
                removed too), signed checkpoints, tracking sets with their cursors and digest chains, queued \
                notifications, and alert channels, rules (with where their evaluation stands), fired alerts and their queued deliveries. Console sessions and page cursors are not copied (people sign in again). Refuses a store \
                that already holds accounts. Ends by comparing every account's tree size and root on both sides: exit 0 \
                when every one matches, 1 otherwise. Stop the server on the data directory first, so that nothing is \
                appended during the copy.
                """)
        @Option(help: "The data directory of the embedded deployment to copy.") var from: String
        @Option(help: "The PostgreSQL store to copy into: postgres://USER@HOST:PORT/DATABASE (password from PGPASSWORD or --store-password-file).")
        var to: String
        @Option(help: "An owner-only file holding the store's password (else PGPASSWORD).") var storePasswordFile: String?

        func run() async throws {
            let access = try PostgresStoreAccess(store: to, passwordFile: storePasswordFile)
            let report = try await StoreCopy.run(from: DataDirectory(path: from), to: access) { line in
                FileHandle.standardError.write(Data(("store copy: " + line + "\n").utf8))
            }
            print("copied \(report.accounts.count) accounts, \(report.keys) access keys, \(report.kmsKeys) KMS keys, \(report.passwords) console passwords, "
                  + "\(report.tracks) tracking sets, \(report.checkpoints) checkpoints, \(report.notifications) queued notifications, "
                  + "\(report.alertChannels) alert channels, \(report.alertRules) alert rules, \(report.alerts) alerts into \(access.location)")
            for a in report.accounts {
                print("account \(a.accountId): \(a.size) leaves, \(a.events) events, root \(a.sourceRoot) \(a.same ? "matches" : "DIFFERS: \(a.targetRoot)")")
            }
            if report.accounts.contains(where: { !$0.same }) { throw ExitCode(1) }
        }
    }
}
