import Foundation
import NIOCore
import PostgresNIO

/// The statements every lookup runs, prepared once per connection and planned once: the store's
/// connections use `plan_cache_mode = force_generic_plan`, so a prepared statement keeps one generic
/// plan and PostgreSQL prunes the day partitions when it executes it. (Planning a query over a month of
/// partitions took 1-1.5 ms each time, more than running it; three such queries made most of a lookup.)
enum PostgresStatements {
    /// One driver value's events, newest first, strictly before (afterTime, afterSeq): the scan without
    /// filters, exclusions or snapshot (those are built per query).
    struct Scan: PostgresPreparedStatement {
        static let sql = """
            SELECT p.event_time, p.seq FROM postings p WHERE p.account_id = $1 AND p.key = $2 AND p.value_hash = $3 AND p.event_time >= $4
            AND p.event_time <= $5 AND (p.event_time, p.seq) < ($6, $7) ORDER BY p.event_time DESC, p.seq DESC LIMIT $8
            """
        typealias Row = (Int64, Int64)
        var account: Int64, key: Int16, hash: Int64, start: Int64, end: Int64, afterTime: Int64, afterSeq: Int64, limit: Int64

        func makeBindings() -> PostgresBindings {
            var b = PostgresBindings(capacity: 8)
            b.append(account); b.append(key); b.append(hash); b.append(start); b.append(end); b.append(afterTime); b.append(afterSeq); b.append(limit)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// The events with any of the values in [start, end]: whole hours from `hourly_counts`, the partial
    /// hours at either end from the posting lists (empty ranges have start > end).
    struct Count: PostgresPreparedStatement {
        static let sql = """
            SELECT (SELECT COALESCE(sum(count), 0) FROM hourly_counts
                    WHERE account_id = $1 AND key = $2 AND value_hash = ANY($3) AND hour >= $4 AND hour < $5)::bigint
                 + (SELECT count(*) FROM postings WHERE account_id = $1 AND key = $2 AND value_hash = ANY($3) AND event_time BETWEEN $6 AND $7)
                 + (SELECT count(*) FROM postings WHERE account_id = $1 AND key = $2 AND value_hash = ANY($3) AND event_time BETWEEN $8 AND $9)
            """
        typealias Row = Int64
        var account: Int64, key: Int16, hashes: [Int64], hourFrom: Int64, hourTo: Int64, headFrom: Int64, headTo: Int64, tailFrom: Int64, tailTo: Int64

        func makeBindings() -> PostgresBindings {
            var b = PostgresBindings(capacity: 9)
            b.append(account); b.append(key); b.append(hashes); b.append(hourFrom); b.append(hourTo)
            b.append(headFrom); b.append(headTo); b.append(tailFrom); b.append(tailTo)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// The events of a page, by their exact (time, sequence): one index probe each, in the one day
    /// partition its time prunes to. (The form `event_time BETWEEN first AND last AND seq = ANY(...)`
    /// read every event of every day in between under a generic plan: 80 ms for a page spanning a month.)
    struct Fetch: PostgresPreparedStatement {
        static let sql = """
            SELECT e.seq, e.event_id, e.event_time, e.record FROM UNNEST($2::bigint[], $3::bigint[]) AS k(t, s)
            JOIN events e ON e.account_id = $1 AND e.event_time = k.t AND e.seq = k.s
            """
        typealias Row = (Int64, ByteBuffer, Int64, ByteBuffer)
        var account: Int64, times: [Int64], seqs: [Int64]

        func makeBindings() -> PostgresBindings {
            var b = PostgresBindings(capacity: 3)
            b.append(account); b.append(times); b.append(seqs)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }
}

extension PostgresStore {
    /// Every row of a prepared statement, on a connection of the pool (as `rows`).
    func execute<S: PostgresPreparedStatement>(_ statement: S) async throws -> [S.Row] where S.Row: Sendable {
        let logger = self.logger
        return try await leased { c in
            var out: [S.Row] = []
            for try await row in try await c.execute(statement, logger: logger) { out.append(row) }
            return out
        }
    }
}
