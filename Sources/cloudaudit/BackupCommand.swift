import ArgumentParser
import AuditServer
import Foundation

/// `cloudaudit backup` and `cloudaudit restore` (README, "Operating CloudAudit"; DeploymentBackup).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a deployment, also while its server runs, into a new directory; prints what it holds.",
        discussion: """
            The copy holds the store as of one moment (appends go on meanwhile), the master key, the signing key and \
            its keyring, and the generated root credentials, with backup.json: every file's size, SHA-256 and whether \
            it is a secret, and each account's event count and Merkle root. Files marked secret (the store, whose \
            secrets are sealed by the master key, and the keys) must be kept like passwords. Not copied: the local \
            region's buckets/, and a master key given as CLOUDAUDIT_MASTER_KEY. `cloudaudit restore` puts it back.
            """)
    @OptionGroup var options: DataDirOptions
    @Option(help: "A new (or empty) directory for the copy.") var to: String

    func run() async throws {
        let deployment = try Deployment(try options.settings())
        let manifest = try await DeploymentBackup.write(from: deployment.directory, storage: deployment.storage, to: to)
        let events = manifest.Accounts.reduce(0) { $0 + $1.Events }
        print("backed up \(manifest.Accounts.count) accounts, \(events) events, into \(to):")
        for f in manifest.Files { print("  \(f.Name)  \(f.Bytes) bytes\(f.Secret ? "  SECRET: keep it like a password" : "")") }
        for n in manifest.NotIncluded { print("  not included: \(n)") }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a data directory that holds no deployment, and check it against the backup.",
        discussion: """
            Every file is checked against its SHA-256 in backup.json before it is copied; once the store is in place, \
            every account's event count and Merkle root are computed again and must equal the backup's. Then start \
            `cloudaudit serve` on the data directory (with the same CLOUDAUDIT_MASTER_KEY, if the deployment used one).
            """)
    @OptionGroup var options: DataDirOptions
    @Option(help: "The backup's directory.") var from: String

    func run() async throws {
        let s = try options.settings()
        let manifest = try await DeploymentBackup.restore(from: from, into: DataDirectory(path: s.dataDirectory))
        let events = manifest.Accounts.reduce(0) { $0 + $1.Events }
        print("restored \(manifest.Accounts.count) accounts, \(events) events, into \(s.dataDirectory); every account's event count and Merkle root match the backup")
    }
}
