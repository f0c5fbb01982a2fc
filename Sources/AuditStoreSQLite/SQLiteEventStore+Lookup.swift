import AuditModel
import AuditStore
import Foundation
import GRDB

extension SQLiteEventStore {
    /// One condition with its values as fingerprints.
    struct HashedCondition {
        var key: Int
        var hashes: [Int64]
        var multiValued: Bool
    }

    public func lookup(_ query: EventQuery) async throws -> EventPage {
        let q = query.clampedToRepresentableTimes
        let hashed = { (conditions: [LookupCondition]) in
            conditions.map { c in
                HashedCondition(key: c.key.rawValue, hashes: Array(Set(c.values.map { self.fingerprint(c.key.rawValue, $0) })).sorted(),
                                multiValued: c.key.isMultiValued)
            }
        }
        let given = hashed(q.conditions)
        let conditionList = given.isEmpty
            ? [HashedCondition(key: LookupKey.all.rawValue, hashes: [fingerprint(LookupKey.all.rawValue, "")], multiValued: false)] : given
        let exclusion = hashed(q.excluding)
        return try await pool.read { db in
            let conditions = conditionList
            // Every loop below walks days: only the days that hold events of the account, whatever the range.
            guard let days = try Self.days(db, q.accountId, q.startTime, q.endTime) else {
                return EventPage(events: [], listOver: true, totalCount: q.includeTotalCount ? 0 : nil)
            }
            let snapshot = try q.throughSequence.map { try Snapshot(db, q, through: $0) }
            // Drive the scan with the condition that matches the fewest events; check the others per row.
            let plan = try Plan(db, q, conditions, days: days)
            let positions = try Self.scan(db, q, driver: plan.driver, filters: plan.filters, exclusion: exclusion,
                                          maxPosition: snapshot?.maxPosition, limit: q.limit + 1, days: days)
            let listOver = positions.count <= q.limit
            let page = Array(positions.prefix(q.limit))
            let events = try Self.fetchEvents(db, page.map(\.position))

            var total: Int?
            if q.includeTotalCount {
                // The events excluded are counted as the events of the query that also match the
                // exclusion, and taken away: two counts that use the hourly counts where they can.
                total = try plan.count(db, q, days: days, snapshot: snapshot)
                if !exclusion.isEmpty {
                    let both = try Plan(db, q, given + exclusion, days: days)
                    total! -= try both.count(db, q, days: days, snapshot: snapshot)
                }
            }
            return EventPage(events: events, listOver: listOver, totalCount: total)
        }
    }

    /// How one set of conditions is read: the driver (the condition that matches the fewest events, by
    /// the counts) walks its posting list, the others are checked per row.
    struct Plan {
        var conditions: [HashedCondition]
        var driver: HashedCondition
        var filters: [HashedCondition]
        /// The driver's count, which is the answer when there is no filter.
        var driverCount: Int

        init(_ db: Database, _ q: EventQuery, _ conditions: [HashedCondition], days: ClosedRange<Int64>) throws {
            let estimates = try conditions.map { c in
                try c.hashes.reduce(0) { $0 + (try SQLiteEventStore.count(db, q.accountId, c.key, $1, q.startTime, q.endTime, days: days)) }
            }
            let order = conditions.indices.sorted { estimates[$0] < estimates[$1] }
            self.conditions = conditions
            driver = conditions[order[0]]
            filters = order.dropFirst().map { conditions[$0] }
            driverCount = estimates[order[0]]
        }

        /// The events of [q.startTime, q.endTime] that match every condition, up to the snapshot if given.
        func count(_ db: Database, _ q: EventQuery, days: ClosedRange<Int64>, snapshot: Snapshot?) throws -> Int {
            let exactNeeded = !filters.isEmpty || (driver.multiValued && driver.hashes.count > 1)
            guard let snapshot else {
                return exactNeeded ? try SQLiteEventStore.exactCount(db, q, driver: driver, filters: filters, days: days) : driverCount
            }
            guard let late = snapshot.late else {
                // Too many events since the snapshot to take them away one by one: count up to it.
                return try SQLiteEventStore.exactCount(db, q, driver: driver, filters: filters, days: days, maxPosition: snapshot.maxPosition)
            }
            let now = exactNeeded ? try SQLiteEventStore.exactCount(db, q, driver: driver, filters: filters, days: days) : driverCount
            return try now - late.filter { try SQLiteEventStore.matches(db, q.accountId, $0, conditions) }.count
        }
    }

    /// Where a query's `throughSequence` ends in the store: the position of the account's last event
    /// up to it (an account's positions rise with its sequence numbers: both are given in commit
    /// order by the one writer), and the events stored after it that fall in the query's range.
    struct Snapshot {
        var maxPosition: Int64
        /// Nil when more than `lateLimit` events came after: then counts are taken up to the position.
        var late: [PagePosition]?
        static let lateLimit = 5000

        init(_ db: Database, _ q: EventQuery, through sequence: Int64) throws {
            maxPosition = try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT id FROM events WHERE account_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1
                """), arguments: [q.accountId, sequence]) ?? 0
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT id, event_time FROM events WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?
                """), arguments: [q.accountId, sequence, Self.lateLimit + 1])
            late = rows.count > Self.lateLimit ? nil : rows.compactMap { row in
                let time: Int64 = row[1]
                return (q.startTime...q.endTime).contains(time) ? PagePosition(eventTime: time, position: row[0]) : nil
            }
        }
    }

    /// Whether the event at `at` is listed under every condition.
    static func matches(_ db: Database, _ account: Int64, _ at: PagePosition, _ conditions: [HashedCondition]) throws -> Bool {
        for c in conditions {
            let marks = Array(repeating: "?", count: c.hashes.count).joined(separator: ",")
            var args: [DatabaseValueConvertible] = [account, c.key, day(at.eventTime), at.eventTime, at.position]
            args.append(contentsOf: c.hashes.map { $0 as DatabaseValueConvertible })
            let found = try Bool.fetchOne(db.cachedStatement(sql: """
                SELECT 1 FROM postings WHERE account_id = ? AND key = ? AND day = ? AND event_time = ? AND pos = ? AND value_hash IN (\(marks)) LIMIT 1
                """), arguments: StatementArguments(args)) ?? false
            if !found { return false }
        }
        return true
    }

    /// The days of [start, end] that can hold events of the account: the range cut to the first and last
    /// day of its posting list of every event (two index seeks), or nil when none can. Every walk over
    /// days uses it, so the work of a query is bounded by the days of data, not by the numbers asked for.
    static func days(_ db: Database, _ account: Int64, _ start: Int64, _ end: Int64) throws -> ClosedRange<Int64>? {
        guard start <= end else { return nil }
        let edge = "SELECT day FROM postings WHERE account_id = ? AND key = ? ORDER BY day %@ LIMIT 1"
        guard let first = try Int64.fetchOne(db.cachedStatement(sql: edge.replacingOccurrences(of: "%@", with: "ASC")),
                                             arguments: [account, LookupKey.all.rawValue]),
              let last = try Int64.fetchOne(db.cachedStatement(sql: edge.replacingOccurrences(of: "%@", with: "DESC")),
                                            arguments: [account, LookupKey.all.rawValue]) else { return nil }
        let from = max(day(start), first), through = min(day(end), last)
        return from <= through ? from...through : nil
    }

    /// The number of events with (key, value) in [start, end]: whole hours from `hourly_counts`, the
    /// partial hours at either end from the posting list. Posting lists are read on `days` only.
    static func count(_ db: Database, _ account: Int64, _ key: Int, _ hash: Int64, _ start: Int64, _ end: Int64,
                      days: ClosedRange<Int64>) throws -> Int {
        guard start <= end else { return 0 }
        /// Postings of the value in [from, to]; with `cap`, nil as soon as there are `cap` of them.
        func postings(_ from: Int64, _ to: Int64, cap: Int? = nil) throws -> Int? {
            guard from <= to else { return 0 }
            let statement = try db.cachedStatement(sql: """
                SELECT COUNT(*) FROM (SELECT 1 FROM postings WHERE account_id = ? AND key = ? AND day = ? AND value_hash = ?
                                      AND event_time BETWEEN ? AND ? LIMIT ?)
                """)
            var n = 0
            let (first, last) = (max(Self.day(from), days.lowerBound), min(Self.day(to), days.upperBound))
            guard first <= last else { return 0 }
            for d in first...last {
                let limit = cap.map { $0 - n } ?? -1
                n += try Int.fetchOne(statement, arguments: [account, key, d, hash, from, to, limit]) ?? 0
                if let cap, n >= cap { return nil }
            }
            return n
        }
        guard LookupKey(rawValue: key)?.keepsHourlyCounts == true, let whole = wholeHours(start, end) else {
            return try postings(start, end)!
        }
        let (firstHour, lastHourEnd) = (whole.lowerBound, whole.upperBound)
        func hours(_ from: Int64, _ to: Int64) throws -> Int {
            try Int.fetchOne(db.cachedStatement(sql: """
                SELECT COALESCE(SUM(count), 0) FROM hourly_counts WHERE account_id = ? AND key = ? AND value_hash = ? AND hour >= ? AND hour < ?
                """), arguments: [account, key, hash, from, to]) ?? 0
        }
        // A partial hour is counted from the posting list on whichever side of the range's edge holds
        // fewer events: the part inside the range, or the whole hour's count minus the part outside
        // (a range ending a few minutes ago, while the current hour fills up, has most of it outside).
        func partial(hour: Int64, inside: ClosedRange<Int64>) throws -> Int {
            let cap = 2000
            if let n = try postings(inside.lowerBound, inside.upperBound, cap: cap) { return n }
            if let before = try postings(hour, inside.lowerBound - 1, cap: cap), let after = try postings(inside.upperBound + 1, hour + 3599, cap: cap) {
                return try hours(hour, hour + 3600) - before - after
            }
            return try postings(inside.lowerBound, inside.upperBound)!
        }
        let middle = try hours(firstHour, lastHourEnd)
        let head = firstHour > start ? try partial(hour: firstHour - 3600, inside: start...(firstHour - 1)) : 0
        let tail = lastHourEnd <= end ? try partial(hour: lastHourEnd, inside: lastHourEnd...end) : 0
        return middle + head + tail
    }

    static func wholeHours(_ start: Int64, _ end: Int64) -> Range<Int64>? { TimeBuckets.wholeHours(start, end) }

    /// SQL that keeps a driver row only if every filter condition also lists the event, and not if every
    /// exclusion condition does; with `maxPosition`, only rows at or before it.
    static func filterSQL(_ filters: [HashedCondition], exclusion: [HashedCondition] = [], maxPosition: Int64? = nil)
        -> (String, [DatabaseValueConvertible]) {
        var args: [DatabaseValueConvertible] = []
        func listed(_ c: HashedCondition) -> String {
            let marks = Array(repeating: "?", count: c.hashes.count).joined(separator: ",")
            args.append(c.key)
            args.append(contentsOf: c.hashes.map { $0 as DatabaseValueConvertible })
            return "EXISTS (SELECT 1 FROM postings f WHERE f.account_id = p.account_id AND f.key = ? AND f.day = p.day AND f.value_hash IN (\(marks)) AND f.event_time = p.event_time AND f.pos = p.pos)"
        }
        var sql = filters.map { " AND " + listed($0) }.joined()
        if !exclusion.isEmpty { sql += " AND NOT (" + exclusion.map(listed).joined(separator: " AND ") + ")" }
        if let maxPosition {
            sql += " AND p.pos <= ?"
            args.append(maxPosition)
        }
        return (sql, args)
    }

    /// Positions of matching events, newest first, strictly after `q.after`: one ordered index range
    /// scan per driver value, merged.
    static func scan(_ db: Database, _ q: EventQuery, driver: HashedCondition, filters: [HashedCondition], exclusion: [HashedCondition],
                     maxPosition: Int64?, limit: Int, days: ClosedRange<Int64>) throws -> [PagePosition] {
        let (filter, filterArgs) = filterSQL(filters, exclusion: exclusion, maxPosition: maxPosition)
        // (endTime is at most UTCTime.representable's end, so + 1 cannot overflow.)
        let after = q.after ?? PagePosition(eventTime: q.endTime + 1, position: 0)
        let sql = """
            SELECT event_time, pos FROM postings p
            WHERE account_id = ? AND key = ? AND day = ? AND value_hash = ? AND event_time >= ? AND event_time <= ? AND (event_time, pos) < (?, ?)\(filter)
            ORDER BY event_time DESC, pos DESC
            """
        let lastDay = min(day(min(q.endTime, after.eventTime)), days.upperBound)
        let firstDay = max(day(q.startTime), days.lowerBound)
        // One ordered stream per value of the driver, walking the days from the newest.
        var cursors: [DayWalk] = []
        for hash in driver.hashes {
            var args: [DatabaseValueConvertible] = [q.accountId, driver.key, 0, hash, q.startTime, q.endTime, after.eventTime, after.position]
            args.append(contentsOf: filterArgs)
            cursors.append(DayWalk(statement: try db.makeStatement(sql: sql), arguments: args, dayIndex: 2, from: lastDay, through: firstDay))
        }
        // k-way merge of the per-value cursors (k is small: the values of one condition).
        var heads: [PagePosition?] = try cursors.map { try $0.next() }
        var out: [PagePosition] = []
        while out.count < limit {
            var best: Int?
            for (i, h) in heads.enumerated() {
                guard let h else { continue }
                if best == nil || h < heads[best!]! { best = i }
            }
            guard let b = best else { break }
            let next = heads[b]!
            if out.last != next { out.append(next) }
            heads[b] = try cursors[b].next()
        }
        return out
    }


    static func exactCount(_ db: Database, _ q: EventQuery, driver: HashedCondition, filters: [HashedCondition], days: ClosedRange<Int64>,
                           maxPosition: Int64? = nil) throws -> Int {
        let (filter, filterArgs) = filterSQL(filters, maxPosition: maxPosition)
        let marks = Array(repeating: "?", count: driver.hashes.count).joined(separator: ",")
        var args: [DatabaseValueConvertible] = [q.accountId, driver.key]
        args.append(contentsOf: driver.hashes.map { $0 as DatabaseValueConvertible })
        args.append(contentsOf: [q.startTime, q.endTime] as [DatabaseValueConvertible])
        args.append(contentsOf: filterArgs)
        let statement = try db.makeStatement(sql: """
            SELECT COUNT(DISTINCT pos) FROM postings p
            WHERE account_id = ? AND key = ? AND day = ? AND value_hash IN (\(marks)) AND event_time BETWEEN ? AND ?\(filter)
            """)
        args.insert(0, at: 2)
        var n = 0
        for d in days {
            args[2] = d
            n += try Int.fetchOne(statement, arguments: StatementArguments(args)) ?? 0
        }
        return n
    }

    /// Rows of one posting list over a range of days, newest day first: the same statement run once
    /// per day (argument `dayIndex` set to the day).
    final class DayWalk {
        let statement: Statement
        var arguments: [DatabaseValueConvertible]
        let dayIndex: Int
        var day: Int64
        let through: Int64
        var cursor: RowCursor?

        init(statement: Statement, arguments: [DatabaseValueConvertible], dayIndex: Int, from: Int64, through: Int64) {
            self.statement = statement
            self.arguments = arguments
            self.dayIndex = dayIndex
            self.day = from
            self.through = through
        }

        func next() throws -> PagePosition? {
            while true {
                if let c = cursor, let row = try c.next() { return PagePosition(eventTime: row[0], position: row[1]) }
                cursor = nil
                guard day >= through else { return nil }
                arguments[dayIndex] = day
                day -= 1
                cursor = try Row.fetchCursor(statement, arguments: StatementArguments(arguments))
            }
        }
    }

    static func fetchEvents(_ db: Database, _ positions: [Int64]) throws -> [StoredEvent] {
        guard !positions.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: positions.count).joined(separator: ",")
        var byId: [Int64: StoredEvent] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, account_id, seq, event_id, event_time, record FROM events WHERE id IN (\(marks))",
                                    arguments: StatementArguments(positions)) {
            let record: Data = row[5]
            let e = StoredEvent(accountId: row[1], sequence: row[2], eventId: Self.eventId(row[3]), eventTime: row[4], position: row[0], record: Array(record))
            byId[e.position] = e
        }
        return positions.compactMap { byId[$0] }
    }
}
