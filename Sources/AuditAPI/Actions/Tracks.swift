import AuditModel
import AuditStore

/// The tracking-set actions: `CreateAuditTrack`, `CreateEventsAuditTrack`, `DescribeAuditTrack(s)`,
/// `ModifyAuditTrack`, `ModifyEventsAuditTrack`, `DeleteAuditTrack`, `InquireAuditCredit`.
enum TrackActions {
    static let definitions: [ActionDefinition] = [
        ActionDefinition(name: "CreateAuditTrack", kind: .write) { call in
            let p = call.params
            let filter = try TrackParameters.singleFilter(p, required: true)!
            let id = try await TrackParameters.create(call, filters: [filter], multiProduct: false)
            return [("TrackId", .int(id))]
        },
        ActionDefinition(name: "CreateEventsAuditTrack", kind: .write) { call in
            let filters = try TrackParameters.filters(call.params, required: true)!
            let id = try await TrackParameters.create(call, filters: filters, multiProduct: true)
            return [("TrackId", .int(id))]
        },
        ActionDefinition(name: "DescribeAuditTrack", kind: .read) { call in
            let t = try await TrackParameters.ownTrack(call)
            return TrackView.fields(t, withId: false)
        },
        ActionDefinition(name: "DescribeAuditTracks", kind: .read) { call in
            let p = call.params
            guard let page = try p.integer("PageNumber") else { throw APIError.missing("PageNumber") }
            guard let size = try p.integer("PageSize") else { throw APIError.missing("PageSize") }
            guard page >= 1 else { throw APIError.invalidValue("PageNumber", "pages are numbered from 1") }
            guard (1...100).contains(size) else { throw APIError.invalidValue("PageSize", "use 1 to 100") }
            let all = try await call.environment.storage.tracks.tracks(accountId: call.caller.accountId)
            let slice = all.dropFirst(Int(min(page - 1, Int64(all.count)) * size)).prefix(Int(size))
            return [("Tracks", .array(slice.map { .obj(TrackView.fields($0, withId: true)) })), ("TotalCount", .int(Int64(all.count)))]
        },
        ActionDefinition(name: "ModifyAuditTrack", kind: .write) { call in
            var t = try await TrackParameters.ownTrack(call)
            let p = call.params
            let given = (action: try p.string("ActionType"), resource: try p.string("ResourceType"), names: try p.stringList("EventNames"))
            if given.action != nil || given.resource != nil || given.names != nil {
                // Changing the single-product fields of a multi-product set makes it single-product.
                let base = t.filters.first ?? TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])
                let f = TrackFilter(actionType: given.action ?? base.actionType, resourceType: given.resource ?? base.resourceType,
                                    eventNames: given.names ?? base.eventNames)
                try TrackParameters.check(f, field: "")
                t.filters = [f]
                t.multiProduct = false
            }
            try await TrackParameters.modify(call, &t)
            return []
        },
        ActionDefinition(name: "ModifyEventsAuditTrack", kind: .write) { call in
            var t = try await TrackParameters.ownTrack(call)
            if let filters = try TrackParameters.filters(call.params, required: false) {
                t.filters = filters
                t.multiProduct = true
            }
            try await TrackParameters.modify(call, &t)
            return []
        },
        ActionDefinition(name: "DeleteAuditTrack", kind: .write) { call in
            let t = try await TrackParameters.ownTrack(call)
            _ = try await call.environment.storage.tracks.deleteTrack(id: t.id)
            return []
        },
        ActionDefinition(name: "InquireAuditCredit", kind: .read) { call in
            let used = try await call.environment.storage.tracks.tracks(accountId: call.caller.accountId).count
            return [("AuditAmount", .int(Int64(max(0, call.environment.trackQuota - used))))]
        },
    ]
}

/// Parsing and checking of tracking-set parameters, shared with the legacy audit actions.
enum TrackParameters {
    static func check(_ f: TrackFilter, field: String) throws {
        do { try TrackRules.checkFilter(f, field: field) } catch let e as TrackValidationError { throw APIError(e.code, e.message + ".") }
    }

    static func rule(_ body: () throws -> Void) throws {
        do { try body() } catch let e as TrackValidationError { throw APIError(e.code, e.message + ".") }
    }

    /// `ActionType`, `ResourceType`, `EventNames` of the single-product actions.
    static func singleFilter(_ p: RequestParameters, required: Bool, field: String = "") throws -> TrackFilter? {
        let action = try p.string("ActionType"), resource = try p.string("ResourceType"), names = try p.stringList("EventNames")
        if !required, action == nil, resource == nil, names == nil { return nil }
        guard let action else { throw APIError.missing(field + "ActionType") }
        guard let resource else { throw APIError.missing(field + "ResourceType") }
        guard let names else { throw APIError.missing(field + "EventNames") }
        let f = TrackFilter(actionType: action, resourceType: resource, eventNames: names)
        try check(f, field: field)
        return f
    }

    /// `Filters.ResourceFields` of the multi-product actions.
    static func filters(_ p: RequestParameters, required: Bool) throws -> [TrackFilter]? {
        guard let filters = try p.object("Filters") else {
            if required { throw APIError.missing("Filters") }
            return nil
        }
        guard let fields = try filters.array("ResourceFields") else { throw APIError.missing("Filters.ResourceFields") }
        guard (1...TrackRules.maxResourceFields).contains(fields.count) else {
            throw APIError.invalidValue("Filters.ResourceFields", "give 1 to \(TrackRules.maxResourceFields) product filters")
        }
        return try fields.enumerated().map { i, v in
            guard case .object(let o) = v else {
                throw APIError.wrongType("Filters.ResourceFields.\(i)", expected: "an object with ResourceType, ActionType and EventNames", got: v.typeName)
            }
            return try singleFilter(RequestParameters(root: o, body: []), required: true, field: "Filters.ResourceFields.\(i).")!
        }
    }

    /// `Storage`, checked against the configured regions (not yet against the bucket).
    static func storage(_ p: RequestParameters, call: ActionCall) throws -> TrackStorage {
        guard let s = try p.object("Storage") else { throw APIError.missing("Storage") }
        guard let type = try s.string("StorageType") else { throw APIError.missing("Storage.StorageType") }
        guard type == "cos" else {
            throw APIError.invalidValue("Storage.StorageType", "only cos (an S3-compatible bucket) is supported by this server, not \"\(APIError.clip(type))\"")
        }
        guard let region = try s.string("StorageRegion") else { throw APIError.missing("Storage.StorageRegion") }
        try checkRegion(region, field: "Storage.StorageRegion", code: "InvalidParameterValue.CosRegionError", call: call)
        guard let name = try s.string("StorageName") else { throw APIError.missing("Storage.StorageName") }
        try rule { try TrackRules.checkBucketName(name, field: "Storage.StorageName") }
        guard let prefix = try s.string("StoragePrefix") else { throw APIError.missing("Storage.StoragePrefix") }
        try rule { try TrackRules.checkPrefix(prefix, field: "Storage.StoragePrefix") }
        let compress = try s.integer("Compress") ?? 1
        guard compress == 1 || compress == 2 else { throw APIError.invalidValue("Storage.Compress", "use 1 (gzip) or 2 (plain JSON lines)") }
        let account = try s.string("StorageAccountId") ?? ""
        guard account.isEmpty || account == String(call.caller.accountId) else {
            throw APIError.invalidValue("Storage.StorageAccountId", "delivering into another account's storage is not supported; leave it empty or give your own account id")
        }
        let appId = try s.string("StorageAppId") ?? ""
        guard appId.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), appId.count <= 20 else {
            throw APIError.invalidValue("Storage.StorageAppId", "an APPID is digits only")
        }
        return TrackStorage(type: type, region: region, name: name, prefix: prefix, compress: compress == 1, accountId: account, appId: appId)
    }

    static func checkRegion(_ region: String, field: String, code: String, call: ActionCall) throws {
        let regions = call.environment.regions.regions
        guard regions.contains(where: { $0.name == region }) else {
            throw APIError.unknownRegion(code, field: field, region, known: regions.map(\.name))
        }
    }

    /// Makes sure a set's bucket can be delivered to: creates it when asked (`IsCreateNewBucket`),
    /// else checks it when it is new to the set.
    static func prepareBucket(_ storage: TrackStorage, replacing old: TrackStorage?, create: Bool, call: ActionCall) async throws {
        if create {
            switch await call.environment.regions.createBucket(region: storage.region, bucket: storage.bucket) {
            case .created: return
            case .alreadyExists: throw APIError.bucketExists(storage.bucket)
            case .failed(let why): throw APIError.bucketCheckFailed(storage.bucket, region: storage.region, why)
            }
        }
        if let old, old.region == storage.region, old.bucket == storage.bucket { return }
        try await checkBucket(storage, call: call)
    }

    /// The bucket must exist (or is created where the region makes buckets on demand).
    static func checkBucket(_ storage: TrackStorage, call: ActionCall) async throws {
        let catalog = call.environment.regions
        switch await catalog.checkBucket(region: storage.region, bucket: storage.bucket) {
        case .exists: return
        case .failed(let why): throw APIError.bucketCheckFailed(storage.bucket, region: storage.region, why)
        case .missing:
            guard catalog.region(named: storage.region)?.createsBucketsOnDemand == true else {
                throw APIError.bucketMissing(storage.bucket, region: storage.region)
            }
            if case .failed(let why) = await catalog.createBucket(region: storage.region, bucket: storage.bucket) {
                throw APIError.bucketCheckFailed(storage.bucket, region: storage.region, why)
            }
        }
    }

    static func status(_ p: RequestParameters, required: Bool) throws -> Bool? {
        let on = try p.flag("Status", meaning: "1 to deliver or 0 to pause")
        if on == nil, required { throw APIError.missing("Status") }
        return on
    }

    static func trackForAllMembers(_ p: RequestParameters, call: ActionCall) async throws -> Bool? {
        let on = try p.flag("TrackForAllMembers", meaning: "1 or 0")
        if on == true, try await call.environment.storage.accounts.members(of: call.caller.accountId).isEmpty { throw APIError.notManagementAccount }
        return on
    }

    static func create(_ call: ActionCall, filters: [TrackFilter], multiProduct: Bool) async throws -> Int64 {
        let p = call.params
        guard let name = try p.string("Name") else { throw APIError.missing("Name") }
        try rule { try TrackRules.checkName(name) }
        let enabled = try status(p, required: true)!
        let storage = try storage(p, call: call)
        let allMembers = try await trackForAllMembers(p, call: call) ?? false
        var track = Track(accountId: call.caller.accountId, name: name, enabled: enabled, storage: storage, filters: filters,
                          multiProduct: multiProduct, trackForAllMembers: allMembers)
        try await KmsParameters.apply(p, to: &track, storageField: "Storage.StorageRegion", call: call)
        return try await insert(track, call: call).id
    }

    /// Checks the quota and name before the bucket (cheap refusals first, since the bucket check goes
    /// to the object store), then stores the set.
    static func insert(_ track: Track, call: ActionCall, createBucket: Bool = false) async throws -> Track {
        let env = call.environment
        let existing = try await env.storage.tracks.tracks(accountId: track.accountId)
        if existing.contains(where: { $0.name == track.name }) { throw APIError.trackNameExists(track.name) }
        if existing.count >= env.trackQuota { throw APIError.trackQuota(env.trackQuota) }
        try await prepareBucket(track.storage, replacing: nil, create: createBucket, call: call)
        do {
            return try await env.storage.tracks.createTrack(track, quota: env.trackQuota)
        } catch let e as StoreError where e.code == .trackQuota {
            throw APIError.trackQuota(env.trackQuota)
        } catch let e as StoreError where e.code == .trackNameExists {
            throw APIError.trackNameExists(track.name)
        }
    }

    /// The caller's set named by `TrackId` (another account's is "not found").
    static func ownTrack(_ call: ActionCall) async throws -> Track {
        guard let id = try call.params.integer("TrackId") else { throw APIError.missing("TrackId") }
        guard id > 0, let t = try await call.environment.storage.tracks.track(id: id), t.accountId == call.caller.accountId else {
            throw APIError.trackNotFound(id)
        }
        return t
    }

    /// The fields both Modify actions share: Name (unchanged only), Status, Storage, TrackForAllMembers,
    /// and the KMS fields (`KmsParameters`).
    static func modify(_ call: ActionCall, _ t: inout Track) async throws {
        let p = call.params
        if let name = try p.string("Name"), name != t.name { throw APIError.renameRefused }
        if let enabled = try status(p, required: false) { t.enabled = enabled }
        if p["Storage"] != nil {
            let s = try storage(p, call: call)
            try await prepareBucket(s, replacing: t.storage, create: false, call: call)
            t.storage = s
        }
        if let all = try await trackForAllMembers(p, call: call) { t.trackForAllMembers = all }
        try await KmsParameters.apply(p, to: &t, storageField: "Storage.StorageRegion", call: call)
        guard try await call.environment.storage.tracks.updateTrack(t) else { throw APIError.trackNotFound(t.id) }
    }
}

/// How a tracking set reads back.
enum TrackView {
    static func storage(_ s: TrackStorage) -> JSONValue {
        .obj([("StorageType", .string(s.type)), ("StorageRegion", .string(s.region)), ("StorageName", .string(s.name)),
              ("StoragePrefix", .string(s.prefix)), ("StorageAccountId", .string(s.accountId)), ("StorageAppId", .string(s.appId)),
              ("Compress", .int(s.compress ? 1 : 2))])
    }

    static func filter(_ f: TrackFilter) -> JSONValue {
        .obj([("ResourceType", .string(f.resourceType)), ("ActionType", .string(f.actionType)), ("EventNames", .array(f.eventNames.map { .string($0) }))])
    }

    static func fields(_ t: Track, withId: Bool) -> [(String, JSONValue)] {
        let first = t.filters.first ?? TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])
        var out: [(String, JSONValue)] = [
            ("Name", .string(t.name)), ("ActionType", .string(first.actionType)), ("ResourceType", .string(first.resourceType)),
            ("Status", .int(t.enabled ? 1 : 0)), ("EventNames", .array(first.eventNames.map { .string($0) })), ("Storage", storage(t.storage)),
            ("CreateTime", .string(UTCTime(t.createdAt).dateTime)),
        ]
        if withId {
            out.append(("TrackId", .int(t.id)))
        } else {
            out.append(("TrackForAllMembers", .int(t.trackForAllMembers ? 1 : 0)))
            out.append(("Filters", .obj([("ResourceFields", .array(t.filters.map(filter)))])))
        }
        return out + KmsParameters.view(t)
    }
}
