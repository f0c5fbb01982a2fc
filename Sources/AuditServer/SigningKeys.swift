import AuditConfiguration
import AuditIntegrity
import AuditModel
import Foundation
import Logging

/// The deployment's Ed25519 signing key and the public list of every key it has used
/// (docs/integrity.md, "The deployment's signing key").
///
/// The private key is `<data-dir>/signing.key` (0600, created on first start) or the file named by
/// `CLOUDAUDIT_SIGNING_KEY_FILE`; `<data-dir>/signing-keys.json` lists the public keys with the period
/// each one signed in, so auditors can pin all of them and old digests keep verifying after a rotation.
public struct SigningKeys: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var Name: String
        public var VerifierKey: String
        public var Fingerprint: String
        public var ValidFrom: Int64
        /// null for the current key (written out, not omitted).
        public var ValidUntil: Int64?

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(Name, forKey: .Name)
            try c.encode(VerifierKey, forKey: .VerifierKey)
            try c.encode(Fingerprint, forKey: .Fingerprint)
            try c.encode(ValidFrom, forKey: .ValidFrom)
            try c.encode(ValidUntil, forKey: .ValidUntil)
        }
    }

    public static let defaultName = "cloudaudit"
    public let directory: DataDirectory
    /// The `signing-key-file` setting: the operator's key, used instead of `<data-dir>/signing.key`.
    let operatorKeyPath: String?

    public init(directory: DataDirectory, operatorKeyFile: String?) {
        self.directory = directory
        operatorKeyPath = operatorKeyFile.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var ownKeyPath: String { directory.path + "/signing.key" }
    public var keyringPath: String { directory.path + "/signing-keys.json" }

    /// The current key, created when the deployment has none and `create` (nodes of a shared store must
    /// all sign with one key: there it is given); the keyring is brought up to date.
    public func load(now: Int64 = Int64(Date().timeIntervalSince1970), create: Bool = true, logger: Logger) throws -> SigningKey {
        let key: SigningKey
        if let path = operatorKeyPath {
            key = try read(path)
        } else if FileManager.default.fileExists(atPath: ownKeyPath) {
            key = try read(ownKeyPath)
        } else if !create {
            throw ServerError("no signing key: the nodes of a deployment on a shared store all sign with the deployment's key; give its file with --signing-key-file (CLOUDAUDIT_SIGNING_KEY_FILE), the same on every node")
        } else {
            key = try SigningKey.generate(name: Self.defaultName)
            try directory.writeSecretFile(ownKeyPath, contents: key.text + "\n")
            logger.notice("created the deployment's signing key", metadata: ["file.path": "\(ownKeyPath)", "audit.public_key": "\(key.publicKey.verifierKey)"])
        }
        // A node of a shared store writes nothing locally: the keyring stays where `keys init` (or the
        // operator's rotation) wrote it.
        if create { try record(key.publicKey, now: now) }
        return key
    }

    func read(_ path: String) throws -> SigningKey {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ServerError("cannot read the signing key \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & 0o077 == 0 else {
            throw ServerError("the signing key \(path) can be read by other users; make it owner-only (chmod 600)")
        }
        do {
            return try SigningKey(text: try String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw ServerError("the signing key \(path) is not valid: \(error)")
        }
    }

    /// Every public key the deployment has used, oldest first.
    public func keyring() throws -> [Entry] {
        let bytes: [UInt8]?
        do { bytes = try LocalFile.read(keyringPath, limit: 4 * 1024 * 1024, what: "the signing keyring") } catch { throw ServerError("\(error)") }
        guard let bytes else { return [] }
        do { return try JSONDecoder().decode([Entry].self, from: Data(bytes)) } catch {
            throw ServerError("\(keyringPath) is not a list of public keys: \(error)")
        }
    }

    /// Lists `key` as the current key, closing the period of any other current key.
    func record(_ key: PublicSigningKey, now: Int64) throws {
        var entries = try keyring()
        if entries.contains(where: { $0.VerifierKey == key.verifierKey && $0.ValidUntil == nil }) { return }
        for i in entries.indices where entries[i].ValidUntil == nil { entries[i].ValidUntil = now }
        entries.removeAll { $0.VerifierKey == key.verifierKey }
        entries.append(Entry(Name: key.name, VerifierKey: key.verifierKey, Fingerprint: key.fingerprint, ValidFrom: now, ValidUntil: nil))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let tmp = keyringPath + ".tmp"
        FileManager.default.createFile(atPath: tmp, contents: try encoder.encode(entries) + Data("\n".utf8), attributes: [.posixPermissions: 0o644])
        guard rename(tmp, keyringPath) == 0 else { throw ServerError("could not write \(keyringPath): \(String(cString: strerror(errno)))") }
    }

    /// Replaces the deployment's own key with a new one; the old public key stays in the keyring with
    /// the end of its period. The old private key is removed: nothing can sign as it any more.
    public func rotate(now: Int64 = Int64(Date().timeIntervalSince1970), logger: Logger) throws -> SigningKey {
        if let path = operatorKeyPath {
            throw ServerError("the signing key is given by the signing-key-file setting (CLOUDAUDIT_SIGNING_KEY_FILE: \(path)); replace that file to rotate")
        }
        let old = FileManager.default.fileExists(atPath: ownKeyPath) ? try read(ownKeyPath) : nil
        let key = try SigningKey.generate(name: old?.name ?? Self.defaultName)
        let fresh = ownKeyPath + ".new"
        unlink(fresh)
        try directory.writeSecretFile(fresh, contents: key.text + "\n")
        guard rename(fresh, ownKeyPath) == 0 else { throw ServerError("could not replace \(ownKeyPath): \(String(cString: strerror(errno)))") }
        try record(key.publicKey, now: now)
        return key
    }
}
