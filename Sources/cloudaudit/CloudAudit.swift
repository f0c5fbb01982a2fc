import ArgumentParser
import AuditBench
import Foundation

@main
struct CloudAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudaudit",
        abstract: "A self-hosted audit trail that speaks the Tencent Cloud CloudAudit API (2019-03-19).",
        discussion: """
            Run the service with `cloudaudit serve`, and open the web console at /console/ (sign in with an \
            admin or auditor key, or a password from `accounts set-password`); manage tenants with `accounts` \
            and `keys` (on the same data directory, also while the server runs); record and search events with `events`; see what \
            tracking sets deliver with `tracks status`; manage their encryption keys with `kms` and read \
            encrypted files with `decrypt`. Auditors check a bucket offline with `verify` (and one event \
            through the API with `verify-event`) against the key `keys signing-public` prints.
            """,
        version: CloudAuditRelease.versionLine,
        subcommands: [ServeCommand.self, AccountsCommand.self, KeysCommand.self, TracksCommand.self, EventsCommand.self, BenchCommand.self, StoreCommand.self,
                      KmsCommand.self, DecryptCommand.self, VerifyCommand.self, VerifyEventCommand.self, BackupCommand.self, RestoreCommand.self,
                      MigrateCommand.self]
    )

    /// ArgumentParser's entry point, with one way of ending on an error for every command (``Failures``).
    static func main() async {
        var parsed: ParsableCommand?
        do {
            var command = try parseAsRoot()
            parsed = command
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let parsed, let (message, status) = Failures.explained(error, by: type(of: parsed)) {
                Failures.report(message)
                Foundation.exit(status)
            }
            exit(withError: error)
        }
    }
}
