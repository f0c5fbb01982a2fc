import ArgumentParser
import AuditAuth
import AuditConfiguration
import AuditModel
import AuditServer
import AuditStore
import Foundation
import Logging

/// The deployment a command works on: the same settings as `serve` (`--data-dir` or `--store`, or the
/// environment, or a `--config` file: see `cloudaudit serve --help`), for the commands that open its
/// storage directly (also while its nodes run).
struct DataDirOptions: ParsableArguments {
    @Option(help: "Data directory of the deployment (env CLOUDAUDIT_DATA_DIR, default ./cloudaudit-data).") var dataDir: String?
    @Option(help: "The PostgreSQL store of a deployment of many nodes: postgres://USER@HOST:PORT/DATABASE (env CLOUDAUDIT_STORE; password from PGPASSWORD or --store-password-file).")
    var store: String?
    @Option(help: "An owner-only file holding the store's password (env CLOUDAUDIT_STORE_PASSWORD_FILE; else PGPASSWORD).") var storePasswordFile: String?
    @Option(help: "The deployment's configuration file, as given to `serve --config`.") var config: String?

    /// The deployment's settings: flag, environment, file, default (one model with `serve`).
    func settings(regions: String? = nil) throws -> ServerConfiguration {
        var flags: [String: String] = [:]
        if let dataDir { flags["data-dir"] = dataDir }
        if let store { flags["store"] = store }
        if let storePasswordFile { flags["store-password-file"] = storePasswordFile }
        if let regions { flags["regions"] = regions }
        return try ServerConfiguration.resolve(flags: flags, configFile: config).0
    }

    /// The deployment's signing keys (its data directory and signing-key-file setting), read once.
    func signingKeys() throws -> SigningKeys {
        let s = try settings()
        return SigningKeys(directory: DataDirectory(path: s.dataDirectory), operatorKeyFile: s.signingKeyFile)
    }

    /// Opens the storage and the sealer of the deployment `s` (default: these options' settings); the
    /// caller closes the storage.
    func open(_ given: ServerConfiguration? = nil) async throws -> (storage: Storage, admin: Administration) {
        let deployment = try Deployment(try given ?? settings())
        let sealer = try SecretSealer(masterKey: try deployment.masterKey(logger: Logger(label: "cloudaudit")))
        let storage = try await deployment.openStorage()
        return (storage, Administration(storage: storage, sealer: sealer))
    }

    /// Runs `body` on the deployment's storage, and closes the storage whether or not `body` threw.
    func withStorage<T>(_ body: (Storage, Administration) async throws -> T) async throws -> T {
        let (storage, admin) = try await open()
        let result: Result<T, Error>
        do { result = .success(try await body(storage, admin)) } catch { result = .failure(error) }
        try await storage.close()
        return try result.get()
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "accounts", abstract: "Create and list accounts (tenants).",
                                                    subcommands: [Create.self, List.self, Rename.self, SetRetention.self, SetPassword.self])

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set the web console password of an account's admin or auditor sign-in.",
            discussion: """
                The password is read from the first line of standard input, or from --password-file (which must be
                readable by its owner only); never from an argument. It is stored as a salted scrypt hash, and setting it
                ends the console sessions signed in with the previous one. At least \(PasswordHash.minimumLength) characters.
                """)
        @OptionGroup var options: DataDirOptions
        @Option(help: "The account.") var account: Int64
        @Option(help: "admin or auditor: what the console lets this sign-in do.") var role: String = "admin"
        @Option(help: "Read the password from this file (mode 0600) instead of standard input.") var passwordFile: String?

        func validate() throws {
            guard role == "admin" || role == "auditor" else { throw ValidationError("--role must be admin or auditor") }
        }

        func readPassword() throws -> String {
            let text: String
            if let passwordFile {
                text = String(decoding: try SecretFile.read(passwordFile, what: "--password-file"), as: UTF8.self)
            } else {
                text = readLine(strippingNewline: false) ?? ""
            }
            let password = String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            guard password.count >= PasswordHash.minimumLength else {
                throw CommandFailure("the password must be at least \(PasswordHash.minimumLength) characters")
            }
            guard password.utf8.count <= PasswordHash.maximumLength else {
                throw CommandFailure("the password must be at most \(PasswordHash.maximumLength) bytes")
            }
            return password
        }

        func run() async throws {
            let password = try readPassword()
            let hash = try PasswordHash.make(password)
            let (storage, admin) = try await options.open()
            _ = try await admin.ensureDefaultAccount()
            let saved: Result<Void, Error>
            do { saved = .success(try await storage.console.setConsolePassword(ConsolePassword(accountId: account, role: KeyRole(rawValue: role)!, hash: hash, updatedAt: unixNow()))) } catch {
                saved = .failure(error)
            }
            try await storage.close()
            if case .failure(let e) = saved {
                if let e = e as? StoreError { throw CommandFailure("--account: \(e.message)") }
                throw e
            }
            struct Out: Encodable { var AccountId: Int64; var Role: String; var PasswordSet: Bool }
            try printJSON(Out(AccountId: account, Role: role, PasswordSet: true))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account; prints {\"AccountId\", \"Name\"}.")
        @OptionGroup var options: DataDirOptions
        @Option(help: "A name for the account.") var name: String
        @Option(help: "Retention of its events in days (default: the server's).") var retentionDays: Int?
        @Option(help: "Make it a member of this organization's management account.") var memberOf: Int64?

        static func checkName(_ name: String) throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty || name.unicodeScalars.count > 128 { throw ValidationError("--name must be 1 to 128 characters") }
        }

        func validate() throws {
            try Self.checkName(name)
            if let d = retentionDays, d < 1 || d > 3650 { throw ValidationError("--retention-days must be between 1 and 3650") }
        }

        func run() async throws {
            let (storage, admin) = try await options.open()
            _ = try await admin.ensureDefaultAccount()
            let created: Result<Account, Error>
            do { created = .success(try await storage.accounts.createAccount(name: name, retentionDays: retentionDays, id: nil, memberOf: memberOf)) } catch {
                created = .failure(error)
            }
            try await storage.close()
            let a: Account
            switch created {
            case .success(let v): a = v
            case .failure(let e as StoreError) where e.code == .accountNameExists: throw CommandFailure("--name: \(e.message); choose another name")
            case .failure(let e as StoreError): throw CommandFailure("--member-of: \(e.message)")
            case .failure(let e): throw e
            }
            struct Out: Encodable { var AccountId: Int64; var Name: String; var MemberOf: Int64? }
            try printJSON(Out(AccountId: a.id, Name: a.name, MemberOf: a.memberOf))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts as JSON.")
        @OptionGroup var options: DataDirOptions

        func run() async throws {
            let (storage, admin) = try await options.open()
            _ = try await admin.ensureDefaultAccount()
            let accounts = try await storage.accounts.listAccounts()
            try await storage.close()
            // RetentionDays is the effective value: the account's own, else the deployment default.
            let fallback = try options.settings().retentionDays
            struct Out: Encodable { var AccountId: Int64; var Name: String; var RetentionDays: Int; var CreatedAt: Int64; var MemberOf: Int64? }
            try printJSON(accounts.map {
                Out(AccountId: $0.id, Name: $0.name, RetentionDays: $0.retentionDays ?? fallback, CreatedAt: $0.createdAt, MemberOf: $0.memberOf)
            })
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename an account; prints {\"AccountId\", \"Name\"}. Names are unique (ignoring case).")
        @OptionGroup var options: DataDirOptions
        @Option(help: "The account.") var account: Int64
        @Option(help: "Its new name (1 to 128 characters).") var name: String

        func validate() throws { try Create.checkName(name) }

        func run() async throws {
            let renamed = try await AccountsCommand.change(account, options) { try await $0.renameAccount(id: account, name: name) }
            struct Out: Encodable { var AccountId: Int64; var Name: String }
            try printJSON(Out(AccountId: renamed.id, Name: renamed.name))
        }
    }

    struct SetRetention: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-retention",
            abstract: "Change how long an account's events are kept; prints {\"AccountId\", \"RetentionDays\"}.",
            discussion: """
                Searches refuse a StartTime older than the new retention at once. When it is shorter than before, the \
                server's next retention pass (every --retention-interval) deletes the events past it, for good; a \
                longer one cannot bring back events already deleted. --default follows the deployment's \
                --retention-days from then on.
                """)
        @OptionGroup var options: DataDirOptions
        @Option(help: "The account.") var account: Int64
        @Option(help: "Days to keep its events (1 to 3650).") var days: Int?
        @Flag(name: .customLong("default"), help: "Use the deployment's retention instead of the account's own.") var useDefault = false

        func validate() throws {
            guard (days != nil) != useDefault else { throw ValidationError("give either --days N or --default") }
            if let d = days, d < 1 || d > 3650 { throw ValidationError("--days must be between 1 and 3650") }
        }

        func run() async throws {
            let changed = try await AccountsCommand.change(account, options) { try await $0.setAccountRetention(id: account, days: days) }
            let effective = try changed.retentionDays ?? options.settings().retentionDays
            struct Out: Encodable { var AccountId: Int64; var RetentionDays: Int; var IsDefault: Bool }
            try printJSON(Out(AccountId: changed.id, RetentionDays: effective, IsDefault: changed.retentionDays == nil))
        }
    }

    /// Opens the deployment, applies `change` to account `id` and closes it; a missing account or a
    /// refused change is a ``CommandFailure``.
    static func change(_ id: Int64, _ options: DataDirOptions, _ change: (any AccountDirectory) async throws -> Account?) async throws -> Account {
        let result: Result<Account?, Error>
        do {
            result = .success(try await options.withStorage { storage, admin in
                _ = try await admin.ensureDefaultAccount()
                return try await change(storage.accounts)
            })
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let a?): return a
        case .success(nil): throw CommandFailure("--account: account \(id) does not exist (list them with `cloudaudit accounts list`)")
        case .failure(let e as StoreError) where e.code == .accountNameExists: throw CommandFailure("--name: \(e.message); choose another name")
        case .failure(let e): throw e
        }
    }
}

extension KeyRole: ExpressibleByArgument {}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Access keys, and the deployment's signing key.",
                                                    subcommands: [Create.self, List.self, Disable.self, Enable.self, SigningPublic.self, RotateSigning.self, Init.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an access key; prints {\"SecretId\", \"SecretKey\", \"AccountId\", \"Role\"}.",
            discussion: "The SecretKey is shown once. Roles: admin (everything of its account), auditor (read-only), ingest (PutEvents), service (PutEvents for any account).")
        @OptionGroup var options: DataDirOptions
        @Option(help: "The account the key belongs to.") var account: Int64
        @Option(help: "admin, auditor, ingest or service.") var role: KeyRole

        func run() async throws {
            let (storage, admin) = try await options.open()
            defer { Task { try? await storage.close() } }
            do {
                try printJSON(try await admin.createKey(accountId: account, role: role))
            } catch let e as StoreError {
                throw CommandFailure(e.message)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List access keys as JSON (never their secrets).")
        @OptionGroup var options: DataDirOptions
        @Option(help: "Only the keys of this account.") var account: Int64?

        func run() async throws {
            let (storage, _) = try await options.open()
            let keys = try await storage.accounts.listKeys(accountId: account)
            try await storage.close()
            struct Out: Encodable { var SecretId: String; var AccountId: Int64; var Role: String; var Status: String; var CreatedAt: Int64 }
            try printJSON(keys.map { Out(SecretId: $0.secretId, AccountId: $0.accountId, Role: $0.role.rawValue, Status: $0.status.rawValue, CreatedAt: $0.createdAt) })
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an access key at once (the running server refuses it from the next request, and its console sessions end).")
        @OptionGroup var options: DataDirOptions
        @Argument(help: "The SecretId to disable.") var secretId: String

        func run() async throws { try await KeysCommand.setStatus(secretId, .disabled, options) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled access key again (the running server accepts it from the next request).")
        @OptionGroup var options: DataDirOptions
        @Argument(help: "The SecretId to enable.") var secretId: String

        func run() async throws { try await KeysCommand.setStatus(secretId, .enabled, options) }
    }

    /// Sets a key's status and prints `{"SecretId", "Status"}`.
    static func setStatus(_ secretId: String, _ status: KeyStatus, _ options: DataDirOptions) async throws {
        let found = try await options.withStorage { storage, _ in try await storage.accounts.setKeyStatus(secretId: secretId, status: status) }
        guard found else { throw CommandFailure("no access key \(TextClip.scalars(secretId, 128, printable: true)) (list them with `cloudaudit keys list`)") }
        struct Out: Encodable { var SecretId: String; var Status: String }
        try printJSON(Out(SecretId: secretId, Status: status.rawValue))
    }

    struct SigningPublic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "signing-public",
            abstract: "Print the public key that signs checkpoints and digests, for auditors to pin.",
            discussion: "Text: the key (<name>+<hash>+<base64>) then its fingerprint. --all lists every key the deployment has used, with its validity period (the same list as <data-dir>/signing-keys.json).")
        @OptionGroup var options: DataDirOptions
        @Flag(help: "Every key the deployment has used, as JSON.") var all = false

        func run() async throws {
            let keys = try options.signingKeys()
            try keys.directory.ensureExists()
            let current = try keys.load(logger: Logger(label: "cloudaudit"))
            if all {
                try printJSON(try keys.keyring())
            } else {
                print(current.publicKey.verifierKey)
                print(current.publicKey.fingerprint)
            }
        }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a deployment's master key and signing key in a data directory, for the nodes of a shared store.",
            discussion: """
                Writes <data-dir>/master.key and <data-dir>/signing.key (owner-only; refused when either exists) and prints the \
                public signing key and its fingerprint. Every node of a deployment on a PostgreSQL store (--store) must use \
                these same two keys: copy the directory to each node (--data-dir), or give CLOUDAUDIT_MASTER_KEY (the \
                file's text) and CLOUDAUDIT_SIGNING_KEY_FILE. A node of a shared store never makes keys of its own.
                """)
        @Option(help: "The directory to create the keys in (env CLOUDAUDIT_DATA_DIR, default ./cloudaudit-data).") var dataDir: String?

        func run() async throws {
            let dir = DataDirectory(path: dataDir ?? ProcessInfo.processInfo.environment["CLOUDAUDIT_DATA_DIR"] ?? ServerConfiguration().dataDirectory)
            try dir.ensureExists()
            let keys = SigningKeys(directory: dir, operatorKeyFile: nil)
            for file in [dir.masterKeyPath, keys.ownKeyPath] where FileManager.default.fileExists(atPath: file) {
                throw CommandFailure("\(file) exists; keys init makes a deployment's first keys only (rotate the signing key with keys rotate-signing)")
            }
            let logger = PostgresStoreAccess.quietLogger
            _ = try dir.masterKey(given: nil, logger: logger)
            let key = try keys.load(logger: logger)
            print(key.publicKey.verifierKey)
            print(key.publicKey.fingerprint)
        }
    }

    struct RotateSigning: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-signing",
            abstract: "Replace the deployment's signing key; the old public key stays listed with the end of its period.",
            discussion: "Restart the server to sign with the new key. Auditors pin the new key beside the old one (keys signing-public --all).")
        @OptionGroup var options: DataDirOptions

        func run() async throws {
            let key = try options.signingKeys().rotate(logger: Logger(label: "cloudaudit"))
            print(key.publicKey.verifierKey)
            print(key.publicKey.fingerprint)
        }
    }
}
