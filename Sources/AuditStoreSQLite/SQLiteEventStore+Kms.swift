import AuditModel
import AuditStore
import Foundation
import GRDB

extension SQLiteEventStore {
    static func registerKmsMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v4-kms") { db in
            try db.execute(sql: """
                -- Managed master keys (KMS-style). The material is only stored sealed under the
                -- deployment master key; a key is never deleted, only disabled.
                CREATE TABLE kms_keys (
                    key_id TEXT PRIMARY KEY NOT NULL,
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    region TEXT NOT NULL,
                    alias TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
                    sealed_key BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    UNIQUE (account_id, region, alias)
                ) WITHOUT ROWID;
                CREATE TRIGGER kms_keys_no_delete BEFORE DELETE ON kms_keys
                BEGIN SELECT RAISE(ABORT, 'KMS keys are never deleted; disable them'); END;
                """)
        }
    }

    static let kmsColumns = "key_id, account_id, region, alias, status, sealed_key, created_at"

    public func createKmsKey(_ key: KmsKey) async throws {
        try await pool.write { db in
            guard try Self.fetchAccount(db, id: key.accountId) != nil else { throw StoreError.accountNotFound(key.accountId) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM kms_keys WHERE key_id = ?", arguments: [key.keyId]) == true {
                throw StoreError.kmsKeyExists(key.keyId)
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM kms_keys WHERE account_id = ? AND region = ? AND alias = ?",
                                 arguments: [key.accountId, key.region, key.alias]) == true {
                throw StoreError.kmsAliasExists(key.alias, region: key.region)
            }
            try db.execute(sql: "INSERT INTO kms_keys(\(Self.kmsColumns)) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [key.keyId, key.accountId, key.region, key.alias, key.status.rawValue, Data(key.sealedKey), key.createdAt])
        }
    }

    public func kmsKey(id: String) async throws -> KmsKey? {
        if id.utf8.contains(0) { return nil }  // (see `key(secretId:)`)
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.kmsColumns) FROM kms_keys WHERE key_id = ?", arguments: [id]).map(Self.kmsKey(from:))
        }
    }

    public func kmsKeys(accountId: Int64?, region: String?) async throws -> [KmsKey] {
        if region?.utf8.contains(0) == true { return [] }  // (see `key(secretId:)`)
        return try await pool.read { db in
            var conditions: [String] = []
            var arguments = StatementArguments()
            if let accountId {
                conditions.append("account_id = ?")
                arguments += [accountId]
            }
            if let region {
                conditions.append("region = ?")
                arguments += [region]
            }
            let sql = "SELECT \(Self.kmsColumns) FROM kms_keys" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
                + " ORDER BY created_at, key_id"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.kmsKey(from:))
        }
    }

    public func setKmsKeyStatus(id: String, status: KeyStatus) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE kms_keys SET status = ? WHERE key_id = ?", arguments: [status.rawValue, id])
            return db.changesCount > 0
        }
    }

    static func kmsKey(from row: Row) -> KmsKey {
        let sealed: Data = row[5]
        return KmsKey(keyId: row[0], accountId: row[1], region: row[2], alias: row[3], status: KeyStatus(rawValue: row[4]) ?? .disabled,
                      sealedKey: Array(sealed), createdAt: row[6])
    }
}
