import AuditModel
import Foundation

/// `backup.json`, the manifest of a deployment's copy (`cloudaudit backup`): every file with its size,
/// SHA-256 and whether it is a secret, and each account's event count and Merkle root at the moment of
/// the copy. `cloudaudit restore` reads it from a directory it is given, so `parse` takes any bytes:
/// it answers a checked manifest or `Invalid` with a message, never traps (fuzz target
/// FuzzBackupManifest).
public struct BackupManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var Name: String
        public var Bytes: Int64
        public var SHA256: String
        /// Whoever holds it can read sealed secrets or sign as the deployment: keep it like a password.
        public var Secret: Bool

        public init(Name: String, Bytes: Int64, SHA256: String, Secret: Bool) {
            self.Name = Name
            self.Bytes = Bytes
            self.SHA256 = SHA256
            self.Secret = Secret
        }
    }

    public struct AccountLog: Codable, Sendable, Equatable {
        public var AccountId: Int64
        public var Events: Int64
        public var MerkleRoot: String

        public init(AccountId: Int64, Events: Int64, MerkleRoot: String) {
            self.AccountId = AccountId
            self.Events = Events
            self.MerkleRoot = MerkleRoot
        }
    }

    public var Format: Int
    public var CreatedAt: Int64
    public var Files: [File]
    public var Accounts: [AccountLog]
    /// What the copy does not hold, for the operator to keep by other means.
    public var NotIncluded: [String]

    public init(Format: Int, CreatedAt: Int64, Files: [File], Accounts: [AccountLog], NotIncluded: [String]) {
        self.Format = Format
        self.CreatedAt = CreatedAt
        self.Files = Files
        self.Accounts = Accounts
        self.NotIncluded = NotIncluded
    }

    /// A manifest that cannot be restored from, and why.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The one format this version writes and reads.
    public static let format = 1
    /// The files a backup can hold: the store and the key files of a data directory.
    public static let fileNames: Set<String> = ["cloudaudit.sqlite", "master.key", "signing.key", "signing-keys.json", "root-credentials.json"]

    /// The manifest in `bytes`, checked: format 1; each file a known name, once, with a size that is not
    /// negative and a SHA-256 of 64 hex digits; the store among them; accounts in ascending order, each
    /// once, with an event count that is not negative and a root of 64 hex digits.
    public static func parse(_ bytes: [UInt8]) throws -> BackupManifest {
        let m: BackupManifest
        do { m = try JSONDecoder().decode(BackupManifest.self, from: Data(bytes)) } catch {
            throw Invalid(description: "it is not a backup manifest (JSON with Format, CreatedAt, Files, Accounts and NotIncluded)")
        }
        guard m.Format == format else { throw Invalid(description: "it has format \(m.Format), which this cloudaudit does not know") }
        var seen = Set<String>()
        for f in m.Files {
            guard fileNames.contains(f.Name) else {
                throw Invalid(description: "it lists \(TextClip.scalars(f.Name, 80, printable: true)), which is not a file of a backup")
            }
            guard seen.insert(f.Name).inserted else { throw Invalid(description: "it lists \(f.Name) twice") }
            guard f.Bytes >= 0, isSHA256(f.SHA256) else { throw Invalid(description: "its entry for \(f.Name) has no valid size and SHA-256") }
        }
        guard seen.contains("cloudaudit.sqlite") else { throw Invalid(description: "it lists no cloudaudit.sqlite") }
        var previous: Int64?
        for a in m.Accounts {
            guard previous.map({ a.AccountId > $0 }) ?? true else { throw Invalid(description: "its accounts are not in ascending order, each once") }
            guard a.Events >= 0, isSHA256(a.MerkleRoot) else {
                throw Invalid(description: "its entry for account \(a.AccountId) has no valid event count and Merkle root")
            }
            previous = a.AccountId
        }
        return m
    }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
