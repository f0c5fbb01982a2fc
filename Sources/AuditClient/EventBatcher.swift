/// Packs raw event records into `PutEvents` request bodies.
///
/// Each record is a JSON object already serialised by the producer; its bytes go into the body
/// unchanged (`{"Events":[r1,r2,...]}`), so the server stores exactly what was produced. A batch holds
/// at most `maxRecords` records and its whole body is at most `maxBytes` bytes, the server's limits
/// (1000 records, 5 MiB).
///
/// The batcher does not parse records: a record that is not valid JSON makes the server refuse the whole
/// body (`InvalidParameter`), so callers that take input from people should check records first.
/// A record too large to fit any batch on its own (see ``fits(_:)``) is still emitted, alone, and the
/// server will refuse it with `RequestSizeLimitExceeded`; callers usually reject it locally instead.
///
/// Streaming use:
/// ```swift
/// var batcher = EventBatcher()
/// for record in records { if let full = batcher.add(record) { try await send(full) } }
/// if let last = batcher.finish() { try await send(last) }
/// ```
public struct EventBatcher: Sendable {
    public static let defaultMaxRecords = 1000
    public static let defaultMaxBytes = 5 * 1024 * 1024

    static let prefix = Array(#"{"Events":["#.utf8)
    static let suffix = Array("]}".utf8)

    /// One request body and the tags of the records it carries, in body order: `tags[i]` belongs to
    /// the record at `Events[i]`, i.e. to `FailedEvents` entries with `Index == i`.
    public struct Batch: Sendable {
        public var body: [UInt8]
        public var tags: [Int]
        public var count: Int { tags.count }
    }

    public let maxRecords: Int
    public let maxBytes: Int

    private var body: [UInt8] = []
    private var tags: [Int] = []
    private var nextTag = 0

    /// - Parameters:
    ///   - maxRecords: records per batch, clamped to at least 1.
    ///   - maxBytes: bytes per body (envelope included), clamped to at least the empty envelope + 1.
    public init(maxRecords: Int = EventBatcher.defaultMaxRecords, maxBytes: Int = EventBatcher.defaultMaxBytes) {
        self.maxRecords = max(1, maxRecords)
        self.maxBytes = max(Self.prefix.count + Self.suffix.count + 1, maxBytes)
    }

    /// Whether `record` can travel in a body of at most `maxBytes` (alone, at worst).
    public func fits(_ record: [UInt8]) -> Bool {
        Self.prefix.count + record.count + Self.suffix.count <= maxBytes
    }

    /// The records waiting for the next batch.
    public var pendingCount: Int { tags.count }

    /// Adds `record`, tagged with `tag` (default: its position among all records added so far).
    ///
    /// - Returns: the batch that was full *before* this record was added, if any; the record itself
    ///   starts or joins the pending batch.
    public mutating func add(_ record: [UInt8], tag: Int? = nil) -> Batch? {
        let tag = tag ?? nextTag
        nextTag += 1
        var flushed: Batch?
        if !tags.isEmpty {
            // Current body (still without its suffix) + "," + record + "]}".
            let needed = body.count + 1 + record.count + Self.suffix.count
            if tags.count >= maxRecords || needed > maxBytes {
                flushed = finish()
            }
        }
        if tags.isEmpty {
            body.reserveCapacity(min(maxBytes, Self.prefix.count + record.count * min(maxRecords, 1000) + Self.suffix.count))
            body.append(contentsOf: Self.prefix)
        } else {
            body.append(UInt8(ascii: ","))
        }
        body.append(contentsOf: record)
        tags.append(tag)
        return flushed
    }

    /// The pending records as a batch (nil when there are none); the batcher is empty afterwards.
    public mutating func finish() -> Batch? {
        guard !tags.isEmpty else { return nil }
        body.append(contentsOf: Self.suffix)
        let batch = Batch(body: body, tags: tags)
        body = []
        tags = []
        return batch
    }

    /// All of `records` as batches, tagged with their positions in the sequence.
    public static func batches<S: Sequence>(_ records: S, maxRecords: Int = defaultMaxRecords,
                                            maxBytes: Int = defaultMaxBytes) -> [Batch] where S.Element == [UInt8] {
        var batcher = EventBatcher(maxRecords: maxRecords, maxBytes: maxBytes)
        var out: [Batch] = []
        for r in records { if let b = batcher.add(r) { out.append(b) } }
        if let b = batcher.finish() { out.append(b) }
        return out
    }
}
