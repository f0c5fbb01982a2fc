import AuditAuth
import AuditModel
import AuditStore
import Foundation

/// Notification channels, alert rules and fired alerts (issue 15; docs/contract.md, "Alerts"):
/// `CreateAlertChannel`, `DescribeAlertChannels`, `ModifyAlertChannel`, `DeleteAlertChannel`,
/// `TestAlertChannel`, `CreateAlertRule`, `DescribeAlertRules`, `ModifyAlertRule`, `DeleteAlertRule`,
/// `DescribeAlerts`.
enum AlertActions {
    static let channelLimit = 20
    static let ruleLimit = 50

    static let definitions: [ActionDefinition] = [
        ActionDefinition(name: "CreateAlertChannel", kind: .write) { call in
            let p = call.params
            let env = call.environment
            let name = try AlertParameters.name(p, required: true)!
            guard let typeName = try p.string("Type") else { throw APIError.missing("Type") }
            guard let type = AlertChannelType(rawValue: typeName) else {
                throw APIError.invalidValue("Type", "use webhook, email or syslog (got \"\(APIError.clip(typeName))\")")
            }
            guard let config = try p.object("Config") else { throw APIError.missing("Config") }
            let id = AlertParameters.newId()
            let now = env.clock()
            let stored = try AlertParameters.channelConfig(config, type: type, accountId: call.caller.accountId, channelId: id, previous: nil, env: env)
            try await AlertParameters.storeErrors {
                try await env.storage.alerts.createAlertChannel(
                    StoredAlertChannel(accountId: call.caller.accountId, id: id, name: name, type: type, config: stored, createdAt: now, updatedAt: now),
                    limit: channelLimit)
            }
            return [("ChannelId", .int(id))]
        },
        ActionDefinition(name: "DescribeAlertChannels", kind: .read) { call in
            let all = try await call.environment.storage.alerts.alertChannels(accountId: call.caller.accountId)
            return [("Channels", .array(all.map(AlertParameters.channelView))), ("TotalCount", .int(Int64(all.count)))]
        },
        ActionDefinition(name: "ModifyAlertChannel", kind: .write) { call in
            let p = call.params
            let env = call.environment
            var channel = try await AlertParameters.ownChannel(call)
            if let name = try AlertParameters.name(p, required: false) { channel.name = name }
            if let config = try p.object("Config") {
                channel.config = try AlertParameters.channelConfig(config, type: channel.type, accountId: channel.accountId, channelId: channel.id,
                                                                   previous: channel.config, env: env)
            }
            channel.updatedAt = env.clock()
            _ = try await AlertParameters.storeErrors { try await env.storage.alerts.updateAlertChannel(channel) }
            return []
        },
        ActionDefinition(name: "DeleteAlertChannel", kind: .write) { call in
            let channel = try await AlertParameters.ownChannel(call)
            _ = try await call.environment.storage.alerts.deleteAlertChannel(accountId: channel.accountId, id: channel.id)
            return []
        },
        ActionDefinition(name: "TestAlertChannel", kind: .write) { call in
            let env = call.environment
            let channel = try await AlertParameters.ownChannel(call)
            guard let notifier = env.alertNotifier else { throw APIError.alertsNotRunning }
            let now = env.clock()
            let test = FiredAlert(accountId: channel.accountId, id: "test-\(UUID().uuidString.lowercased())", ruleId: 0, ruleName: "CloudAudit test alert",
                                  severity: .info, firedAt: now, eventIds: [], group: nil, count: 0, alertEventId: "", createdAt: now)
            do {
                // Bounded well inside the request's deadline: a receiver that does not answer is an answer too.
                let answer = try await notifier.send(test, channel: channel, timeout: AlertParameters.testTimeout)
                return [("Delivered", .bool(true)), ("Answer", .string(TextClip.utf8(answer, 1024))), ("AlertId", .string(test.id))]
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return [("Delivered", .bool(false)), ("Answer", .string(TextClip.utf8("\(error)", 1024))), ("AlertId", .string(test.id))]
            }
        },
        ActionDefinition(name: "CreateAlertRule", kind: .write) { call in
            let env = call.environment
            var templated = call
            templated.params = try AlertTemplates.applied(call.params, accountId: call.caller.accountId)
            var spec = try await AlertParameters.ruleSpec(templated, base: nil)
            spec.template = try call.params.string("Template")
            let id = AlertParameters.newId()
            let now = env.clock()
            // A new rule watches the events appended from now on.
            let cursor = try await env.storage.events.lastSequence(accountId: call.caller.accountId)
            try await AlertParameters.storeErrors {
                try await env.storage.alerts.createAlertRule(
                    StoredAlertRule(accountId: call.caller.accountId, id: id, spec: spec, createdAt: now, updatedAt: now, cursor: cursor), limit: ruleLimit)
            }
            return [("RuleId", .int(id))]
        },
        AlertTemplates.describe,
        ActionDefinition(name: "DescribeAlertRules", kind: .read) { call in
            let all = try await call.environment.storage.alerts.alertRules(accountId: call.caller.accountId)
            return [("Rules", .array(all.map(AlertParameters.ruleView))), ("TotalCount", .int(Int64(all.count)))]
        },
        ActionDefinition(name: "ModifyAlertRule", kind: .write) { call in
            let env = call.environment
            let rule = try await AlertParameters.ownRule(call)
            let spec = try await AlertParameters.ruleSpec(call, base: rule.spec)
            let version = max(env.clock(), rule.updatedAt + 1)
            let changed = try await AlertParameters.storeErrors {
                try await env.storage.alerts.updateAlertRule(accountId: rule.accountId, id: rule.id, spec: spec, updatedAt: version)
            }
            guard changed else { throw APIError.alertRuleNotFound(rule.id) }
            if spec.enabled, !rule.spec.enabled {
                // A rule enabled again watches from now on: what happened while it was off fires nothing.
                let now = try await env.storage.events.lastSequence(accountId: rule.accountId)
                try await env.storage.alerts.commitAlertEvaluation(accountId: rule.accountId,
                                                                   progress: [RuleProgress(ruleId: rule.id, version: version, cursor: now, state: [])],
                                                                   alerts: [], deliveries: [])
            }
            return []
        },
        ActionDefinition(name: "DeleteAlertRule", kind: .write) { call in
            let rule = try await AlertParameters.ownRule(call)
            _ = try await call.environment.storage.alerts.deleteAlertRule(accountId: rule.accountId, id: rule.id)
            return []
        },
        ActionDefinition(name: "DescribeAlerts", kind: .read) { call in
            let p = call.params
            let start = try p.time("StartTime")
            let end = try p.time("EndTime")
            if start > end { throw APIError.timeOrder(start: start, end: end) }
            let ruleId = try p.integer("RuleId")
            var severity: AlertSeverity?
            if let s = try p.string("Severity") {
                guard let v = AlertSeverity(rawValue: s) else { throw APIError.invalidValue("Severity", "use info, warning or critical") }
                severity = v
            }
            let offset = try p.integer("Offset") ?? 0
            let limit = try p.integer("Limit") ?? 20
            guard (0...1_000_000).contains(offset) else { throw APIError.invalidValue("Offset", "use 0 to 1000000") }
            guard (1...100).contains(limit) else { throw APIError.invalidValue("Limit", "use 1 to 100") }
            let page = try await call.environment.storage.alerts.alerts(accountId: call.caller.accountId, from: start, to: end, ruleId: ruleId,
                                                                        severity: severity, offset: Int(offset), limit: Int(limit))
            return [("Alerts", .array(page.alerts.map(AlertParameters.alertView))), ("TotalCount", .int(Int64(page.total)))]
        },
    ]
}

/// Checking and showing the alert actions' parameters.
enum AlertParameters {
    /// How long `TestAlertChannel` waits for the receiver.
    static let testTimeout: Duration = .seconds(5)
    /// A positive id that JavaScript's numbers hold exactly (below 2^53).
    static func newId() -> Int64 { Int64.random(in: 1..<(1 << 53)) }

    static func name(_ p: RequestParameters, required: Bool) throws -> String? {
        guard let name = try p.string("Name") else {
            if required { throw APIError.missing("Name") }
            return nil
        }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 60, !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.invalidValue("Name", "use 1 to 60 printable characters")
        }
        return trimmed
    }

    /// Store errors said as the API's codes.
    static func storeErrors<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let e as StoreError where e.code == .alertNameExists || e.code == .alertQuota {
            throw APIError(e.code == .alertQuota ? "LimitExceeded" : "InvalidParameterValue.NameExists", e.message.prefix(1).uppercased() + e.message.dropFirst() + ".")
        }
    }

    static func ownChannel(_ call: ActionCall) async throws -> StoredAlertChannel {
        guard let id = try call.params.integer("ChannelId") else { throw APIError.missing("ChannelId") }
        guard let c = try await call.environment.storage.alerts.alertChannels(accountId: call.caller.accountId).first(where: { $0.id == id }) else {
            throw APIError.alertChannelNotFound(id)
        }
        return c
    }

    static func ownRule(_ call: ActionCall) async throws -> StoredAlertRule {
        guard let id = try call.params.integer("RuleId") else { throw APIError.missing("RuleId") }
        guard let r = try await call.environment.storage.alerts.alertRules(accountId: call.caller.accountId).first(where: { $0.id == id }) else {
            throw APIError.alertRuleNotFound(id)
        }
        return r
    }

    // MARK: Channels

    /// The channel's configuration as stored: checked, its secret sealed (a modification without one keeps
    /// the previous).
    static func channelConfig(_ c: RequestParameters, type: AlertChannelType, accountId: Int64, channelId: Int64, previous: [UInt8]?,
                              env: APIEnvironment) throws -> [UInt8] {
        var fields: [(String, JSONValue)] = []
        switch type {
        case .webhook:
            guard let url = try c.string("Url") else { throw APIError.missing("Config.Url") }
            guard url.utf8.count <= 2048, let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  parsed.host?.isEmpty == false, parsed.user == nil, parsed.password == nil else {
                throw APIError.invalidValue("Config.Url", "give the receiver's http:// or https:// URL (at most 2048 characters, no user or password in it)")
            }
            fields.append(("Url", .string(url)))
            if let secret = try c.string("Secret") {
                guard (16...256).contains(secret.utf8.count) else {
                    throw APIError.invalidValue("Config.Secret", "use 16 to 256 characters: the receiver checks X-CloudAudit-Signature with it")
                }
                guard let sealer = env.sealer else { throw APIError.alertsNotRunning }
                let sealed = try sealer.seal(secret, secretId: ChannelSecrets.associatedData(accountId: accountId, channelId: channelId))
                fields.append(("SealedSecret", .string(sealed.hexString)))
            } else if let previous, let old = try? JSONParser.parse(previous), let sealed = old["SealedSecret"] {
                fields.append(("SealedSecret", sealed))
            } else {
                throw APIError.missing("Config.Secret")
            }
        case .email:
            guard let to = try c.stringList("To") else { throw APIError.missing("Config.To") }
            guard (1...20).contains(to.count) else { throw APIError.invalidValue("Config.To", "give 1 to 20 addresses") }
            for (i, a) in to.enumerated() where !ChannelSecrets.plausibleAddress(a) {
                throw APIError.invalidValue("Config.To.\(i)", "\"\(APIError.clip(a))\" is not an email address like ops@example.com")
            }
            fields.append(("To", .array(to.map { .string($0) })))
        case .syslog:
            guard let address = try c.string("Address") else { throw APIError.missing("Config.Address") }
            let proto = try c.string("Protocol") ?? "tcp"
            guard proto == "tcp" || proto == "tls" else { throw APIError.invalidValue("Config.Protocol", "use tcp or tls") }
            guard address.utf8.count <= 300, ChannelSecrets.plausibleHostPort(address) else {
                throw APIError.invalidValue("Config.Address", "give the receiver as host:port (an IPv6 address in brackets)")
            }
            fields.append(("Address", .string(address)))
            fields.append(("Protocol", .string(proto)))
        }
        return JSONWriter.encode(.obj(fields))
    }

    static func channelView(_ c: StoredAlertChannel) -> JSONValue {
        var config: [(String, JSONValue)] = []
        if case .object(let o)? = try? JSONParser.parse(c.config) {
            for (k, v) in o.fields where k != "SealedSecret" { config.append((k, v)) }
            if o["SealedSecret"] != nil { config.append(("Secret", .string("******"))) }
        }
        return .obj([("ChannelId", .int(c.id)), ("Name", .string(c.name)), ("Type", .string(c.type.rawValue)), ("Config", .obj(config)),
                     ("CreatedAt", .int(c.createdAt)), ("UpdatedAt", .int(c.updatedAt))])
    }

    // MARK: Rules

    /// A rule's spec from the call: every field for a creation; for a modification, the given fields over `base`.
    static func ruleSpec(_ call: ActionCall, base: AlertRuleSpec?) async throws -> AlertRuleSpec {
        let p = call.params
        let name = try self.name(p, required: base == nil) ?? base?.name ?? ""
        var severity = base?.severity ?? .warning
        if let s = try p.string("Severity") {
            guard let v = AlertSeverity(rawValue: s) else { throw APIError.invalidValue("Severity", "use info, warning or critical") }
            severity = v
        } else if base == nil {
            throw APIError.missing("Severity")
        }
        var conditions = base?.conditions ?? []
        if p["Conditions"] != nil {
            // Checked as LookupAttributes are (keys, values, lengths, at most 50), with errors naming Conditions.N.
            _ = try QueryParameters.parseAttributes(p, name: "Conditions")
            guard let items = try p.array("Conditions") else { throw APIError.missing("Conditions") }
            // Each condition as given (for Describe), with what it means.
            conditions = try items.enumerated().map { i, item in
                guard case .object(let o) = item, case .string(let key)? = o["AttributeKey"], let a = LookupAttributeName.named(key) else {
                    throw APIError.attributeKey("?")
                }
                let raw: String = switch o["AttributeValue"] {
                case .string(let s)?: s
                case .int(let n)?: String(n)
                case .bool(let b)?: b ? "true" : "false"
                default: ""
                }
                let values = try QueryParameters.postingValues(a, raw, index: i, name: "Conditions")
                return AlertCondition(attributeKey: key, attributeValue: raw, key: a.key, values: values)
            }
        }
        let errorOnly = try p.flag("ErrorOnly", meaning: "1 to match only events that failed, or 0") ?? base?.errorOnly ?? false
        var threshold = base?.threshold
        if let t = try p.object("Threshold") {
            guard let count = try t.integer("Count") else { throw APIError.missing("Threshold.Count") }
            guard let window = try t.integer("WindowSeconds") else { throw APIError.missing("Threshold.WindowSeconds") }
            guard AlertThreshold.counts.contains(Int(clamping: count)) else {
                throw APIError.invalidValue("Threshold.Count", "use \(AlertThreshold.counts.lowerBound) to \(AlertThreshold.counts.upperBound)")
            }
            guard AlertThreshold.windows.contains(window) else {
                throw APIError.invalidValue("Threshold.WindowSeconds", "use 1 to \(AlertThreshold.windows.upperBound) seconds (a week)")
            }
            let groupBy = try t.string("GroupBy")
            if let groupBy, groupBy != "", LookupAttributeName.named(groupBy)?.key.recordPath == nil {
                throw APIError.invalidValue("Threshold.GroupBy", "use a key with one value per event: EventName, Username, PrincipalId, AccessKeyId, SourceIPAddress, ResourceType or EventSource")
            }
            threshold = AlertThreshold(count: Int(count), windowSeconds: window, groupBy: groupBy == "" ? nil : groupBy)
        }
        var channelIds = base?.channelIds ?? []
        if let ids = try p.array("ChannelIds") {
            guard ids.count <= 10 else { throw APIError.invalidValue("ChannelIds", "give at most 10 channels") }
            let own = Set(try await call.environment.storage.alerts.alertChannels(accountId: call.caller.accountId).map(\.id))
            channelIds = try ids.enumerated().map { i, v in
                guard case .int(let id) = v else { throw APIError.wrongType("ChannelIds.\(i)", expected: "a ChannelId", got: v.typeName) }
                guard own.contains(id) else { throw APIError.alertChannelNotFound(id) }
                return id
            }
        }
        var enabled = base?.enabled ?? true
        if let status = try p.string("Status") {
            switch status {
            case "enabled", "1": enabled = true
            case "disabled", "0": enabled = false
            default: throw APIError.invalidValue("Status", "use enabled or disabled")
            }
        }
        if conditions.isEmpty, !errorOnly {
            throw APIError.invalidValue("Conditions", "give at least one condition (or ErrorOnly=1): a rule on every event of the account would alert on each")
        }
        return AlertRuleSpec(name: name, severity: severity, conditions: conditions, errorOnly: errorOnly, threshold: threshold, channelIds: channelIds,
                             enabled: enabled, template: base?.template)
    }

    static func ruleView(_ r: StoredAlertRule) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("RuleId", .int(r.id)), ("Name", .string(r.spec.name)), ("Severity", .string(r.spec.severity.rawValue)),
            ("Conditions", .array(r.spec.conditions.map { .obj([("AttributeKey", .string($0.attributeKey)), ("AttributeValue", .string($0.attributeValue))]) })),
            ("ErrorOnly", .bool(r.spec.errorOnly)),
        ]
        if let t = r.spec.threshold {
            fields.append(("Threshold", .obj([("Count", .int(Int64(t.count))), ("WindowSeconds", .int(t.windowSeconds)),
                                              ("GroupBy", t.groupBy.map { .string($0) } ?? .null)])))
        }
        fields += [("ChannelIds", .array(r.spec.channelIds.map { .int($0) })), ("Status", .string(r.spec.enabled ? "enabled" : "disabled")),
                   ("CreatedAt", .int(r.createdAt)), ("UpdatedAt", .int(r.updatedAt))]
        if let template = r.spec.template { fields.append(("Template", .string(template))) }
        return .obj(fields)
    }

    static func alertView(_ a: FiredAlert) -> JSONValue {
        .obj([("AlertId", .string(a.id)), ("RuleId", .int(a.ruleId)), ("RuleName", .string(a.ruleName)), ("Severity", .string(a.severity.rawValue)),
              ("FiredAt", .int(a.firedAt)), ("Group", a.group.map { .string($0) } ?? .null), ("Count", .int(Int64(a.count))),
              ("EventIds", .array(a.eventIds.map { .string($0) })), ("AlertEventId", .string(a.alertEventId)), ("CreatedAt", .int(a.createdAt))])
    }
}

/// What the API and the channel senders agree on about a channel's stored configuration.
public enum ChannelSecrets {
    /// The associated data a webhook channel's secret is sealed with (so a sealed secret cannot be moved
    /// to another channel).
    public static func associatedData(accountId: Int64, channelId: Int64) -> String { "alert-channel:\(accountId):\(channelId)" }

    static func plausibleAddress(_ a: String) -> Bool {
        let parts = a.split(separator: "@", omittingEmptySubsequences: false)
        return a.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && a.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F && !"<>()[],;:\\\"".unicodeScalars.contains($0) }
    }

    static func plausibleHostPort(_ s: String) -> Bool {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else { return false }
        let host = s[..<colon]
        return !host.isEmpty && host.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F && $0 != "/" && $0 != "@" }
    }
}

/// The built-in rules an admin enables in one call (`DescribeAlertRuleTemplates`; `CreateAlertRule` with
/// `Template`): the fields the call leaves out come from the template.
enum AlertTemplates {
    struct Template {
        var id: String
        var name: String
        var description: String
        var severity: AlertSeverity
        /// (AttributeKey, AttributeValue) pairs; `{account}` is the caller's account id.
        var conditions: [(String, String)]
        var errorOnly: Bool
        var threshold: AlertThreshold?
    }

    static let all: [Template] = [
        Template(id: "sign-in-failures", name: "Repeated sign-in failures",
                 description: "5 failed ConsoleLogin of one user within 5 minutes (password guessing, a locked-out user).",
                 severity: .warning, conditions: [("EventName", "ConsoleLogin")], errorOnly: true,
                 threshold: AlertThreshold(count: 5, windowSeconds: 300, groupBy: "Username")),
        Template(id: "root-used", name: "Root identity used",
                 description: "Any operation by the account's root identity (principalId = the account id), which day-to-day work should not need.",
                 severity: .critical, conditions: [("PrincipalId", "{account}")], errorOnly: false, threshold: nil),
        Template(id: "sensitive-actions", name: "Sensitive operations",
                 description: "Every operation recorded as sensitive (by its producer, or by the server's catalogue of sensitive operations).",
                 severity: .warning, conditions: [("SensitiveAction", "1")], errorOnly: false, threshold: nil),
        Template(id: "access-denied-burst", name: "Access-denied burst",
                 description: "20 calls refused for lack of permission from one source IP within a minute (probing, a misconfigured client).",
                 severity: .warning,
                 conditions: [("ApiErrorCode", "UnauthorizedOperation"), ("ApiErrorCode", "AuthFailure.UnauthorizedOperation"),
                              ("ApiErrorCode", "AccessDenied"), ("ApiErrorCode", "AuthFailure.SecretIdNotFound"),
                              ("ApiErrorCode", "AuthFailure.SignatureFailure")],
                 errorOnly: true, threshold: AlertThreshold(count: 20, windowSeconds: 60, groupBy: "SourceIPAddress")),
        Template(id: "trail-stopped", name: "Tracking set stopped or deleted",
                 description: "A tracking set or audit deleted, or its logging stopped, through CloudAudit's API or console.",
                 severity: .critical,
                 conditions: [("EventSource", "cloudaudit.api"), ("EventName", "DeleteAuditTrack"), ("EventName", "StopLogging"),
                              ("EventName", "DeleteAudit")],
                 errorOnly: false, threshold: nil),
    ]

    static func named(_ id: String) -> Template? { all.first { $0.id == id } }

    static func view(_ t: Template, accountId: Int64) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("Template", .string(t.id)), ("Name", .string(t.name)), ("Description", .string(t.description)), ("Severity", .string(t.severity.rawValue)),
            ("Conditions", .array(t.conditions.map { .obj([("AttributeKey", .string($0.0)),
                                                            ("AttributeValue", .string($0.1.replacingOccurrences(of: "{account}", with: String(accountId))))]) })),
            ("ErrorOnly", .bool(t.errorOnly)),
        ]
        if let th = t.threshold {
            fields.append(("Threshold", .obj([("Count", .int(Int64(th.count))), ("WindowSeconds", .int(th.windowSeconds)),
                                               ("GroupBy", th.groupBy.map { .string($0) } ?? .null)])))
        }
        return .obj(fields)
    }

    static let describe = ActionDefinition(name: "DescribeAlertRuleTemplates", kind: .read) { call in
        [("Templates", .array(all.map { view($0, accountId: call.caller.accountId) }))]
    }

    /// The call's parameters with the template's fields under the ones the call gave.
    static func applied(_ p: RequestParameters, accountId: Int64) throws -> RequestParameters {
        guard let id = try p.string("Template") else { return p }
        guard let t = named(id) else { throw APIError.invalidValue("Template", "use one of \(all.map(\.id).joined(separator: ", ")) (DescribeAlertRuleTemplates)") }
        guard case .object(let given) = view(t, accountId: accountId) else { return p }
        var root = p.root
        for (k, v) in given.fields where root[k] == nil && k != "Description" { root.fields.append((k, v)) }
        if case .bool(let b)? = root["ErrorOnly"] { root.fields.append(("ErrorOnly", .int(b ? 1 : 0))) }
        return RequestParameters(root: root, body: [], fromQueryString: p.fromQueryString)
    }
}
