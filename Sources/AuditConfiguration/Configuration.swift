import AuditModel
import Foundation

/// One setting of a deployment, declared once: its flag (`--name`), its environment variable, its key
/// in a configuration file (`name = value`), its default, its validation and whether it is a secret.
///
/// Every source is checked by the same `validate`, so a bad value is refused with the same message
/// whichever way it came; the message names the option and where the value came from.
public struct ConfigOption: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A whole number in a range.
        case integer(ClosedRange<Int>)
        /// A number in a range (rates).
        case number(ClosedRange<Double>)
        /// Seconds, a whole number in a range.
        case seconds(ClosedRange<Int>)
        /// One of a fixed list of words.
        case choice([String])
        /// On or off: `--name` alone on the command line; true/false, yes/no, on/off, 1/0 elsewhere.
        case toggle
        /// Text (a host name, a path, an identifier): 1 to 4096 bytes, no control characters.
        case text
        /// IP networks in CIDR notation (an address alone: itself), separated by commas or spaces; at most 256.
        case networks
        /// A store URL (`StoreLocation`): postgres://USER@HOST:PORT/DATABASE, never with a password.
        case store
    }

    /// The flag without `--`, and the key in a configuration file.
    public let name: String
    /// The environment variable (nil: none).
    public let environment: String?
    public let kind: Kind
    /// The value when no source sets one, as it would be written (nil: unset).
    public let defaultValue: String?
    public let help: String
    /// Never from a flag (the process list shows flags to every user), only from the environment or an
    /// owner-only configuration file; never printed.
    public let secret: Bool

    public init(_ name: String, environment: String? = nil, kind: Kind, default defaultValue: String? = nil, secret: Bool = false, help: String) {
        self.name = name
        self.environment = environment
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
        self.secret = secret
    }

    public var flag: String { "--" + name }

    /// `text` as a value of this option, normalized (a toggle becomes "true" or "false"), or why not.
    public func validate(_ text: String) -> Result<String, ConfigRefusal> {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .integer(let range), .seconds(let range):
            let unit = { if case .seconds = kind { return " seconds" } else { return "" } }()
            guard let n = Int(t), range.contains(n) else {
                return .failure(ConfigRefusal("must be a whole number from \(range.lowerBound) to \(range.upperBound)\(unit)"))
            }
            return .success(String(n))
        case .number(let range):
            guard let x = Double(t), x.isFinite, range.contains(x) else {
                return .failure(ConfigRefusal("must be a number from \(Self.plain(range.lowerBound)) to \(Self.plain(range.upperBound))"))
            }
            return .success(t)
        case .choice(let words):
            guard words.contains(t) else { return .failure(ConfigRefusal("must be one of \(words.joined(separator: ", "))")) }
            return .success(t)
        case .toggle:
            switch t.lowercased() {
            case "true", "yes", "on", "1": return .success("true")
            case "false", "no", "off", "0": return .success("false")
            default: return .failure(ConfigRefusal("must be true or false"))
            }
        case .text:
            guard !t.isEmpty, t.utf8.count <= 4096, !t.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                return .failure(ConfigRefusal("must be 1 to 4096 bytes of text without control characters"))
            }
            return .success(t)
        case .networks:
            let entries = t.split(whereSeparator: { $0 == "," || $0 == " " })
            guard !entries.isEmpty, entries.count <= 256, t.utf8.count <= 16384 else {
                return .failure(ConfigRefusal("must be 1 to 256 IP networks such as 10.0.0.0/8, separated by commas"))
            }
            var out: [String] = []
            for e in entries {
                guard let n = IPNetwork(e) else {
                    return .failure(ConfigRefusal("must be IP networks such as 10.0.0.0/8 or fd00::/8, separated by commas; "
                        + "\"\(TextClip.scalars(String(e), 60, printable: true))\" is not one"))
                }
                out.append(n.description)
            }
            return .success(out.joined(separator: ", "))
        case .store:
            switch StoreLocation.parse(t) {
            case .success(let location): return .success(location.description)
            case .failure(let refusal): return .failure(ConfigRefusal(refusal.reason))
            }
        }
    }

    public static func plain(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x) }
}

/// Why a value is not one an option takes (the option and the source are added by the caller).
public struct ConfigRefusal: Error, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Where a setting's value came from; the order of the cases is the precedence, highest first.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
    case flag
    case environment(String)
    case file(path: String, line: Int)
    case defaultValue

    public var description: String {
        switch self {
        case .flag: return "flag"
        case .environment(let name): return "environment (\(name))"
        case .file(let path, let line): return "file (\(path):\(line))"
        case .defaultValue: return "default"
        }
    }
}

/// A configuration that could not be read: the message names the option and the source.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The effective settings: each option's value (nil: unset) and its source.
public struct Configuration: Sendable {
    public struct Setting: Sendable {
        public var option: ConfigOption
        public var value: String?
        public var source: ConfigSource
    }

    public private(set) var settings: [Setting]

    /// Resolves `options` from the sources, highest precedence first: `flags` (name -> text, as given on
    /// the command line), `environment`, `file`, then each option's default. Every value is validated
    /// by its option, whatever its source.
    /// - Throws: `ConfigurationError` naming the option and the source of the first bad value; for a
    ///   secret given as a flag; for a file entry of no option.
    public static func resolve(_ options: [ConfigOption], flags: [String: String], environment: [String: String],
                               file: ConfigFile?) throws -> Configuration {
        let known = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if let file {
            for (key, entry) in file.entries.sorted(by: { $0.value.line < $1.value.line }) where known[key] == nil {
                throw ConfigurationError("\(file.path):\(entry.line): \(key) is not a setting (`cloudaudit serve --help` lists them)")
            }
            if file.entries.keys.contains(where: { known[$0]?.secret == true }), !file.ownerOnly {
                throw ConfigurationError("\(file.path) holds a secret but its group or others may read it; chmod 600 it")
            }
        }
        var settings: [Setting] = []
        for option in options {
            var candidates: [(String, ConfigSource)] = []
            if let text = flags[option.name] {
                guard !option.secret else {
                    throw ConfigurationError("\(option.flag) is a secret and is not taken from the command line (every user sees it in the process list); "
                                             + "set \(option.environment ?? option.name) in the environment or \(option.name) in an owner-only --config file")
                }
                candidates.append((text, .flag))
            }
            if let variable = option.environment, let text = environment[variable], !text.isEmpty { candidates.append((text, .environment(variable))) }
            if let entry = file?.entries[option.name] { candidates.append((entry.value, .file(path: file!.path, line: entry.line))) }
            guard let (text, source) = candidates.first else {
                settings.append(Setting(option: option, value: option.defaultValue, source: .defaultValue))
                continue
            }
            switch option.validate(text) {
            case .success(let value): settings.append(Setting(option: option, value: value, source: source))
            case .failure(let refusal): throw ConfigurationError(message(option, refusal, source: source, text: text))
            }
        }
        return Configuration(settings: settings)
    }

    /// "--port (from the environment, CLOUDAUDIT_PORT): must be a whole number from 0 to 65535, not "x"":
    /// the same words for every source but the parenthesis.
    static func message(_ option: ConfigOption, _ refusal: ConfigRefusal, source: ConfigSource, text: String) -> String {
        let from: String
        switch source {
        case .flag: from = "on the command line"
        case .environment(let name): from = "from the environment, \(name)"
        case .file(let path, let line): from = "from \(path):\(line)"
        case .defaultValue: from = "default"
        }
        let shown = option.secret ? "" : ", not \"\(TextClip.scalars(text, 64, printable: true))\""
        return "\(option.flag) (\(from)): \(refusal.reason)\(shown)"
    }

    /// The options' values on a command line: `--name value`, `--name=value`, and `--name` alone for a
    /// toggle (name -> text, for `resolve`). The caller's own flags are in `own` (taken out, with
    /// their values when `ownTakingValue`).
    /// - Throws: `ConfigurationError` for an unknown flag, a missing value or a flag given twice.
    public static func flags(_ arguments: [String], options: [ConfigOption], own: [String: Bool] = [:]) throws -> (options: [String: String], own: [String: String]) {
        let known = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var values: [String: String] = [:], mine: [String: String] = [:]
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigurationError("unexpected argument \"\(TextClip.scalars(argument, 64, printable: true))\" (options are --name value)")
            }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            let takesValue: Bool
            if let option = known[name] { takesValue = option.kind != .toggle } else if let ownTakes = own[name] { takesValue = ownTakes } else {
                throw ConfigurationError("unknown option --\(TextClip.scalars(name, 64, printable: true)) (`cloudaudit serve --help` lists them)")
            }
            var value = inline ?? "true"
            if takesValue, inline == nil {
                guard i + 1 < arguments.count else { throw ConfigurationError("--\(name) needs a value") }
                i += 1
                value = arguments[i]
            }
            if known[name] != nil {
                guard values[name] == nil else { throw ConfigurationError("--\(name) is given twice") }
                values[name] = value
            } else {
                guard mine[name] == nil else { throw ConfigurationError("--\(name) is given twice") }
                mine[name] = value
            }
            i += 1
        }
        return (values, mine)
    }

    /// The options as `--help` lists them: flag, environment variable, default, what it does.
    public static func help(_ options: [ConfigOption]) -> String {
        options.map { o in
            var line = (o.secret ? o.name + " (secret: environment or owner-only file only)" : o.flag + (o.kind == .toggle ? "" : " <value>"))
            if let e = o.environment { line += "  env \(e)" }
            if let d = o.defaultValue { line += "  default \(d)" }
            return line + "\n      " + o.help
        }.joined(separator: "\n")
    }

    public func setting(_ name: String) -> Setting? { settings.first { $0.option.name == name } }
    public func string(_ name: String) -> String? { setting(name)?.value }
    public func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }
    public func double(_ name: String) -> Double? { string(name).flatMap { Double($0) } }
    public func bool(_ name: String) -> Bool { string(name) == "true" }
    public func seconds(_ name: String) -> Duration? { int(name).map { .seconds($0) } }

    /// The effective configuration as `cloudaudit serve --print-config` shows it: one line per option,
    /// its value (secrets as `(set, hidden)`) and its source.
    public func printed() -> String {
        let width = settings.map(\.option.name.count).max() ?? 0
        return settings.map { s in
            let value: String
            if s.value == nil { value = "(unset)" } else if s.option.secret { value = "(set, hidden)" } else { value = s.value! }
            return s.option.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value + "  [" + s.source.description + "]"
        }.joined(separator: "\n")
    }
}

/// A configuration file: `name = value` lines, the names those of the flags without `--`; `#` starts a
/// comment line; blank lines are ignored; a value may be in double quotes (to keep spaces at its ends).
public struct ConfigFile: Sendable {
    public let path: String
    public let entries: [String: (value: String, line: Int)]
    /// No one but the owner may read the file (required when it holds a secret).
    public let ownerOnly: Bool

    public static let maxBytes = 256 * 1024
    public static let maxLineBytes = 8192

    /// Reads and parses the file at `path`.
    /// - Throws: `ConfigurationError` when it is missing, not a regular file, too large, or malformed.
    public static func load(_ path: String) throws -> ConfigFile {
        let file: LocalFile.Contents?
        do { file = try LocalFile.contents(path, limit: maxBytes, what: "the configuration file") } catch {
            throw ConfigurationError("\(error)")
        }
        guard let file else { throw ConfigurationError("the configuration file \(path) cannot be read") }
        return try parse(file.bytes, path: path, ownerOnly: file.mode & 0o077 == 0)
    }

    public static func parse(_ bytes: [UInt8], path: String, ownerOnly: Bool) throws -> ConfigFile {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ConfigurationError("\(path) is not UTF-8 text") }
        var entries: [String: (value: String, line: Int)] = [:]
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            guard raw.utf8.count <= maxLineBytes else { throw ConfigurationError("\(path):\(number): the line is longer than \(maxLineBytes) bytes") }
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigurationError("\(path):\(number): expected `name = value`")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
                throw ConfigurationError("\(path):\(number): a setting's name is lower-case letters, digits and -, as its flag without --")
            }
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard entries[key] == nil else { throw ConfigurationError("\(path):\(number): \(key) is set twice (also on line \(entries[key]!.line))") }
            entries[key] = (value, number)
        }
        return ConfigFile(path: path, entries: entries, ownerOnly: ownerOnly)
    }
}
