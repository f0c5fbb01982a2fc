import AuditModel
import AuditStore

/// The parameters shared by LookUpEvents and DescribeEvents.
public struct QueryParameters {
    public var query: EventQuery

    static let maxResults: Int64 = 50

    /// - Throws: the documented codes: `InvalidParameter.Time`, `InvalidParameterValue.Time`,
    ///   `LimitExceeded.OverTime`, `InvalidParameterValue.MaxResult`, `InvalidParameterValue.attributeKey`.
    /// How far past the retention boundary the StartTime of a continued query (a NextToken given) may
    /// have drifted: the boundary moves every second, and a query accepted at its first page must
    /// keep its later pages (the cursor is bound to the query, so the StartTime cannot change).
    static let continuationGrace: Int64 = 86400

    /// How far after the server's clock an `EndTime` may be. No stored event is more than
    /// `EventRecordValidator.maxFutureSkew` in the future, so a later EndTime finds nothing more; a
    /// day allows for clients that send "end of today", and keeps the work of a query (one index range
    /// per day of the range) bounded by the retention.
    public static let maxEndTimeAhead: Int64 = 86400

    /// Whether the call asked for `NewSnapshot`: the query is then bound to the account's log as it
    /// is now (`throughSequence` set), and the answer says where (`Snapshot`).
    public var pinnedSnapshot = false

    public static func parse(_ call: ActionCall, defaultMaxResults: Int64, continuing: Bool = false) async throws -> QueryParameters {
        let retention = try await call.environment.retentionDays(of: call.caller.accountId)
        var parsed = try parse(call.params, accountId: call.caller.accountId, now: call.environment.clock(), retentionDays: retention,
                               defaultMaxResults: defaultMaxResults, continuing: continuing)
        if parsed.pinnedSnapshot {
            // Every event stored before this read has a sequence up to it; every later one a greater.
            parsed.query.throughSequence = try await call.environment.storage.events.lastSequence(accountId: call.caller.accountId)
        }
        return parsed
    }

    /// The extension fields of a query's answer: `Snapshot` when the call gave `Snapshot` or
    /// `NewSnapshot` (never otherwise, so that the official clients see the official answer).
    public var snapshotFields: [(String, JSONValue)] {
        guard let through = query.throughSequence else { return [] }
        return [("Snapshot", .int(through))]
    }

    /// The query of a call's parameters, checked before any work: both times present and integers,
    /// StartTime not after EndTime, StartTime within the retention, EndTime at most `maxEndTimeAhead`
    /// after `now`, MaxResults 1...50, the lookup attributes known. Total for any input (no arithmetic on
    /// a client's number can overflow).
    public static func parse(_ p: RequestParameters, accountId: Int64, now: Int64, retentionDays: Int, defaultMaxResults: Int64,
                             continuing: Bool = false) throws -> QueryParameters {
        let start = try p.time("StartTime")
        let end = try p.time("EndTime")
        if start > end { throw APIError.timeOrder(start: start, end: end) }
        let retention = min(max(retentionDays, 1), 36500)
        if start < now - Int64(retention) * 86400 - (continuing ? continuationGrace : 0) { throw APIError.overTime(retentionDays: retention) }
        if end > now + maxEndTimeAhead { throw APIError.endTimeAhead(end, now: now, limit: maxEndTimeAhead) }
        let max: Int64
        do { max = try p.integer("MaxResults") ?? defaultMaxResults } catch { throw APIError.maxResult(-1) }
        guard (1...maxResults).contains(max) else { throw APIError.maxResult(max) }
        let conditions = try parseAttributes(p)
        // Extensions (docs/contract.md, "Query extensions"): `ExcludeAttributes` leaves out the events
        // those attributes would find; `Snapshot` / `NewSnapshot` bind the query to one state of the log.
        let excluding = try parseAttributes(p, name: "ExcludeAttributes")
        let snapshot = try p.integer("Snapshot")
        if let snapshot, snapshot < 0 { throw APIError.invalidValue("Snapshot", "give the Snapshot number an earlier answer returned (got \(snapshot))") }
        let pin = try p.flag("NewSnapshot", meaning: "1 to bind the query to the log as it is now, or 0") ?? false
        if pin, snapshot != nil { throw APIError.invalidValue("NewSnapshot", "give either Snapshot (to continue one) or NewSnapshot=1 (to take one), not both") }
        var parsed = QueryParameters(query: EventQuery(accountId: accountId, startTime: start, endTime: end, conditions: conditions,
                                                      excluding: excluding, throughSequence: snapshot, limit: Int(max)))
        parsed.pinnedSnapshot = pin
        return parsed
    }

    /// `LookupAttributes` (or `ExcludeAttributes`, read the same way) as conditions: ANDed across
    /// keys, ORed within one key.
    static func parseAttributes(_ p: RequestParameters, name: String = "LookupAttributes") throws -> [LookupCondition] {
        guard let items = try p.array(name) else { return [] }
        if items.count > 50 { throw APIError.invalidValue(name, "at most 50 conditions are allowed") }
        var byName: [(String, LookupAttributeName, [String])] = []
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else {
                throw APIError.wrongType("\(name).\(i)", expected: "an object with AttributeKey and AttributeValue", got: item.typeName)
            }
            guard let keyValue = o["AttributeKey"], keyValue != .null else { throw APIError.missing("\(name).\(i).AttributeKey") }
            guard case .string(let keyName) = keyValue else {
                throw APIError.wrongType("\(name).\(i).AttributeKey", expected: "a string", got: keyValue.typeName)
            }
            guard let attribute = LookupAttributeName.named(keyName) else { throw APIError.attributeKey(keyName) }
            let raw: String
            switch o["AttributeValue"] {
            case .string(let s)?: raw = s
            case .int(let n)?: raw = String(n)
            case .bool(let b)?: raw = b ? "true" : "false"
            case nil, .null?: throw APIError.missing("\(name).\(i).AttributeValue")
            case let v?: throw APIError.wrongType("\(name).\(i).AttributeValue", expected: "a string", got: v.typeName)
            }
            if raw.utf8.count > 2048, raw.unicodeScalars.count > 2048 { throw APIError.invalidValue("\(name).\(i).AttributeValue", "it is longer than 2048 characters") }
            let values = try postingValues(attribute, raw, index: i, name: name)
            if let j = byName.firstIndex(where: { $0.0 == keyName }) {
                byName[j].2 += values
            } else {
                byName.append((keyName, attribute, values))
            }
        }
        return byName.map { LookupCondition(key: $0.1.key, values: Array(Set($0.2)).sorted()) }
    }

    /// What the value of a key means as posting values.
    static func postingValues(_ a: LookupAttributeName, _ raw: String, index: Int, name: String = "LookupAttributes") throws -> [String] {
        switch a.name {
        case "ReadOnly":
            switch raw {
            case "true": return ["Read"]
            case "false": return ["Write"]
            default: throw APIError.closedSetValue(name, index: index, key: "ReadOnly", raw, accepted: "true or false")
            }
        case "ActionType":
            guard raw == "Read" || raw == "Write" else { throw APIError.closedSetValue(name, index: index, key: "ActionType", raw, accepted: "Read or Write") }
            return [raw]
        case "SensitiveAction":
            // Records carry sensitiveAction as 0/1 (Tencent) or false/true; postings say false/true.
            switch raw {
            case "1", "true": return ["true"]
            case "0", "false": return ["false"]
            default: throw APIError.closedSetValue(name, index: index, key: "SensitiveAction", raw, accepted: "1 or 0 (also true or false)")
            }
        case "Tags":
            guard let parsed = try? JSONParser.parse(Array(raw.utf8)) else {
                throw APIError.invalidValue("\(name).\(index).AttributeValue", #"Tags takes a JSON list like [{"key":"env","value":"prod"}]"#)
            }
            switch EventRecordValidator.parseTags(parsed) {
            case .success(let tags) where !tags.isEmpty:
                return tags.map { TagPosting.queryValue(key: $0.0, value: $0.1.isEmpty ? "*" : $0.1) }
            default:
                throw APIError.invalidValue("\(name).\(index).AttributeValue", #"Tags takes a JSON list like [{"key":"env","value":"prod"}]"#)
            }
        default:
            return [raw]
        }
    }
}

/// The API's `Event` shape for a stored event.
public enum EventView {
    static let resourceTypeNames: [String: String] = [
        "cvm": "云服务器", "cos": "对象存储", "cam": "访问管理", "cdb": "云数据库 MySQL", "vpc": "私有网络", "clb": "负载均衡",
        "tke": "容器服务", "scf": "云函数", "redis": "云数据库 Redis", "cls": "日志服务", "kms": "密钥管理系统", "ssl": "SSL 证书",
        "cdn": "内容分发网络", "cbs": "云硬盘", "cloudaudit": "操作审计", "monitor": "云监控", "tag": "标签", "dnspod": "云解析 DNS",
        "mongodb": "云数据库 MongoDB", "postgres": "云数据库 PostgreSQL", "ckafka": "消息队列 CKafka", "es": "Elasticsearch Service",
    ]

    public static func json(_ e: StoredEvent, location: String?) -> JSONValue {
        let s = EventSummary(record: e.record)
        var fields: [(String, JSONValue)] = [
            ("EventId", .string(e.eventId)),
            ("Username", .string(s.username)),
            ("EventTime", .string(String(e.eventTime))),
            ("CloudAuditEvent", .string(String(decoding: e.record, as: UTF8.self))),
            ("ResourceTypeCn", .string(resourceTypeNames[s.resourceType] ?? s.resourceType)),
            ("ErrorCode", .int(s.errorCode)),
            ("EventName", .string(s.eventName)),
            ("SecretId", .string(s.secretId)),
            ("EventSource", .string(s.eventSource)),
            ("RequestID", .string(s.requestId)),
            ("ResourceRegion", .string(s.resourceRegion)),
            ("AccountID", .int(e.accountId)),
            ("SourceIPAddress", .string(s.sourceIPAddress)),
            ("EventNameCn", .string(s.eventName)),
            ("Resources", .obj([("ResourceType", .string(s.resourceType)), ("ResourceName", .string(s.resourceName))])),
            ("EventRegion", .string(s.eventRegion)),
        ]
        if let location { fields.append(("Location", .string(location))) }
        return .obj(fields)
    }
}
