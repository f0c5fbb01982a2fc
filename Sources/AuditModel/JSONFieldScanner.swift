/// Reads a few top-level string fields of a JSON object without building the whole value: the
/// delivery filter looks at three fields of every event it scans.
public enum JSONFieldScanner {
    /// The string values of the top-level fields named `keys`, in that order (nil when a field is
    /// missing or not a string), with `JSONObject`'s answers. Escaped keys or values, a repeated wanted
    /// key, and input that is not a well-formed object go through `JSONParser` instead.
    public static func strings(_ bytes: [UInt8], keys: [[UInt8]]) -> [String?] {
        if let fast = bytes.withUnsafeBufferPointer({ scan($0, keys) }) { return fast }
        let object = (try? JSONParser.parse(bytes))?.objectValue
        return keys.map { object?[String(decoding: $0, as: UTF8.self)]?.stringValue }
    }

    /// nil: use the full parser.
    static func scan(_ b: UnsafeBufferPointer<UInt8>, _ keys: [[UInt8]]) -> [String?]? {
        var out = [String?](repeating: nil, count: keys.count)
        var found = [Bool](repeating: false, count: keys.count)
        var i = 0
        func ws() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        /// Moves past a string starting at `i` (a quote); returns its content range and whether it has escapes.
        func string() -> (Range<Int>, Bool)? {
            guard i < b.count, b[i] == 0x22 else { return nil }
            let start = i + 1
            var escaped = false
            i += 1
            while i < b.count {
                switch b[i] {
                case 0x22: i += 1; return (start..<(i - 1), escaped)
                case 0x5C: escaped = true; i += 2
                default: i += 1
                }
            }
            return nil
        }
        func skipValue() -> Bool {
            guard i < b.count else { return false }
            switch b[i] {
            case 0x22: return string() != nil
            case 0x7B, 0x5B:
                var depth = 0
                while i < b.count {
                    switch b[i] {
                    case 0x22: if string() == nil { return false }; continue
                    case 0x7B, 0x5B: depth += 1
                    case 0x7D, 0x5D:
                        depth -= 1
                        if depth == 0 { i += 1; return true }
                    default: break
                    }
                    i += 1
                }
                return false
            default:
                while i < b.count, b[i] != 0x2C, b[i] != 0x7D, b[i] != 0x5D { i += 1 }
                return i < b.count
            }
        }
        ws()
        guard i < b.count, b[i] == 0x7B else { return nil }
        i += 1
        ws()
        if i < b.count, b[i] == 0x7D { return out }
        while true {
            ws()
            guard let (keyRange, keyEscaped) = string() else { return nil }
            ws()
            guard i < b.count, b[i] == 0x3A else { return nil }
            i += 1
            ws()
            var handled = false
            if keyEscaped { return nil }
            if let k = keys.firstIndex(where: { $0.count == keyRange.count && $0.elementsEqual(b[keyRange]) }) {
                if found[k] { return nil }
                found[k] = true
                if i < b.count, b[i] == 0x22 {
                    guard let (valueRange, valueEscaped) = string() else { return nil }
                    if valueEscaped { return nil }
                    out[k] = String(decoding: UnsafeBufferPointer(rebasing: b[valueRange]), as: UTF8.self)
                    handled = true
                }
            }
            if !handled, !skipValue() { return nil }
            ws()
            guard i < b.count else { return nil }
            if b[i] == 0x2C { i += 1; continue }
            if b[i] == 0x7D { return out }
            return nil
        }
    }
}
