/// Cutting a client's text for a message or a bounded field. Lengths are Unicode scalars or UTF-8 bytes,
/// never Characters: one letter with 100,000 combining marks is one Character.
public enum TextClip {
    /// `s` cut to its first `max` Unicode scalars, with `marker` added when something was cut;
    /// `printable` also drops control characters (a quoted value must not break a message's line).
    public static func scalars(_ s: String, _ max: Int, marker: String = "…", printable: Bool = false) -> String {
        var out = String.UnicodeScalarView()
        var kept = 0
        for u in s.unicodeScalars where !printable || (u.value >= 0x20 && u.value != 0x7F) {
            if kept == max { return String(out) + marker }
            out.append(u)
            kept += 1
        }
        return String(out)
    }

    /// `s` cut at a Unicode scalar so that, with "…" added when something was cut, it is at most
    /// `maxBytes` bytes of UTF-8.
    public static func utf8(_ s: String, _ maxBytes: Int) -> String {
        guard s.utf8.count > maxBytes else { return s }
        var out = String.UnicodeScalarView()
        var bytes = 0
        for u in s.unicodeScalars {
            let width = UTF8.width(u)
            if bytes + width > maxBytes - 3 { break }
            out.append(u)
            bytes += width
        }
        return String(out) + "…"
    }
}
