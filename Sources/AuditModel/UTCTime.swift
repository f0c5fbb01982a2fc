/// UTC calendar fields of a Unix time without Calendar or DateFormatter (hot paths: signing, keys).
public struct UTCTime: Sendable, Equatable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    public init(_ t: Int64) {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = Int(t - days * 86400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        year = Int(yoe + era * 400 + (m <= 2 ? 1 : 0))
        month = Int(m)
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        hour = secs / 3600
        minute = secs % 3600 / 60
        second = secs % 60
    }

    static func pad(_ v: Int, _ n: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, n - s.count)) + s
    }

    /// `YYYY-MM-DD`
    public var isoDate: String { "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))" }
    /// `YYYY-MM-DD HH:MM:SS` (the API's CreateTime)
    public var dateTime: String { isoDate + " " + Self.pad(hour, 2) + ":" + Self.pad(minute, 2) + ":" + Self.pad(second, 2) }
    /// `YYYYMMDD`
    public var compactDate: String { Self.pad(year, 4) + Self.pad(month, 2) + Self.pad(day, 2) }
    /// `HHMMSS`
    public var compactTime: String { Self.pad(hour, 2) + Self.pad(minute, 2) + Self.pad(second, 2) }
    /// `YYYYMMDDTHHMMSSZ` (ISO 8601 basic, as S3 and delivery keys use)
    public var basicTimestamp: String { compactDate + "T" + compactTime + "Z" }
    /// `YYYYMMDDHH`
    public var compactHour: String { compactDate + Self.pad(hour, 2) }
}
