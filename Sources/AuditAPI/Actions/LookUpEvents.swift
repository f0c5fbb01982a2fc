import AuditModel
import AuditStore

/// `LookUpEvents`: the Operation Record query. `NextToken` is an opaque string; `MaxResults`
/// defaults to 10.
enum LookUpEvents {
    static let definition = ActionDefinition(name: "LookUpEvents", kind: .read) { call in
        let token = try call.params.string("NextToken") ?? ""
        let parsed = try await QueryParameters.parse(call, defaultMaxResults: 10, continuing: !token.isEmpty)
        var q = parsed.query
        if !token.isEmpty {
            q.after = try call.environment.cursors.decode(token, for: q)
        }
        let page = try await call.environment.storage.events.lookup(q)
        var fields: [(String, JSONValue)] = [("Events", .array(page.events.map { EventView.json($0, location: nil) })), ("ListOver", .bool(page.listOver))]
        if !page.listOver, let last = page.events.last {
            fields.insert(("NextToken", .string(call.environment.cursors.encode(last.pagePosition, for: q))), at: 0)
        }
        fields.append(("TotalCount", .int(Int64(page.totalCount ?? 0))))
        return fields + parsed.snapshotFields
    }
}

/// `DescribeEvents`: the same query, with an integer `NextToken` and optional IP locations.
enum DescribeEvents {
    static let definition = ActionDefinition(name: "DescribeEvents", kind: .read) { call in
        let token: Int64?
        do { token = try call.params.integer("NextToken") } catch { throw APIError.badNextToken }
        let parsed = try await QueryParameters.parse(call, defaultMaxResults: 10, continuing: (token ?? 0) != 0)
        var q = parsed.query
        let env = call.environment
        let now = env.clock()
        if let token, token != 0 {
            guard token > 0, let payload = try await env.storage.cursors.cursor(token: token, accountId: q.accountId, now: now) else { throw APIError.badNextToken }
            q.after = try env.cursors.decode(String(decoding: payload, as: UTF8.self), for: q)
        }
        let wantsLocation: Bool
        do { wantsLocation = (try call.params.integer("IsReturnLocation") ?? 0) == 1 } catch {
            throw APIError.invalidValue("IsReturnLocation", "use 1 to return IP locations or 0 not to")
        }
        let page = try await env.storage.events.lookup(q)
        var fields: [(String, JSONValue)] = [("ListOver", .bool(page.listOver))]
        if !page.listOver, let last = page.events.last {
            let next = PageCursorCodec.randomIntegerToken()
            try await env.storage.cursors.saveCursor(token: next, accountId: q.accountId, payload: Array(env.cursors.encode(last.pagePosition, for: q).utf8),
                                           expiresAt: now + PageCursorCodec.integerTokenLifetime)
            fields.append(("NextToken", .int(next)))
        }
        // No GeoIP database is configured in this version, so locations are "unknown".
        fields.append(("Events", .array(page.events.map { EventView.json($0, location: wantsLocation ? "unknown" : nil) })))
        fields.append(("TotalCount", .int(Int64(page.totalCount ?? 0))))
        return fields + parsed.snapshotFields
    }
}

/// `GetAttributeKey`: the lookup keys with their labels in Chinese (`zh`, default) or English (`en`).
enum GetAttributeKey {
    static let definition = ActionDefinition(name: "GetAttributeKey", kind: .read) { call in
        let zh = try RegionActions.websiteIsChinese(call.params)
        let details: [JSONValue] = LookupAttributeName.all.enumerated().map { i, a in
            .obj([("LabelType", .string(a.labelType)), ("Starter", .string(a.starter)), ("Order", .int(Int64(i + 1))),
                  ("Value", .string(a.name)), ("Label", .string(zh ? a.labelZh : a.labelEn))])
        }
        return [("AttributeKeyDetails", .array(details))]
    }
}
