import AuditModel
import Foundation
import Logging

/// The process's logs, on standard error: text lines (swift-log's own format) or JSON lines
/// (`--log-format json`), one object per line with `time`, `level`, `logger`, `message` and every
/// metadata key at the top level (`request.id` on each line logged while a request is handled;
/// docs/architecture.md, "Logging", lists the keys).
public enum ServerLogging {
    /// Bootstraps swift-log once for the process.
    public static func bootstrap(format: String, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            if format == "json" {
                var h = JSONLineLogHandler(label: label)
                h.logLevel = level
                return h
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

/// Writes each entry as one JSON object on one line of standard error, in a single write (lines of
/// concurrent tasks never interleave).
public struct JSONLineLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit { merged.merge(explicit) { _, new in new } }
        FileHandle.standardError.write(Data(Self.line(time: Date(), level: level, label: label, message: "\(message)",
                                                      source: source, metadata: merged)))
    }

    /// The JSON line of one entry, newline included. Metadata keys are sorted; a key that would hide one
    /// of the fixed fields is left out (the project's keys are `namespace.name`, which never do).
    static func line(time: Date, level: Logger.Level, label: String, message: String, source: String, metadata: Logger.Metadata) -> [UInt8] {
        let fixed: [(String, JSONValue)] = [("time", .string(timestamp(time))), ("level", .string(level.rawValue)), ("logger", .string(label)),
                                            ("source", .string(source)), ("message", .string(message))]
        let names = Set(fixed.map(\.0))
        let rest = metadata.filter { !names.contains($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }
        return JSONWriter.encode(JSONValue.obj(fixed + rest)) + [UInt8(ascii: "\n")]
    }

    static func json(_ v: Logger.Metadata.Value) -> JSONValue {
        switch v {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .obj(d.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
        }
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-07T12:30:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = ms / 1000, millis = Int(ms % 1000)
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}
