import AuditAuth
import AuditStore
import Foundation
import Logging

/// The files of a deployment: the embedded database, the master key, the generated root credentials.
/// Everything secret is created owner-only (0600) in an owner-only directory.
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    var databasePath: String { path + "/cloudaudit.sqlite" }
    public var masterKeyPath: String { path + "/master.key" }
    public var rootCredentialsPath: String { path + "/root-credentials.json" }

    public func ensureExists() throws {
        // Everything the process writes under the data directory is owner-only.
        umask(0o077)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// The master key that seals stored secrets: `given` (the `master-key` setting, hex or base64 of 32
    /// bytes), else `<data-dir>/master.key`, created on first use when `create` (a deployment on a shared
    /// store must not have one key per node: there the key is given, or the file put in place).
    public func masterKey(given: String?, create: Bool = true, logger: Logger) throws -> [UInt8] {
        if let text = given, !text.isEmpty {
            return try CredentialGenerator.parseMasterKey(text)
        }
        if FileManager.default.fileExists(atPath: masterKeyPath) {
            let text = try String(contentsOfFile: masterKeyPath, encoding: .utf8)
            return try CredentialGenerator.parseMasterKey(text)
        }
        guard create else {
            throw ServerError("no master key: a node of a deployment on a shared store takes the deployment's key from CLOUDAUDIT_MASTER_KEY (the same on every node), or from \(masterKeyPath)")
        }
        let key = CredentialGenerator.masterKey()
        try writeSecretFile(masterKeyPath, contents: key.hexString + "\n")
        logger.notice("created a master key", metadata: ["file.path": "\(masterKeyPath)"])
        return key
    }

    /// Writes a file that only the owner can read, refusing to follow or replace an existing file.
    public func writeSecretFile(_ file: String, contents: String) throws {
        try Self.writeOwnerOnly(file, Array(contents.utf8))
    }

    /// Creates `file` owner-only (0600) with `bytes`, refusing to follow or replace an existing file.
    public static func writeOwnerOnly(_ file: String, _ bytes: [UInt8]) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ServerError("could not create \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ServerError("could not write \(file): \(String(cString: strerror(errno)))") }
            written += n
        }
        fsync(fd)
    }

    /// Where the deployment's storage is when it is embedded: the SQLite file.
    public var storage: StorageChoice { .sqlite(path: databasePath) }

    /// Opens the embedded storage, creating the directory and the database as needed (benchmarks, tests).
    public func openStorage(defaultRetentionDays: Int) async throws -> Storage {
        try ensureExists()
        return try await storage.open(.init(defaultRetentionDays: defaultRetentionDays))
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
