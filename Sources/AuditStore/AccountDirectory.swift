import AuditModel

/// The deployment's accounts and their access keys: what authentication and administration read.
///
/// Contract (checked by the conformance suite):
/// - `createAccount` with the `id` of an existing account returns that account unchanged.
/// - No two accounts have the same name (``AccountRules/nameKey(_:)``): creating or renaming to a name
///   another account has throws `.accountNameExists`.
/// - `createKey` refuses a key of an account that does not exist and a SecretId already stored.
public protocol AccountDirectory: Sendable {
    /// Creates an account (or returns the existing one with `id`). `memberOf` must name an existing
    /// account that is not itself a member; the new member gets a cursor at 0 in each of that
    /// account's sets with TrackForAllMembers (all its events are newer than those sets).
    func createAccount(name: String, retentionDays: Int?, id: Int64?, memberOf: Int64?) async throws -> Account
    func account(id: Int64) async throws -> Account?
    func listAccounts() async throws -> [Account]
    /// Renames account `id`; nil when there is no such account.
    func renameAccount(id: Int64, name: String) async throws -> Account?
    /// Sets account `id`'s own retention in days (nil: the deployment's default from then on); nil when
    /// there is no such account. Events past a shortened retention go at the next retention pass.
    func setAccountRetention(id: Int64, days: Int?) async throws -> Account?

    func createKey(_ key: StoredAccessKey) async throws
    func key(secretId: String) async throws -> StoredAccessKey?
    func listKeys(accountId: Int64?) async throws -> [StoredAccessKey]
    /// Returns false when no such key exists.
    func setKeyStatus(secretId: String, status: KeyStatus) async throws -> Bool
}

extension AccountDirectory {
    public func createAccount(name: String, retentionDays: Int?, id: Int64?) async throws -> Account {
        try await createAccount(name: name, retentionDays: retentionDays, id: id, memberOf: nil)
    }

    /// The accounts whose `memberOf` is `accountId`.
    public func members(of accountId: Int64) async throws -> [Account] {
        try await listAccounts().filter { $0.memberOf == accountId }
    }
}
