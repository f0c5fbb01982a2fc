import AuditIntegrity
import AuditModel
import AuditStore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// One event ready to write: its postings' fingerprints and Merkle leaf computed on the caller's task.
    struct PreparedEvent: Sendable {
        var event: AuditEvent
        var postings: [(key: Int, hash: Int64)]
        var leaf: MerkleHash
    }

    public func append(_ events: [AuditEvent]) async throws -> [AppendOutcome] {
        if events.isEmpty { return [] }
        let prepared = events.map { PreparedEvent(event: $0, postings: fingerprint.postings(of: $0), leaf: RFC6962.leafHash($0.record)) }
        return try await committer.submit(prepared) { batches in
            try await self.ensurePartitions(days: Set(batches.joined().map { TimeBuckets.day($0.event.eventTime) }))
            do {
                return try await self.write(batches)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23514" {
                // No partition for a day (retention on another node dropped one this node had seen): once more.
                self.partitions.clear()
                try await self.ensurePartitions(days: Set(batches.joined().map { TimeBuckets.day($0.event.eventTime) }))
                return try await self.write(batches)
            }
        }
    }

    /// Writes a group of callers' events in one transaction: the accounts' rows locked (in id order, so
    /// that two nodes' groups cannot deadlock), duplicates answered, the rest numbered from each
    /// account's next sequence with their postings, hourly counts and Merkle nodes.
    func write(_ batches: [[PreparedEvent]]) async throws -> [[AppendOutcome]] {
        let logger = self.logger
        let shard = self.shard
        return try await transaction { c in
            let accountIds = Array(Set(batches.joined().map(\.event.accountId))).sorted()
            var next: [Int64: Int64] = [:]
            var trees: [Int64: CompactRange] = [:]
            for row in try await c.query("""
                SELECT id, next_seq, merkle_range FROM accounts WHERE id = ANY(\(accountIds)) ORDER BY id FOR UPDATE
                """, logger: logger).collect() {
                let (id, seq, range) = try row.decode((Int64, Int64, Data?).self)
                next[id] = seq
                trees[id] = try range.map { try CompactRange(serialized: Array($0)) } ?? CompactRange()
            }
            if let missing = accountIds.first(where: { next[$0] == nil }) { throw StoreError.accountNotFound(missing) }

            let all = Array(batches.joined())
            var known: [Int64: [String: Int64]] = [:]
            for row in try await c.query("""
                SELECT i.account_id, i.event_id, i.seq FROM event_ids i
                JOIN UNNEST(\(all.map(\.event.accountId)), \(all.map { ByteBuffer(string: $0.event.eventId) })) AS k(account_id, event_id)
                  ON i.account_id = k.account_id AND i.event_id = k.event_id
                """, logger: logger).collect() {
                let (account, eventId, seq) = try row.decode((Int64, ByteBuffer, Int64).self)
                known[account, default: [:]][String(buffer: eventId)] = seq
            }

            var rows = AppendRows()
            var counts: [CountKey: Int64] = [:]
            var outcomes: [[AppendOutcome]] = []
            for batch in batches {
                var out: [AppendOutcome] = []
                out.reserveCapacity(batch.count)
                for p in batch {
                    let e = p.event
                    if let seq = known[e.accountId]?[e.eventId] {
                        out.append(.duplicate(sequence: seq))
                        continue
                    }
                    let seq = next[e.accountId]!
                    next[e.accountId] = seq + 1
                    known[e.accountId, default: [:]][e.eventId] = seq
                    var tree = trees[e.accountId]!
                    guard tree.size == UInt64(seq - 1) else {
                        throw StoreError(.merkleLogMismatch, "the Merkle log of account \(e.accountId) has \(tree.size) leaves but the next sequence is \(seq)")
                    }
                    tree.append(p.leaf) { node, hash in
                        if node.level == 0 || node.level >= Self.keptNodeLevel { rows.node(e.accountId, node, hash) }
                    }
                    trees[e.accountId] = tree
                    rows.add(p, seq: seq, counts: &counts)
                    out.append(.stored(sequence: seq))
                }
                outcomes.append(out)
            }
            guard !rows.eventAccounts.isEmpty else { return outcomes }
            try await Self.insert(rows, counts: counts, shard: shard, c, logger)
            let touched = Array(trees.keys).sorted()
            try await c.query("""
                UPDATE accounts a SET next_seq = k.next_seq, merkle_range = k.merkle_range
                FROM UNNEST(\(touched), \(touched.map { next[$0]! }), \(touched.map { ByteBuffer(bytes: trees[$0]!.serialized) }))
                  AS k(id, next_seq, merkle_range)
                WHERE a.id = k.id
                """, logger: logger)
            return outcomes
        }
    }

    /// Writes one group's rows: events, their ids, postings, Merkle nodes and hourly counts.
    static func insert(_ rows: AppendRows, counts: [CountKey: Int64], shard: Int16, _ c: PostgresConnection, _ logger: Logger) async throws {
        if !rows.eventAccounts.isEmpty {
            try await c.query("""
                INSERT INTO events(account_id, event_time, seq, event_id, record)
                SELECT * FROM UNNEST(\(rows.eventAccounts), \(rows.eventTimes), \(rows.eventSeqs), \(rows.eventIds), \(rows.records))
                """, logger: logger)
            try await c.query("""
                INSERT INTO event_ids(account_id, event_id, seq, event_time)
                SELECT * FROM UNNEST(\(rows.eventAccounts), \(rows.eventIds), \(rows.eventSeqs), \(rows.eventTimes))
                """, logger: logger)
            try await c.query("""
                INSERT INTO postings(account_id, key, value_hash, event_time, seq)
                SELECT * FROM UNNEST(\(rows.postingAccounts), \(rows.postingKeys), \(rows.postingHashes), \(rows.postingTimes), \(rows.postingSeqs))
                """, logger: logger)
        }
        if !rows.nodeAccounts.isEmpty {
            try await c.query("""
                INSERT INTO merkle_nodes(account_id, level, idx, hash)
                SELECT * FROM UNNEST(\(rows.nodeAccounts), \(rows.nodeLevels), \(rows.nodeIndexes), \(rows.nodeHashes))
                """, logger: logger)
        }
        try await applyCounts(counts, shard: shard, c, logger)
    }

    /// Subtrees of at least 2^6 leaves are kept; smaller ones are hashed again from their leaves.
    static let keptNodeLevel = 6

    struct CountKey: Hashable {
        var account: Int64
        var key: Int
        var hash: Int64
        var hour: Int64
    }

    /// Adds `counts` to this node's shard of the hourly counters (a count may be negative: retention).
    static func applyCounts(_ counts: [CountKey: Int64], shard: Int16, _ c: PostgresConnection, _ logger: Logger) async throws {
        let entries = counts.filter { $0.value != 0 }.sorted { ($0.key.account, $0.key.key, $0.key.hash, $0.key.hour) < ($1.key.account, $1.key.key, $1.key.hash, $1.key.hour) }
        guard !entries.isEmpty else { return }
        try await c.query("""
            INSERT INTO hourly_counts(account_id, key, value_hash, hour, shard, count)
            SELECT a, k, h, t, \(shard), n FROM UNNEST(\(entries.map(\.key.account)), \(entries.map { Int16($0.key.key) }), \(entries.map(\.key.hash)),
                                                  \(entries.map(\.key.hour)), \(entries.map(\.value))) AS u(a, k, h, t, n)
            ON CONFLICT (account_id, key, value_hash, hour, shard) DO UPDATE SET count = hourly_counts.count + excluded.count
            """, logger: logger)
    }

    /// The rows of one group, column by column (each column is one array parameter of an `UNNEST`).
    struct AppendRows {
        var eventAccounts: [Int64] = [], eventTimes: [Int64] = [], eventSeqs: [Int64] = [], eventIds: [ByteBuffer] = [], records: [ByteBuffer] = []
        var postingAccounts: [Int64] = [], postingKeys: [Int16] = [], postingHashes: [Int64] = [], postingTimes: [Int64] = [], postingSeqs: [Int64] = []
        var nodeAccounts: [Int64] = [], nodeLevels: [Int16] = [], nodeIndexes: [Int64] = [], nodeHashes: [ByteBuffer] = []

        /// The event with its postings, and its hourly counts added to `counts`.
        mutating func add(_ p: PreparedEvent, seq: Int64, counts: inout [CountKey: Int64]) {
            let e = p.event
            event(e, seq: seq)
            let hour = TimeBuckets.hour(e.eventTime)
            for posting in p.postings {
                self.posting(e, key: posting.key, hash: posting.hash, seq: seq)
                if LookupKey(rawValue: posting.key)?.keepsHourlyCounts == true {
                    counts[CountKey(account: e.accountId, key: posting.key, hash: posting.hash, hour: hour), default: 0] += 1
                }
            }
        }

        mutating func event(_ e: AuditEvent, seq: Int64) {
            eventAccounts.append(e.accountId)
            eventTimes.append(e.eventTime)
            eventSeqs.append(seq)
            eventIds.append(ByteBuffer(string: e.eventId))
            records.append(ByteBuffer(bytes: e.record))
        }

        mutating func posting(_ e: AuditEvent, key: Int, hash: Int64, seq: Int64) {
            postingAccounts.append(e.accountId)
            postingKeys.append(Int16(key))
            postingHashes.append(hash)
            postingTimes.append(e.eventTime)
            postingSeqs.append(seq)
        }

        mutating func node(_ account: Int64, _ node: MerkleNode, _ hash: MerkleHash) {
            nodeAccounts.append(account)
            nodeLevels.append(Int16(node.level))
            nodeIndexes.append(Int64(node.index))
            nodeHashes.append(ByteBuffer(bytes: hash))
        }
    }

    // MARK: Day partitions

    /// Makes the day partitions of `events` and `postings` that `days` need and this node has not seen,
    /// each in its own short transaction under one advisory lock (nodes making the same day wait for
    /// each other instead of failing).
    func ensurePartitions(days: Set<Int64>) async throws {
        let missing = partitions.missing(days)
        guard !missing.isEmpty else { return }
        let logger = self.logger
        for day in missing.sorted() {
            let (from, to) = (day * 86400, (day + 1) * 86400)
            try await transaction { c in
                try await c.query("SELECT pg_advisory_xact_lock(\(Self.partitionLock))", logger: logger)
                for table in ["events", "postings"] {
                    try await c.query(PostgresQuery(unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(Self.partition(table, day: day)) PARTITION OF \(table) FOR VALUES FROM (\(from)) TO (\(to))
                        """), logger: logger)
                }
            }
        }
        partitions.add(missing)
    }

    /// The name of a table's partition of one day: `events_d20428`, `events_dm3` (before 1970).
    static func partition(_ table: String, day: Int64) -> String { "\(table)_d" + (day < 0 ? "m\(-day)" : "\(day)") }

    /// The day of a partition's name (nil for a name that is not one).
    static func day(ofPartition name: String, table: String) -> Int64? {
        let prefix = "\(table)_d"
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        if rest.hasPrefix("m") { return Int64(rest.dropFirst()).map { -$0 } }
        return Int64(rest)
    }

    static let partitionLock: Int64 = 0x436C_6F75_6450_6172  // "CloudPar"

    // MARK: Retention

    public func deleteEvents(accountId: Int64, olderThan cutoff: Int64) async throws -> Int {
        let logger = self.logger
        let shard = self.shard
        let firstKeptHour = TimeBuckets.hour(cutoff)
        return try await transaction { c in
            // The hours wholly before the cutoff lose every count; the hour holding it loses the events removed.
            var counts: [CountKey: Int64] = [:]
            for row in try await c.query("""
                WITH gone AS (DELETE FROM postings WHERE account_id = \(accountId) AND event_time < \(cutoff) RETURNING key, value_hash, event_time)
                SELECT key, value_hash, count(*) FROM gone WHERE event_time >= \(firstKeptHour) GROUP BY key, value_hash
                """, logger: logger).collect() {
                let (key, hash, n) = try row.decode((Int16, Int64, Int64).self)
                if LookupKey(rawValue: Int(key))?.keepsHourlyCounts == true {
                    counts[CountKey(account: accountId, key: Int(key), hash: hash, hour: firstKeptHour)] = -n
                }
            }
            try await c.query("DELETE FROM hourly_counts WHERE account_id = \(accountId) AND hour < \(firstKeptHour)", logger: logger)
            try await Self.applyCounts(counts, shard: shard, c, logger)
            try await c.query("DELETE FROM event_ids WHERE account_id = \(accountId) AND event_time < \(cutoff)", logger: logger)
            return try await Self.changed(c, "DELETE FROM events WHERE account_id = \(accountId) AND event_time < \(cutoff) RETURNING 1", logger)
        }
    }

    /// Drops the day partitions that end at or before `cutoff` (which must be at or before every
    /// account's own retention cutoff), and makes those of today and the next two days ahead. Returns
    /// how many events went with the dropped partitions.
    public func dropWholePeriods(olderThan cutoff: Int64, now: Int64) async throws -> Int {
        let logger = self.logger
        let days = try await rows("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass
            """).compactMap { Self.day(ofPartition: try $0.decode(String.self), table: "events") }
        let expired = days.filter { ($0 + 1) * 86400 <= cutoff }.sorted()
        var dropped = 0
        for day in expired {
            dropped += try await transaction { c in
                try await c.query("SELECT pg_advisory_xact_lock(\(Self.partitionLock))", logger: logger)
                let (from, to) = (day * 86400, (day + 1) * 86400)
                let n = try await c.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(Self.partition("events", day: day))"), logger: logger)
                    .collect().first?.decode(Int.self) ?? 0
                for table in ["events", "postings"] {
                    try await c.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(Self.partition(table, day: day))"), logger: logger)
                }
                // (Per account, so that the indexes led by the account serve the deletes.)
                try await c.query("""
                    DELETE FROM event_ids WHERE account_id IN (SELECT id FROM accounts) AND event_time >= \(from) AND event_time < \(to)
                    """, logger: logger)
                try await c.query("""
                    DELETE FROM hourly_counts WHERE account_id IN (SELECT id FROM accounts) AND hour >= \(from) AND hour < \(to)
                    """, logger: logger)
                return n
            }
        }
        if !expired.isEmpty { partitions.clear() }
        let today = TimeBuckets.day(now)
        try await ensurePartitions(days: [today, today + 1, today + 2])
        return dropped
    }
}
