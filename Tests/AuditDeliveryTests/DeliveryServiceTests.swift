import AuditModel
import AuditObjectStorage
import AuditStore
import Foundation
import Logging
import XCTest

@testable import AuditDelivery

/// The delivery engine over the in-memory store and a real folder bucket (plus a flaky wrapper).
final class DeliveryServiceTests: XCTestCase {
    var root = ""

    override func setUp() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("delivery-\(UUID().uuidString)").path
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func record(_ i: Int, name: String = "RunInstances", action: String = "Write", resource: String = "cvm") -> AuditEvent {
        let id = "ev-\(i)"
        let json = #"{"eventId":"\#(id)","eventTime":1700000000,"eventName":"\#(name)","eventSource":"cvm.api","actionType":"\#(action)","resourceType":"\#(resource)"}"#
        return AuditEvent(record: Array(json.utf8), eventId: id, eventTime: 1_700_000_000 + Int64(i), accountId: AccountIds.first,
                          postings: [(.all, "")])
    }

    func service(_ store: some StorageBackend, objects: any ObjectStore, maxEvents: Int = 3, channels: [NotificationChannel] = []) -> DeliveryService {
        var c = DeliveryService.Configuration()
        c.interval = .seconds(1)
        c.maxEventsPerFile = maxEvents
        let info = RegionInfo(name: "local", nameZh: "本地", nameEn: "Local", channels: channels.map(\.name), createsBucketsOnDemand: true)
        var logger = Logger(label: "delivery-test")
        logger.logLevel = .critical
        return DeliveryService(storage: Storage(store), regions: RegionRegistry([StorageRegion(info: info, store: objects, channels: channels)]),
                               configuration: c, logger: logger)
    }

    func track(filters: [TrackFilter], compress: Bool = true) -> Track {
        Track(accountId: AccountIds.first, name: "set", enabled: true, storage: TrackStorage(region: "local", name: "bkt", prefix: "logs", compress: compress),
              filters: filters)
    }

    /// Every delivered line, per object key.
    func delivered(_ objects: FileSystemObjectStore) async throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for key in try await objects.list(bucket: "bkt", prefix: "") {
            var bytes = try await objects.get(bucket: "bkt", key: key)!
            if key.hasSuffix(".gz") { bytes = try Gzip.decompress(bytes) }
            out[key] = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        return out
    }

    func testDeliversMatchingEventsOnceInSequenceOrder() async throws {
        let store = MemoryEventStore()
        _ = try await store.createAccount(name: "a", retentionDays: nil, id: AccountIds.first)
        _ = try await store.append([record(0)])  // before the set: never delivered
        let objects = FileSystemObjectStore(root: root)
        try await objects.createBucket("bkt")
        let t = try await store.createTrack(track(filters: [TrackFilter(actionType: "Write", resourceType: "cvm", eventNames: ["*"])]), quota: 5)
        var events: [AuditEvent] = []
        for i in 1...10 { events.append(record(i, action: i % 3 == 0 ? "Read" : "Write")) }
        _ = try await store.append(events)
        let svc = service(store, objects: objects)
        var schedule = DeliveryService.Schedule()
        try await svc.pass(&schedule, finalPass: true)

        let files = try await delivered(objects)
        let lines = files.keys.sorted { seqOf($0) < seqOf($1) }.flatMap { files[$0]! }
        let expected = (1...10).filter { $0 % 3 != 0 }.map { String(decoding: record($0).record, as: UTF8.self) }
        XCTAssertEqual(lines, expected, "each matching record exactly once, byte-exact, in sequence order")
        XCTAssertEqual(files.count, 3, "7 events in files of at most 3")
        for key in files.keys {
            XCTAssertNotNil(key.range(of: #"^logs/\d{10}/100000000001_CloudAudit_local_\d{8}T\d{6}Z_\#(t.id)_\d+\.json\.gz$"#, options: .regularExpression), key)
        }
        let state = try await store.deliveryStates(trackId: t.id)[0]
        XCTAssertEqual(state.deliveredSequence, 11)
        XCTAssertEqual(state.events, 7)
        XCTAssertEqual(state.files, 3)

        // A second pass finds nothing new.
        try await svc.pass(&schedule, finalPass: true)
        let v1 = try await delivered(objects).count
        XCTAssertEqual(v1, 3)
    }

    func seqOf(_ key: String) -> Int { Int(key.split(separator: "_").last!.split(separator: ".").first!)! }

    func testAFailedUploadIsRetriedUnderTheSameKeyAndRecordsTheError() async throws {
        let store = MemoryEventStore()
        _ = try await store.createAccount(name: "a", retentionDays: nil, id: AccountIds.first)
        let folder = FileSystemObjectStore(root: root)
        try await folder.createBucket("bkt")
        let flaky = FlakyStore(inner: folder)
        let t = try await store.createTrack(track(filters: [TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])], compress: false), quota: 5)
        _ = try await store.append((1...2).map { record($0) })
        let svc = service(store, objects: flaky, maxEvents: 100)
        var schedule = DeliveryService.Schedule()

        await flaky.setFailing(true)
        try await svc.pass(&schedule, finalPass: true)
        var state = try await store.deliveryStates(trackId: t.id)[0]
        XCTAssertEqual(state.deliveredSequence, 0)
        XCTAssertNotNil(state.lastError)
        XCTAssertEqual(state.pendingFirstSequence, 1)
        let attempted = await flaky.attemptedKeys
        XCTAssertEqual(attempted.count, 1)

        // More events arrive during the outage; the retry writes the same key with a superset.
        _ = try await store.append([record(3)])
        await flaky.setFailing(false)
        schedule.retryAt = [:]
        try await svc.pass(&schedule, finalPass: true)
        state = try await store.deliveryStates(trackId: t.id)[0]
        XCTAssertNil(state.lastError)
        XCTAssertEqual(state.deliveredSequence, 3)
        let files = try await delivered(folder)
        XCTAssertEqual(Array(files.keys), [attempted[0]])
        XCTAssertEqual(files[attempted[0]]?.count, 3)
    }

    func testStoppedSetKeepsItsCursorAndNotificationsAreQueuedPerFile() async throws {
        let store = MemoryEventStore()
        _ = try await store.createAccount(name: "a", retentionDays: nil, id: AccountIds.first)
        let objects = FileSystemObjectStore(root: root)
        try await objects.createBucket("bkt")
        var t = try await store.createTrack(track(filters: [TrackFilter(actionType: "*", resourceType: "*", eventNames: ["*"])]), quota: 5)
        t.enabled = false
        _ = try await store.updateTrack(t)
        _ = try await store.append((1...4).map { record($0) })
        let hook = NotificationChannel(name: "q1", url: "http://127.0.0.1:9/hook", secret: Array("s".utf8))
        let svc = service(store, objects: objects, maxEvents: 2, channels: [hook])
        var schedule = DeliveryService.Schedule()
        try await svc.pass(&schedule, finalPass: true)
        let v2 = try await delivered(objects).count
        XCTAssertEqual(v2, 0, "a stopped set delivers nothing")

        t.enabled = true
        _ = try await store.updateTrack(t)
        try await svc.pass(&schedule, finalPass: true)
        let v3 = try await delivered(objects).count
        XCTAssertEqual(v3, 2, "it resumes from where it stopped")
        let queued = try await store.pendingNotifications(dueBy: Int64.max, limit: 10)
        XCTAssertEqual(queued.count, 2)
        XCTAssertEqual(Set(queued.map(\.channel)), ["local/q1"])
        let body = try JSONSerialization.jsonObject(with: Data(queued[0].body)) as! [String: Any]
        XCTAssertEqual(body["bucket"] as? String, "bkt")
        XCTAssertEqual(body["trackId"] as? Int, Int(t.id))
        XCTAssertEqual((body["objectKeys"] as? [String])?.count, 1)
    }

    func testKeyLayout() {
        let t = Track(id: 7, accountId: 5, name: "n", enabled: true, storage: TrackStorage(region: "ap-guangzhou", name: "b", prefix: "audit", compress: false),
                      filters: [])
        // 2024-02-29 23:59:58 UTC
        XCTAssertEqual(DeliveryFile.key(track: t, accountId: 5, keyTime: 1_709_251_198, firstSequence: 42),
                       "audit/2024022923/5_CloudAudit_ap-guangzhou_20240229T235958Z_7_42.json")
        XCTAssertEqual(DeliveryFile.key(track: t, accountId: 9, keyTime: 0, firstSequence: 1), "audit/1970010100/9_CloudAudit_ap-guangzhou_19700101T000000Z_7_1.json")
    }
}

/// An object store that fails every write while told to, remembering the keys it was asked for.
actor FlakyStore: ObjectStore {
    let inner: FileSystemObjectStore
    var failing = false
    var attemptedKeys: [String] = []

    init(inner: FileSystemObjectStore) { self.inner = inner }

    func setFailing(_ f: Bool) { failing = f }

    func bucketExists(_ bucket: String) async throws -> Bool { try await inner.bucketExists(bucket) }
    func createBucket(_ bucket: String) async throws { try await inner.createBucket(bucket) }
    func get(bucket: String, key: String) async throws -> [UInt8]? { try await inner.get(bucket: bucket, key: key) }
    func list(bucket: String, prefix: String) async throws -> [String] { try await inner.list(bucket: bucket, prefix: prefix) }

    func put(bucket: String, key: String, body: [UInt8], contentType: String) async throws {
        if !attemptedKeys.contains(key) { attemptedKeys.append(key) }
        if failing { throw ObjectStoreError(.unavailable, "the store is down (test)") }
        try await inner.put(bucket: bucket, key: key, body: body, contentType: contentType)
    }
}
