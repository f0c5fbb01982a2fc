import AuditIntegrity
import AuditModel
import AuditObjectStorage
import AuditStore
import AuditVerify
import Foundation
import Logging
import XCTest

@testable import AuditDelivery

/// Digests and encryption written by the delivery engine, checked with the offline verifier.
final class DigestDeliveryTests: XCTestCase {
    var root = ""
    var now: Int64 = 1_800_000_000

    override func setUp() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(UUID().uuidString)").path
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func record(_ i: Int, action: String) -> AuditEvent {
        let id = "ev-\(i)"
        let json = #"{"eventId":"\#(id)","eventTime":\#(now),"eventName":"RunInstances","eventSource":"cvm.api","actionType":"\#(action)","resourceType":"cvm","secret":"plain-\#(i)"}"#
        return AuditEvent(record: Array(json.utf8), eventId: id, eventTime: now + Int64(i), accountId: AccountIds.first, postings: [(.all, "")])
    }

    func service(_ store: some StorageBackend, objects: any ObjectStore, key: SigningKey, vault: KeyVault? = nil, clock: @escaping @Sendable () -> Int64) -> DeliveryService {
        var c = DeliveryService.Configuration()
        c.interval = .seconds(1)
        c.maxEventsPerFile = 4
        c.digestInterval = .seconds(10)
        let info = RegionInfo(name: "local", nameZh: "本地", nameEn: "Local", channels: [], createsBucketsOnDemand: true)
        var logger = Logger(label: "digest-test")
        logger.logLevel = .critical
        return DeliveryService(storage: Storage(store), regions: RegionRegistry([StorageRegion(info: info, store: objects, channels: [])]), configuration: c,
                               checkpointer: Checkpointer(storage: Storage(store), key: key, clock: clock), vault: vault, logger: logger, clock: clock)
    }

    final class ManualClock: @unchecked Sendable {
        private let lock = NSLock()
        private var t: Int64
        init(_ t: Int64) { self.t = t }
        func now() -> Int64 { lock.withLock { t } }
        func advance(_ s: Int64) { lock.withLock { t += s } }
    }

    func testDigestsChainCoverEveryFileAndVerify() async throws {
        let store = MemoryEventStore()
        _ = try await store.createAccount(name: "a", retentionDays: nil, id: AccountIds.first)
        _ = try await store.append([record(0, action: "Write")])
        let objects = FileSystemObjectStore(root: root)
        try await objects.createBucket("bkt")
        let t = try await store.createTrack(Track(accountId: AccountIds.first, name: "set", enabled: true,
                                                   storage: TrackStorage(region: "local", name: "bkt", prefix: "logs"),
                                                   filters: [TrackFilter(actionType: "Write", resourceType: "*", eventNames: ["*"])]), quota: 5)
        let clock = ManualClock(now)
        let key = try SigningKey.generate(name: "test")
        let delivery = service(store, objects: objects, key: key, clock: { clock.now() })
        var i = 1
        for _ in 0..<3 {
            // Reads interleaved with writes: the digest carries the reads as skipped leaves.
            _ = try await store.append((0..<7).map { _ in defer { i += 1 }; return record(i, action: i % 3 == 0 ? "Read" : "Write") })
            try await delivery.deliverPending()
            clock.advance(11)
        }
        try await delivery.deliverPending()
        let keys = try await objects.list(bucket: "bkt", prefix: "logs/CloudAudit-Digest/")
        XCTAssertGreaterThanOrEqual(keys.count, 3, "a digest per period")
        var previous: (String, String)? = nil
        var listed: [String] = []
        for k in keys {
            let (digest, signature) = try DigestFile.open(try await objects.get(bucket: "bkt", key: k)!, keys: [key.publicKey])
            XCTAssertEqual(digest.previousKey, previous?.0)
            XCTAssertEqual(digest.previousSignature, previous?.1)
            XCTAssertEqual(digest.trackId, t.id)
            listed += digest.files.map(\.key)
            previous = (k, signature)
        }
        let files = try await objects.list(bucket: "bkt", prefix: "logs/").filter { !$0.contains("CloudAudit-Digest") }
        XCTAssertEqual(listed.sorted(), files.sorted(), "every file in exactly one digest")
        let report = try await BucketVerifier(store: objects, bucket: "bkt", prefix: "logs", trackId: t.id, keys: [key.publicKey], digestInterval: 10,
                                              now: clock.now()).verify()
        XCTAssertTrue(report.isValid, report.summary.line + " " + report.problems.map(\.description).joined(separator: "; "))
        XCTAssertEqual(report.summary.logChecksFailed, 0)
        XCTAssertGreaterThan(report.summary.logChecksVerified, 0)
    }

    func testStoppedSetWritesItsDigestAtOnce() async throws {
        let store = MemoryEventStore()
        _ = try await store.createAccount(name: "a", retentionDays: nil, id: AccountIds.first)
        let objects = FileSystemObjectStore(root: root)
        try await objects.createBucket("bkt")
        var t = try await store.createTrack(Track(accountId: AccountIds.first, name: "set", enabled: true,
                                                   storage: TrackStorage(region: "local", name: "bkt", prefix: "logs"),
                                                   filters: [TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])]), quota: 5)
        let clock = ManualClock(now)
        let key = try SigningKey.generate(name: "test")
        let delivery = service(store, objects: objects, key: key, clock: { clock.now() })
        _ = try await store.append((0..<3).map { record($0, action: "Write") })
        var schedule = DeliveryService.Schedule()
        try await delivery.pass(&schedule)
        let before = try await objects.list(bucket: "bkt", prefix: "logs/CloudAudit-Digest/")
        XCTAssertEqual(before.count, 0, "the period is not over yet")
        t.enabled = false
        _ = try await store.updateTrack(t)
        try await delivery.pass(&schedule)
        let after = try await objects.list(bucket: "bkt", prefix: "logs/CloudAudit-Digest/")
        XCTAssertEqual(after.count, 1, "stopping the set closes its period")
        let digest = try DigestFile.open(try await objects.get(bucket: "bkt", key: after[0])!, keys: [key.publicKey]).digest
        XCTAssertEqual(digest.files.map(\.events), [3])
        try await delivery.pass(&schedule)
        let again = try await objects.list(bucket: "bkt", prefix: "logs/CloudAudit-Digest/")
        XCTAssertEqual(again.count, 1, "a stopped set writes no more digests")
    }

    func testEncryptedFilesHoldNoPlaintextAndVerify() async throws {
        let store = MemoryEventStore()
        _ = try await store.createAccount(name: "a", retentionDays: nil, id: AccountIds.first)
        let objects = FileSystemObjectStore(root: root)
        try await objects.createBucket("bkt")
        let master = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let vault = KeyVault(keys: store, masterKey: master)
        let kms = try await vault.createKey(accountId: AccountIds.first, region: "local", alias: "trail-key")
        var track = Track(accountId: AccountIds.first, name: "set", enabled: true, storage: TrackStorage(region: "local", name: "bkt", prefix: "logs", compress: false),
                          filters: [TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])])
        track.legacy.kmsEncrypt = true
        track.legacy.keyId = kms.keyId
        track.legacy.kmsRegion = "local"
        let t = try await store.createTrack(track, quota: 5)
        let clock = ManualClock(now)
        let key = try SigningKey.generate(name: "test")
        let delivery = service(store, objects: objects, key: key, vault: vault, clock: { clock.now() })
        let events = (0..<6).map { record($0, action: "Write") }
        _ = try await store.append(events)
        try await delivery.deliverPending()
        let files = try await objects.list(bucket: "bkt", prefix: "logs/").filter { !$0.contains("CloudAudit-Digest") }
        XCTAssertFalse(files.isEmpty)
        var lines: [String] = []
        for f in files {
            XCTAssertTrue(f.hasSuffix(".json.enc"), f)
            let body = try await objects.get(bucket: "bkt", key: f)!
            let text = String(decoding: body, as: UTF8.self)
            for needle in ["plain-", "RunInstances", "ev-", "cvm.api"] { XCTAssertFalse(text.contains(needle), "\(needle) in \(f)") }
            lines += String(decoding: try await vault.decrypt(body), as: UTF8.self).split(separator: "\n").map(String.init)
        }
        XCTAssertEqual(lines, events.map { String(decoding: $0.record, as: UTF8.self) }, "decrypts to the exact lines")
        let verifier = BucketVerifier(store: objects, bucket: "bkt", prefix: "logs", trackId: t.id, keys: [key.publicKey], digestInterval: 10,
                                      now: clock.now(), decrypt: { try await vault.decrypt($0) })
        let report = try await verifier.verify()
        XCTAssertTrue(report.isValid, report.summary.line)
        XCTAssertEqual(report.summary.logChecksVerified, report.summary.digests)

        // A disabled key stops delivery (the cursor waits) instead of writing plaintext.
        _ = try await store.setKmsKeyStatus(id: kms.keyId, status: .disabled)
        _ = try await store.append([record(50, action: "Write")])
        try await delivery.deliverPending()
        let state = try await store.deliveryStates(trackId: t.id).first!
        XCTAssertEqual(state.deliveredSequence, 6)
        XCTAssertTrue(state.lastError?.contains("disabled") == true, state.lastError ?? "no error")
        let after = try await objects.list(bucket: "bkt", prefix: "logs/").filter { !$0.contains("CloudAudit-Digest") }
        XCTAssertEqual(after.count, files.count)
    }
}
