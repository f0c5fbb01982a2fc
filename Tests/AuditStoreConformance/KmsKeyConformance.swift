import AuditModel
import AuditStore
import XCTest

/// Managed (KMS) keys: the same answers from every backend.
extension StoreConformance {
    func kmsKey(_ id: String, account: Int64, region: String = "local", alias: String, createdAt: Int64? = nil) -> KmsKey {
        KmsKey(keyId: id, accountId: account, region: region, alias: alias, status: .enabled, sealedKey: Array(repeating: 7, count: 60),
               createdAt: createdAt ?? now)
    }

    func kmsKeysRoundTripAndList() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let b = try await s.accounts.createAccount(name: "b", retentionDays: nil, id: nil).id
        let k1 = kmsKey("00000000-0000-4000-8000-000000000002", account: a, alias: "first", createdAt: now - 10)
        let k2 = kmsKey("00000000-0000-4000-8000-000000000001", account: a, alias: "second", createdAt: now)
        let k3 = kmsKey("00000000-0000-4000-8000-000000000003", account: a, region: "ap-guangzhou", alias: "first", createdAt: now)
        let k4 = kmsKey("00000000-0000-4000-8000-000000000004", account: b, alias: "first", createdAt: now - 20)
        for k in [k3, k2, k1, k4] { try await s.kmsKeys.createKmsKey(k) }

        let got = try await s.kmsKeys.kmsKey(id: k1.keyId)
        XCTAssertEqual(got, k1, "a key reads back exactly, its sealed material included")
        let missing = try await s.kmsKeys.kmsKey(id: "00000000-0000-4000-8000-0000000000ff")
        XCTAssertNil(missing)

        // (createdAt, keyId) order
        let ofA = try await s.kmsKeys.kmsKeys(accountId: a, region: nil).map(\.keyId)
        XCTAssertEqual(ofA, [k1.keyId, k2.keyId, k3.keyId])
        let ofALocal = try await s.kmsKeys.kmsKeys(accountId: a, region: "local").map(\.keyId)
        XCTAssertEqual(ofALocal, [k1.keyId, k2.keyId])
        let local = try await s.kmsKeys.kmsKeys(accountId: nil, region: "local").map(\.keyId)
        XCTAssertEqual(local, [k4.keyId, k1.keyId, k2.keyId])
        let all = try await s.kmsKeys.kmsKeys(accountId: nil, region: nil).count
        XCTAssertEqual(all, 4)
        let none = try await s.kmsKeys.kmsKeys(accountId: b, region: "ap-guangzhou").count
        XCTAssertEqual(none, 0)

        do {
            try await s.kmsKeys.createKmsKey(kmsKey("00000000-0000-4000-8000-000000000009", account: 42, alias: "x"))
            XCTFail("a key of a missing account was accepted")
        } catch let e as StoreError {
            XCTAssertEqual(e, StoreError.accountNotFound(42))
        }
        do {
            try await s.kmsKeys.createKmsKey(kmsKey(k1.keyId, account: b, alias: "other"))
            XCTFail("a duplicate key id was accepted")
        } catch let e as StoreError {
            XCTAssertEqual(e.code, .kmsKeyExists)
        }
        try await s.close()
    }

    func kmsAliasesAreUniquePerAccountAndRegion() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        try await s.kmsKeys.createKmsKey(kmsKey("10000000-0000-4000-8000-000000000001", account: a, alias: "audit/main"))
        do {
            try await s.kmsKeys.createKmsKey(kmsKey("10000000-0000-4000-8000-000000000002", account: a, alias: "audit/main"))
            XCTFail("a duplicate alias in the same account and region was accepted")
        } catch let e as StoreError {
            XCTAssertEqual(e.code, .kmsAliasExists)
            XCTAssertTrue(e.message.contains("audit/main"), e.message)
        }
        // A refused key is not half-stored.
        let stored = try await s.kmsKeys.kmsKey(id: "10000000-0000-4000-8000-000000000002")
        XCTAssertNil(stored)
        // The same alias in another region is fine.
        try await s.kmsKeys.createKmsKey(kmsKey("10000000-0000-4000-8000-000000000003", account: a, region: "ap-guangzhou", alias: "audit/main"))
        let count = try await s.kmsKeys.kmsKeys(accountId: a, region: nil).count
        XCTAssertEqual(count, 2)
        try await s.close()
    }

    func kmsKeyStatus() async throws {
        let s = try await makeStorage()
        let a = try await s.accounts.createAccount(name: "a", retentionDays: nil, id: nil).id
        let k = kmsKey("20000000-0000-4000-8000-000000000001", account: a, alias: "k")
        try await s.kmsKeys.createKmsKey(k)
        let disabled = try await s.kmsKeys.setKmsKeyStatus(id: k.keyId, status: .disabled)
        XCTAssertTrue(disabled)
        let v1 = try await s.kmsKeys.kmsKey(id: k.keyId)?.status
        XCTAssertEqual(v1, .disabled)
        let listed = try await s.kmsKeys.kmsKeys(accountId: a, region: nil).map(\.status)
        XCTAssertEqual(listed, [.disabled], "a disabled key stays listed")
        let enabled = try await s.kmsKeys.setKmsKeyStatus(id: k.keyId, status: .enabled)
        XCTAssertTrue(enabled)
        let v2 = try await s.kmsKeys.kmsKey(id: k.keyId)?.status
        XCTAssertEqual(v2, .enabled)
        let unknown = try await s.kmsKeys.setKmsKeyStatus(id: "20000000-0000-4000-8000-0000000000ff", status: .disabled)
        XCTAssertFalse(unknown)
        try await s.close()
    }
}
