import AuditModel

/// A managed master key (KMS-style) of one account and region.
///
/// Its 32 bytes of material are stored only sealed (AES-256-GCM under a key derived from the
/// deployment master key, the key id as associated data): see `KeyVault` in AuditDelivery.
public struct KmsKey: Sendable, Equatable, Codable {
    /// A lower-case UUID.
    public var keyId: String
    public var accountId: Int64
    public var region: String
    /// Unique per (account, region): see `KmsKeyRules.checkAlias`.
    public var alias: String
    public var status: KeyStatus
    public var sealedKey: [UInt8]
    /// Unix seconds.
    public var createdAt: Int64

    public init(keyId: String, accountId: Int64, region: String, alias: String, status: KeyStatus = .enabled, sealedKey: [UInt8], createdAt: Int64) {
        self.keyId = keyId
        self.accountId = accountId
        self.region = region
        self.alias = alias
        self.status = status
        self.sealedKey = sealedKey
        self.createdAt = createdAt
    }
}

/// Managed master keys per account and region: see docs/integrity.md, "Envelope encryption".
/// The key material is stored only sealed under the deployment master key.
///
/// Contract (checked by the conformance suite):
/// - `createKmsKey` refuses a key of an account that does not exist (`StoreError.accountNotFound`),
///   a key id already stored (`KmsKeyExists`) and an alias already used by another key of the same
///   account and region (`KmsAliasExists`); aliases of other accounts or regions do not collide.
/// - A key is never deleted; disabling it keeps it listed.
public protocol KmsKeyStore: Sendable {
    func createKmsKey(_ key: KmsKey) async throws
    func kmsKey(id: String) async throws -> KmsKey?
    /// The keys of an account and/or region (nil: any), ordered by (createdAt, keyId).
    func kmsKeys(accountId: Int64?, region: String?) async throws -> [KmsKey]
    /// Returns false when no such key exists.
    func setKmsKeyStatus(id: String, status: KeyStatus) async throws -> Bool
}

extension StoreError {
    public static func kmsKeyExists(_ id: String) -> StoreError { .init(.kmsKeyExists, "KMS key \(id) already exists") }
    public static func kmsAliasExists(_ alias: String, region: String) -> StoreError {
        .init(.kmsAliasExists, "the account already has a KMS key with the alias \(alias) in region \(region); choose another alias")
    }
}

/// The naming rules of managed keys.
public enum KmsKeyRules {
    public static let maxAliasLength = 60

    /// Aliases: 1-60 of letters, digits, `_`, `-` and `/`, not starting with `KMS-` (reserved, as in
    /// Tencent KMS, for keys the cloud creates itself). Returns why `alias` is refused, or nil.
    public static func aliasProblem(_ alias: String) -> String? {
        let u = Array(alias.utf8)
        guard (1...maxAliasLength).contains(u.count), u.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") }) else {
            return "a KMS key alias must be 1-\(maxAliasLength) characters of letters, digits, _, - and / (got \"\(clip(alias))\")"
        }
        guard !alias.hasPrefix("KMS-") else { return "a KMS key alias cannot start with KMS- (reserved); got \"\(clip(alias))\"" }
        return nil
    }

    /// Key ids are lower-case UUIDs.
    public static func isKeyId(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 36 else { return false }
        for (i, c) in u.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) else { return false }
            }
        }
        return true
    }

    static func isAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    static func clip(_ s: String) -> String { TextClip.scalars(s, 60, marker: "...") }
}
