import AuditConfiguration
import AuditModel
import AuditStore
import Crypto
import Foundation

/// `cloudaudit backup` and `restore`: a consistent copy of a deployment's data directory, taken while
/// the server runs, and its return into an empty data directory, checked against what was copied.
///
/// The copy holds the store as of one moment (for SQLite, its online backup API: the server keeps
/// appending meanwhile), then the keys the store needs. `backup.json` lists every file with its size,
/// SHA-256 and whether it is a secret, and each account's event count and Merkle root at that moment;
/// `restore` refuses a file whose hash differs and, once the files are in place, recomputes every
/// account's count and root from the restored store and compares them with the manifest.
public enum DeploymentBackup {
    public typealias File = BackupManifest.File
    public typealias AccountLog = BackupManifest.AccountLog
    public typealias Manifest = BackupManifest

    public static let manifestName = "backup.json"
    static let databaseName = "cloudaudit.sqlite"

    /// The key files of a data directory the copy takes when present: name and whether it is a secret.
    static let keyFiles: [(name: String, secret: Bool)] = [
        ("master.key", true), ("signing.key", true), ("signing-keys.json", false), ("root-credentials.json", true),
    ]

    /// Copies `dir`'s deployment into `destination`, which must not exist or be empty.
    public static func write(from dir: DataDirectory, storage: StorageChoice, to destination: String, now: Int64 = unixNow()) async throws -> Manifest {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: destination), !existing.isEmpty {
            throw ServerError("\(destination) is not empty; back up into a new directory")
        }
        guard storage.exists else { throw ServerError("\(dir.path) holds no deployment (no \(storage.location))") }
        try fm.createDirectory(atPath: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let copy = (destination as NSString).appendingPathComponent(databaseName)
        try storage.backup(to: copy)
        let accounts = try await logs(of: .sqlite(path: copy))
        var names: [(String, Bool)] = [(databaseName, true)]
        for key in keyFiles where fm.fileExists(atPath: (dir.path as NSString).appendingPathComponent(key.name)) {
            let target = (destination as NSString).appendingPathComponent(key.name)
            try fm.copyItem(atPath: (dir.path as NSString).appendingPathComponent(key.name), toPath: target)
            try fm.setAttributes([.posixPermissions: key.secret ? 0o600 : 0o644], ofItemAtPath: target)
            names.append((key.name, key.secret))
        }
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: copy)
        let files = try names.map { name, secret in
            let path = (destination as NSString).appendingPathComponent(name)
            return File(Name: name, Bytes: try fileSize(path), SHA256: try sha256(path), Secret: secret)
        }
        var notIncluded = ["buckets/ (the local region's delivered files: copy them with the bucket, if you use it)"]
        if !fm.fileExists(atPath: dir.masterKeyPath) { notIncluded.append("the master key (CLOUDAUDIT_MASTER_KEY): keep it with the copy, apart") }
        let manifest = Manifest(Format: BackupManifest.format, CreatedAt: now, Files: files, Accounts: accounts, NotIncluded: notIncluded)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: (destination as NSString).appendingPathComponent(manifestName)))
        return manifest
    }

    /// Restores the copy in `source` into `dir`, which must hold no deployment; returns the manifest,
    /// every account of which was found again with the same event count and Merkle root.
    public static func restore(from source: String, into dir: DataDirectory) async throws -> Manifest {
        let fm = FileManager.default
        let manifestPath = (source as NSString).appendingPathComponent(manifestName)
        guard let bytes = try LocalFile.read(manifestPath, limit: 16 << 20, what: "the backup manifest") else {
            throw ServerError("\(source) is not a backup: it has no \(manifestName)")
        }
        let manifest: Manifest
        do { manifest = try BackupManifest.parse(bytes) } catch let invalid as BackupManifest.Invalid {
            throw ServerError("\(manifestPath) cannot be restored from: \(invalid)")
        }
        guard !dir.storage.exists else { throw ServerError("\(dir.path) already holds a deployment (\(dir.storage.location)); restore into a new data directory") }
        for f in manifest.Files {
            let path = (source as NSString).appendingPathComponent(f.Name)
            guard fm.fileExists(atPath: path) else { throw ServerError("\(path) is missing from the backup") }
            guard try sha256(path) == f.SHA256 else { throw ServerError("\(path) is not the file that was backed up (its SHA-256 differs)") }
        }
        try dir.ensureExists()
        for f in manifest.Files {
            let target = (dir.path as NSString).appendingPathComponent(f.Name)
            guard !fm.fileExists(atPath: target) else { throw ServerError("\(target) exists; restore into a new data directory") }
            try fm.copyItem(atPath: (source as NSString).appendingPathComponent(f.Name), toPath: target)
            try fm.setAttributes([.posixPermissions: f.Secret ? 0o600 : 0o644], ofItemAtPath: target)
        }
        let found = try await logs(of: dir.storage)
        guard found == manifest.Accounts else {
            let differing = zip(found, manifest.Accounts).first { $0.0 != $0.1 }.map { "account \($0.1.AccountId)" } ?? "the list of accounts"
            throw ServerError("the restored store does not match the backup's manifest (\(differing) differs)")
        }
        return manifest
    }

    /// Each account's event count and Merkle root, in account order.
    static func logs(of storage: StorageChoice) async throws -> [AccountLog] {
        let store = try await storage.open()
        let result: Result<[AccountLog], Error>
        do {
            var out: [AccountLog] = []
            for a in try await store.accounts.listAccounts() {
                let size = try await store.events.lastSequence(accountId: a.id)
                let root = try await store.events.merkleRoot(accountId: a.id, size: size)
                out.append(AccountLog(AccountId: a.id, Events: size, MerkleRoot: root.hexString))
            }
            result = .success(out)
        } catch {
            result = .failure(error)
        }
        try await store.close()
        return try result.get()
    }

    static func fileSize(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// The SHA-256 of a file, read 1 MiB at a time.
    static func sha256(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ServerError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Array(hasher.finalize()).hexString
    }
}
