import AuditClient
import AuditDelivery
import AuditModel
import AuditObjectStorage
import AuditServer
import AuditStore
import AuditSynthetic
import Foundation
import Logging

/// The delivery part of `cloudaudit bench`:
/// 1. Throughput: events appended to a fresh SQLite store, then delivered by `DeliveryService` to a
///    folder bucket, per kind of tracking set (all events with gzip, a Write-only filter with gzip,
///    all events plain). Wall time and the process's CPU time, so events per CPU-second is the
///    per-core figure. The baseline in the same run is reading the same events from the store.
/// 2. End-to-end latency: a `cloudaudit serve` child with `--delivery-interval` 1 s and 60 s; one
///    event per PutEvents at random moments; the time from the acknowledgement to the moment a file
///    holding the event is readable in the bucket.
extension BenchCommand {
    func runDelivery(dir: String, report: inout [String: Any]) async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let n = deliveryEvents ?? min(events, 500_000)
        let now = unixNow()
        say("")
        say("delivery: generating and storing \(n) events...")
        let storage = try await DataDirectory(path: dir + "/delivery").openStorage(defaultRetentionDays: ServerConfiguration().retentionDays)
        let account = try await storage.accounts.createAccount(name: "bench", retentionDays: nil, id: AccountIds.first).id
        let cases: [(String, TrackFilter, Bool)] = [
            ("all events, gzip", TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"]), true),
            ("Write only, gzip", TrackFilter(actionType: "Write", resourceType: "*", eventNames: ["*"]), true),
            ("all events, plain", TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"]), false),
        ]
        var tracks: [Track] = []
        for (i, c) in cases.enumerated() {
            tracks.append(try await storage.tracks.createTrack(Track(accountId: account, name: "bench\(i)", enabled: false,
                                                            storage: TrackStorage(region: "local", name: "bench", prefix: "case\(i)", compress: c.2),
                                                            filters: [c.1]), quota: 10))
        }
        var gen = SyntheticEventGenerator(seed: 7, accountId: 0, now: now - 60, spanSeconds: 86400)
        let scope = AccountScope(accountId: account, retentionDays: ServerConfiguration().retentionDays)
        var stored = 0
        var recordBytes = 0
        while stored < n {
            let batch: [AuditEvent] = (0..<min(1000, n - stored)).compactMap { _ in
                let r = gen.next()
                recordBytes += r.count
                guard let v = try? JSONParser.parse(r),
                      case .success(let e) = EventRecordValidator.validate(v, source: r, now: now, resolveAccount: { _ in .success(scope) }) else { return nil }
                return e
            }
            _ = try await storage.events.append(batch)
            stored += batch.count
        }
        let regions = try RegionRegistry.load(file: nil, dataDirectory: dir, logger: Logger(label: "bench"))
        _ = await regions.createBucket(region: "local", bucket: "bench")

        // Baseline: reading the same events in sequence order, as delivery does.
        let readStart = Date()
        var after: Int64 = 0
        while true {
            let page = try await storage.events.events(accountId: account, afterSequence: after, limit: 5000)
            guard let last = page.last else { break }
            after = last.sequence
        }
        let readRate = Double(n) / Date().timeIntervalSince(readStart)
        say(String(format: "  baseline, reading the events in sequence order: %.0f events/s (%.0f bytes/event)", readRate, Double(recordBytes) / Double(n)))

        say(pad("tracking set", 20) + pad("events", 9) + pad("files", 7) + pad("events/s", 10) + pad("events/CPU-s", 13) + pad("MB out", 8))
        var rows: [[String: Any]] = []
        var config = DeliveryService.Configuration()
        config.maxEventsPerFile = 10_000
        for (i, var t) in tracks.enumerated() {
            t.enabled = true
            _ = try await storage.tracks.updateTrack(t)
            let service = DeliveryService(storage: storage, regions: regions, configuration: config, logger: Logger(label: "bench"))
            let cpu0 = cpuSeconds(), start = Date()
            try await service.deliverPending()
            let wall = Date().timeIntervalSince(start), cpu = cpuSeconds() - cpu0
            t.enabled = false
            _ = try await storage.tracks.updateTrack(t)
            let state = try await storage.tracks.deliveryStates(trackId: t.id).first
            let delivered = Int(state?.events ?? 0)
            let outBytes = folderBytes(dir + "/buckets/bench/case\(i)")
            let row: [String: Any] = ["case": cases[i].0, "events": delivered, "files": Int(state?.files ?? 0), "eventsPerSecond": Double(delivered) / wall,
                                      "eventsPerCPUSecond": Double(delivered) / cpu, "bytesOut": outBytes]
            rows.append(row)
            say(pad(cases[i].0, 20) + pad(String(delivered), 9) + pad(String(state?.files ?? 0), 7) + pad(String(format: "%.0f", Double(delivered) / wall), 10)
                + pad(String(format: "%.0f", Double(delivered) / cpu), 13) + pad(String(format: "%.1f", Double(outBytes) / 1e6), 8))
        }
        try await storage.close()
        report["deliveryBaselineReadEventsPerSecond"] = readRate
        report["delivery"] = rows

        // End-to-end latency through a server.
        var latency: [String: Any] = [:]
        for (interval, samples) in [(1, latencySamples), (60, defaultIntervalSamples)] where samples > 0 {
            let values = try await measureLatency(dir: dir + "/latency-\(interval)", interval: interval, samples: samples)
            latency["interval\(interval)s"] = ["samples": values.count, "p50": percentile(values, 0.5), "max": values.max() ?? -1]
            say(String(format: "end-to-end latency at --delivery-interval %d: p50 %.2f s, max %.2f s over %d events (target: at most %d s)",
                       interval, percentile(values, 0.5), values.max() ?? -1, values.count, interval + 5))
        }
        report["deliveryLatencySeconds"] = latency
    }

    /// Seconds from each PutEvents acknowledgement to a readable file holding the event.
    func measureLatency(dir: String, interval: Int, samples: Int) async throws -> [Double] {
        let server = try startServer(dataDir: dir, extraArguments: ["--delivery-interval", String(interval)])
        defer { server.terminate(); server.waitUntilExit() }
        let client = APIClient(endpoint: "http://127.0.0.1:\(port)", secretId: server.secretId, secretKey: server.secretKey, timeoutSeconds: 60)
        try await waitForHealth()
        _ = try APIClient.unwrap(try await client.call(action: "CreateAuditTrack", body: Array("""
            {"Name": "latency", "Status": 1, "ActionType": "*", "ResourceType": "*", "EventNames": ["*"],
             "Storage": {"StorageType": "cos", "StorageRegion": "local", "StorageName": "latency", "StoragePrefix": "lat", "Compress": 1}}
            """.utf8)), action: "CreateAuditTrack")
        let bucket = dir + "/buckets/latency"
        var seen: Set<String> = []
        var out: [Double] = []
        say("latency at --delivery-interval \(interval): \(samples) samples (+1 warm-up)...")
        for i in 0...samples {
            // Random moments, so that samples fall anywhere in the flush cycle.
            if i > 0 { try await Task.sleep(for: .milliseconds(Int.random(in: 0...(interval * 1000)))) }
            let id = "latency-\(UUID().uuidString)"
            let body = #"{"Events":[{"eventId":"\#(id)","eventName":"RunInstances","eventSource":"cvm.api","actionType":"Write"}]}"#
            _ = try APIClient.unwrap(try await client.call(action: "PutEvents", body: Array(body.utf8)), action: "PutEvents")
            let acked = Date()
            let deadline = acked.addingTimeInterval(Double(interval) * 3 + 30)
            var found = false
            while !found, Date() < deadline {
                for file in newFiles(under: bucket, seen: &seen) where fileHolds(file, id) { found = true }
                if !found { try await Task.sleep(for: .milliseconds(20)) }
            }
            guard found else { throw DeliveryError("event \(id) was not delivered within \(Int(deadline.timeIntervalSince(acked))) s") }
            if i > 0 { out.append(Date().timeIntervalSince(acked)) }
        }
        return out
    }

    func newFiles(under root: String, seen: inout Set<String>) -> [String] {
        var out: [String] = []
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        while let rel = e.nextObject() as? String {
            guard rel.hasSuffix(".json.gz") || rel.hasSuffix(".json"), !seen.contains(rel) else { continue }
            seen.insert(rel)
            out.append(root + "/" + rel)
        }
        return out
    }

    func fileHolds(_ path: String, _ id: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        let bytes = path.hasSuffix(".gz") ? ((try? Gzip.decompress(Array(data))) ?? []) : Array(data)
        return String(decoding: bytes, as: UTF8.self).contains(id)
    }

    func folderBytes(_ root: String) -> Int {
        guard let e = FileManager.default.enumerator(atPath: root) else { return 0 }
        var total = 0
        while let rel = e.nextObject() as? String {
            total += (try? FileManager.default.attributesOfItem(atPath: root + "/" + rel)[.size] as? Int) ?? 0
        }
        return total
    }

    func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
}
