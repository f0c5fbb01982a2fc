import AuditIntegrity
import AuditModel
import AuditObjectStorage
import AuditStore
import Crypto
import Foundation

/// One delivered file: its object key and content (see docs/contract.md, "Delivery").
public struct DeliveryFile: Sendable {
    public var key: String
    /// One stored record per line, `\n`-terminated; gzip-compressed when the set asks for it.
    public var body: [UInt8]
    public var eventCount: Int
    public var firstSequence: Int64
    public var lastSequence: Int64
    /// What the set's digest lists for it; `objectSHA256` is that of `body` (set again if it is encrypted).
    public var entry: DigestFile.LogFile

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
        let key = key(track: track, accountId: accountId, keyTime: keyTime, firstSequence: first)
        let body = track.storage.compress ? Gzip.compress(lines, level: gzipLevel) : lines
        var runs: [ClosedRange<Int64>] = []
        for e in events {
            if let last = runs.last, last.upperBound + 1 == e.sequence { runs[runs.count - 1] = last.lowerBound...e.sequence } else { runs.append(e.sequence...e.sequence) }
        }
        let entry = DigestFile.LogFile(key: key, sha256: Array(SHA256.hash(data: lines)), objectSHA256: Array(SHA256.hash(data: body)),
                                       events: events.count, firstEventTime: events.map(\.eventTime).min() ?? 0,
                                       lastEventTime: events.map(\.eventTime).max() ?? 0, sequences: runs)
        return DeliveryFile(key: key, body: body, eventCount: events.count, firstSequence: first, lastSequence: events.last?.sequence ?? 0, entry: entry)
    }

    /// The file as the set's master key seals it (docs/integrity.md, "Envelope encryption"): `.enc` is
    /// appended to the key, and the digest entry keeps the plaintext's hash beside the object's.
    public mutating func encrypt(with vault: KeyVault, keyId: String, accountId: Int64) async throws {
        body = try await vault.encrypt(body, keyId: keyId, accountId: accountId)
        key += ".enc"
        entry.key = key
        entry.objectSHA256 = Array(SHA256.hash(data: body))
    }

    public var contentType: String {
        key.hasSuffix(".enc") ? "application/octet-stream" : key.hasSuffix(".gz") ? "application/gzip" : "application/x-ndjson"
    }
}
