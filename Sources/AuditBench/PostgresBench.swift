import AuditClient
import AuditModel
import AuditServer
import AuditStore
import Foundation
import Logging

/// `cloudaudit bench --store postgres://...` (docs/postgres.md, README "Production"): on new databases
/// beside the one named,
/// 1. the ceiling: PostgreSQL's own COPY of the rows that appending the events writes (events, event
///    ids, postings, Merkle nodes, into the same tables and indexes), by `clients` connections at once
///    (of at most a million events, `--ceiling-events`: its rows are encoded before the clock starts);
/// 2. ingest through the HTTP API with one `serve` node (`clients` clients, batches of `batchSize`),
///    then the lookups per key against it at that size;
/// 3. ingest with `nodes` nodes on one database, the clients spread over them: on one machine they share
///    its cores, so this measures what coordinating through the database costs, not scaling.
extension BenchCommand {
    func runPostgres(store: String, dir: String, report: inout [String: Any]) async throws {
        let access = try PostgresStoreAccess(store: store, passwordFile: nil)
        let now = unixNow()
        report["store"] = "postgres"
        report["events"] = events
        report["batchSize"] = batchSize
        report["clients"] = clients
        var records = syntheticRecords(now: now)
        // A copy: a slice would keep the whole array alive while the bodies are made from it.
        let samples = Array(records.prefix(5000))[...]
        let scope = AccountScope(accountId: AccountIds.first, retentionDays: ServerConfiguration().retentionDays)
        // The ceiling's rows are encoded before its clock starts: at most a million of them fit beside the rest.
        let ceilingCount = min(ceilingEvents ?? 1_000_000, events)
        let validated: [AuditEvent] = records.prefix(ceilingCount).compactMap { r in
            guard let v = try? JSONParser.parse(r), case .success(let e) = EventRecordValidator.validate(v, source: r, now: now, resolveAccount: { _ in .success(scope) }) else { return nil }
            return e
        }

        // The deployment's keys, shared by the nodes.
        let keys = DataDirectory(path: dir + "/keys")
        try keys.ensureExists()
        let logger = Logger(label: "cloudaudit-bench")
        let master = try keys.masterKey(given: nil, logger: logger).hexString
        _ = try SigningKeys(directory: keys, operatorKeyFile: nil).load(logger: logger)
        let keyEnvironment = ["CLOUDAUDIT_MASTER_KEY": master, "CLOUDAUDIT_SIGNING_KEY_FILE": keys.path + "/signing.key"]

        // 1. Ceiling.
        let ceilingDB = try await access.scratch("bench_copy")
        say("ceiling: PostgreSQL COPY of the rows of \(validated.count) events, \(clients) connections...")
        let ceiling = try await ceilingDB.copyCeiling(validated, writers: clients)
        report["ceilingEventsPerSecond"] = ceiling
        report["ceilingEvents"] = validated.count
        say(String(format: "ceiling (COPY of %d events into the same tables and indexes): %.0f events/s", validated.count, ceiling))
        try await access.drop(ceilingDB)

        // 2. One node.
        let many = min(nodesEvents ?? events, events)
        let manyBodies = putBodies(Array(records.prefix(many)))
        let bodies = putBodies(consuming: &records)
        let oneDB = try await access.scratch("bench_one")
        let one = try startServer(dataDir: dir + "/one", environment: keyEnvironment.merging(oneDB.childEnvironment) { a, _ in a })
        let oneClient = APIClient(endpoint: "http://127.0.0.1:\(port)", secretId: one.secretId, secretKey: one.secretKey, timeoutSeconds: 600)
        let oneRate: Double
        do {
            try await waitForHealth()
            say("one node: ingesting \(bodies.count) PutEvents calls of \(batchSize), \(clients) clients...")
            let (seconds, rejected) = try await ingest(bodies, through: [oneClient])
            oneRate = Double(events) / seconds
            report["ingestEventsPerSecond"] = oneRate
            report["ingestRejected"] = rejected
            say(String(format: "ingest, one node: %.0f events/s (%.1f s, %d rejected); %.0f%% of the COPY ceiling", oneRate, seconds, rejected,
                       100 * oneRate / ceiling))
            let storage = try await StorageChoice.postgres(oneDB).open()
            let rows = try await lookupRows(client: oneClient, storage: storage, records: samples, now: now)
            try await storage.close()
            report["lookups"] = rows
            let rss = peakRSS(pid: one.process.processIdentifier)
            report["serverPeakRSSMB"] = rss
            say("")
            say(String(format: "node peak RSS: %.0f MB", rss))
        } catch {
            one.terminate()
            throw error
        }
        one.terminate()
        one.waitUntilExit()
        try await access.drop(oneDB)

        // 3. Several nodes on one database.
        let manyDB = try await access.scratch("bench_many")
        var servers: [Server] = []
        defer { for s in servers { s.terminate(); s.waitUntilExit() } }
        for n in 0..<nodes {
            servers.append(try startServer(dataDir: dir + "/node\(n)", port: port + 1 + n,
                                           environment: keyEnvironment.merging(manyDB.childEnvironment) { a, _ in a }))
        }
        var clientsOfNodes: [APIClient] = []
        for (n, s) in servers.enumerated() {
            try await waitForHealth(port: port + 1 + n)
            clientsOfNodes.append(APIClient(endpoint: "http://127.0.0.1:\(port + 1 + n)", secretId: s.secretId, secretKey: s.secretKey, timeoutSeconds: 600))
        }
        // Every node's root key is its own environment's: each node accepts its own clients' calls.
        say("\(nodes) nodes: ingesting \(manyBodies.count) PutEvents calls, \(clients) clients spread over them...")
        let (manySeconds, manyRejected) = try await ingest(manyBodies, through: clientsOfNodes)
        let manyRate = Double(many) / manySeconds
        report["nodes"] = nodes
        report["nodesIngestEventsPerSecond"] = manyRate
        report["nodesIngestRejected"] = manyRejected
        say(String(format: "ingest, %d nodes on one database: %.0f events/s (%.1f s, %d rejected); %.0f%% of one node", nodes, manyRate, manySeconds,
                   manyRejected, 100 * manyRate / oneRate))
        for s in servers { s.terminate(); s.waitUntilExit() }
        servers = []
        try await access.drop(manyDB)
    }
}
