import AuditAPI
import AuditDelivery
import AuditModel
import AuditStore
import Foundation
import XCTest

/// Managed keys through the API: ListKeyAliasByRegion, and the KMS fields of the legacy audits and
/// tracking sets (docs/contract.md, "KMS keys"). The harness has one region, `local`.
final class KmsAPITests: XCTestCase {
    static let a = Harness.accountA
    static let b = Harness.accountB

    func vault(_ h: Harness) -> KeyVault { KeyVault(keys: h.memory, masterKey: (0..<32).map { _ in UInt8.random(in: 0...255) }) }

    func ok(_ r: Reply, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNil(r.errorCode, "\(label): unexpected error \(r.errorCode ?? ""): \(r.errorMessage)", file: file, line: line)
    }

    func fails(_ r: Reply, _ code: String, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.errorCode, code, "\(label): \(r.text.prefix(400))", file: file, line: line)
        XCTAssertFalse(r.errorMessage.isEmpty, file: file, line: line)
    }

    func int(_ v: JSONValue?) -> Int64? { if case .int(let i)? = v { return i }; return nil }

    func keyIds(_ r: Reply) -> [String] { r.response?["KeyMetadatas"]?.arrayValue?.compactMap { $0["KeyId"]?.stringValue } ?? [] }

    func testListKeyAliasByRegionListsTheCallersEnabledKeys() async throws {
        let h = try await Harness.make()
        let v = vault(h)
        let mine = [try await v.createKey(accountId: Self.a, region: "local", alias: "one"),
                    try await v.createKey(accountId: Self.a, region: "local", alias: "two"),
                    try await v.createKey(accountId: Self.a, region: "local", alias: "three")]
        let theirs = try await v.createKey(accountId: Self.b, region: "local", alias: "one")
        try await h.memory.createKmsKey(KmsKey(keyId: UUID().uuidString.lowercased(), accountId: Self.a, region: "ap-guangzhou", alias: "gz",
                                                   sealedKey: [1], createdAt: h.now))
        _ = try await h.memory.setKmsKeyStatus(id: mine[1].keyId, status: .disabled)
        // (createdAt, keyId) order; the disabled key is not listed.
        let expected = try await h.memory.kmsKeys(accountId: Self.a, region: "local").filter { $0.status == .enabled }.map(\.keyId)
        XCTAssertEqual(Set(expected), [mine[0].keyId, mine[2].keyId])

        try await h.run { s in
            let all = try await s.call("ListKeyAliasByRegion", #"{"KmsRegion": "local"}"#, key: h.auditor)
            self.ok(all)
            XCTAssertEqual(self.int(all.response?["TotalCount"]), 2)
            XCTAssertEqual(self.keyIds(all), expected)
            let aliases = Dictionary(uniqueKeysWithValues: (all.response?["KeyMetadatas"]?.arrayValue ?? []).map {
                ($0["KeyId"]?.stringValue ?? "", $0["Alias"]?.stringValue ?? "")
            })
            XCTAssertEqual(aliases[mine[0].keyId], "one")
            XCTAssertEqual(aliases[mine[2].keyId], "three")

            let second = try await s.call("ListKeyAliasByRegion", #"{"KmsRegion": "local", "Limit": 1, "Offset": 1}"#, key: h.admin)
            XCTAssertEqual(self.keyIds(second), [expected[1]])
            XCTAssertEqual(self.int(second.response?["TotalCount"]), 2, "TotalCount counts every listed key, not the page")
            let past = try await s.call("ListKeyAliasByRegion", #"{"KmsRegion": "local", "Limit": 5, "Offset": 9}"#, key: h.admin)
            XCTAssertEqual(self.keyIds(past), [])
            XCTAssertEqual(self.int(past.response?["TotalCount"]), 2)

            let other = try await s.call("ListKeyAliasByRegion", #"{"KmsRegion": "local"}"#, key: h.adminB)
            XCTAssertEqual(self.keyIds(other), [theirs.keyId], "an account sees only its own keys")

            self.fails(try await s.call("ListKeyAliasByRegion", #"{"KmsRegion": "ap-guangzhou"}"#, key: h.admin),
                       "InvalidParameterValue.KmsRegionError", "a region that is not configured")
            self.fails(try await s.call("ListKeyAliasByRegion", #"{"KmsRegion": "local", "Limit": 0}"#, key: h.admin), "InvalidParameterValue")
        }
    }

    func testUpdateAuditSelectsAKeyOfTheAccountAndRegion() async throws {
        let h = try await Harness.make()
        let v = vault(h)
        let key = try await v.createKey(accountId: Self.a, region: "local", alias: "audit-key")
        let disabled = try await v.createKey(accountId: Self.a, region: "local", alias: "off")
        _ = try await h.memory.setKmsKeyStatus(id: disabled.keyId, status: .disabled)
        let foreign = try await v.createKey(accountId: Self.b, region: "local", alias: "audit-key")
        let elsewhere = KmsKey(keyId: UUID().uuidString.lowercased(), accountId: Self.a, region: "ap-guangzhou", alias: "gz", sealedKey: [1], createdAt: h.now)
        try await h.memory.createKmsKey(elsewhere)

        try await h.run { s in
            self.ok(try await s.call("CreateAudit", #"{"AuditName": "kms-audit", "ReadWriteAttribute": 3, "CosRegion": "local", "CosBucketName": "kms-bucket", "IsEnableCmqNotify": 0, "IsCreateNewBucket": 0}"#,
                                     key: h.admin))
            let before = try await s.call("DescribeAudit", #"{"AuditName": "kms-audit"}"#, key: h.admin)
            XCTAssertEqual(self.int(before.response?["IsEnableKmsEncry"]), 0)
            func update(_ fields: String) async throws -> Reply {
                try await s.call("UpdateAudit", #"{"AuditName": "kms-audit", "# + fields + "}", key: h.admin)
            }
            self.fails(try await update(#""IsEnableKmsEncry": 1, "KmsRegion": "local""#), "MissingParameter", "no KeyId")
            self.fails(try await update(#""IsEnableKmsEncry": 1, "KeyId": "\#(key.keyId)""#), "MissingParameter", "no KmsRegion")
            let unknown = try await update(#""IsEnableKmsEncry": 1, "KeyId": "no-such-key", "KmsRegion": "local""#)
            self.fails(unknown, "InvalidParameterValue", "unknown KeyId")
            XCTAssertTrue(unknown.errorMessage.contains("ListKeyAliasByRegion"), unknown.errorMessage)
            self.fails(try await update(#""IsEnableKmsEncry": 1, "KeyId": "\#(foreign.keyId)", "KmsRegion": "local""#), "InvalidParameterValue",
                       "another account's key")
            let off = try await update(#""IsEnableKmsEncry": 1, "KeyId": "\#(disabled.keyId)", "KmsRegion": "local""#)
            self.fails(off, "InvalidParameterValue", "disabled key")
            XCTAssertTrue(off.errorMessage.contains("disabled"), off.errorMessage)
            self.fails(try await update(#""IsEnableKmsEncry": 1, "KeyId": "\#(key.keyId)", "KmsRegion": "ap-guangzhou""#),
                       "InvalidParameterValue.KmsRegionError", "KmsRegion is not CosRegion")
            self.fails(try await update(#""IsEnableKmsEncry": 1, "KeyId": "\#(elsewhere.keyId)", "KmsRegion": "local""#),
                       "InvalidParameterValue.KmsRegionError", "a key of another region")
            let unchanged = try await s.call("DescribeAudit", #"{"AuditName": "kms-audit"}"#, key: h.admin)
            XCTAssertEqual(unchanged.response?["IsEnableKmsEncry"], before.response?["IsEnableKmsEncry"])
            XCTAssertEqual(unchanged.response?["KeyId"], before.response?["KeyId"], "a refused update changes nothing")

            self.ok(try await update(#""IsEnableKmsEncry": 1, "KeyId": "\#(key.keyId)", "KmsRegion": "local""#))
            let d = try await s.call("DescribeAudit", #"{"AuditName": "kms-audit"}"#, key: h.auditor)
            XCTAssertEqual(self.int(d.response?["IsEnableKmsEncry"]), 1)
            XCTAssertEqual(d.response?["KeyId"]?.stringValue, key.keyId)
            XCTAssertEqual(d.response?["KmsAlias"]?.stringValue, "audit-key", "the alias is looked up")
            XCTAssertEqual(d.response?["KmsRegion"]?.stringValue, "local")

            // An unrelated update does not re-check the key (disabled since); encryption can be turned off.
            _ = try await h.memory.setKmsKeyStatus(id: key.keyId, status: .disabled)
            self.ok(try await update(#""ReadWriteAttribute": 2"#))
            self.fails(try await update(#""KeyId": "\#(key.keyId)""#), "InvalidParameterValue", "re-selecting a disabled key")
            self.ok(try await update(#""IsEnableKmsEncry": 0"#))
            let after = try await s.call("DescribeAudit", #"{"AuditName": "kms-audit"}"#, key: h.admin)
            XCTAssertEqual(self.int(after.response?["IsEnableKmsEncry"]), 0)

            // CreateAudit checks the same way.
            self.fails(try await s.call("CreateAudit", #"{"AuditName": "kms-audit-2", "ReadWriteAttribute": 3, "CosRegion": "local", "CosBucketName": "kms-bucket", "IsEnableCmqNotify": 0, "IsCreateNewBucket": 0, "IsEnableKmsEncry": 1, "KeyId": "\#(foreign.keyId)", "KmsRegion": "local"}"#,
                                       key: h.admin), "InvalidParameterValue")
        }
    }

    func testTrackingSetsTakeTheSameFields() async throws {
        let h = try await Harness.make()
        let v = vault(h)
        let key = try await v.createKey(accountId: Self.a, region: "local", alias: "sets")
        let disabled = try await v.createKey(accountId: Self.a, region: "local", alias: "off")
        _ = try await h.memory.setKmsKeyStatus(id: disabled.keyId, status: .disabled)
        let storage = #""Storage": {"StorageType": "cos", "StorageRegion": "local", "StorageName": "kms-sets", "StoragePrefix": "trail"}"#

        try await h.run { s in
            let created = try await s.call("CreateAuditTrack", #"{"Name": "encrypted", "Status": 1, "ActionType": "*", "ResourceType": "*", "EventNames": ["*"], "# + storage
                                               + #", "IsEnableKmsEncry": 1, "KeyId": "\#(key.keyId)", "KmsRegion": "local"}"#, key: h.admin)
            self.ok(created)
            guard let id = self.int(created.response?["TrackId"]) else { return XCTFail("no TrackId: \(created.text)") }
            let d = try await s.call("DescribeAuditTrack", #"{"TrackId": \#(id)}"#, key: h.auditor)
            XCTAssertEqual(self.int(d.response?["IsEnableKmsEncry"]), 1)
            XCTAssertEqual(d.response?["KeyId"]?.stringValue, key.keyId)
            XCTAssertEqual(d.response?["KmsRegion"]?.stringValue, "local")
            let stored = try await h.memory.track(id: id)
            XCTAssertEqual(stored?.legacy.kmsAlias, "sets")

            let plain = try await s.call("CreateEventsAuditTrack", #"{"Name": "plain", "Status": 1, "Filters": {"ResourceFields": [{"ResourceType": "cvm", "ActionType": "Write", "EventNames": ["*"]}]}, "# + storage + "}",
                                         key: h.admin)
            self.ok(plain)
            let plainId = self.int(plain.response?["TrackId"]) ?? 0
            let pd = try await s.call("DescribeAuditTrack", #"{"TrackId": \#(plainId)}"#, key: h.admin)
            XCTAssertNil(pd.response?["IsEnableKmsEncry"], "a set without encryption keeps the official shape")
            XCTAssertNil(pd.response?["KeyId"])

            let list = try await s.call("DescribeAuditTracks", #"{"PageNumber": 1, "PageSize": 10}"#, key: h.admin)
            let tracks = list.response?["Tracks"]?.arrayValue ?? []
            XCTAssertEqual(tracks.first { self.int($0["TrackId"]) == id }?["KeyId"]?.stringValue, key.keyId)
            XCTAssertNil(tracks.first { self.int($0["TrackId"]) == plainId }?["KeyId"])

            // The same rules as the audits, with Storage.StorageRegion as the storage region.
            self.fails(try await s.call("ModifyEventsAuditTrack", #"{"TrackId": \#(plainId), "IsEnableKmsEncry": 1, "KmsRegion": "local"}"#, key: h.admin),
                       "MissingParameter")
            let mismatch = try await s.call("ModifyEventsAuditTrack", #"{"TrackId": \#(plainId), "IsEnableKmsEncry": 1, "KeyId": "\#(key.keyId)", "KmsRegion": "ap-guangzhou"}"#,
                                            key: h.admin)
            self.fails(mismatch, "InvalidParameterValue.KmsRegionError")
            XCTAssertTrue(mismatch.errorMessage.contains("Storage.StorageRegion"), mismatch.errorMessage)
            self.fails(try await s.call("ModifyAuditTrack", #"{"TrackId": \#(plainId), "IsEnableKmsEncry": 1, "KeyId": "\#(disabled.keyId)", "KmsRegion": "local"}"#,
                                        key: h.admin), "InvalidParameterValue")
            self.fails(try await s.call("CreateEventsAuditTrack", #"{"Name": "other", "Status": 1, "Filters": {"ResourceFields": [{"ResourceType": "cvm", "ActionType": "Write", "EventNames": ["*"]}]}, "# + storage
                                            + #", "IsEnableKmsEncry": 1, "KeyId": "no-such-key", "KmsRegion": "local"}"#, key: h.admin), "InvalidParameterValue")
            self.fails(try await s.call("CreateAuditTrack", #"{"Name": "other", "Status": 1, "ActionType": "*", "ResourceType": "*", "EventNames": ["*"], "# + storage
                                            + #", "IsEnableKmsEncry": 1, "KeyId": "\#(key.keyId)", "KmsRegion": "local"}"#, key: h.adminB),
                       "InvalidParameterValue", "another account's key")

            self.ok(try await s.call("ModifyEventsAuditTrack", #"{"TrackId": \#(plainId), "IsEnableKmsEncry": 1, "KeyId": "\#(key.keyId)", "KmsRegion": "local"}"#,
                                     key: h.admin))
            let now = try await s.call("DescribeAuditTrack", #"{"TrackId": \#(plainId)}"#, key: h.admin)
            XCTAssertEqual(now.response?["KeyId"]?.stringValue, key.keyId)
            self.ok(try await s.call("ModifyAuditTrack", #"{"TrackId": \#(id), "IsEnableKmsEncry": 0}"#, key: h.admin))
            let off = try await s.call("DescribeAuditTrack", #"{"TrackId": \#(id)}"#, key: h.admin)
            XCTAssertNil(off.response?["IsEnableKmsEncry"])
        }
    }
}
