import AuditModel

/// `ListCosEnableRegion`, `ListCmqEnableRegion`, `ListKeyAliasByRegion`: what the operator configured
/// (regions, their channels, and the caller's managed keys).
enum RegionActions {
    static let definitions: [ActionDefinition] = [
        ActionDefinition(name: "ListCosEnableRegion", kind: .read) { call in
            let zh = try websiteIsChinese(call.params)
            let regions = call.environment.regions.regions
            return [("EnableRegions", .array(regions.map { r in
                .obj([("CosRegion", .string(r.name)), ("CosRegionName", .string(zh ? r.nameZh : r.nameEn))])
            }))]
        },
        ActionDefinition(name: "ListCmqEnableRegion", kind: .read) { call in
            let zh = try websiteIsChinese(call.params)
            let regions = call.environment.regions.regions.filter { !$0.channels.isEmpty }
            return [("EnableRegions", .array(regions.map { r in
                .obj([("CmqRegion", .string(r.name)), ("CmqRegionName", .string(zh ? r.nameZh : r.nameEn))])
            }))]
        },
        ActionDefinition(name: "ListKeyAliasByRegion", kind: .read) { call in
            let p = call.params
            guard let region = try p.string("KmsRegion") else { throw APIError.missing("KmsRegion") }
            try TrackParameters.checkRegion(region, field: "KmsRegion", code: "InvalidParameterValue.KmsRegionError", call: call)
            let limit = try p.integer("Limit") ?? 10
            guard (1...200).contains(limit) else { throw APIError.invalidValue("Limit", "use 1 to 200") }
            let offset = try p.integer("Offset") ?? 0
            guard offset >= 0 else { throw APIError.invalidValue("Offset", "it cannot be negative") }
            let keys = try await KmsParameters.listedKeys(region: region, call: call)
            let page = keys.dropFirst(Int(min(offset, Int64(keys.count)))).prefix(Int(limit))
            return [("TotalCount", .int(Int64(keys.count))),
                    ("KeyMetadatas", .array(page.map { .obj([("KeyId", .string($0.keyId)), ("Alias", .string($0.alias))]) }))]
        },
    ]

    static func websiteIsChinese(_ p: RequestParameters) throws -> Bool {
        let site = try p.string("WebsiteType") ?? "zh"
        guard site == "zh" || site == "en" else { throw APIError.invalidValue("WebsiteType", "use zh or en") }
        return site == "zh"
    }
}
