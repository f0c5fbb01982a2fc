import AuditModel
import AuditStore
import Foundation

/// One delivered file: its object key and content (see docs/contract.md, "Delivery").
public struct DeliveryFile: Sendable {
    public var key: String
    /// One stored record per line, `\n`-terminated; gzip-compressed when the set asks for it.
    public var body: [UInt8]
    public var eventCount: Int
    public var firstSequence: Int64
    public var lastSequence: Int64

    /// `<prefix>/<YYYYMMDDHH>/<AccountId>_CloudAudit_<Region>_<YYYYMMDDTHHmmssZ>_<TrackId>_<FirstSeq>.json[.gz]`
    public static func key(track: Track, accountId: Int64, keyTime: Int64, firstSequence: Int64) -> String {
        let t = UTCTime(keyTime)
        let hour = t.compactHour, stamp = t.basicTimestamp
        let ext = track.storage.compress ? "json.gz" : "json"
        return "\(track.storage.prefix)/\(hour)/\(accountId)_CloudAudit_\(track.storage.region)_\(stamp)_\(track.id)_\(firstSequence).\(ext)"
    }

    public static func build(track: Track, accountId: Int64, keyTime: Int64, events: [StoredEvent], gzipLevel: Int = 6) -> DeliveryFile {
        var lines: [UInt8] = []
        lines.reserveCapacity(events.reduce(0) { $0 + $1.record.count + 1 })
        for e in events {
            lines.append(contentsOf: e.record)
            lines.append(0x0A)
        }
        let first = events.first?.sequence ?? 0
        return DeliveryFile(key: key(track: track, accountId: accountId, keyTime: keyTime, firstSequence: first),
                            body: track.storage.compress ? Gzip.compress(lines, level: gzipLevel) : lines, eventCount: events.count,
                            firstSequence: first, lastSequence: events.last?.sequence ?? 0)
    }

    public var contentType: String { key.hasSuffix(".gz") ? "application/gzip" : "application/x-ndjson" }
}
