import AuditModel

/// The days and hours that stores group events by (UTC, Unix seconds), the same in every backend.
public enum TimeBuckets {
    /// The day of a Unix time (days since 1970-01-01, negative before).
    public static func day(_ t: Int64) -> Int64 { t >= 0 ? t / 86400 : (t - 86399) / 86400 }

    /// The start of the clock hour holding `t`.
    public static func hour(_ t: Int64) -> Int64 { t - ((t % 3600) + 3600) % 3600 }

    /// The whole clock hours inside [start, end] as [first hour's start, last hour's end), or nil if none.
    /// `end` must be below Int64.max (queries are clamped to `UTCTime.representable` first).
    public static func wholeHours(_ start: Int64, _ end: Int64) -> Range<Int64>? {
        let firstHour = start % 3600 == 0 ? start : hour(start) + 3600
        let lastHourEnd = hour(end + 1)
        return firstHour < lastHourEnd ? firstHour..<lastHourEnd : nil
    }
}

extension ValueFingerprint {
    /// The (key, fingerprint) pairs an event is listed under, each pair once even if the record repeats
    /// a value (the key is part of the fingerprint).
    public func postings(of e: AuditEvent) -> [(key: Int, hash: Int64)] {
        var seen = Set<Int64>()
        var out: [(key: Int, hash: Int64)] = []
        out.reserveCapacity(e.postings.count)
        for p in e.postings {
            let h = self(p.key.rawValue, p.value)
            guard seen.insert(h).inserted else { continue }
            out.append((p.key.rawValue, h))
        }
        return out
    }
}
