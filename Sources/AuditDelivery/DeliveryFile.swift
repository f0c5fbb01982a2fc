import AuditModel
import AuditStore
import Foundation

/// One delivered file: its object key and content (see docs/contract.md, "Delivery").
public struct DeliveryFile: Sendable {
    public var key: String
    /// One stored record per line, `\n`-terminated (before compression).
    public var lines: [UInt8]
    public var body: [UInt8]
    public var eventCount: Int
    public var firstSequence: Int64
    public var lastSequence: Int64

    /// `<prefix>/<YYYYMMDDHH>/<AccountId>_CloudAudit_<Region>_<YYYYMMDDTHHmmssZ>_<TrackId>_<FirstSeq>.json[.gz]`
    public static func key(track: Track, accountId: Int64, keyTime: Int64, firstSequence: Int64) -> String {
        let c = utcComponents(keyTime)
        let hour = String(format: "%04d%02d%02d%02d", c.year, c.month, c.day, c.hour)
        let stamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year, c.month, c.day, c.hour, c.minute, c.second)
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
        return DeliveryFile(key: key(track: track, accountId: accountId, keyTime: keyTime, firstSequence: first), lines: lines,
                            body: track.storage.compress ? Gzip.compress(lines, level: gzipLevel) : lines, eventCount: events.count,
                            firstSequence: first, lastSequence: events.last?.sequence ?? 0)
    }

    public var contentType: String { key.hasSuffix(".gz") ? "application/gzip" : "application/x-ndjson" }

    struct UTC {
        var year, month, day, hour, minute, second: Int
    }

    /// Civil date from Unix seconds (UTC), without a calendar object.
    static func utcComponents(_ t: Int64) -> UTC {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = Int(t - days * 86400)
        // Howard Hinnant's days_from_civil inverse.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return UTC(year: Int(y), month: Int(m), day: Int(d), hour: secs / 3600, minute: secs % 3600 / 60, second: secs % 60)
    }
}
