import ArgumentParser
import AuditDelivery
import AuditIntegrity
import AuditModel
import AuditObjectStorage
import AuditServer
import AuditStore
import AuditSynthetic
import AuditVerify
import Foundation
import Logging

/// The integrity part of `cloudaudit bench`:
/// 1. Append cost of the Merkle log: the same validated events appended straight to a fresh SQLite
///    store by the same concurrent writers, without the log (the core figure, the baseline) and with
///    it, alternating, twice each.
/// 2. Proof generation: inclusion proofs of random events against the full tree, and consistency
///    proofs between random sizes, from the store, by concurrent tasks for a fixed time.
/// 3. Verification: a tracking set delivers the events to a folder bucket with signed digests, then
///    `BucketVerifier` (what `cloudaudit verify` runs) checks every digest and file and rebuilds the
///    log: files/s and MB/s of stored objects.
extension BenchCommand {
    func runIntegrity(dir: String, report: inout [String: Any]) async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let n = integrityEvents ?? min(events, 300_000)
        say("")
        say("integrity: generating \(n) events...")
        let events = syntheticEvents(n, seed: 11, span: 86400)

        // 1. Append with and without the log.
        var rates: [Bool: [Double]] = [false: [], true: []]
        for round in 0..<4 {
            let withLog = round % 2 == 1
            let scratch = DataDirectory(path: dir + "/append-\(round)")
            try scratch.ensureExists()
            let storage = try await scratch.storage.open(.init(merkleLog: withLog))
            _ = try await storage.accounts.createAccount(name: "bench", retentionDays: nil, id: AccountIds.first)
            let rate = try await appendConcurrently(events, to: storage.events)
            rates[withLog]!.append(rate)
            say(String(format: "  append %@ the Merkle log: %.0f events/s", withLog ? "with   " : "without", rate))
            try await storage.close()
            scratch.storage.destroy()
        }
        let core = rates[false]!.reduce(0, +) / Double(rates[false]!.count)
        let merkle = rates[true]!.reduce(0, +) / Double(rates[true]!.count)
        let slower = 100 * (core - merkle) / core
        say(String(format: "  mean: %.0f events/s with the log vs %.0f without (core): %.1f%% %@ (target: at most 10%% slower)", merkle, core,
                   abs(slower), slower >= 0 ? "slower" : "faster, within noise"))
        report["integrityAppendCoreEventsPerSecond"] = core
        report["integrityAppendMerkleEventsPerSecond"] = merkle
        report["integrityAppendSlowerPercent"] = slower

        // 2. Proofs, on a store that keeps the log.
        let storage = try await DataDirectory(path: dir + "/log").openStorage(defaultRetentionDays: ServerConfiguration().retentionDays)
        let account = try await storage.accounts.createAccount(name: "bench", retentionDays: nil, id: AccountIds.first).id
        _ = try await appendConcurrently(events, to: storage.events)
        let size = Int64(try await storage.events.merkleRange(accountId: account).size)
        let inclusion = try await proofRate(seconds: lookupSeconds) { rng in
            let index = Int64.random(in: 0..<size, using: &rng)
            let proof = try await storage.events.inclusionProof(accountId: account, index: index, size: size)
            return proof.count
        }
        let consistency = try await proofRate(seconds: lookupSeconds) { rng in
            let first = Int64.random(in: 1..<size, using: &rng)
            return try await storage.events.consistencyProof(accountId: account, from: first, to: size).count
        }
        say(String(format: "  proofs from a log of %d events: %.0f inclusion proofs/s, %.0f consistency proofs/s (%d clients)", size, inclusion,
                   consistency, clients))
        report["inclusionProofsPerSecond"] = inclusion
        report["consistencyProofsPerSecond"] = consistency

        // 3. Verification of a delivered bucket.
        try await benchVerify(storage: storage, account: account, dir: dir, report: &report)
        try await storage.close()
    }

    /// Proofs per second over `seconds`, by `clients` concurrent tasks.
    func proofRate(seconds: Double, _ make: @escaping @Sendable (inout SystemRandomNumberGenerator) async throws -> Int) async throws -> Double {
        let start = Date()
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    var done = 0
                    while Date().timeIntervalSince(start) < seconds {
                        _ = try await make(&rng)
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / Date().timeIntervalSince(start)
    }

    /// Delivers the store's events with digests to a folder bucket, then times the verifier over it.
    func benchVerify(storage: Storage, account: Int64, dir: String, report: inout [String: Any]) async throws {
        let regions = try RegionRegistry.load(file: nil, dataDirectory: dir, logger: Logger(label: "bench"))
        _ = await regions.createBucket(region: "local", bucket: "verify")
        let key = try SigningKey.generate(name: "bench")
        _ = try await storage.tracks.createTrack(Track(accountId: account, name: "verify", enabled: true,
                                              storage: TrackStorage(region: "local", name: "verify", prefix: "bench"),
                                              filters: [TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])]), quota: 10)
        // The set starts at the log's end: new events give it work.
        let n = integrityEvents ?? min(events, 300_000)
        for batch in stride(from: 0, to: n, by: 1000).map({ _ in syntheticEvents(1000, seed: UInt64.random(in: 1...UInt64.max), span: 3600) }) {
            _ = try await storage.events.append(batch)
        }
        var config = DeliveryService.Configuration()
        config.maxEventsPerFile = 1_000
        let service = DeliveryService(storage: storage, regions: regions, configuration: config, checkpointer: Checkpointer(storage: storage, key: key),
                                      logger: Logger(label: "bench"))
        try await service.deliverPending()
        let bucketDir = dir + "/buckets/verify"
        let verifier = BucketVerifier(store: FileSystemObjectStore(root: dir + "/buckets"), bucket: "verify", prefix: "bench", trackId: 1,
                                      keys: [key.publicKey])
        let bytes = try FileManager.default.subpathsOfDirectory(atPath: bucketDir).reduce(0) { total, sub in
            total + ((try? FileManager.default.attributesOfItem(atPath: bucketDir + "/" + sub)[.size] as? Int) ?? 0)
        }
        let start = Date()
        let result = try await verifier.verify()
        let seconds = Date().timeIntervalSince(start)
        let files = result.summary.logFiles + result.summary.digests
        say(String(format: "  verify: %d log files and %d digests (%.1f MB, %d events) in %.2f s: %.0f files/s, %.1f MB/s; %@", result.summary.logFiles,
                   result.summary.digests, Double(bytes) / 1e6, n, seconds, Double(files) / seconds, Double(bytes) / 1e6 / seconds, result.summary.line))
        guard result.isValid else { throw ValidationError("the delivered bucket did not verify: \(result.summary.line)") }
        report["verifyFilesPerSecond"] = Double(files) / seconds
        report["verifyMegabytesPerSecond"] = Double(bytes) / 1e6 / seconds
    }
}
