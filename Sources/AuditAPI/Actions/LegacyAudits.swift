import AuditModel
import AuditStore

/// The older audit actions, addressed by name: `CreateAudit`, `UpdateAudit`, `DeleteAudit`,
/// `DescribeAudit`, `ListAudits`, `StartLogging`, `StopLogging`. Each audit is a tracking set of all
/// products whose `ReadWriteAttribute` (1 Read, 2 Write, 3 both) is its ActionType.
enum LegacyAuditActions {
    static let definitions: [ActionDefinition] = [
        ActionDefinition(name: "CreateAudit", kind: .write) { call in
            let p = call.params
            let name = try LegacyAudit.name(p)
            guard let rw = try p.integer("ReadWriteAttribute") else { throw APIError.missing("ReadWriteAttribute") }
            guard let region = try p.string("CosRegion") else { throw APIError.missing("CosRegion") }
            guard let bucket = try p.string("CosBucketName") else { throw APIError.missing("CosBucketName") }
            var t = Track(accountId: call.caller.accountId, name: name, enabled: true,
                          storage: TrackStorage(region: region, name: bucket, prefix: "cloudaudit"),
                          filters: [TrackFilter(actionType: try LegacyAudit.actionType(rw), resourceType: "*", eventNames: ["*"])])
            try LegacyAudit.apply(p, to: &t, call: call)
            try await KmsParameters.apply(p, to: &t, storageField: "CosRegion", call: call)
            _ = try await TrackParameters.insert(t, call: call, createBucket: try p.flag("IsCreateNewBucket") ?? false)
            return [("IsSuccess", .int(1))]
        },
        ActionDefinition(name: "UpdateAudit", kind: .write) { call in
            let p = call.params
            var t = try await LegacyAudit.named(call)
            let old = t.storage
            if let rw = try p.integer("ReadWriteAttribute") {
                t.filters = [TrackFilter(actionType: try LegacyAudit.actionType(rw), resourceType: "*", eventNames: ["*"])]
                t.multiProduct = false
            }
            if let region = try p.string("CosRegion") { t.storage.region = region }
            if let bucket = try p.string("CosBucketName") { t.storage.name = bucket; t.storage.appId = "" }
            let createBucket = try p.flag("IsCreateNewBucket") ?? false
            // The bucket to create is named in this request; its region may be the audit's current one.
            if createBucket, p["CosBucketName"] == nil { throw APIError.missing("CosBucketName") }
            try LegacyAudit.apply(p, to: &t, call: call)
            try await KmsParameters.apply(p, to: &t, storageField: "CosRegion", call: call)
            try await TrackParameters.prepareBucket(t.storage, replacing: old, create: createBucket, call: call)
            guard try await call.environment.storage.tracks.updateTrack(t) else { throw APIError.auditNotFound(t.name) }
            return [("IsSuccess", .int(1))]
        },
        ActionDefinition(name: "DeleteAudit", kind: .write) { call in
            let t = try await LegacyAudit.named(call)
            _ = try await call.environment.storage.tracks.deleteTrack(id: t.id)
            return [("IsSuccess", .int(1))]
        },
        ActionDefinition(name: "DescribeAudit", kind: .read) { call in
            let t = try await LegacyAudit.named(call)
            let l = t.legacy
            return [
                ("AuditName", .string(t.name)), ("AuditStatus", .int(t.enabled ? 1 : 0)), ("CosBucketName", .string(t.storage.bucket)),
                ("CosRegion", .string(t.storage.region)), ("LogFilePrefix", .string(t.storage.prefix)),
                ("ReadWriteAttribute", .int(LegacyAudit.readWriteAttribute(t))), ("IsEnableCmqNotify", .int(l.cmqNotify ? 1 : 0)),
                ("CmqQueueName", .string(l.cmqQueueName)), ("CmqRegion", .string(l.cmqRegion)), ("IsEnableKmsEncry", .int(l.kmsEncrypt ? 1 : 0)),
                ("KeyId", .string(l.keyId)), ("KmsAlias", .string(l.kmsAlias)), ("KmsRegion", .string(l.kmsRegion)),
            ]
        },
        ActionDefinition(name: "ListAudits", kind: .read) { call in
            let all = try await call.environment.storage.tracks.tracks(accountId: call.caller.accountId)
            return [("AuditSummarys", .array(all.map { t in
                .obj([("AuditName", .string(t.name)), ("AuditStatus", .int(t.enabled ? 1 : 0)), ("CosBucketName", .string(t.storage.bucket)),
                      ("LogFilePrefix", .string(t.storage.prefix))])
            }))]
        },
        ActionDefinition(name: "StartLogging", kind: .write) { call in try await LegacyAudit.setLogging(call, true) },
        ActionDefinition(name: "StopLogging", kind: .write) { call in try await LegacyAudit.setLogging(call, false) },
    ]
}

enum LegacyAudit {
    static func name(_ p: RequestParameters) throws -> String {
        guard let name = try p.string("AuditName") else { throw APIError.missing("AuditName") }
        try TrackParameters.rule { try TrackRules.checkName(name, field: "AuditName") }
        return name
    }

    static func named(_ call: ActionCall) async throws -> Track {
        guard let name = try call.params.string("AuditName") else { throw APIError.missing("AuditName") }
        guard let t = try await call.environment.storage.tracks.track(accountId: call.caller.accountId, name: name) else { throw APIError.auditNotFound(name) }
        return t
    }

    static func actionType(_ rw: Int64) throws -> String {
        switch rw {
        case 1: return "Read"
        case 2: return "Write"
        case 3: return "*"
        default: throw APIError("InvalidParameterValue.ReadWriteAttributeError", "ReadWriteAttribute must be 1 (read), 2 (write) or 3 (both), not \(rw).")
        }
    }

    static func readWriteAttribute(_ t: Track) -> Int64 {
        guard !t.multiProduct, let f = t.filters.first else { return 3 }
        return f.actionType == "Read" ? 1 : f.actionType == "Write" ? 2 : 3
    }

    /// Applies the optional fields (prefix, CMQ) and checks the merged audit's cross-field rules; the
    /// KMS fields follow with `KmsParameters.apply`.
    static func apply(_ p: RequestParameters, to t: inout Track, call: ActionCall) throws {
        if let prefix = try p.string("LogFilePrefix") { t.storage.prefix = prefix }
        if let on = try p.flag("IsEnableCmqNotify") { t.legacy.cmqNotify = on }
        if let q = try p.string("CmqQueueName") { t.legacy.cmqQueueName = q }
        if let r = try p.string("CmqRegion") { t.legacy.cmqRegion = r }
        let createQueue = try p.flag("IsCreateNewQueue")

        try TrackParameters.checkRegion(t.storage.region, field: "CosRegion", code: "InvalidParameterValue.CosRegionError", call: call)
        try TrackParameters.rule { try TrackRules.checkBucketName(t.storage.name, field: "CosBucketName") }
        try TrackParameters.rule { try TrackRules.checkPrefix(t.storage.prefix, field: "LogFilePrefix") }
        if t.legacy.cmqNotify {
            // The queue settings must come with the request that turns notification on.
            if p["IsEnableCmqNotify"] != nil, p["CmqQueueName"] == nil || p["CmqRegion"] == nil || createQueue == nil {
                throw APIError("MissingParameter.cmq", "IsEnableCmqNotify=1 needs CmqQueueName, CmqRegion and IsCreateNewQueue.")
            }
            let queueRegions = call.environment.regions.regions.filter { !$0.channels.isEmpty }
            guard let queueRegion = queueRegions.first(where: { $0.name == t.legacy.cmqRegion }) else {
                throw APIError.unknownRegion("InvalidParameterValue.CmqRegionError", field: "CmqRegion", t.legacy.cmqRegion, known: queueRegions.map(\.name))
            }
            try TrackParameters.rule { try TrackRules.checkQueueName(t.legacy.cmqQueueName) }
            guard queueRegion.channels.contains(t.legacy.cmqQueueName) else {
                throw APIError("InvalidParameterValue.QueueNameError",
                               "Region \(t.legacy.cmqRegion) has no queue named \"\(APIError.clip(t.legacy.cmqQueueName))\"; its queues (configured by the operator) are "
                                   + queueRegion.channels.joined(separator: ", ") + ". See ListCmqEnableRegion.")
            }
        }
    }

    static func setLogging(_ call: ActionCall, _ on: Bool) async throws -> [(String, JSONValue)] {
        var t = try await named(call)
        t.enabled = on
        guard try await call.environment.storage.tracks.updateTrack(t) else { throw APIError.auditNotFound(t.name) }
        return [("IsSuccess", .int(1))]
    }
}
