import AuditModel

/// The accounts' events: appended once, looked up, read in sequence order for delivery, removed by
/// retention, and the Merkle log over them (`MerkleLogStore`).
///
/// Contract (checked by the conformance suite):
/// - `append` returns only after the events are durable and visible to `lookup`; events of one call
///   are stored atomically (all or none); an (account, eventId) already present is not written again.
/// - Each account's sequence numbers are 1, 2, 3... without gaps, in append order, whatever number of
///   callers (or nodes) append at once; leaf `i` of the account's Merkle log is the event `i + 1`.
/// - `lookup` and `topValues` never return or count another account's events.
/// - `topValues` counts the events of [startTime, endTime] (inclusive) per value of a key that has one
///   value per event (`LookupKey.recordPath` non-nil), most frequent first, ties by value, at most
///   `limit`.
public protocol EventLog: MerkleLogStore {
    func append(_ events: [AuditEvent]) async throws -> [AppendOutcome]
    func lookup(_ query: EventQuery) async throws -> EventPage
    /// Drops the account's events with eventTime < `cutoff`; returns how many. Their Merkle leaves stay.
    func deleteEvents(accountId: Int64, olderThan cutoff: Int64) async throws -> Int
    /// Drops at once, for every account, the whole periods of storage (PostgreSQL's day partitions) that
    /// end at or before `cutoff`, which is at or before every account's own retention cutoff; makes the
    /// periods ahead of `now` ready. Returns how many events went. Backends without such periods do
    /// nothing (the default), and `deleteEvents` does the work.
    func dropWholePeriods(olderThan cutoff: Int64, now: Int64) async throws -> Int

    /// The account's events with sequence > `afterSequence`, ascending, at most `limit`.
    func events(accountId: Int64, afterSequence: Int64, limit: Int) async throws -> [StoredEvent]
    /// The account's last assigned sequence number (0 when it has none).
    func lastSequence(accountId: Int64) async throws -> Int64

    func topValues(accountId: Int64, key: LookupKey, startTime: Int64, endTime: Int64, limit: Int) async throws -> [ValueCount]

    /// Events per bucket of `query`'s range: `buckets` consecutive ranges of whole seconds covering
    /// [startTime, endTime] (the last one may be shorter), each counted like `lookup`'s `totalCount`.
    /// A default (one count per bucket) is below; a backend may answer in fewer round trips.
    func histogram(_ query: EventQuery, buckets: Int) async throws -> [(startTime: Int64, endTime: Int64, count: Int)]
}

extension EventLog {
    public func dropWholePeriods(olderThan cutoff: Int64, now: Int64) async throws -> Int { 0 }

    public func histogram(_ unclamped: EventQuery, buckets: Int) async throws -> [(startTime: Int64, endTime: Int64, count: Int)] {
        try await countPerBucket(unclamped, buckets: buckets)
    }

    /// The bucket width of a histogram of `query` (clamped) in `buckets` bars; nil when there are none.
    public static func bucketWidth(_ query: EventQuery, buckets: Int) -> Int64? {
        let span = query.endTime - query.startTime + 1
        guard span > 0, buckets > 0 else { return nil }
        return max(1, (span + Int64(buckets) - 1) / Int64(buckets))
    }

    /// The histogram as one `lookup` count per bucket (what every backend can do).
    public func countPerBucket(_ unclamped: EventQuery, buckets: Int) async throws -> [(startTime: Int64, endTime: Int64, count: Int)] {
        let query = unclamped.clampedToRepresentableTimes
        guard let width = Self.bucketWidth(query, buckets: buckets) else { return [] }
        var out: [(startTime: Int64, endTime: Int64, count: Int)] = []
        var start = query.startTime
        while start <= query.endTime {
            let end = min(query.endTime, start + width - 1)
            var q = query
            q.startTime = start
            q.endTime = end
            q.after = nil
            q.limit = 0
            q.includeTotalCount = true
            out.append((start, end, try await lookup(q).totalCount ?? 0))
            start = end + 1
        }
        return out
    }
}
