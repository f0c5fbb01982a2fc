import ArgumentParser
import AuditDelivery
import AuditIntegrity
import AuditServer
import AuditStore
import Foundation
import Logging

/// `cloudaudit kms ...`: the managed master keys that encrypt delivered files (envelope encryption).
struct KmsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kms",
        abstract: "Create, list, disable and enable the managed keys that encrypt delivered files.",
        discussion: """
            A tracking set or audit with IsEnableKmsEncry=1 and a KeyId delivers each file encrypted (`.enc`)
            under that key. Keys belong to one account and one region (the set's storage region); their
            material is stored only sealed under the deployment master key and is never printed.
            Works on the data directory, also while the server runs.
            """,
        subcommands: [CreateKey.self, List.self, Disable.self, Enable.self])

    struct CreateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key",
            abstract: "Create a key; prints {\"KeyId\", \"Alias\", \"Region\", \"AccountId\"}.",
            discussion: """
                The alias is 1-60 characters of letters, digits, _, - and /, not starting with KMS-, and unique
                per account and region. The region must be configured: `local` always is; others come from the
                server's regions file (--regions or CLOUDAUDIT_REGIONS_FILE, as for `serve`).
                """)
        @OptionGroup var options: DataDirOptions
        @Option(help: "The region of the key: the storage region of the sets it will encrypt.") var region: String
        @Option(help: "A name for the key, shown by ListKeyAliasByRegion.") var alias: String
        @Option(help: "The account the key belongs to (default: the deployment's default account).") var account: Int64 = AccountIds.first
        @Option(help: "Regions file (JSON) of the deployment (env CLOUDAUDIT_REGIONS_FILE).") var regions: String?

        func run() async throws {
            if let why = KmsKeyRules.aliasProblem(alias) { throw CommandFailure("--alias: \(why)") }
            let settings = try options.settings(regions: regions)
            let dir = DataDirectory(path: settings.dataDirectory)
            let file = settings.regionsFile
            let registry = try RegionRegistry.load(file: file, dataDirectory: dir.path, logger: Logger(label: "cloudaudit"))
            let known = registry.regions.map(\.name)
            guard known.contains(region) else {
                throw CommandFailure("region \(region) is not configured; configured regions: \(known.joined(separator: ", "))"
                                         + (file == nil ? " (give the server's regions file with --regions or CLOUDAUDIT_REGIONS_FILE)" : ""))
            }
            let (storage, admin) = try await options.open(settings)
            let masterKey: [UInt8]
            do { masterKey = try Deployment(settings).masterKey(logger: Logger(label: "cloudaudit")) } catch {
                try? await storage.close()
                throw error
            }
            let created: Result<KmsKey, Error>
            do {
                if account == AccountIds.first { _ = try await admin.ensureDefaultAccount() }
                created = .success(try await KeyVault(keys: storage.kmsKeys, masterKey: masterKey).createKey(accountId: account, region: region, alias: alias))
            } catch {
                created = .failure(error)
            }
            try await storage.close()
            let key = try created.get()
            struct Out: Encodable { var KeyId: String; var Alias: String; var Region: String; var AccountId: Int64 }
            try printJSON(Out(KeyId: key.keyId, Alias: key.alias, Region: key.region, AccountId: key.accountId))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their material), oldest first.")
        @OptionGroup var options: DataDirOptions
        @Option(help: "Only the keys of this region.") var region: String?
        @Option(help: "Only the keys of this account.") var account: Int64?
        @Option(help: "table or json.") var output: OutputFormat = .table

        enum OutputFormat: String, ExpressibleByArgument { case table, json }

        func run() async throws {
            let (storage, _) = try await options.open()
            let keys: [KmsKey]
            do { keys = try await storage.kmsKeys.kmsKeys(accountId: account, region: region) } catch {
                try? await storage.close()
                throw error
            }
            try await storage.close()
            struct Out: Encodable { var KeyId: String; var Alias: String; var Region: String; var AccountId: Int64; var Status: String; var CreatedAt: Int64 }
            let rows = keys.map { Out(KeyId: $0.keyId, Alias: $0.alias, Region: $0.region, AccountId: $0.accountId, Status: $0.status.rawValue, CreatedAt: $0.createdAt) }
            if output == .json { return try printJSON(rows) }
            if rows.isEmpty { return print("No KMS keys.") }
            let header = ["KEY ID", "ALIAS", "REGION", "ACCOUNT", "STATUS", "CREATED"]
            let table = rows.map { [$0.KeyId, $0.Alias, $0.Region, String($0.AccountId), $0.Status, TracksCommand.Status.time($0.CreatedAt)] }
            let widths = header.indices.map { i in ([header[i]] + table.map { $0[i] }).map(\.count).max() ?? 0 }
            for line in [header] + table {
                print(line.enumerated().map { i, c in i == line.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  "))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a key: files are no longer encrypted or decrypted with it, and sets cannot select it.",
            discussion: "Delivery of a set whose key is disabled stops with an error until the key is enabled again.")
        @OptionGroup var options: DataDirOptions
        @Argument(help: "The KeyId.") var keyId: String

        func run() async throws { try await setStatus(options, keyId, .disabled) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled key again.")
        @OptionGroup var options: DataDirOptions
        @Argument(help: "The KeyId.") var keyId: String

        func run() async throws { try await setStatus(options, keyId, .enabled) }
    }

    static func setStatus(_ options: DataDirOptions, _ keyId: String, _ status: KeyStatus) async throws {
        let found = try await options.withStorage { storage, _ in try await storage.kmsKeys.setKmsKeyStatus(id: keyId, status: status) }
        guard found else { throw CommandFailure("no KMS key \(keyId) (list them with `cloudaudit kms list`)") }
        struct Out: Encodable { var KeyId: String; var Status: String }
        try printJSON(Out(KeyId: keyId, Status: status.rawValue))
    }
}
