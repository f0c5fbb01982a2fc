import ArgumentParser
import AuditClient
import AuditModel
import AuditSynthetic
import Foundation

/// `cloudaudit events put|lookup|generate`: the client side of the API, signed with TC3 like the SDKs.
///
/// Exit status of every subcommand: 0 on success, 1 when some records were rejected individually
/// (`put`, `generate`), 2 when a request failed as a whole (unreachable server, bad credentials,
/// an API error) or the input could not be read.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Send, search and generate audit events through the API.",
        discussion: """
            Credentials come from the environment, never from flags: TENCENTCLOUD_SECRET_ID and \
            TENCENTCLOUD_SECRET_KEY (create a key with `cloudaudit keys create`). Requests are signed with \
            TC3-HMAC-SHA256 exactly like the Tencent Cloud SDKs.

            Exit status: 0 success, 1 some records rejected (put, generate), 2 a request failed as a whole \
            or the input could not be read.
            """,
        subcommands: [Put.self, Lookup.self, Tail.self, Generate.self])

    // MARK: - Shared options

    struct ClientOptions: ParsableArguments {
        @Option(help: "The CloudAudit API endpoint, http(s)://host[:port].")
        var endpoint = "http://127.0.0.1:9780"

        @Option(help: "The region sent in X-TC-Region.")
        var region = "ap-guangzhou"

        func validate() throws {
            guard APIClient.isValid(endpoint: endpoint) else {
                throw ValidationError("--endpoint must look like http://host:port or https://host (no path), not \"\(endpoint)\"")
            }
        }

        /// The signed client, with the key from the environment.
        /// - Throws: ``CommandFailure`` (exit 2) when the credentials are not set.
        func makeClient() throws -> APIClient {
            let env = ProcessInfo.processInfo.environment
            let id = env["TENCENTCLOUD_SECRET_ID"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let key = env["TENCENTCLOUD_SECRET_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            var missing: [String] = []
            if id.isEmpty { missing.append("TENCENTCLOUD_SECRET_ID") }
            if key.isEmpty { missing.append("TENCENTCLOUD_SECRET_KEY") }
            guard missing.isEmpty else {
                throw CommandFailure("\(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not set; "
                    + "export an access key of the account (see `cloudaudit keys create`) before calling the API", exitCode: 2)
            }
            return APIClient(endpoint: endpoint, secretId: id, secretKey: key, region: region, userAgent: CloudAuditRelease.userAgent)
        }
    }

    enum SummaryFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    enum ListFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }
}

// MARK: - put

extension EventsCommand {
    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put",
            abstract: "Send event records from a file of JSON lines or one JSON array.",
            discussion: """
                Each record is a JSON object with at least eventName, eventSource and actionType (Read or \
                Write). Records are sent byte for byte as they appear in the input, in PutEvents batches; \
                rejected records are reported with their line number. A progress bar is drawn on stderr \
                when it is a terminal; the summary goes to stdout.

                Exit status: 0 all stored, 1 some records rejected, 2 a request failed as a whole.
                """)

        @OptionGroup var client: ClientOptions

        @Argument(help: "A file of records (JSON lines or a JSON array), or - for standard input.")
        var file: String

        @Option(help: "Records per PutEvents request (1-1000).")
        var batchSize = EventBatcher.defaultMaxRecords

        @Option(help: "PutEvents requests in flight at once (1-64).")
        var concurrency = 4

        @Option(help: "Summary format: text or json ({\"Stored\", \"Rejected\", \"Failures\": [{\"Line\", \"Code\", \"Message\"}]}).")
        var output: SummaryFormat = .text

        func validate() throws {
            guard (1...EventBatcher.defaultMaxRecords).contains(batchSize) else {
                throw ValidationError("--batch-size must be between 1 and \(EventBatcher.defaultMaxRecords)")
            }
            guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        }

        func run() async throws {
            let api = try client.makeClient()
            let input = try readInput()
            let records: [InputRecords.Record]
            do {
                records = try InputRecords.split(input)
            } catch let e as InputRecords.SyntaxError {
                throw CommandFailure("\(file == "-" ? "stdin" : file): line \(e.line): \(e.message)", exitCode: 2)
            }

            // Records that would spoil a whole request are rejected here, with their line.
            let batcherLimits = EventBatcher(maxRecords: batchSize)
            var local: [RecordFailure] = []
            var sendable: [Int] = []  // indexes into `records`
            for (i, r) in records.enumerated() {
                if (try? JSONSerialization.jsonObject(with: Data(r.bytes), options: [.fragmentsAllowed])) == nil {
                    local.append(RecordFailure(line: r.line, code: "InvalidParameter", message: "the record is not valid JSON"))
                } else if !batcherLimits.fits(r.bytes) {
                    local.append(RecordFailure(line: r.line, code: "InvalidParameterValue",
                                               message: "the record is \(r.bytes.count) bytes, more than a whole request may carry"))
                } else {
                    sendable.append(i)
                }
            }

            let progress = ProgressBar(total: sendable.count, label: "events")
            var batcher = EventBatcher(maxRecords: batchSize)
            var cursor = 0
            var finished = false
            let start = Date()
            let result = await Sender.send(client: api, concurrency: concurrency, retryTransportErrors: false,
                                           progress: progress) {
                // Tags are indexes into `records`, so failures map back to lines.
                while cursor < sendable.count {
                    let i = sendable[cursor]
                    cursor += 1
                    if let full = batcher.add(records[i].bytes, tag: i) { return full }
                }
                if finished { return nil }
                finished = true
                return batcher.finish()
            }
            progress.finish()
            let elapsed = Date().timeIntervalSince(start)

            let failures = (local + result.failures.map {
                RecordFailure(line: records[$0.tag].line, code: $0.code, message: $0.message)
            }).sorted { $0.line < $1.line }
            let summary = Summary(stored: result.stored, rejected: failures.count, failures: failures,
                                  unsent: sendable.count - result.sent, requestError: result.requestError,
                                  seconds: elapsed)
            print(output == .json ? summary.json() : summary.text(), terminator: "")
            if let e = result.requestError {
                Terminal.error(e.description)
                throw ExitCode(2)
            }
            if !failures.isEmpty { throw ExitCode(1) }
        }

        private func readInput() throws -> [UInt8] {
            if file == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
            do {
                return Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw CommandFailure("cannot read \(file): \((error as NSError).localizedDescription)", exitCode: 2)
            }
        }
    }

    struct RecordFailure {
        var line: Int
        var code: String
        var message: String
    }

    /// What `put` prints at the end.
    struct Summary {
        var stored: Int
        var rejected: Int
        var failures: [RecordFailure]
        var unsent: Int
        var requestError: Sender.RequestError?
        var seconds: Double

        func text(maxListed: Int = 50) -> String {
            var out = "Stored \(stored) event\(stored == 1 ? "" : "s"), rejected \(rejected)"
            if unsent > 0 { out += ", not sent \(unsent) (the request failed)" }
            out += String(format: " in %.2f s.\n", seconds)
            for f in failures.prefix(maxListed) { out += "  line \(f.line): \(f.code): \(f.message)\n" }
            if failures.count > maxListed {
                out += "  ... and \(failures.count - maxListed) more (--output json lists them all)\n"
            }
            return out
        }

        func json() -> String {
            var out = "{\"Stored\": \(stored), \"Rejected\": \(rejected), \"Failures\": ["
            out += failures.map {
                "{\"Line\": \($0.line), \"Code\": \(JSONText.quote($0.code)), \"Message\": \(JSONText.quote($0.message))}"
            }.joined(separator: ", ")
            out += "]"
            if let e = requestError {
                out += ", \"NotSent\": \(unsent), \"Error\": {\"Code\": \(JSONText.quote(e.code)), \"Message\": \(JSONText.quote(e.message))}"
            }
            return out + "}\n"
        }
    }
}

// MARK: - lookup

extension EventsCommand {
    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lookup",
            abstract: "Search events with LookUpEvents, newest first.",
            discussion: """
                Times: Unix seconds (1735689600), RFC 3339 (2025-01-01T08:00:00+08:00), a date \
                (2025-01-01, midnight UTC), an offset from now (-90s, -30m, -2h, -7d, -1w), or now.

                Conditions (--attr Key=Value, repeatable): different keys must all match; several values \
                of one key are alternatives. Keys: RequestId, EventName, ActionType, ReadOnly, \
                PrincipalId, Username, ResourceType, ResourceId, ResourceName, AccessKeyId, \
                SensitiveAction, ApiErrorCode, CamErrorCode, SourceIPAddress, EventSource, EventId, \
                Tags (value [{"key":"env","value":"prod"}]).

                Examples:
                  cloudaudit events lookup --start -2h --attr EventName=RunInstances
                  cloudaudit events lookup --start 2025-01-01 --end 2025-01-02 \\
                      --attr Username=alice --max 500 --output json
                """)

        @OptionGroup var client: ClientOptions

        // `.unconditional`: relative times such as `-2h` start with a dash but are values, not flags.
        @Option(parsing: .unconditional, help: "Oldest event time (formats below).")
        var start: String

        @Option(parsing: .unconditional, help: "Newest event time.")
        var end = "now"

        @Option(name: .customLong("attr"), help: ArgumentHelp("A lookup condition Key=Value (repeatable).", valueName: "Key=Value"))
        var attributes: [String] = []

        @Option(name: .customLong("max"), help: "The most events to fetch (pages of up to 50 are followed with NextToken).")
        var maxEvents = 50

        @Option(help: "table (UTC times) or json (an array of the API's Event objects).")
        var output: ListFormat = .table

        func validate() throws {
            let now = Int64(Date().timeIntervalSince1970)
            guard let s = TimeArgument.parse(start, now: now) else {
                throw ValidationError("--start \"\(start)\" is not a time: use Unix seconds, RFC 3339, -2h/-30m/-7d or now")
            }
            guard let e = TimeArgument.parse(end, now: now) else {
                throw ValidationError("--end \"\(end)\" is not a time: use Unix seconds, RFC 3339, -2h/-30m/-7d or now")
            }
            guard s <= e else { throw ValidationError("--start is after --end") }
            guard maxEvents >= 1 else { throw ValidationError("--max must be at least 1") }
            for a in attributes { _ = try Self.attribute(a) }
        }

        static func attribute(_ text: String) throws -> (key: String, value: String) {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw ValidationError("--attr \"\(text)\" must be Key=Value, e.g. EventName=RunInstances")
            }
            let key = String(text[..<eq])
            // A key that is a known one written otherwise is refused here with the right spelling; any
            // other goes to the server, which may know keys this CLI does not.
            if LookupAttributeName.named(key) == nil, let meant = LookupAttributeName.suggestion(for: key) {
                throw ValidationError("--attr \(key)=...: the key is \(meant) (keys are case-sensitive)")
            }
            return (key, String(text[text.index(after: eq)...]))
        }

        func run() async throws {
            let api = try client.makeClient()
            let now = Int64(Date().timeIntervalSince1970)
            let startTime = TimeArgument.parse(start, now: now)!
            let endTime = TimeArgument.parse(end, now: now)!
            let conditions: [[String: Any]] = try attributes.map {
                let a = try Self.attribute($0)
                return ["AttributeKey": a.key, "AttributeValue": a.value]
            }

            var events: [[String: Any]] = []
            var token: String?
            var total: Int?
            var more = false
            while events.count < maxEvents {
                var params: [String: Any] = ["StartTime": startTime, "EndTime": endTime,
                                             "MaxResults": Swift.min(50, maxEvents - events.count)]
                if !conditions.isEmpty { params["LookupAttributes"] = conditions }
                if let token { params["NextToken"] = token }
                let response = try await api.callJSON(action: "LookUpEvents", params: params)
                let page = response["Events"] as? [[String: Any]] ?? []
                if total == nil { total = (response["TotalCount"] as? NSNumber)?.intValue }
                events.append(contentsOf: page.prefix(maxEvents - events.count))
                let listOver = (response["ListOver"] as? NSNumber)?.boolValue ?? (response["ListOver"] as? Bool) ?? true
                token = response["NextToken"] as? String
                more = !listOver && !(token ?? "").isEmpty
                if !more || page.isEmpty { break }
            }

            switch output {
            case .json:
                let data = try JSONSerialization.data(withJSONObject: events, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            case .table:
                if events.isEmpty {
                    print("No events between \(TimeArgument.rfc3339(startTime)) and \(TimeArgument.rfc3339(endTime)).")
                } else {
                    print(EventTable.render(events), terminator: "")
                    var footer = "\(events.count) event\(events.count == 1 ? "" : "s")"
                    if let total, total > events.count { footer += " of \(total) matching" }
                    if more { footer += "; --max \(Swift.max(maxEvents * 2, 100)) shows more" }
                    print(footer + ".")
                }
            }
        }
    }

    /// The `lookup` table: time (UTC), user, event, resource type, resource name, source IP, error.
    enum EventTable {
        static let headers = ["TIME (UTC)", "USER", "EVENT", "RESOURCE TYPE", "RESOURCE NAME", "SOURCE IP", "ERROR"]
        static let widthLimits = [20, 32, 40, 16, 48, 39, 40]

        static func render(_ events: [[String: Any]]) -> String {
            let rows = events.map(row)
            var widths = headers.map(\.count)
            for r in rows { for (i, cell) in r.enumerated() { widths[i] = Swift.max(widths[i], Swift.min(cell.count, widthLimits[i])) } }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { i, cell in
                    let c = cell.count > widths[i] ? String(cell.prefix(widths[i] - 1)) + "…" : cell
                    return i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count)
                }.joined(separator: "  ") + "\n"
            }
            return line(headers) + rows.map(line).joined()
        }

        static func row(_ e: [String: Any]) -> [String] {
            func text(_ v: Any?) -> String {
                switch v {
                case let s as String: return s
                case let n as NSNumber: return n.stringValue
                default: return ""
                }
            }
            let time = Int64(text(e["EventTime"])).map(TimeArgument.rfc3339) ?? text(e["EventTime"])
            let resources = e["Resources"] as? [String: Any] ?? [:]
            // The API code of a failed call lives in the record; the Event only carries the CAM code.
            var error = ""
            if let raw = e["CloudAuditEvent"] as? String,
               let record = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] {
                error = text(record["apiErrorCode"])
            }
            if error.isEmpty, let cam = e["ErrorCode"] as? NSNumber, cam.intValue != 0 { error = "CAM \(cam.intValue)" }
            let cells = [time, text(e["Username"]), text(e["EventName"]), text(resources["ResourceType"]),
                         text(resources["ResourceName"]), text(e["SourceIPAddress"]), error]
            return cells.map { $0.isEmpty ? "-" : $0.replacingOccurrences(of: "\n", with: " ") }
        }
    }

    /// Time arguments: Unix seconds, RFC 3339, a date, `-2h`-style offsets from now, `now`.
    enum TimeArgument {
        static func parse(_ raw: String, now: Int64) -> Int64? {
            let text = raw.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { return nil }
            if text.lowercased() == "now" { return now }
            if text.hasPrefix("-"), let d = duration(String(text.dropFirst())) { return now - d }
            if text.allSatisfy(isDigit) { return Int64(text) }
            // RFC 3339 allows a space or lower-case t between date and time. Parsed by the server's own
            // parser: ISO8601DateFormatter's ICU parser dies (SIGFPE) on a fraction of 35 digits.
            var normalised = text
            if normalised.count > 10 {
                let i = normalised.index(normalised.startIndex, offsetBy: 10)
                if normalised[i] == " " || normalised[i] == "t" { normalised.replaceSubrange(i...i, with: "T") }
                if normalised.hasSuffix("z") { normalised = String(normalised.dropLast()) + "Z" }
            }
            if let t = EventTimeParser.rfc3339(normalised) { return t }
            if normalised.utf8.count == 10, let t = EventTimeParser.rfc3339(normalised + "T00:00:00Z") { return t }
            return nil
        }

        /// `90`, `90s`, `30m`, `2h`, `7d`, `1w` as seconds.
        static func duration(_ text: String) -> Int64? {
            guard let last = text.last else { return nil }
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400]
            let (digits, unit) = isDigit(last) ? (Substring(text), Int64(1)) : (text.dropLast(), units[last] ?? 0)
            guard unit > 0, !digits.isEmpty, digits.allSatisfy(isDigit), let n = Int64(digits) else { return nil }
            let (product, overflow) = n.multipliedReportingOverflow(by: unit)
            return overflow ? nil : product
        }

        static func isDigit(_ c: Character) -> Bool { c >= "0" && c <= "9" }

        static func rfc3339(_ seconds: Int64) -> String {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime]
            f.timeZone = TimeZone(identifier: "UTC")
            return f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        }
    }
}

// MARK: - generate

extension EventsCommand {
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Send realistic synthetic events (for demos and load tests).",
            discussion: """
                About 200 users (a few very active), 20 products with their real action names, 70% Read \
                and 30% Write, ~5% failed calls, ~3% sensitive actions, event times spread over --span \
                up to now. The same --seed gives the same events, event ids included, so sending a seed \
                again stores nothing new.

                Without --account-id the events name no account and the server files them under the \
                account of the key.
                """)

        @OptionGroup var client: ClientOptions

        @Option(help: "How many events to send.")
        var count: Int

        @Option(help: "Seed of the event stream (default: random, printed on stderr).")
        var seed: UInt64?

        @Option(help: "Records per PutEvents request (1-1000).")
        var batchSize = EventBatcher.defaultMaxRecords

        @Option(help: "PutEvents requests in flight at once (1-64).")
        var concurrency = 4

        @Option(help: "How far back event times reach: seconds or 90s/30m/24h/7d.")
        var span = "24h"

        @Option(help: "Account written in userIdentity.accountId (needed with a service key; 0 = leave it out).")
        var accountId: Int64 = 0

        @Option(help: "Summary format: text or json.")
        var output: SummaryFormat = .text

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
            guard (1...EventBatcher.defaultMaxRecords).contains(batchSize) else {
                throw ValidationError("--batch-size must be between 1 and \(EventBatcher.defaultMaxRecords)")
            }
            guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
            guard TimeArgument.duration(span) != nil else { throw ValidationError("--span must be seconds or a duration like 30m, 24h, 7d") }
            guard accountId >= 0 else { throw ValidationError("--account-id must not be negative") }
        }

        func run() async throws {
            let api = try client.makeClient()
            let seed = self.seed ?? UInt64.random(in: 1...UInt64(Int64.max))
            if self.seed == nil { Terminal.note("seed \(seed)") }
            let now = Int64(Date().timeIntervalSince1970)
            var generator = SyntheticEventGenerator(seed: seed, accountId: accountId, now: now,
                                                    spanSeconds: TimeArgument.duration(span)!)
            var batcher = EventBatcher(maxRecords: batchSize)
            var produced = 0
            var finished = false
            let progress = ProgressBar(total: count, label: "events")
            let start = Date()
            let result = await Sender.send(client: api, concurrency: concurrency, retryTransportErrors: true,
                                           progress: progress) {
                while produced < count {
                    produced += 1
                    if let full = batcher.add(generator.next()) { return full }
                }
                if finished { return nil }
                finished = true
                return batcher.finish()
            }
            progress.finish()
            let elapsed = Swift.max(Date().timeIntervalSince(start), 0.000_001)
            let rate = Double(result.stored) / elapsed

            var byCode: [String: Int] = [:]
            for f in result.failures { byCode[f.code, default: 0] += 1 }
            let rejected = result.failures.count
            switch output {
            case .text:
                var text = "Stored \(result.stored) of \(count) events, rejected \(rejected)"
                if result.sent < count { text += ", not sent \(count - result.sent)" }
                text += String(format: " in %.2f s (%.0f events/s", elapsed, rate) + ", seed \(seed)).\n"
                for (code, n) in byCode.sorted(by: { $0.value > $1.value }) {
                    let example = result.failures.first { $0.code == code }?.message ?? ""
                    text += "  \(n) x \(code): \(example)\n"
                }
                print(text, terminator: "")
            case .json:
                var out = "{\"Stored\": \(result.stored), \"Rejected\": \(rejected), \"NotSent\": \(count - result.sent), "
                out += String(format: "\"Seconds\": %.3f, \"EventsPerSecond\": %.1f, ", elapsed, rate)
                out += "\"Seed\": \(seed), \"RejectedByCode\": {"
                out += byCode.sorted { $0.key < $1.key }.map { "\(JSONText.quote($0.key)): \($0.value)" }.joined(separator: ", ")
                out += "}"
                if let e = result.requestError {
                    out += ", \"Error\": {\"Code\": \(JSONText.quote(e.code)), \"Message\": \(JSONText.quote(e.message))}"
                }
                print(out + "}")
            }
            if let e = result.requestError {
                Terminal.error(e.description)
                throw ExitCode(2)
            }
            if rejected > 0 { throw ExitCode(1) }
        }
    }
}

// MARK: - Sending batches

extension EventsCommand {
    /// Sends PutEvents batches with bounded concurrency and collects per-record outcomes.
    enum Sender {
        struct Rejection: Sendable {
            var tag: Int
            var code: String
            var message: String
        }

        struct RequestError: Sendable, CustomStringConvertible {
            var code: String
            var message: String
            var description: String { code == "ClientNetworkError" || code == "ClientError" ? message : "\(code): \(message)" }
        }

        struct Totals {
            var stored = 0
            var sent = 0  // records in batches that were answered (stored or rejected)
            var failures: [Rejection] = []
            var requestError: RequestError?
        }

        enum Outcome: Sendable {
            case answered(count: Int, rejections: [Rejection])
            case failed(RequestError)
        }

        /// Pulls batches from `nextBatch` (on the calling task) and keeps up to `concurrency` requests in
        /// flight. After the first request-level failure no new batch is started; requests already in
        /// flight are awaited and counted.
        static func send(client: APIClient, concurrency: Int, retryTransportErrors: Bool, progress: ProgressBar,
                         nextBatch: () -> EventBatcher.Batch?) async -> Totals {
            var result = Totals()
            await withTaskGroup(of: Outcome.self) { group in
                func absorb(_ outcome: Outcome) {
                    switch outcome {
                    case .answered(let count, let rejections):
                        result.sent += count
                        result.stored += count - rejections.count
                        result.failures += rejections
                        progress.advance(by: count)
                    case .failed(let e):
                        if result.requestError == nil { result.requestError = e }
                    }
                }
                var inFlight = 0
                while result.requestError == nil, let batch = nextBatch() {
                    if inFlight >= concurrency, let outcome = await group.next() {
                        inFlight -= 1
                        absorb(outcome)
                        if result.requestError != nil { break }
                    }
                    group.addTask { await sendOne(client: client, batch: batch, retryTransportErrors: retryTransportErrors) }
                    inFlight += 1
                }
                for await outcome in group { absorb(outcome) }
            }
            return result
        }

        static func sendOne(client: APIClient, batch: EventBatcher.Batch, retryTransportErrors: Bool) async -> Outcome {
            var attempt = 0
            while true {
                do {
                    let bytes = try await client.call(action: "PutEvents", body: batch.body)
                    let response = try APIClient.unwrap(bytes, action: "PutEvents")
                    var rejections: [Rejection] = []
                    var seen = Set<Int>()
                    for f in response["FailedEvents"] as? [[String: Any]] ?? [] {
                        guard let index = (f["Index"] as? NSNumber)?.intValue, batch.tags.indices.contains(index),
                              seen.insert(index).inserted else { continue }
                        rejections.append(Rejection(tag: batch.tags[index], code: f["Code"] as? String ?? "InternalError",
                                                    message: f["Message"] as? String ?? ""))
                    }
                    return .answered(count: batch.count, rejections: rejections)
                } catch let e as APIErrorResponse {
                    // Throttled requests were not processed: sending them again is safe.
                    if e.code == "RequestLimitExceeded", attempt < 8 {
                        attempt += 1
                        try? await Task.sleep(nanoseconds: UInt64(100_000_000) << UInt64(Swift.min(attempt, 5)))
                        continue
                    }
                    return .failed(RequestError(code: e.code, message: e.requestId.isEmpty ? e.message : "\(e.message) (RequestId \(e.requestId))"))
                } catch let e as APIClientError {
                    // A lost answer may hide stored records; only records with event ids can be resent safely.
                    if retryTransportErrors, case .transport = e, attempt < 3 {
                        attempt += 1
                        try? await Task.sleep(nanoseconds: UInt64(500_000_000) << UInt64(attempt))
                        continue
                    }
                    return .failed(RequestError(code: "ClientNetworkError", message: e.description))
                } catch {
                    return .failed(RequestError(code: "ClientError", message: String(describing: error)))
                }
            }
        }
    }
}

// MARK: - Input records

extension EventsCommand {
    /// Splits `put` input into raw records, keeping each record's bytes exactly as written.
    ///
    /// A document whose first non-blank character is `[` is one JSON array: its elements are sliced out by a
    /// scanner that follows strings, escapes and nesting (it does not validate them; that happens per
    /// record). Anything else, or an array followed by more text, is JSON lines: one record per non-blank
    /// line. Line numbers are 1-based; an array element's line is the line where it starts.
    enum InputRecords {
        struct Record {
            var line: Int
            var bytes: [UInt8]
        }

        struct SyntaxError: Error {
            var line: Int
            var message: String
        }

        static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

        static func split(_ input: [UInt8]) throws -> [Record] {
            var start = 0
            if input.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }  // UTF-8 byte order mark
            guard let first = input[start...].firstIndex(where: { !isBlank($0) }) else { return [] }
            if input[first] == UInt8(ascii: "["), let records = try array(input, from: first) {
                return records
            }
            return lines(input, from: start)
        }

        static func lines(_ input: [UInt8], from start: Int) -> [Record] {
            var out: [Record] = []
            var line = 1
            var i = start
            while i < input.count {
                let end = input[i...].firstIndex(of: 0x0A) ?? input.count
                var a = i, b = end
                while a < b, isBlank(input[a]) { a += 1 }
                while b > a, isBlank(input[b - 1]) { b -= 1 }
                if a < b { out.append(Record(line: line, bytes: Array(input[a..<b]))) }
                line += 1
                i = end + 1
            }
            return out
        }

        /// The elements of the array opening at `open`, or nil when text follows the array (JSON lines).
        static func array(_ input: [UInt8], from open: Int) throws -> [Record]? {
            var line = 1 + input[..<open].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            let openLine = line
            var i = open + 1
            var out: [Record] = []

            func skipBlanks() {
                while i < input.count, isBlank(input[i]) {
                    if input[i] == 0x0A { line += 1 }
                    i += 1
                }
            }

            skipBlanks()
            if i < input.count, input[i] == UInt8(ascii: "]") {
                i += 1
            } else {
                elements: while true {
                    skipBlanks()
                    let elementStart = i, elementLine = line
                    var depth = 0, inString = false, escaped = false
                    var terminator: UInt8?
                    scan: while i < input.count {
                        let b = input[i]
                        if b == 0x0A { line += 1 }
                        if inString {
                            if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                        } else {
                            switch b {
                            case UInt8(ascii: "\""): inString = true
                            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                                if depth == 0 { terminator = b; break scan }
                                depth -= 1
                            case UInt8(ascii: ","):
                                if depth == 0 { terminator = b; break scan }
                            default: break
                            }
                        }
                        i += 1
                    }
                    guard let terminator else {
                        throw SyntaxError(line: openLine, message: "the JSON array that starts here is not closed")
                    }
                    var end = i
                    while end > elementStart, isBlank(input[end - 1]) { end -= 1 }
                    guard end > elementStart else {
                        throw SyntaxError(line: line, message: "empty array element (a stray or trailing comma?)")
                    }
                    guard terminator != UInt8(ascii: "}") else {
                        throw SyntaxError(line: line, message: "unexpected } in the JSON array")
                    }
                    out.append(Record(line: elementLine, bytes: Array(input[elementStart..<end])))
                    i += 1
                    if terminator == UInt8(ascii: "]") { break elements }
                }
            }
            skipBlanks()
            return i == input.count ? out : nil
        }
    }
}

// MARK: - Terminal output

extension EventsCommand {
    enum Terminal {
        static var stderrIsTTY: Bool { isatty(2) != 0 }

        static func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
        static func error(_ message: String) { Failures.report(message) }
        static func note(_ message: String) { write("\(message)\n") }
    }

    /// A one-line progress bar on stderr, drawn only when stderr is a terminal.
    final class ProgressBar {
        let total: Int
        let label: String
        let enabled: Bool
        private var done = 0
        private let started = Date()
        private var lastDraw = Date.distantPast

        init(total: Int, label: String) {
            self.total = total
            self.label = label
            self.enabled = Terminal.stderrIsTTY && total > 0
        }

        func advance(by n: Int) {
            done += n
            guard enabled else { return }
            let now = Date()
            if now.timeIntervalSince(lastDraw) < 0.1 && done < total { return }
            lastDraw = now
            let fraction = Swift.min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            let rate = Double(done) / Swift.max(now.timeIntervalSince(started), 0.001)
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: Swift.max(0, width - filled - 1))
            let percent = String(Int(fraction * 100))
            let padded = String(repeating: " ", count: Swift.max(0, 3 - percent.count)) + percent
            Terminal.write("\r[\(bar)] \(padded)% \(done)/\(total) \(label)  " + String(format: "%.0f/s", rate) + "\u{1B}[K")
        }

        func finish() {
            if enabled { Terminal.write("\r\u{1B}[K") }
        }
    }

    enum JSONText {
        /// `s` as a JSON string literal.
        static func quote(_ s: String) -> String {
            var out: [UInt8] = []
            JSONWriter.appendString(s, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }
}


// A request that failed as a whole, or input that could not be read: exit 2 (1 is "some records rejected").
extension EventsCommand.Put: FailureStatus { static var failureStatus: Int32 { 2 } }
extension EventsCommand.Lookup: FailureStatus { static var failureStatus: Int32 { 2 } }
extension EventsCommand.Generate: FailureStatus { static var failureStatus: Int32 { 2 } }
