import ArgumentParser
import AuditConfiguration
import AuditServer
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the CloudAudit API server on the embedded SQLite store.",
        discussion: """
            Every setting below is a flag, an environment variable, and a line `name = value` of a --config file \
            (names as the flags, without --; # starts a comment); a flag wins over the environment, which wins over \
            the file, which wins over the default, and every source is checked the same way. Secrets (root-secret-key, \
            master-key) are never flags: set them in the environment or in an owner-only (chmod 600) config file. \
            --print-config prints the effective settings and where each came from (secrets hidden) and exits.

            Without root-secret-id/root-secret-key the first start writes a root admin key to \
            <data-dir>/root-credentials.json (owner-only). The web console is at http://<host>:<port>/console/. \
            SIGTERM stops accepting, finishes in-flight requests and closes the store.

            SETTINGS
            \(Configuration.help(ServerConfiguration.options))
              --config <file>
                  A configuration file (name = value lines).
              --print-config
                  Print the effective settings with their sources, then exit.
            """)

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Settings as --name value (listed below).", valueName: "settings"))
    var settings: [String] = []

    func run() async throws {
        let c: ServerConfiguration
        let resolved: Configuration
        let printOnly: Bool
        do {
            let parsed = try Configuration.flags(settings, options: ServerConfiguration.options, own: ["config": true, "print-config": false])
            printOnly = parsed.own["print-config"] != nil
            (c, resolved) = try ServerConfiguration.resolve(flags: parsed.options, configFile: parsed.own["config"])
        } catch let e as ConfigurationError {
            throw ValidationError(e.description)
        }
        if printOnly {
            print(resolved.printed())
            return
        }
        ServerLogging.bootstrap(format: c.logFormat, level: Logger.Level(rawValue: c.logLevel) ?? .info)
        let logger = Logger(label: "cloudaudit")
        let built = try await CloudAuditServer.build(c, logger: logger)
        try await built.run()
    }
}
