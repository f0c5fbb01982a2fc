import AuditModel
import AuditStore
import Foundation
import PostgresNIO

/// A statement built piece by piece, its parameters numbered as they are bound.
struct StatementBuilder {
    var binds = PostgresBindings()

    /// Binds `value` and returns its placeholder (`$n`).
    mutating func bind<T: PostgresDynamicTypeEncodable>(_ value: T) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    func query(_ sql: String) -> PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}

extension PostgresStore {
    /// One condition with its values as fingerprints.
    struct HashedCondition {
        var key: Int16
        var hashes: [Int64]
        var multiValued: Bool

        /// SQL true when the event at `p` (a row with account_id, event_time, seq) is listed under the condition.
        func listed(_ b: inout StatementBuilder) -> String {
            "EXISTS (SELECT 1 FROM postings f WHERE f.account_id = p.account_id AND f.key = \(b.bind(key)) AND f.value_hash = ANY(\(b.bind(hashes)))"
                + " AND f.event_time = p.event_time AND f.seq = p.seq)"
        }
    }

    func hashed(_ conditions: [LookupCondition]) -> [HashedCondition] {
        conditions.map { c in
            HashedCondition(key: Int16(c.key.rawValue), hashes: Array(Set(c.values.map { fingerprint(c.key.rawValue, $0) })).sorted(),
                            multiValued: c.key.isMultiValued)
        }
    }

    /// SQL that keeps a row of `p` only if every filter lists it, not every exclusion does, and (with a
    /// snapshot) its sequence is at most the snapshot's.
    static func filterSQL(_ filters: [HashedCondition], exclusion: [HashedCondition], through: Int64?, _ b: inout StatementBuilder) -> String {
        var sql = filters.map { " AND " + $0.listed(&b) }.joined()
        if !exclusion.isEmpty { sql += " AND NOT (" + exclusion.map { $0.listed(&b) }.joined(separator: " AND ") + ")" }
        if let through { sql += " AND p.seq <= \(b.bind(through))" }
        return sql
    }

    public func lookup(_ query: EventQuery) async throws -> EventPage {
        let q = query.clampedToRepresentableTimes
        let given = hashed(q.conditions)
        let conditions = given.isEmpty
            ? [HashedCondition(key: Int16(LookupKey.all.rawValue), hashes: [fingerprint(LookupKey.all.rawValue, "")], multiValued: false)] : given
        let exclusion = hashed(q.excluding)
        guard q.startTime <= q.endTime else { return EventPage(events: [], listOver: true, totalCount: q.includeTotalCount ? 0 : nil) }
        let plan = try await plan(q, conditions)
        let positions = try await scan(q, plan, exclusion: exclusion, limit: q.limit + 1)
        let page = Array(positions.prefix(q.limit))
        let events = try await fetchEvents(accountId: q.accountId, page)
        var total: Int?
        if q.includeTotalCount {
            var late: Late?
            if let through = q.throughSequence { late = try await lateEvents(q, after: through) }
            total = try await count(q, plan, late: late)
            if !exclusion.isEmpty {
                // The events excluded are the query's events that also match the exclusion: counted, and taken away.
                total! -= try await count(q, try await self.plan(q, given + exclusion), late: late)
            }
        }
        return EventPage(events: events, listOver: positions.count <= q.limit, totalCount: total)
    }

    /// The histogram. Bars under an hour wide are counted in one statement over the posting lists of the
    /// query's range (the per-bar counts would each read the same lists, and 60 bars cost 60 round trips
    /// of several statements); wider bars use the hourly counts, a count per bar.
    public func histogram(_ query: EventQuery, buckets: Int) async throws -> [(startTime: Int64, endTime: Int64, count: Int)] {
        let q = query.clampedToRepresentableTimes
        guard let width = Self.bucketWidth(q, buckets: buckets) else { return [] }
        guard width < 3600 else { return try await countPerBucket(q, buckets: buckets) }
        let given = hashed(q.conditions)
        let conditions = given.isEmpty
            ? [HashedCondition(key: Int16(LookupKey.all.rawValue), hashes: [fingerprint(LookupKey.all.rawValue, "")], multiValued: false)] : given
        let plan = try await plan(q, conditions)
        var b = StatementBuilder()
        let start = b.bind(q.startTime)
        var sql = """
            SELECT (p.event_time - \(start)) / \(b.bind(width)) AS bar, count(DISTINCT p.seq) FROM postings p
            WHERE p.account_id = \(b.bind(q.accountId)) AND p.key = \(b.bind(plan.driver.key)) AND p.value_hash = ANY(\(b.bind(plan.driver.hashes)))
            AND p.event_time BETWEEN \(start) AND \(b.bind(q.endTime))
            """
        sql += Self.filterSQL(plan.filters, exclusion: hashed(q.excluding), through: q.throughSequence, &b)
        sql += " GROUP BY bar"
        var counts: [Int64: Int] = [:]
        for row in try await rows(b.query(sql)) {
            let (bar, n) = try row.decode((Int64, Int).self)
            counts[bar] = n
        }
        var out: [(startTime: Int64, endTime: Int64, count: Int)] = []
        var bar: Int64 = 0
        var from = q.startTime
        while from <= q.endTime {
            let to = min(q.endTime, from + width - 1)
            out.append((from, to, counts[bar] ?? 0))
            bar += 1
            from = to + 1
        }
        return out
    }

    /// How one set of conditions is read: the driver (the condition that matches fewest events, by the
    /// counts) walks its posting lists, the others are checked per row.
    struct Plan {
        var conditions: [HashedCondition]
        var driver: HashedCondition
        var filters: [HashedCondition]
        var driverCount: Int
    }

    func plan(_ q: EventQuery, _ conditions: [HashedCondition]) async throws -> Plan {
        var estimates: [Int] = []
        for c in conditions { estimates.append(try await count(q.accountId, c, q.startTime, q.endTime)) }
        let order = conditions.indices.sorted { estimates[$0] < estimates[$1] }
        return Plan(conditions: conditions, driver: conditions[order[0]], filters: order.dropFirst().map { conditions[$0] },
                    driverCount: estimates[order[0]])
    }

    /// The events with any of the condition's values in [start, end] (a value's events counted once
    /// each, so an event with two of the values of a multi-valued key counts twice): whole hours from
    /// `hourly_counts`, the partial hours at either end from the posting lists.
    func count(_ account: Int64, _ c: HashedCondition, _ start: Int64, _ end: Int64) async throws -> Int {
        guard start <= end else { return 0 }
        let whole = LookupKey(rawValue: Int(c.key))?.keepsHourlyCounts == true ? TimeBuckets.wholeHours(start, end) : nil
        // Without whole hours, the posting lists cover [start, end] (and an empty second range); ranges
        // as pairs, since one of them may be empty.
        let hours = whole ?? 0..<0
        let head = whole.map { (start, $0.lowerBound - 1) } ?? (start, end)
        let tail = whole.map { ($0.upperBound, end) } ?? (1, 0)
        let n = try await execute(PostgresStatements.Count(account: account, key: c.key, hashes: c.hashes, hourFrom: hours.lowerBound, hourTo: hours.upperBound,
                                                           headFrom: head.0, headTo: head.1, tailFrom: tail.0, tailTo: tail.1)).first ?? 0
        return Int(n)
    }

    /// The events of the query's range that match every condition of `plan`, up to the snapshot when
    /// `late` is given (the events stored after it, or nil when too many were).
    func count(_ q: EventQuery, _ plan: Plan, late: Late?) async throws -> Int {
        let exactNeeded = !plan.filters.isEmpty || (plan.driver.multiValued && plan.driver.hashes.count > 1)
        switch late {
        case nil:
            return exactNeeded ? try await exactCount(q, plan, through: nil) : plan.driverCount
        case .tooMany(let through):
            return try await exactCount(q, plan, through: through)
        case .events(let times, let seqs):
            let now = exactNeeded ? try await exactCount(q, plan, through: nil) : plan.driverCount
            guard !times.isEmpty else { return now }
            var b = StatementBuilder()
            let a = b.bind(q.accountId)
            let (t, s) = (b.bind(times), b.bind(seqs))
            let matching = plan.conditions.map { $0.listed(&b) }.joined(separator: " AND ")
            let sql = "SELECT count(*) FROM (SELECT \(a)::bigint AS account_id, t AS event_time, s AS seq FROM UNNEST(\(t)::bigint[], \(s)::bigint[]) AS u(t, s)) p WHERE \(matching)"
            return now - (try await rows(b.query(sql)).first?.decode(Int.self) ?? 0)
        }
    }

    /// The events appended after a snapshot, as far as a query's counts need them.
    enum Late {
        /// Those that fall in the query's range: few enough to take away one by one.
        case events(times: [Int64], seqs: [Int64])
        /// More than `lateLimit`: counts are taken up to the snapshot's sequence instead.
        case tooMany(through: Int64)
    }

    static let lateLimit = 5000

    func lateEvents(_ q: EventQuery, after sequence: Int64) async throws -> Late {
        let found = try await rows("""
            SELECT event_time, seq FROM events WHERE account_id = \(q.accountId) AND seq > \(sequence) ORDER BY seq LIMIT \(Self.lateLimit + 1)
            """).map { try $0.decode((Int64, Int64).self) }
        guard found.count <= Self.lateLimit else { return .tooMany(through: sequence) }
        let inRange = found.filter { (q.startTime...q.endTime).contains($0.0) }
        return .events(times: inRange.map(\.0), seqs: inRange.map(\.1))
    }

    func exactCount(_ q: EventQuery, _ plan: Plan, through: Int64?) async throws -> Int {
        var b = StatementBuilder()
        var sql = """
            SELECT count(DISTINCT p.seq) FROM postings p WHERE p.account_id = \(b.bind(q.accountId)) AND p.key = \(b.bind(plan.driver.key))
            AND p.value_hash = ANY(\(b.bind(plan.driver.hashes))) AND p.event_time BETWEEN \(b.bind(q.startTime)) AND \(b.bind(q.endTime))
            """
        sql += Self.filterSQL(plan.filters, exclusion: [], through: through, &b)
        return try await rows(b.query(sql)).first?.decode(Int.self) ?? 0
    }

    /// Positions of matching events, newest first, strictly after `q.after`: one ordered index range
    /// scan per driver value (an `Index Only Scan Backward` over the day partitions of the range), merged.
    func scan(_ q: EventQuery, _ plan: Plan, exclusion: [HashedCondition], limit: Int) async throws -> [PagePosition] {
        var streams: [[PagePosition]] = []
        let simple = plan.filters.isEmpty && exclusion.isEmpty && q.throughSequence == nil
        let after = q.after ?? PagePosition(eventTime: q.endTime + 1, position: 0)
        for hash in plan.driver.hashes {
            if simple {
                streams.append(try await execute(PostgresStatements.Scan(account: q.accountId, key: plan.driver.key, hash: hash, start: q.startTime, end: q.endTime,
                                                                          afterTime: after.eventTime, afterSeq: after.position, limit: Int64(limit)))
                    .map { PagePosition(eventTime: $0.0, position: $0.1) })
                continue
            }
            streams.append(try await rows(Self.scanQuery(q, plan, hash: hash, exclusion: exclusion, limit: limit)).map { row in
                let (time, seq) = try row.decode((Int64, Int64).self)
                return PagePosition(eventTime: time, position: seq)
            })
        }
        if streams.count == 1 { return streams[0] }
        // The values of one condition are few: merge their (already ordered) streams, each event once.
        return Array(Set(streams.joined()).sorted().prefix(limit))
    }

    /// The scan of one driver value (its `EXPLAIN` is printed by the tests: one index range per day
    /// partition, read backwards, no sort).
    static func scanQuery(_ q: EventQuery, _ plan: Plan, hash: Int64, exclusion: [HashedCondition], limit: Int, prefix: String = "") -> PostgresQuery {
        // (endTime is at most UTCTime.representable's end, so + 1 cannot overflow.)
        let after = q.after ?? PagePosition(eventTime: q.endTime + 1, position: 0)
        var b = StatementBuilder()
        var sql = prefix + """
            SELECT p.event_time, p.seq FROM postings p WHERE p.account_id = \(b.bind(q.accountId)) AND p.key = \(b.bind(plan.driver.key))
            AND p.value_hash = \(b.bind(hash)) AND p.event_time >= \(b.bind(q.startTime)) AND p.event_time <= \(b.bind(q.endTime))
            AND (p.event_time, p.seq) < (\(b.bind(after.eventTime)), \(b.bind(after.position)))
            """
        sql += filterSQL(plan.filters, exclusion: exclusion, through: q.throughSequence, &b)
        sql += " ORDER BY p.event_time DESC, p.seq DESC LIMIT \(b.bind(Int64(limit)))"
        return b.query(sql)
    }

    /// The plan PostgreSQL makes for a lookup's first scan (`EXPLAIN`), for the tests.
    func explainScan(_ query: EventQuery) async throws -> String {
        let q = query.clampedToRepresentableTimes
        let given = hashed(q.conditions)
        let conditions = given.isEmpty
            ? [HashedCondition(key: Int16(LookupKey.all.rawValue), hashes: [fingerprint(LookupKey.all.rawValue, "")], multiValued: false)] : given
        let plan = try await plan(q, conditions)
        let explained = Self.scanQuery(q, plan, hash: plan.driver.hashes[0], exclusion: hashed(q.excluding), limit: q.limit + 1, prefix: "EXPLAIN ")
        return try await rows(explained).map { try $0.decode(String.self) }.joined(separator: "\n")
    }

    /// The events at `positions` (the account's sequence numbers), in that order.
    func fetchEvents(accountId: Int64, _ positions: [PagePosition]) async throws -> [StoredEvent] {
        guard !positions.isEmpty else { return [] }
        var bySeq: [Int64: StoredEvent] = [:]
        for (seq, eventId, time, record) in try await execute(PostgresStatements.Fetch(account: accountId, times: positions.map(\.eventTime),
                                                                                       seqs: positions.map(\.position))) {
            bySeq[seq] = StoredEvent(accountId: accountId, sequence: seq, eventId: String(buffer: eventId), eventTime: time, position: seq,
                                     record: Array(record.readableBytesView))
        }
        return positions.compactMap { bySeq[$0.position] }
    }

    // MARK: Events by sequence

    public func events(accountId: Int64, afterSequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await rows("""
            SELECT seq, event_id, event_time, record FROM events WHERE account_id = \(accountId) AND seq > \(afterSequence)
            ORDER BY seq LIMIT \(Int64(max(0, limit)))
            """).map { row in
            let (seq, eventId, time, record) = try row.decode((Int64, ByteBuffer, Int64, Data).self)
            return StoredEvent(accountId: accountId, sequence: seq, eventId: String(buffer: eventId), eventTime: time, position: seq, record: Array(record))
        }
    }

    public func lastSequence(accountId: Int64) async throws -> Int64 {
        try await rows("SELECT next_seq - 1 FROM accounts WHERE id = \(accountId)").first?.decode(Int64.self) ?? 0
    }

    // MARK: Summaries

    /// Whole hours from `hourly_counts`, the partial hours at either end from the posting lists; then
    /// the value of each leading fingerprint read from one of its events.
    public func topValues(accountId: Int64, key: LookupKey, startTime: Int64, endTime: Int64, limit: Int) async throws -> [ValueCount] {
        guard key.recordPath != nil, key.keepsHourlyCounts, startTime <= endTime, limit > 0 else { return [] }
        let (start, end) = (UTCTime.clamped(startTime), UTCTime.clamped(endTime))
        let k = Int16(key.rawValue)
        let whole = TimeBuckets.wholeHours(start, end)
        let hours = whole ?? 0..<0
        let head = whole.map { (start, $0.lowerBound - 1) } ?? (start, end)
        let tail = whole.map { ($0.upperBound, end) } ?? (1, 0)
        var counts: [Int64: Int] = [:]
        for row in try await rows("""
            SELECT value_hash, sum(n)::bigint FROM (
                SELECT value_hash, count AS n FROM hourly_counts
                WHERE account_id = \(accountId) AND key = \(k) AND hour >= \(hours.lowerBound) AND hour < \(hours.upperBound)
                UNION ALL
                SELECT value_hash, 1 FROM postings WHERE account_id = \(accountId) AND key = \(k)
                AND (event_time BETWEEN \(head.0) AND \(head.1) OR event_time BETWEEN \(tail.0) AND \(tail.1))
            ) c GROUP BY value_hash
            """) {
            let (hash, n) = try row.decode((Int64, Int64).self)
            counts[hash] = Int(n)
        }
        let candidates = ValueCount.candidates(counts, limit: limit)
        guard !candidates.isEmpty else { return [] }
        // One event of each candidate, then its value read from the record.
        var named: [String: Int] = [:]
        for row in try await rows("""
            SELECT c.hash, e.record FROM UNNEST(\(candidates.map(\.key))::bigint[]) AS c(hash)
            CROSS JOIN LATERAL (SELECT event_time, seq FROM postings WHERE account_id = \(accountId) AND key = \(k) AND value_hash = c.hash
                                AND event_time BETWEEN \(start) AND \(end) LIMIT 1) p
            JOIN events e ON e.account_id = \(accountId) AND e.event_time = p.event_time AND e.seq = p.seq
            """) {
            let (hash, record) = try row.decode((Int64, Data).self)
            if let parsed = try? JSONParser.parse(Array(record)), let value = key.value(in: parsed), fingerprint(key.rawValue, value) == hash {
                named[value] = counts[hash]
            }
        }
        return ValueCount.ranked(named, limit: limit)
    }
}
