import AuditAuth
import AuditStore
import Foundation

/// Account and key management shared by the CLI and the server's first start.
public struct Administration: Sendable {
    public let storage: Storage
    public let sealer: SecretSealer

    public init(storage: Storage, sealer: SecretSealer) {
        self.storage = storage
        self.sealer = sealer
    }

    public struct IssuedKey: Sendable, Codable {
        public var SecretId: String
        public var SecretKey: String
        public var AccountId: Int64
        public var Role: String
    }

    /// Creates a key; the SecretKey is returned once and stored only sealed.
    public func createKey(accountId: Int64, role: KeyRole) async throws -> IssuedKey {
        guard try await storage.accounts.account(id: accountId) != nil else { throw StoreError.accountNotFound(accountId) }
        let id = CredentialGenerator.secretId()
        let secret = CredentialGenerator.secretKey()
        try await storage.accounts.createKey(StoredAccessKey(secretId: id, accountId: accountId, role: role, sealedSecret: try sealer.seal(secret, secretId: id),
                                                  status: .enabled, createdAt: unixNow()))
        return IssuedKey(SecretId: id, SecretKey: secret, AccountId: accountId, Role: role.rawValue)
    }

    /// The default account, created on first start.
    public func ensureDefaultAccount() async throws -> Account {
        try await storage.accounts.createAccount(name: "default", retentionDays: nil, id: AccountIds.first)
    }
}
