import AuditAPI
import AuditModel
import AuditStore

/// The console's own actions, run through `/console/api/call` beside the API's (same parameters
/// parsing, role rules and self-audit): the summaries of the Operation Record page and the delivery
/// status of the Tracking sets page.
enum ConsoleActions {
    static let topListLength = 10
    static let defaultBuckets: Int64 = 60
    static let maxBuckets: Int64 = 200

    /// - Parameter locate: where a set's files are, from its region, bucket and prefix.
    static func definitions(locate: @escaping @Sendable (String, String, String) -> String) -> [String: ActionDefinition] {
        let all = [
            ActionDefinition(name: "DescribeEventStats", kind: .read) { call in
                let parsed = try await QueryParameters.parse(call, defaultMaxResults: 1)
                let q = parsed.query
                let buckets: Int64
                do { buckets = try call.params.integer("Buckets") ?? defaultBuckets } catch {
                    throw APIError.invalidValue("Buckets", "give a whole number of bars from 1 to \(maxBuckets)")
                }
                guard (1...maxBuckets).contains(buckets) else {
                    throw APIError.invalidValue("Buckets", "give a whole number of bars from 1 to \(maxBuckets), not \(buckets)")
                }
                let storage = call.environment.storage
                let bars = try await storage.events.histogram(q, buckets: Int(buckets))
                func top(_ key: LookupKey) async throws -> JSONValue {
                    let values = try await storage.events.topValues(accountId: q.accountId, key: key, startTime: q.startTime, endTime: q.endTime, limit: topListLength)
                    return .array(values.map { .obj([("Value", .string($0.value)), ("Count", .int(Int64($0.count)))]) })
                }
                return [
                    ("Histogram", .array(bars.map { .obj([("StartTime", .int($0.startTime)), ("EndTime", .int($0.endTime)), ("Count", .int(Int64($0.count)))]) })),
                    ("TotalCount", .int(Int64(bars.reduce(0) { $0 + $1.count }))),
                    ("TopUsers", try await top(.username)),
                    ("TopEventNames", try await top(.eventName)),
                    ("TopSourceIPs", try await top(.sourceIPAddress)),
                ] + parsed.snapshotFields
            },
            ActionDefinition(name: "DescribeDeliveryStatus", kind: .read) { call in
                let statuses = try await DeliveryStatus.collect(storage: call.environment.storage, ownerAccountId: call.caller.accountId,
                                                                now: call.environment.clock())
                return [("Statuses", .array(statuses.map { s in
                    .obj([
                        ("TrackId", .int(s.TrackId)), ("AccountId", .int(s.AccountId)), ("Name", .string(s.Name)), ("Status", .int(Int64(s.Status))),
                        ("Region", .string(s.Region)), ("Bucket", .string(s.Bucket)), ("Prefix", .string(s.Prefix)),
                        ("Location", .string(locate(s.Region, s.Bucket, s.Prefix))), ("DeliveredAt", .int(s.DeliveredAt)),
                        ("LagEvents", .int(s.LagEvents)), ("LagSeconds", .int(s.LagSeconds)),
                        ("LastError", s.LastError.map { .string($0) } ?? .null), ("LastErrorAt", s.LastErrorAt.map { .int($0) } ?? .null),
                        ("Files", .int(s.Files)), ("Events", .int(s.Events)),
                    ])
                }))]
            },
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    }
}
