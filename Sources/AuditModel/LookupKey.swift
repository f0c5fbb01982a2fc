/// The lookup attributes that queries filter on.
///
/// The raw values are stored on disk (posting lists and counts are keyed by them): never renumber a
/// case, only add new ones.
public enum LookupKey: Int, Sendable, CaseIterable, Hashable {
    /// Every event of the account: the posting list that serves unfiltered queries.
    case all = 0
    case eventName = 1
    case actionType = 2
    case principalId = 3
    case username = 4
    case resourceType = 5
    case resourceId = 6
    case resourceName = 7
    case accessKeyId = 8
    case sensitiveAction = 9
    case apiErrorCode = 10
    case camErrorCode = 11
    case sourceIPAddress = 12
    case tags = 13
    case eventSource = 14
    case eventId = 15
    case requestId = 16

    /// Whether one event can carry several values of this key (several tags, resource names...).
    public var isMultiValued: Bool { self == .tags || self == .resourceId || self == .resourceName }

    /// Where a key with exactly one value per event finds it in the record (nil for the others).
    public var recordPath: [String]? {
        switch self {
        case .eventName: return ["eventName"]
        case .eventSource: return ["eventSource"]
        case .sourceIPAddress: return ["sourceIPAddress"]
        case .resourceType: return ["resourceType"]
        case .username: return ["userIdentity", "userName"]
        case .principalId: return ["userIdentity", "principalId"]
        case .accessKeyId: return ["userIdentity", "secretId"]
        default: return nil
        }
    }

    /// The key's value in a parsed record, for keys with a `recordPath`.
    public func value(in record: JSONValue) -> String? {
        guard let path = recordPath else { return nil }
        var v: JSONValue? = record
        for name in path { v = v?[name] }
        return v.flatMap(EventRecordValidator.scalarString).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether per-hour counts are kept for this key. Keys whose values are nearly unique per event
    /// (request ids, event ids, resources) are counted from their posting lists instead.
    public var keepsHourlyCounts: Bool {
        switch self {
        case .requestId, .eventId, .resourceId, .resourceName: return false
        default: return true
        }
    }
}

/// A key name accepted in `LookupAttributes`, with its labels for `GetAttributeKey`.
public struct LookupAttributeName: Sendable {
    public var name: String
    public var key: LookupKey
    public var labelZh: String
    public var labelEn: String
    public var labelType: String
    public var starter: String

    /// The union of the key sets the official clients send, in `GetAttributeKey` order.
    public static let all: [LookupAttributeName] = [
        .init(name: "RequestId", key: .requestId, labelZh: "请求ID", labelEn: "Request ID", labelType: "text", starter: ""),
        .init(name: "EventName", key: .eventName, labelZh: "事件名称", labelEn: "Event name", labelType: "text", starter: ""),
        .init(name: "ActionType", key: .actionType, labelZh: "读写类型", labelEn: "Read/Write", labelType: "select", starter: "Read,Write"),
        .init(name: "ReadOnly", key: .actionType, labelZh: "只读", labelEn: "Read only", labelType: "select", starter: "true,false"),
        .init(name: "PrincipalId", key: .principalId, labelZh: "子账号", labelEn: "Principal ID", labelType: "text", starter: ""),
        .init(name: "Username", key: .username, labelZh: "用户名", labelEn: "Username", labelType: "text", starter: ""),
        .init(name: "ResourceType", key: .resourceType, labelZh: "资源类型", labelEn: "Resource type", labelType: "text", starter: ""),
        .init(name: "ResourceId", key: .resourceId, labelZh: "资源ID", labelEn: "Resource ID", labelType: "text", starter: ""),
        .init(name: "ResourceName", key: .resourceName, labelZh: "资源名称", labelEn: "Resource name", labelType: "text", starter: ""),
        .init(name: "AccessKeyId", key: .accessKeyId, labelZh: "密钥ID", labelEn: "Access key ID", labelType: "text", starter: ""),
        .init(name: "SensitiveAction", key: .sensitiveAction, labelZh: "是否敏感操作", labelEn: "Sensitive action", labelType: "select", starter: "true,false"),
        .init(name: "ApiErrorCode", key: .apiErrorCode, labelZh: "API错误码", labelEn: "API error code", labelType: "text", starter: ""),
        .init(name: "CamErrorCode", key: .camErrorCode, labelZh: "CAM错误码", labelEn: "CAM error code", labelType: "text", starter: ""),
        .init(name: "SourceIPAddress", key: .sourceIPAddress, labelZh: "源IP地址", labelEn: "Source IP address", labelType: "text", starter: ""),
        .init(name: "Tags", key: .tags, labelZh: "标签", labelEn: "Tags", labelType: "text", starter: #"[{"key":"","value":""}]"#),
        .init(name: "EventSource", key: .eventSource, labelZh: "事件来源", labelEn: "Event source", labelType: "text", starter: ""),
        .init(name: "EventId", key: .eventId, labelZh: "事件ID", labelEn: "Event ID", labelType: "text", starter: ""),
    ]

    public static func named(_ name: String) -> LookupAttributeName? { all.first { $0.name == name } }

    /// The key a person probably meant by `name` when it is not one (`UserName`, `event_name`,
    /// `sourceipaddress`): the one key equal to it ignoring case, `_`, `-` and spaces; nil for none.
    public static func suggestion(for name: String) -> String? {
        guard name.utf8.count <= 64 else { return nil }
        func folded(_ s: String) -> String { String(s.filter { $0 != "_" && $0 != "-" && $0 != " " }).lowercased() }
        let wanted = folded(name)
        return all.first { folded($0.name) == wanted }?.name
    }
}

/// One condition of a query: the event must carry one of `values` under `key`.
/// Conditions are ANDed; the values of one condition are ORed.
public struct LookupCondition: Sendable, Hashable {
    public var key: LookupKey
    public var values: [String]

    public init(key: LookupKey, values: [String]) {
        self.key = key
        self.values = values
    }
}

/// Tag posting values: `key\u{0}value`, plus `key\u{0}*` so that a query for any value of a key
/// (value `*`) is one posting list too.
public enum TagPosting {
    public static func values(key: String, value: String) -> [String] {
        ["\(key)\u{0}\(value)", "\(key)\u{0}*"]
    }

    public static func queryValue(key: String, value: String) -> String { "\(key)\u{0}\(value)" }
}
