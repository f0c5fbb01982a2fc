import ArgumentParser
import AsyncHTTPClient
import AuditClient
import AuditModel
import AuditServer
import AuditStore
import AuditSynthetic
import Foundation

/// `cloudaudit bench`: ingest and lookup figures on a fresh data directory, with the storage ceiling
/// measured in the same run as the baseline.
///
/// 1. Ceiling: the same synthetic records, validated beforehand, appended straight into a fresh
///    SQLite store (same schema and indexes) by 4 concurrent writers in batches of 500.
/// 2. Ingest: a `cloudaudit serve` child process on a fresh data dir; 4 concurrent clients send
///    PutEvents batches of 500 over HTTP with TC3 signing.
/// 3. Lookups: for each lookup key, LookUpEvents over the whole retention range against the loaded
///    store, 4 concurrent clients for a fixed time: p50, p99, requests/s; plus the same query straight
///    on the store (no HTTP) as its baseline.
/// 4. Peak RSS of the server process (VmHWM).
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure ingest and lookup speed on a fresh data directory and print the figures.",
        discussion: "Use a release build for meaningful figures: swift build -c release && .build/release/cloudaudit bench")

    @Option(help: "Events to ingest (and to hold for the lookups).") var events: Int = 1_000_000
    @Option(help: "Events for the direct-to-SQLite ceiling (default: same as --events).") var ceilingEvents: Int?
    @Option(help: "Events per PutEvents call.") var batchSize: Int = 500
    @Option(help: "Concurrent clients.") var clients: Int = 4
    @Option(help: "Seconds of lookups per key.") var lookupSeconds: Double = 4
    @Option(help: "Port for the server under test.") var port: Int = 9799
    @Option(help: "Work directory (default: a new temporary one, removed at the end).") var workDir: String?
    @Option(help: "Write the figures as JSON to this file too.") var json: String?
    @Option(help: "What to measure: all, core (ingest and lookups), delivery (tracking sets), integrity (Merkle log, proofs, verify) or console (the Operation Record page's calls).")
    var suite: Suite = .all
    @Option(help: "Events for the delivery throughput run (default: min(--events, 500000)).") var deliveryEvents: Int?
    @Option(help: "End-to-end latency samples at a 1 s delivery interval.") var latencySamples: Int = 10
    @Option(help: "End-to-end latency samples at the default 60 s interval (each waits up to a minute).") var defaultIntervalSamples: Int = 3

    @Option(help: "Events for the integrity run (default: min(--events, 300000)).") var integrityEvents: Int?

    @Option(help: "Events for the console run (default: --events).") var consoleEvents: Int?

    @Option(help: "Measure a PostgreSQL store instead (postgres://USER@HOST:PORT/DATABASE; password from PGPASSWORD; the user may create databases): ingest with one node and with --nodes nodes, each into a new database beside the one named, beside PostgreSQL's own COPY of the same rows, and lookups per key.")
    var store: String?
    @Option(help: "Nodes for the multi-node ingest run of --store.") var nodes: Int = 3
    @Option(help: "Events for the multi-node ingest run of --store (default: --events).") var nodesEvents: Int?

    enum Suite: String, ExpressibleByArgument { case all, core, delivery, integrity, console }

    public init() {}

    public func validate() throws {
        if events < 1000 { throw ValidationError("--events must be at least 1000") }
        if batchSize < 1 || batchSize > 1000 { throw ValidationError("--batch-size must be 1...1000") }
        if clients < 1 || clients > 64 { throw ValidationError("--clients must be 1...64") }
    }

    public func run() async throws {
        let dir = workDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("cloudaudit-bench-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if workDir == nil { try? FileManager.default.removeItem(atPath: dir) } }
        var report: [String: Any] = [:]
        if let store {
            try await runPostgres(store: store, dir: dir, report: &report)
        } else if suite == .all || suite == .core { try await runCore(dir: dir, report: &report) }
        if store == nil, suite == .all || suite == .delivery { try await runDelivery(dir: dir + "/delivery", report: &report) }
        if store == nil, suite == .all || suite == .integrity { try await runIntegrity(dir: dir + "/integrity", report: &report) }
        if store == nil, suite == .all || suite == .console { try await runConsole(dir: dir + "/console", report: &report) }
        if let json {
            try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: json))
        }
    }

    func runCore(dir: String, report: inout [String: Any]) async throws {
        let now = unixNow()
        report["events"] = events
        report["batchSize"] = batchSize
        report["clients"] = clients

        let records = syntheticRecords(now: now)
        // 1. Ceiling.
        let ceilingCount = min(ceilingEvents ?? events, events)
        let ceiling = try await measureCeiling(records: Array(records.prefix(ceilingCount)), dir: dir + "/ceiling", now: now)
        report["ceilingEventsPerSecond"] = ceiling
        say(String(format: "ceiling (direct to SQLite, %d events): %.0f events/s", ceilingCount, ceiling))

        // 2. Ingest over HTTP.
        let server = try startServer(dataDir: dir + "/server")
        defer { server.terminate(); server.waitUntilExit() }
        let client = APIClient(endpoint: "http://127.0.0.1:\(port)", secretId: server.secretId, secretKey: server.secretKey, timeoutSeconds: 600)
        try await waitForHealth()
        let bodies = putBodies(records)
        say("ingesting over HTTP: \(bodies.count) PutEvents calls of \(batchSize), \(clients) clients...")
        let (ingestSeconds, rejected) = try await ingest(bodies, through: [client])
        let ingestRate = Double(events) / ingestSeconds
        report["ingestEventsPerSecond"] = ingestRate
        report["ingestRejected"] = rejected
        say(String(format: "ingest over HTTP: %.0f events/s (%.1f s, %d rejected); %.0f%% of the ceiling", ingestRate, ingestSeconds, rejected,
                   100 * ingestRate / Double(ceiling)))

        // 3. Lookups per key.
        let storage = try await DataDirectory(path: dir + "/server").openStorage(defaultRetentionDays: ServerConfiguration().retentionDays)
        let rows = try await lookupRows(client: client, storage: storage, records: records[...], now: now)
        try await storage.close()
        report["lookups"] = rows
        let rss = peakRSS(pid: server.process.processIdentifier)
        report["serverPeakRSSMB"] = rss
        say("")
        say(String(format: "server peak RSS: %.0f MB", rss))
        let dbSize = DataDirectory(path: dir + "/server").storage.bytesOnDisk() ?? 0
        report["bytesPerStoredEvent"] = Double(dbSize) / Double(events)
        say(String(format: "database: %.0f bytes/event", Double(dbSize) / Double(events)))
    }

    // MARK: Parts

    /// `--events` synthetic records over 29 days, in time order (as a live trail receives them; the
    /// generator draws times at random).
    func syntheticRecords(now: Int64) -> [[UInt8]] {
        say("generating \(events) synthetic events over 29 days, in time order...")
        var gen = SyntheticEventGenerator(seed: 42, accountId: 0, now: now - 60, spanSeconds: 29 * 86400)
        let records: [[UInt8]] = (0..<events).map { _ -> (Int64, [UInt8]) in
            let r = gen.next()
            return ((try? JSONParser.parse(r))?["eventTime"].flatMap(EventTimeParser.seconds) ?? 0, r)
        }.sorted { $0.0 < $1.0 }.map(\.1)
        let bytes = records.reduce(0) { $0 + $1.count }
        say(String(format: "  %.0f bytes/event on average", Double(bytes) / Double(events)))
        return records
    }

    /// PutEvents bodies of `batchSize` records each, made from the end of `records` while removing them,
    /// so that ten million records are not held twice.
    func putBodies(consuming records: inout [[UInt8]]) -> [[UInt8]] {
        var bodies: [[UInt8]] = []
        var end = records.count
        while end > 0 {
            let start = ((end - 1) / batchSize) * batchSize
            bodies.append(putBodies(Array(records[start..<end]))[0])
            records.removeSubrange(start..<end)
            end = start
        }
        return bodies.reversed()
    }

    /// PutEvents bodies of `batchSize` records each.
    func putBodies(_ records: [[UInt8]]) -> [[UInt8]] {
        stride(from: 0, to: records.count, by: batchSize).map { start -> [UInt8] in
            var body = Array(#"{"Events":["#.utf8)
            for (i, r) in records[start..<min(start + batchSize, records.count)].enumerated() {
                if i > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: r)
            }
            body.append(contentsOf: Array("]}".utf8))
            return body
        }
    }

    /// Sends `bodies` with `clients` concurrent clients, client i through `servers[i % servers.count]`;
    /// (seconds, records rejected).
    func ingest(_ bodies: [[UInt8]], through servers: [APIClient]) async throws -> (Double, Int) {
        let start = Date()
        let rejected = try await withThrowingTaskGroup(of: Int.self) { group in
            let next = Counter()
            for c in 0..<clients {
                let client = servers[c % servers.count]
                group.addTask {
                    var rejected = 0
                    while let i = next.take(below: bodies.count) {
                        let response = try await client.call(action: "PutEvents", body: bodies[i])
                        let parsed = try APIClient.unwrap(response, action: "PutEvents")
                        rejected += (parsed["FailedEvents"] as? [Any])?.count ?? 0
                    }
                    return rejected
                }
            }
            return try await group.reduce(0, +)
        }
        return (Date().timeIntervalSince(start), rejected)
    }

    /// LookUpEvents per lookup key over HTTP (`lookupSeconds` each), and the same query straight on the
    /// store; one row per key, printed as it goes.
    func lookupRows(client: APIClient, storage: Storage, records: ArraySlice<[UInt8]>, now: Int64) async throws -> [[String: Any]] {
        let samples = records.prefix(5000).compactMap { try? JSONParser.parse($0).objectValue }
        var rows: [[String: Any]] = []
        say("")
        say(pad("lookup key", 18) + pad("matches", 10) + pad("p50 ms", 9) + pad("p99 ms", 9) + pad("req/s", 9) + pad("store p50 ms", 13))
        for (name, value) in lookupCases(samples) {
            let attrs: [[String: Any]] = name == "(none)" ? [] : [["AttributeKey": name, "AttributeValue": value]]
            let params: [String: Any] = ["StartTime": now - 29 * 86400 - 120, "EndTime": now + 60, "MaxResults": 10, "LookupAttributes": attrs]
            let body = try JSONSerialization.data(withJSONObject: params)
            let first = try await client.callJSON(action: "LookUpEvents", params: params)
            let total = first["TotalCount"] as? Int ?? -1
            let (latencies, elapsed) = try await timeRequests(seconds: lookupSeconds) { _ = try await client.call(action: "LookUpEvents", body: Array(body)) }
            let storeLatencies = try await directLookups(storage: storage, account: AccountIds.first, name: name, value: value, now: now)
            let row: [String: Any] = ["key": name, "matches": total, "p50ms": percentile(latencies, 0.5), "p99ms": percentile(latencies, 0.99),
                                      "requestsPerSecond": Double(latencies.count) / elapsed, "storeP50ms": percentile(storeLatencies, 0.5)]
            rows.append(row)
            say(pad(name, 18) + pad(String(total), 10) + pad(String(format: "%.2f", row["p50ms"] as! Double), 9)
                + pad(String(format: "%.2f", row["p99ms"] as! Double), 9) + pad(String(format: "%.0f", row["requestsPerSecond"] as! Double), 9)
                + pad(String(format: "%.3f", row["storeP50ms"] as! Double), 13))
        }
        return rows
    }

    func measureCeiling(records: [[UInt8]], dir: String, now: Int64) async throws -> Double {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let storage = try await DataDirectory(path: dir + "/ceiling").openStorage(defaultRetentionDays: ServerConfiguration().retentionDays)
        let account = try await storage.accounts.createAccount(name: "bench", retentionDays: nil, id: AccountIds.first).id
        let scope = AccountScope(accountId: account, retentionDays: ServerConfiguration().retentionDays)
        let events: [AuditEvent] = records.compactMap { r in
            guard let v = try? JSONParser.parse(r), case .success(let e) = EventRecordValidator.validate(v, source: r, now: now, resolveAccount: { _ in .success(scope) }) else { return nil }
            return e
        }
        say("ceiling: appending \(events.count) events straight to SQLite, \(clients) writers...")
        let rate = try await appendConcurrently(events, to: storage.events)
        try await storage.close()
        try? FileManager.default.removeItem(atPath: dir)
        return rate
    }

    /// Appends `events` in batches of `batchSize` by `clients` concurrent writers; events per second.
    func appendConcurrently(_ events: [AuditEvent], to log: any EventLog) async throws -> Double {
        let batches = stride(from: 0, to: events.count, by: batchSize).map { Array(events[$0..<min($0 + batchSize, events.count)]) }
        let start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            let next = Counter()
            for _ in 0..<clients {
                group.addTask { while let i = next.take(below: batches.count) { _ = try await log.append(batches[i]) } }
            }
            try await group.waitForAll()
        }
        return Double(events.count) / Date().timeIntervalSince(start)
    }

    /// `n` synthetic events of the default account over the last `span` seconds, validated as PutEvents
    /// does, in time order (as a live trail receives them; the generator draws times at random).
    func syntheticEvents(_ n: Int, seed: UInt64, span: Int64) -> [AuditEvent] {
        let now = unixNow()
        var gen = SyntheticEventGenerator(seed: seed, accountId: 0, now: now - 60, spanSeconds: span)
        let scope = AccountScope(accountId: AccountIds.first, retentionDays: ServerConfiguration().retentionDays)
        return (0..<n).compactMap { _ -> AuditEvent? in
            let r = gen.next()
            guard let v = try? JSONParser.parse(r),
                  case .success(let e) = EventRecordValidator.validate(v, source: r, now: now, resolveAccount: { _ in .success(scope) }) else { return nil }
            return e
        }.sorted { $0.eventTime < $1.eventTime }
    }

    func lookupCases(_ samples: [JSONObject]) -> [(String, String)] {
        func pick(_ f: (JSONObject) -> String?) -> String {
            var counts: [String: Int] = [:]
            for s in samples { if let v = f(s), !v.isEmpty { counts[v, default: 0] += 1 } }
            // A typical value: the median of the values by frequency.
            let sorted = counts.sorted { $0.value > $1.value }
            return sorted.isEmpty ? "" : sorted[sorted.count / 4].key
        }
        let s = samples
        return [
            ("(none)", ""),
            ("EventName", pick { $0["eventName"]?.stringValue }),
            ("ActionType", "Write"),
            ("ReadOnly", "true"),
            ("PrincipalId", pick { $0["userIdentity"]?["principalId"]?.stringValue }),
            ("Username", pick { $0["userIdentity"]?["userName"]?.stringValue }),
            ("ResourceType", pick { $0["resourceType"]?.stringValue }),
            ("ResourceId", pick { $0["resourceSet"]?.arrayValue?.first.flatMap { $0.stringValue ?? $0["resourceId"]?.stringValue } }),
            ("ResourceName", pick { $0["resourceName"]?.stringValue }),
            ("AccessKeyId", pick { $0["userIdentity"]?["secretId"]?.stringValue }),
            ("SensitiveAction", "true"),
            ("ApiErrorCode", pick { $0["apiErrorCode"]?.stringValue }),
            ("CamErrorCode", "0"),
            ("SourceIPAddress", pick { $0["sourceIPAddress"]?.stringValue }),
            ("Tags", #"[{"key":"env","value":"prod"}]"#),
            ("EventSource", pick { $0["eventSource"]?.stringValue }),
            ("EventId", s[s.count / 2]["eventId"]?.stringValue ?? ""),
            ("RequestId", s[s.count / 3]["requestID"]?.stringValue ?? ""),
        ]
    }

    func directLookups(storage: Storage, account: Int64, name: String, value: String, now: Int64) async throws -> [Double] {
        var conditions: [LookupCondition] = []
        if let attr = LookupAttributeName.named(name) {
            var v = value
            if name == "ReadOnly" { v = value == "true" ? "Read" : "Write" }
            if name == "Tags" { v = TagPosting.queryValue(key: "env", value: "prod") }
            conditions = [LookupCondition(key: attr.key, values: [v])]
        }
        let q = EventQuery(accountId: account, startTime: now - 29 * 86400 - 120, endTime: now + 60, conditions: conditions, limit: 10)
        var out: [Double] = []
        for _ in 0..<200 {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try await storage.events.lookup(q)
            out.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
        }
        return out
    }

    func timeRequests(seconds: Double, _ request: @escaping @Sendable () async throws -> Void) async throws -> ([Double], Double) {
        let start = Date()
        let deadline = start.addingTimeInterval(seconds)
        let all = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var l: [Double] = []
                    while Date() < deadline {
                        let t = DispatchTime.now().uptimeNanoseconds
                        try await request()
                        l.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
                    }
                    return l
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        return (all, Date().timeIntervalSince(start))
    }

    struct Server {
        var process: Process
        var secretId: String
        var secretKey: String
        func terminate() { if process.isRunning { process.terminate() } }
        func waitUntilExit() { process.waitUntilExit() }
    }

    func startServer(dataDir: String, port: Int? = nil, extraArguments: [String] = [], environment: [String: String] = [:]) throws -> Server {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: p.executableURL!.path) {
            p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }
        p.arguments = ["serve", "--data-dir", dataDir, "--port", String(port ?? self.port), "--rate-limit", "1000000", "--log-level", "warning"] + extraArguments
        // The server under test runs on the configuration model's defaults and the flags above, whatever
        // the shell holds: no CLOUDAUDIT_* variable of the caller reaches it (a CLOUDAUDIT_MASTER_KEY or
        // CLOUDAUDIT_DELIVERY_INTERVAL there would change what is measured, or leak an operator's secret).
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CLOUDAUDIT_") }
        let id = "AKIDbench" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24)
        let key = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        env["CLOUDAUDIT_ROOT_SECRET_ID"] = id
        env["CLOUDAUDIT_ROOT_SECRET_KEY"] = key
        env.merge(environment) { _, given in given }
        p.environment = env
        try p.run()
        return Server(process: p, secretId: id, secretKey: key)
    }

    func waitForHealth(port: Int? = nil) async throws {
        let port = port ?? self.port
        for _ in 0..<200 {
            if let r = try? await HTTPClient.shared.get(url: "http://127.0.0.1:\(port)/healthz").get(), r.status == .ok { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw ValidationError("the server did not start on port \(port)")
    }

    func peakRSS(pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? -1
            return kb / 1024
        }
        return -1
    }

    func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s[min(s.count - 1, Int(Double(s.count) * p))]
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    func say(_ s: String) { print(s); fflush(stdout) }
}

/// Hands out indexes 0..<n to concurrent workers.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(below n: Int) -> Int? {
        lock.withLock {
            guard value < n else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
