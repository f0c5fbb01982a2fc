import AuditIntegrity
import AuditModel
import AuditStore
import Crypto
import Foundation

/// Managed (KMS-style) master keys and the envelope encryption of delivered files with them
/// (docs/integrity.md, "Envelope encryption").
///
/// A key's 32 bytes of material are generated here and stored only sealed: AES-256-GCM under a key
/// derived from the deployment master key (HMAC-SHA256 of the purpose `kms-key-sealing`, the same
/// derivation as `SecretSealer.derivedKey`), with the key id as associated data, so a sealed key
/// cannot be moved to another key's row. The material never leaves this type.
public struct KeyVault: Sendable {
    public static let sealingPurpose = "kms-key-sealing"

    let keys: any KmsKeyStore
    /// Kept as bytes: `SymmetricKey` is not `Sendable`.
    let sealingKeyBytes: [UInt8]
    var sealingKey: SymmetricKey { SymmetricKey(data: sealingKeyBytes) }

    /// - Parameter masterKey: the deployment master key (`CLOUDAUDIT_MASTER_KEY` or `<data-dir>/master.key`).
    public init(keys: any KmsKeyStore, masterKey: [UInt8]) {
        self.keys = keys
        self.sealingKeyBytes = Array(HMAC<SHA256>.authenticationCode(for: Array(Self.sealingPurpose.utf8), using: SymmetricKey(data: masterKey)))
    }

    /// Creates an enabled key for an account and region with fresh random material.
    ///
    /// The region is not checked here: the caller knows which regions are configured.
    /// - Throws: ``KmsError`` for an invalid alias; `StoreError` when the account does not exist or
    ///   already has a key with this alias in this region.
    public func createKey(accountId: Int64, region: String, alias: String) async throws -> KmsKey {
        if let why = KmsKeyRules.aliasProblem(alias) { throw KmsError.invalidAlias(why) }
        guard !region.isEmpty else { throw KmsError("KmsInvalidRegion", "a KMS key needs a region") }
        let keyId = UUID().uuidString.lowercased()
        let material = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        guard let sealed = try AES.GCM.seal(material, using: sealingKey, authenticating: Array(keyId.utf8)).combined else {
            throw KmsError("KmsSealFailed", "could not seal the new KMS key")
        }
        let key = KmsKey(keyId: keyId, accountId: accountId, region: region, alias: alias, status: .enabled, sealedKey: Array(sealed),
                         createdAt: unixNow())
        try await keys.createKmsKey(key)
        return key
    }

    /// Encrypts a file for delivery under `keyId`, which must be an enabled key of `accountId`.
    ///
    /// - Throws: ``KmsError`` for an unknown key, a key of another account, a disabled key, or a key
    ///   whose material does not unseal with this deployment's master key.
    public func encrypt(_ plaintext: [UInt8], keyId: String, accountId: Int64) async throws -> [UInt8] {
        let key = try await usableKey(keyId, accountId: accountId)
        return try Envelope.seal(plaintext, keyId: keyId, masterKey: try material(of: key))
    }

    /// Decrypts an envelope with the key its header names.
    ///
    /// - Parameter accountId: when given, the key must belong to this account.
    /// - Throws: `EnvelopeError` when the data is not an envelope, is malformed, or fails
    ///   authentication; ``KmsError`` when its key is unknown, of another account, or disabled (a
    ///   disabled key refuses decryption as well as encryption: enable it again to read the files).
    public func decrypt(_ data: [UInt8], accountId: Int64? = nil) async throws -> [UInt8] {
        let header = try Envelope.header(data)
        let key = try await usableKey(header.keyId, accountId: accountId)
        return try Envelope.open(data, masterKey: try material(of: key))
    }

    func usableKey(_ keyId: String, accountId: Int64?) async throws -> KmsKey {
        guard let key = try await keys.kmsKey(id: keyId) else { throw KmsError.notFound(keyId) }
        if let accountId, key.accountId != accountId { throw KmsError.otherAccount(keyId, accountId: accountId) }
        guard key.status == .enabled else { throw KmsError.disabled(keyId) }
        return key
    }

    func material(of key: KmsKey) throws -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: key.sealedKey)
            return Array(try AES.GCM.open(box, using: sealingKey, authenticating: Array(key.keyId.utf8)))
        } catch {
            throw KmsError.unsealFailed(key.keyId)
        }
    }
}

/// Why a managed key could not be created or used. Messages name key ids, never key material.
public struct KmsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static func notFound(_ id: String) -> KmsError { .init("KmsKeyNotFound", "KMS key \(clip(id)) does not exist") }
    public static func otherAccount(_ id: String, accountId: Int64) -> KmsError {
        .init("KmsKeyOfAnotherAccount", "KMS key \(clip(id)) does not belong to account \(accountId)")
    }
    public static func disabled(_ id: String) -> KmsError {
        .init("KmsKeyDisabled", "KMS key \(clip(id)) is disabled; enable it with `cloudaudit kms enable \(clip(id))`")
    }
    public static func invalidAlias(_ why: String) -> KmsError { .init("KmsInvalidAlias", why) }
    public static func unsealFailed(_ id: String) -> KmsError {
        .init("KmsKeyUnsealFailed",
              "KMS key \(clip(id)) does not unseal with this deployment's master key: CLOUDAUDIT_MASTER_KEY or <data-dir>/master.key is not the one the key was created with")
    }

    static func clip(_ s: String) -> String { TextClip.scalars(s, 64, marker: "...", printable: true) }
}
