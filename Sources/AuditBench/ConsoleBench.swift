import ArgumentParser
import AsyncHTTPClient
import AuditModel
import AuditServer
import AuditStore
import AuditSynthetic
import Foundation
import NIOCore

/// The console part of `cloudaudit bench`: what the Operation Record page asks when it opens, on an
/// account of `--console-events` events over 29 days.
/// 1. The events are appended straight to the store of a fresh data directory (the ingest path has its
///    own figures in the core suite), then a `cloudaudit serve` child opens it.
/// 2. A console session (key sign-in) sends, one at a time, the page's first calls for the last 30
///    days: LookUpEvents (first page of 50, with TotalCount) and DescribeEventStats (60 bars, top
///    users, event names, source IPs), unfiltered and then with the filter ResourceType=cvm (the
///    bars then need an exact count each). The server's own time comes from the response's
///    `Server-Timing` header; the round trip on loopback is beside it.
/// 3. Baseline: the same first page straight on the store, in this process.
/// 4. Export: the whole 30-day range as CSV, rows/s.
extension BenchCommand {
    func runConsole(dir: String, report: inout [String: Any]) async throws {
        let n = consoleEvents ?? events
        try FileManager.default.createDirectory(atPath: dir + "/server", withIntermediateDirectories: true)
        say("")
        say("console: generating \(n) events over 29 days and appending them to the store...")
        let generated = syntheticEvents(n, seed: 21, span: 29 * 86400)
        let seeded = try await DataDirectory(path: dir + "/server").openStorage(defaultRetentionDays: ServerConfiguration().retentionDays)
        _ = try await seeded.accounts.createAccount(name: "default", retentionDays: nil, id: AccountIds.first)
        let rate = try await appendConcurrently(generated, to: seeded.events)
        try await seeded.close()
        say(String(format: "  appended %d events at %.0f events/s", generated.count, rate))

        let server = try startServer(dataDir: dir + "/server")
        defer { server.terminate(); server.waitUntilExit() }
        try await waitForHealth()
        let session = try await ConsoleSessionClient.signIn(port: port, secretId: server.secretId, secretKey: server.secretKey)
        let now = unixNow()
        let range: [(String, JSONValue)] = [("StartTime", .int(now - 30 * 86400 + 60)), ("EndTime", .int(now))]
        let samples = 30
        var rows: [[String: Any]] = []
        let cvm: [(String, JSONValue)] = [("LookupAttributes", .array([.object(JSONObject(fields: [
            (key: "AttributeKey", value: "ResourceType"), (key: "AttributeValue", value: "cvm")]))]))]
        let page: [(String, JSONValue)] = range + [("MaxResults", .int(50))]
        let bars: [(String, JSONValue)] = range + [("Buckets", .int(60))]
        say(pad("call (30 days)", 40) + pad("server p50", 12) + pad("server p99", 12) + pad("round trip p50", 16) + "target")
        for (name, action, params) in [("LookUpEvents, first page of 50", "LookUpEvents", page),
                                       ("DescribeEventStats, 60 bars", "DescribeEventStats", bars),
                                       ("LookUpEvents, ResourceType=cvm", "LookUpEvents", page + cvm),
                                       ("DescribeEventStats, ResourceType=cvm", "DescribeEventStats", bars + cvm)] {
            var serverTimes: [Double] = []
            var roundTrips: [Double] = []
            var total: Int64 = -1
            for _ in 0..<samples {
                let t = DispatchTime.now().uptimeNanoseconds
                let (answer, serverMillis) = try await session.call(action, params)
                roundTrips.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
                serverTimes.append(serverMillis)
                if case .int(let c)? = answer["Response"]?["TotalCount"] { total = c }
                if let e = answer["Response"]?["Error"] { throw ValidationError("\(action) failed: \(e)") }
            }
            let p50 = percentile(serverTimes, 0.5), p99 = percentile(serverTimes, 0.99)
            say(pad(name, 40) + pad(String(format: "%.1f ms", p50), 12) + pad(String(format: "%.1f ms", p99), 12)
                + pad(String(format: "%.1f ms", percentile(roundTrips, 0.5)), 16) + pad(p99 < 300 ? "under 300 ms: met" : "under 300 ms: MISSED", 22)
                + (total >= 0 ? "TotalCount \(total)" : ""))
            rows.append(["call": name, "serverP50ms": p50, "serverP99ms": p99, "roundTripP50ms": percentile(roundTrips, 0.5), "totalCount": total])
        }

        let storage = try await DataDirectory(path: dir + "/server").openStorage(defaultRetentionDays: ServerConfiguration().retentionDays)
        var direct: [Double] = []
        let q = EventQuery(accountId: AccountIds.first, startTime: now - 30 * 86400 + 60, endTime: now, limit: 50)
        for _ in 0..<samples {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try await storage.events.lookup(q)
            direct.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
        }
        try await storage.close()
        say(pad("the first unfiltered page on the store", 40) + pad(String(format: "%.1f ms", percentile(direct, 0.5)), 12)
            + pad(String(format: "%.1f ms", percentile(direct, 0.99)), 12))
        report["consoleEvents"] = generated.count
        report["consoleCalls"] = rows
        report["consoleStoreFirstPageP50ms"] = percentile(direct, 0.5)

        let exportStart = Date()
        let lines = try await session.exportLineCount(start: now - 30 * 86400 + 60, end: now)
        let exportSeconds = Date().timeIntervalSince(exportStart)
        say(String(format: "export of the 30 days as CSV: %d rows in %.1f s, %.0f rows/s", lines - 1, exportSeconds, Double(lines - 1) / exportSeconds))
        report["consoleExportRowsPerSecond"] = Double(lines - 1) / exportSeconds
    }
}

/// A console session over HTTP: the cookie and CSRF token of a key sign-in.
struct ConsoleSessionClient {
    let base: String
    let cookie: String
    let csrf: String

    static func signIn(port: Int, secretId: String, secretKey: String) async throws -> ConsoleSessionClient {
        let base = "http://127.0.0.1:\(port)"
        var request = HTTPClientRequest(url: base + "/console/api/session")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: JSONWriter.encode(.obj([("SecretId", .string(secretId)), ("SecretKey", .string(secretKey))]))))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok, let cookie = response.headers["Set-Cookie"].first?.split(separator: ";").first,
              let csrf = (try JSONParser.parse(Array(body.readableBytesView)))["Session"]?["CsrfToken"]?.stringValue else {
            throw ValidationError("console sign-in failed: \(response.status)")
        }
        return ConsoleSessionClient(base: base, cookie: String(cookie), csrf: csrf)
    }

    /// The answer and the server's time (`Server-Timing`), in milliseconds.
    func call(_ action: String, _ params: [(String, JSONValue)]) async throws -> (JSONValue, Double) {
        var request = HTTPClientRequest(url: base + "/console/api/call")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Cookie", value: cookie)
        request.headers.add(name: "X-CSRF-Token", value: csrf)
        request.body = .bytes(ByteBuffer(bytes: JSONWriter.encode(.obj([("Action", .string(action)), ("Params", .obj(params))]))))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        let timing = response.headers["Server-Timing"].first.flatMap { $0.split(separator: "=").last.flatMap { Double($0) } } ?? .nan
        return (try JSONParser.parse(Array(body.readableBytesView)), timing)
    }

    /// Streams the export and counts its lines (header included).
    func exportLineCount(start: Int64, end: Int64) async throws -> Int {
        var request = HTTPClientRequest(url: base + "/console/api/export?format=csv&StartTime=\(start)&EndTime=\(end)")
        request.headers.add(name: "Cookie", value: cookie)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(3600))
        guard response.status == .ok else { throw ValidationError("export failed: \(response.status)") }
        var lines = 0
        for try await chunk in response.body { lines += chunk.readableBytesView.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }
        return lines
    }
}
