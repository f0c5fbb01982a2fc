/// UTC calendar fields of a Unix time without Calendar or DateFormatter (hot paths: signing, keys).
public struct UTCTime: Sendable, Equatable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    /// The times this type represents: 0001-01-01T00:00:00Z through 9999-12-31T23:59:59Z. A time outside
    /// is clamped to the nearer end, so that no input (a client's timestamp, a file's field) can make
    /// the calendar arithmetic below overflow.
    public static let representable: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// `time` moved to the nearer end of `representable` when outside it.
    public static func clamped(_ time: Int64) -> Int64 { min(max(time, representable.lowerBound), representable.upperBound) }

    public init(_ time: Int64) {
        let t = Self.clamped(time)
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

    /// The Unix time of `YYYYMMDDTHHmmssZ` (the inverse of `basicTimestamp`); nil unless it is a real,
    /// canonical time (no February 30, no missing digit).
    public static func parseBasicTimestamp<S: StringProtocol>(_ text: S) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in r {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0..<4), let m = num(4..<6), let d = num(6..<8), let hh = num(9..<11), let mm = num(11..<13), let ss = num(13..<15),
              (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 60 else { return nil }
        // Howard Hinnant's days_from_civil, the inverse of `init`.
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let t = (era * 146_097 + doe - 719_468) * 86400 + hh * 3600 + mm * 60 + ss
        return UTCTime(t).basicTimestamp == String(decoding: b, as: UTF8.self) ? t : nil
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
