import AuditModel
import AuditStore
import Foundation

/// `PutEvents` (ours): records a batch of operation events.
///
/// Each record is validated on its own; rejected records are listed in `FailedEvents` and nothing of
/// them is stored. The others are stored in one durable append, so the reply means committed and
/// visible to the next query. `eventId` is the idempotency key.
enum PutEvents {
    static let definition = ActionDefinition(name: "PutEvents", kind: .ingest) { call in
        // Records are kept byte-exact as sent, which needs a JSON body; a query string has none.
        if call.params.fromQueryString { throw APIError.bodyRequired("PutEvents") }
        guard let raw = call.params["Events"] else { throw APIError.missing("Events") }
        guard case .array(let records) = raw else { throw APIError.wrongType("Events", expected: "an array of event records", got: raw.typeName) }
        if records.isEmpty { throw APIError.invalidValue("Events", "send at least one event record") }
        let limit = call.environment.maxEventsPerCall
        if records.count > limit { throw APIError.tooManyEvents(records.count, limit: limit) }

        let env = call.environment
        let now = env.clock()
        let scopes = try await accountScopes(for: records, call: call)
        var accepted: [(index: Int, event: AuditEvent)] = []
        var failed: [(Int, RecordRejection)] = []
        for (i, record) in records.enumerated() {
            let result = EventRecordValidator.validate(record, source: call.params.body, now: now, resolveAccount: { named in
                resolve(named, caller: call.caller, scopes: scopes)
            }, sensitive: env.sensitiveActions)
            switch result {
            case .success(let e): accepted.append((i, e))
            case .failure(let r): failed.append((i, r))
            }
        }
        var ids = Array(repeating: "", count: records.count)
        if !accepted.isEmpty {
            let outcomes = try await env.storage.events.append(accepted.map(\.event))
            env.appendSignal.appended(accountIds: accepted.map(\.event.accountId))
            let stored = outcomes.filter { if case .stored = $0 { return true } else { return false } }.count
            APIMetrics.appended(stored: stored, duplicates: outcomes.count - stored, source: "api")
            for a in accepted { ids[a.index] = a.event.eventId }
        }
        if !failed.isEmpty {
            call.logger.info("records rejected", metadata: ["audit.account": "\(call.caller.accountId)", "audit.rejected": "\(failed.count)"])
        }
        return [
            ("EventIds", .array(ids.map { .string($0) })),
            ("FailedEvents", .array(failed.map { .obj([("Index", .int(Int64($0.0))), ("Code", .string($0.1.code)), ("Message", .string($0.1.message))]) })),
        ]
    }

    /// The accounts that the batch names, looked up once.
    static func accountScopes(for records: [JSONValue], call: ActionCall) async throws -> [String: AccountScope] {
        var scopes: [String: AccountScope] = [:]
        let own = AccountScope(accountId: call.caller.accountId, retentionDays: try await call.environment.retentionDays(of: call.caller.accountId))
        scopes[String(call.caller.accountId)] = own
        guard call.caller.role == .service else { return scopes }
        var named = Set<String>()
        for r in records {
            if let a = r["userIdentity"]?["accountId"].flatMap(EventRecordValidator.scalarString) { named.insert(a) }
        }
        for name in named.prefix(100) where scopes[name] == nil {
            if let id = Int64(name), String(id) == name, let account = try await call.environment.storage.accounts.account(id: id) {
                scopes[name] = AccountScope(accountId: id, retentionDays: account.retentionDays ?? call.environment.defaultRetentionDays)
            }
        }
        return scopes
    }

    static func resolve(_ named: String?, caller: Caller, scopes: [String: AccountScope]) -> Result<AccountScope, RecordRejection> {
        if caller.role == .service {
            guard let named, !named.isEmpty else {
                return .failure(.init("MissingParameter", "userIdentity.accountId is required for events sent with a service key"))
            }
            guard let scope = scopes[named] else { return .failure(.init("ResourceNotFound", "account \(APIError.clip(named)) does not exist")) }
            return .success(scope)
        }
        let own = scopes[String(caller.accountId)]!
        if let named, !named.isEmpty, named != String(caller.accountId) {
            return .failure(.init("UnauthorizedOperation", "this key records events of account \(caller.accountId) only, not of \(APIError.clip(named))"))
        }
        return .success(own)
    }
}
