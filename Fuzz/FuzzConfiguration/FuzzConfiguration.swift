// libFuzzer target: `ConfigFile.parse` (a --config file), `Configuration.flags` (a command line) and
// `Configuration.resolve` over options of every kind, and `SensitiveActions.withFile` (serve's
// --sensitive-actions file). Any bytes must give settings or a `ConfigurationError`, never a trap; a
// resolved value passes its option's validation again unchanged, and a secret's value is never in the
// printout or in an error message; a sensitive-actions file gives a catalogue holding every entry it
// added, or a refusal naming a line. Built and run by scripts/fuzz;
// seeds in Fuzz/Corpus/FuzzConfiguration.
import AuditConfiguration
import AuditModel
import Foundation
import FuzzHarness

let options: [ConfigOption] = [
    ConfigOption("port", environment: "FUZZ_PORT", kind: .integer(0...65535), default: "9780", help: "p"),
    ConfigOption("rate-limit", kind: .number(0.001...1_000_000), default: "5000", help: "r"),
    ConfigOption("digest-interval", kind: .seconds(1...86400), default: "3600", help: "d"),
    ConfigOption("log-level", kind: .choice(["trace", "debug", "info"]), default: "info", help: "l"),
    ConfigOption("secure", kind: .toggle, default: "false", help: "s"),
    ConfigOption("data-dir", kind: .text, default: "./data", help: "t"),
    ConfigOption("trusted-proxies", kind: .networks, help: "n"),
    ConfigOption("master-key", environment: "FUZZ_MASTER", kind: .text, secret: true, help: "m"),
]
let secretMarker = "SECRETVALUE"

func fuzzConfiguration(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    // The secret of the environment must not show; an input that holds the marker itself may.
    let watchSecret = !String(decoding: bytes, as: UTF8.self).contains(secretMarker)
    // The input as a file, owner-only or not.
    for ownerOnly in [true, false] {
        guard let file = try? ConfigFile.parse(bytes, path: "fuzz.conf", ownerOnly: ownerOnly) else { continue }
        check(flags: [:], file: file, watchSecret: watchSecret)
    }
    // The input as a command line (NUL-separated arguments).
    let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    if let parsed = try? Configuration.flags(arguments, options: options, own: ["config": true, "print-config": false]) {
        precondition(parsed.own.keys.allSatisfy { $0 == "config" || $0 == "print-config" })
        check(flags: parsed.options, file: nil, watchSecret: watchSecret)
    }
    // The input as a sensitive-actions file.
    let text = String(decoding: bytes, as: UTF8.self)
    switch SensitiveActions.withFile(text) {
    case .success(let catalogue):
        precondition(catalogue.entries.count <= SensitiveActions.builtIn.count + text.utf8.count, "more entries than lines")
        for e in catalogue.entries where !e.contains(":") { precondition(catalogue.contains(eventName: e, eventSource: "x"), "an entry it holds is not found") }
    case .failure(let why):
        precondition(why.message.hasPrefix("line "), "a refusal names its line: \(why.message)")
    }
}

func check(flags: [String: String], file: ConfigFile?, watchSecret: Bool) {
    do {
        let c = try Configuration.resolve(options, flags: flags, environment: ["FUZZ_MASTER": secretMarker], file: file)
        for s in c.settings {
            if let v = s.value, s.source != .defaultValue {
                guard case .success(let again) = s.option.validate(v) else { preconditionFailure("\(s.option.name)=\(v) no longer validates") }
                precondition(again == v, "\(s.option.name): \(v) normalizes to \(again)")
            }
        }
        precondition(!watchSecret || !c.printed().contains(secretMarker), "a secret is printed")
    } catch let e as ConfigurationError {
        precondition(!watchSecret || !e.description.contains(secretMarker), "a secret is in a message")
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzConfiguration(input) }
}
