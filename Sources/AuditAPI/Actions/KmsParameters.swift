import AuditModel
import AuditStore

/// `IsEnableKmsEncry`, `KeyId`, `KmsRegion`: the encryption options shared by the legacy audits
/// (`CreateAudit`, `UpdateAudit`) and the tracking sets (`Create/ModifyAuditTrack`,
/// `Create/ModifyEventsAuditTrack`), stored in the set's `legacy` options.
enum KmsParameters {
    /// Reads the given fields into the set and checks the merged result:
    /// - with encryption on, `KeyId` and `KmsRegion` are required (`MissingParameter`) and `KmsRegion`
    ///   must be the storage region (`InvalidParameterValue.KmsRegionError`);
    /// - when this request gives any of the three fields, the key is looked up: it must be a key of the
    ///   caller's account (`InvalidParameterValue`), of `KmsRegion` (`InvalidParameterValue.KmsRegionError`)
    ///   and, with encryption on, enabled (`InvalidParameterValue`). `KmsAlias` follows the key.
    ///
    /// A request that gives none of them leaves the key as it is (a key disabled since does not block
    /// unrelated changes; delivery reports it).
    static func apply(_ p: RequestParameters, to t: inout Track, storageField: String, call: ActionCall) async throws {
        var l = t.legacy
        let enable = try p.flag("IsEnableKmsEncry")
        let keyId = try p.string("KeyId")
        let region = try p.string("KmsRegion")
        if let enable { l.kmsEncrypt = enable }
        if let keyId { l.keyId = keyId }
        if let region { l.kmsRegion = region }
        let given = enable != nil || keyId != nil || region != nil

        if l.kmsEncrypt {
            if l.keyId.isEmpty { throw APIError.missing("KeyId") }
            if l.kmsRegion.isEmpty { throw APIError.missing("KmsRegion") }
            guard l.kmsRegion == t.storage.region else {
                throw APIError.kmsRegionMismatch(kmsRegion: l.kmsRegion, storageRegion: t.storage.region, storageField: storageField)
            }
        }
        if given {
            l.kmsAlias = ""
            if !l.keyId.isEmpty {
                let key = try await call.environment.storage.kmsKeys.kmsKey(id: l.keyId)
                if let key, key.accountId == call.caller.accountId {
                    l.kmsAlias = key.alias
                    if l.kmsEncrypt {
                        guard key.region == l.kmsRegion else { throw APIError.kmsKeyOtherRegion(l.keyId, keyRegion: key.region, kmsRegion: l.kmsRegion) }
                        guard key.status == .enabled else { throw APIError.kmsKeyDisabled(l.keyId) }
                    }
                } else if l.kmsEncrypt {
                    // Another account's key reads as unknown: key ids are not shared across accounts.
                    throw APIError.kmsKeyNotFound(l.keyId, region: l.kmsRegion)
                }
            }
        }
        t.legacy = l
    }

    /// How a set's encryption reads back in `DescribeAuditTrack(s)`: only for a set with encryption on,
    /// so that other sets keep exactly the official shape.
    static func view(_ t: Track) -> [(String, JSONValue)] {
        guard t.legacy.kmsEncrypt else { return [] }
        return [("IsEnableKmsEncry", .int(1)), ("KeyId", .string(t.legacy.keyId)), ("KmsRegion", .string(t.legacy.kmsRegion))]
    }

    /// `ListKeyAliasByRegion`: the caller's enabled keys of a region, oldest first. Disabled keys are
    /// left out, as Tencent KMS lists only usable aliases; `cloudaudit kms list` shows every key.
    static func listedKeys(region: String, call: ActionCall) async throws -> [KmsKey] {
        try await call.environment.storage.kmsKeys.kmsKeys(accountId: call.caller.accountId, region: region).filter { $0.status == .enabled }
    }
}
