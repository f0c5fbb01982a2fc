import ArgumentParser
import AuditClient
import AuditModel
import Foundation

// MARK: - tail

extension EventsCommand {
    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tail",
            abstract: "Follow the account's events as they are recorded (TailEvents), until interrupted.",
            discussion: """
                Prints each new event that matches the conditions, oldest first, as it is appended on any \
                node. Conditions (--attr Key=Value, repeatable) are LookUpEvents' keys with the same \
                meaning: different keys must all match; several values of one key are alternatives.

                A dropped connection is resumed from the last event shown (no gap, no repeat); --cursor \
                starts after a cursor an earlier run printed (with --output json, each line's "Cursor"). \
                A consumer that falls far behind is told so on standard error and catches up from the store.

                Examples:
                  cloudaudit events tail
                  cloudaudit events tail --attr ActionType=Write --attr Username=alice
                  cloudaudit events tail --attr SensitiveAction=1 --output json | jq .Event.eventName
                """)

        @OptionGroup var client: EventsCommand.ClientOptions

        @Option(name: .customLong("attr"), help: ArgumentHelp("A condition Key=Value (repeatable).", valueName: "Key=Value"))
        var attributes: [String] = []

        @Option(help: "Start after this cursor (the id of an event printed earlier) instead of at the newest event.")
        var cursor: String?

        @Option(help: "table (one line per event, UTC times) or json (one {\"Cursor\", \"Event\"} object per line).")
        var output: ListFormat = .table

        @Option(help: "Stop after this many events (default: run until interrupted).")
        var max: Int?

        func validate() throws {
            for a in attributes { _ = try EventsCommand.Lookup.attribute(a) }
            if let cursor, cursor.isEmpty || !cursor.allSatisfy({ $0.isASCII && $0.isNumber }) || Int64(cursor) == nil {
                throw ValidationError("--cursor must be a cursor printed earlier (a whole number), not \"\(cursor)\"")
            }
            if let max, max < 1 { throw ValidationError("--max must be at least 1") }
        }

        func run() async throws {
            let api = try client.makeClient()
            var query: [(String, String)] = []
            for (i, text) in attributes.enumerated() {
                let a = try EventsCommand.Lookup.attribute(text)
                query.append(("LookupAttributes.\(i).AttributeKey", a.key))
                query.append(("LookupAttributes.\(i).AttributeValue", a.value))
            }
            var resumeFrom = cursor
            var shown = 0
            var printedHeader = false
            var failures = 0
            while true {
                var ended: String?
                do {
                    resumeFrom = try await api.stream(action: "TailEvents", query: query, lastEventId: resumeFrom) { message in
                        failures = 0
                        switch message.event {
                        case "message" where message.hasData:
                            if output == .table, !printedHeader {
                                printedHeader = true
                                Self.write(TailTable.header)
                            }
                            Self.write(output == .table ? TailTable.line(record: message.data)
                                                        : "{\"Cursor\":\"\(message.lastEventId)\",\"Event\":\(message.data)}\n")
                            shown += 1
                            return max.map { shown < $0 } ?? true
                        case "behind":
                            Self.note("fell behind the newest events (\(Self.field("Behind", of: message.data) ?? "many") events); catching up from the store")
                        case "end":
                            ended = Self.field("Reason", of: message.data)
                        default:
                            break
                        }
                        return true
                    }
                    if let max, shown >= max { return }
                } catch let e as APIErrorResponse {
                    // Refused (credentials, parameters, limits): trying again would be refused again.
                    throw CommandFailure(e.description, exitCode: 2)
                } catch let e as APIClientError {
                    if case .badEndpoint = e { throw CommandFailure(e.description, exitCode: 2) }
                    failures += 1
                    if failures >= 10 { throw CommandFailure("\(e.description) (gave up after \(failures) attempts)", exitCode: 2) }
                    Self.note("\(e.description); reconnecting")
                }
                if ended == "unauthorized" { throw CommandFailure("the key may no longer read this account's events (disabled, or its role changed)", exitCode: 2) }
                // The server ends a stream after a while, and when it shuts down: resume from the cursor.
                let wait = failures == 0 ? 0.2 : Swift.min(30.0, 0.5 * pow(2.0, Double(failures - 1)))
                try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            }
        }

        static func write(_ s: String) {
            FileHandle.standardOutput.write(Data(s.utf8))
        }

        static func note(_ s: String) {
            FileHandle.standardError.write(Data("cloudaudit events tail: \(s)\n".utf8))
        }

        /// A top-level field of a small JSON object sent by the server (`{"Behind":12,"Cursor":"40"}`).
        static func field(_ name: String, of json: String) -> String? {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return nil }
            switch o[name] {
            case let s as String: return s
            case let n as NSNumber: return n.stringValue
            default: return nil
            }
        }
    }

    /// The tail's lines: the `lookup` table's columns at fixed widths (a stream cannot measure its rows first).
    enum TailTable {
        static let widths = [20, 24, 32, 14, 36, 39]

        static var header: String { line(EventsCommand.EventTable.headers) }

        static func line(record: String) -> String {
            guard let r = (try? JSONSerialization.jsonObject(with: Data(record.utf8))) as? [String: Any] else {
                return line(["-", "-", "(an event that is not JSON)", "-", "-", "-", "-"])
            }
            let identity = r["userIdentity"] as? [String: Any] ?? [:]
            func text(_ v: Any?) -> String {
                switch v {
                case let s as String: return s
                case let n as NSNumber: return n.stringValue
                default: return ""
                }
            }
            var time = text(r["eventTime"])
            if let t = Int64(time) { time = EventsCommand.TimeArgument.rfc3339(t) }
            var error = text(r["apiErrorCode"])
            if error.isEmpty, let code = r["errorCode"] as? NSNumber, code.intValue != 0 { error = "CAM \(code.intValue)" }
            return line([time, text(identity["userName"]), text(r["eventName"]), text(r["resourceType"]), text(r["resourceName"]),
                         text(r["sourceIPAddress"]), error])
        }

        static func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, raw in
                let cell = raw.isEmpty ? "-" : raw.replacingOccurrences(of: "\n", with: " ")
                guard i < widths.count else { return cell }
                let c = cell.count > widths[i] ? String(cell.prefix(widths[i] - 1)) + "…" : cell
                return c + String(repeating: " ", count: widths[i] - c.count)
            }.joined(separator: "  ") + "\n"
        }
    }
}
