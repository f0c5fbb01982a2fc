import AuditConfiguration
import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// What `cloudaudit bench --store` needs of the server: scratch databases beside the one named, and
/// the ceiling it measures ingest against, PostgreSQL's own `COPY` of the rows an append writes.
public enum PostgresBenchSupport {
    /// Makes an empty database `<database>_<suffix>` on the same server (the user needs CREATEDB); its location.
    public static func createScratch(_ location: StoreLocation, password: String?, suffix: String, logger: Logger) async throws -> StoreLocation {
        var scratch = location
        scratch.database = location.database + "_" + suffix
        let name = scratch.database
        try await PostgresConnector.withConnection(location, password: password, logger: logger) { c in
            try await c.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name)"), logger: logger)
            try await c.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        return scratch
    }

    /// Drops a scratch database, waiting (up to 30 s) for the sessions of a closed pool to end.
    public static func dropScratch(_ scratch: StoreLocation, from location: StoreLocation, password: String?, logger: Logger) async throws {
        let name = scratch.database
        for attempt in 1...60 {
            do {
                try await PostgresConnector.withConnection(location, password: password, logger: logger) { c in
                    try await c.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name)"), logger: logger)
                }
                return
            } catch let e as PostgresProblem where e.description.contains("55006") && attempt < 60 {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Copies `events` (of one account, in sequence order) into the empty, migrated database at
    /// `location` with `COPY ... FROM STDIN` on `writers` connections at once: the rows an append writes
    /// (events, event ids, postings, Merkle nodes; not the hourly counters, which are upserts) into the
    /// same tables and indexes. The rows are encoded before the clock starts. Returns events per second.
    public static func copyCeiling(_ events: [AuditEvent], into location: StoreLocation, password: String?, writers: Int, logger: Logger) async throws -> Double {
        guard let account = events.first?.accountId else { return 0 }
        let store = try await PostgresStore.open(location, password: password, logger: logger)
        let fingerprint = store.fingerprint
        do {
            _ = try await store.createAccount(name: "ceiling", retentionDays: nil, id: account, memberOf: nil)
            try await store.ensurePartitions(days: Set(events.map { TimeBuckets.day($0.eventTime) }))
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        // One share of the rows per writer, as COPY text.
        var tree = CompactRange()
        var shares = Array(repeating: (events: ByteBuffer(), ids: ByteBuffer(), postings: ByteBuffer(), nodes: ByteBuffer()), count: max(1, writers))
        for (i, e) in events.enumerated() {
            let seq = Int64(i + 1)
            let w = i % shares.count
            let id = hex(Array(e.eventId.utf8))
            shares[w].events.writeString("\(account)\t\(e.eventTime)\t\(seq)\t\(id)\t\(hex(e.record))\n")
            shares[w].ids.writeString("\(account)\t\(id)\t\(seq)\t\(e.eventTime)\n")
            for p in fingerprint.postings(of: e) { shares[w].postings.writeString("\(account)\t\(p.key)\t\(p.hash)\t\(e.eventTime)\t\(seq)\n") }
            tree.append(RFC6962.leafHash(e.record)) { node, hash in
                if node.level == 0 || node.level >= PostgresStore.keptNodeLevel {
                    shares[w].nodes.writeString("\(account)\t\(node.level)\t\(node.index)\t\(hex(hash))\n")
                }
            }
        }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for share in shares {
                group.addTask {
                    try await PostgresConnector.withConnection(location, password: password, logger: logger) { c in
                        for (table, columns, rows) in [("events", ["account_id", "event_time", "seq", "event_id", "record"], share.events),
                                                       ("event_ids", ["account_id", "event_id", "seq", "event_time"], share.ids),
                                                       ("postings", ["account_id", "key", "value_hash", "event_time", "seq"], share.postings),
                                                       ("merkle_nodes", ["account_id", "level", "idx", "hash"], share.nodes)] {
                            try await c.copyFrom(table: table, columns: columns, logger: logger) { writer in
                                var rest = rows
                                while rest.readableBytes > 0 {
                                    if let chunk = rest.readSlice(length: min(rest.readableBytes, 1 << 20)) { try await writer.write(chunk) }
                                }
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let took = (ContinuousClock.now - start).components
        return Double(events.count) / (Double(took.seconds) + Double(took.attoseconds) / 1e18)
    }

    /// `\\x` and the hex digits: bytea in COPY's text format.
    static func hex(_ bytes: [UInt8]) -> String { "\\\\x" + bytes.hexString }
}
