import AuditAPI
import AuditAuth
import AuditDelivery
import AuditIntegrity
import AuditModel
import AuditServer
import AuditSigning
import AuditStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import XCTest

// MARK: - test support

/// An access key as the tests use it.
struct TestKey: Sendable {
    var secretId: String
    var secretKey: String
    var accountId: Int64
}

/// A request signed the way the official Python SDK signs it (`abstract_client._build_req_with_tc3_signature`):
/// Content-Type `application/json` (POST) or `application/x-www-form-urlencoded` (GET), Host, X-TC-Action,
/// X-TC-Timestamp, X-TC-Version, X-TC-Region, X-TC-RequestClient, and
/// `Authorization: TC3-HMAC-SHA256 Credential=..., SignedHeaders=content-type;host, Signature=...`.
struct SDKRequest {
    var action: String?
    var version: String? = AuditAPI.version
    var timestamp: Int64
    var method: HTTPRequest.Method = .post
    /// GET only: the query string as sent (and signed).
    var query = ""
    var body: [UInt8] = []
    var key: TestKey
    /// The router test framework sends every request with authority `localhost`.
    var host = "localhost"
    /// Headers signed on top of content-type and host (lower-case names).
    var extraSignedHeaders: [String] = []
    var service = "cloudaudit"
    /// The SDK's `unsignedPayload` option: `X-TC-Content-SHA256: UNSIGNED-PAYLOAD`, payload hash of that literal.
    var unsignedPayload = false

    var contentType: String { method == .get ? "application/x-www-form-urlencoded" : "application/json" }
    var uri: String { query.isEmpty ? "/" : "/?" + query }

    func headers() -> HTTPFields {
        var fields: [(String, String)] = [("Content-Type", contentType), ("Host", host)]
        if let action { fields.append(("X-TC-Action", action)) }
        fields.append(("X-TC-Timestamp", String(timestamp)))
        if let version { fields.append(("X-TC-Version", version)) }
        fields.append(("X-TC-Region", "ap-guangzhou"))
        fields.append(("X-TC-RequestClient", "SDK_PYTHON_3.0.1200"))
        var signed: [(name: String, value: String)] = [("content-type", contentType), ("host", host)]
        for name in extraSignedHeaders {
            signed.append((name, fields.first { $0.0.lowercased() == name }?.1 ?? ""))
        }
        // The SDK signs the query string and an empty payload for GET, the JSON body for POST.
        if unsignedPayload { fields.append(("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD")) }
        let payload: [UInt8] = unsignedPayload ? Array("UNSIGNED-PAYLOAD".utf8) : (method == .get ? [] : body)
        let r = TC3Signer.Request(method: method.rawValue, uri: "/", query: method == .get ? query : "", signedHeaders: signed,
                                  payloadHash: TC3Signer.hexSHA256(payload), timestamp: timestamp, service: service)
        var h = HTTPFields()
        for (n, v) in fields { h.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        h.append(HTTPField(name: .authorization, value: TC3Signer.authorization(r, secretId: key.secretId, secretKey: key.secretKey)))
        return h
    }
}

/// `urlencode` as the Python SDK uses it for GET (quote_plus: space -> '+', everything but [A-Za-z0-9_.~-] escaped).
func formEncode(_ pairs: [(String, String)]) -> String {
    func enc(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(b)))
            case UInt8(ascii: " "): out.append("+")
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }
    return pairs.map { enc($0.0) + "=" + enc($0.1) }.joined(separator: "&")
}

/// A response of the API, parsed.
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let contentType: String?
    let text: String
    let json: JSONValue?

    init(_ r: TestResponse) {
        status = r.status
        contentType = r.headers[.contentType]
        let bytes = Array(r.body.readableBytesView)
        text = String(decoding: bytes, as: UTF8.self)
        json = try? JSONParser.parse(bytes)
    }

    var response: JSONValue? { json?["Response"] }
    var errorCode: String? { response?["Error"]?["Code"]?.stringValue }
    var errorMessage: String { response?["Error"]?["Message"]?.stringValue ?? "" }
    var requestId: String? { response?["RequestId"]?.stringValue }
    var events: [JSONValue] { response?["Events"]?.arrayValue ?? [] }
    var eventIds: [String] { events.compactMap { $0["EventId"]?.stringValue } }
    var eventNames: [String] { events.compactMap { $0["EventName"]?.stringValue } }
    var nextToken: JSONValue? { response?["NextToken"] }
    var listOver: Bool? { if case .bool(let b)? = response?["ListOver"] { return b }; return nil }
    var totalCount: Int64? { if case .int(let i)? = response?["TotalCount"] { return i }; return nil }
    /// PutEvents
    var putIds: [String] { response?["EventIds"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    var failed: [(index: Int64, code: String, message: String)] {
        (response?["FailedEvents"]?.arrayValue ?? []).map { f in
            var i: Int64 = -1
            if case .int(let n)? = f["Index"] { i = n }
            return (i, f["Code"]?.stringValue ?? "", f["Message"]?.stringValue ?? "")
        }
    }
}

/// An event log whose queries fail with an internal error (to see that details do not leak); the rest
/// of the storage is the memory store's.
struct FailingLookupLog: EventLog {
    let inner: MemoryEventStore
    func append(_ events: [AuditEvent]) async throws -> [AppendOutcome] { try await inner.append(events) }
    func lookup(_ query: EventQuery) async throws -> EventPage {
        throw StoreError(.merkleLogMismatch, "page 42 of /var/lib/cloudaudit/secret-internal.db is corrupt")
    }
    func deleteEvents(accountId: Int64, olderThan cutoff: Int64) async throws -> Int { try await inner.deleteEvents(accountId: accountId, olderThan: cutoff) }
    func events(accountId: Int64, afterSequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await inner.events(accountId: accountId, afterSequence: afterSequence, limit: limit)
    }
    func lastSequence(accountId: Int64) async throws -> Int64 { try await inner.lastSequence(accountId: accountId) }
    func topValues(accountId: Int64, key: LookupKey, startTime: Int64, endTime: Int64, limit: Int) async throws -> [ValueCount] {
        try await inner.topValues(accountId: accountId, key: key, startTime: startTime, endTime: endTime, limit: limit)
    }
    func merkleRange(accountId: Int64) async throws -> CompactRange { try await inner.merkleRange(accountId: accountId) }
    func merkleSubtrees(accountId: Int64, _ nodes: [MerkleNode]) async throws -> [MerkleNode: MerkleHash] {
        try await inner.merkleSubtrees(accountId: accountId, nodes)
    }
    func sequence(accountId: Int64, eventId: String) async throws -> Int64? { try await inner.sequence(accountId: accountId, eventId: eventId) }
    func saveCheckpoint(_ checkpoint: StoredCheckpoint) async throws { try await inner.saveCheckpoint(checkpoint) }
    func checkpoint(accountId: Int64, size: Int64?) async throws -> StoredCheckpoint? { try await inner.checkpoint(accountId: accountId, size: size) }
    func checkpoints(accountId: Int64) async throws -> [StoredCheckpoint] { try await inner.checkpoints(accountId: accountId) }

    static func storage(_ inner: MemoryEventStore) -> Storage {
        Storage(accounts: inner, events: FailingLookupLog(inner: inner), cursors: inner, tracks: inner, outbox: inner, console: inner,
                kmsKeys: inner, alerts: inner, close: { try await inner.close() })
    }
}

/// One folder for the local buckets of every harness of this test process (each harness its own
/// folder in it), removed when the process exits instead of leaving one folder per test in /tmp.
let harnessBucketsRoot: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cloudaudit-api-tests-\(getpid())").path
    atexit { try? FileManager.default.removeItem(atPath: harnessBucketsRoot) }
    return path
}()

/// The API over a memory store, with two accounts and keys of every role.
struct Harness: Sendable {
    static let accountA = AccountIds.first
    static let accountB = AccountIds.first + 1

    let memory: MemoryEventStore
    let api: AuditAPI
    let regions: RegionRegistry
    let now: Int64
    let admin: TestKey
    let auditor: TestKey
    let ingest: TestKey
    let service: TestKey
    let admin2: TestKey
    let adminB: TestKey

    static func make(rateLimit: Double? = nil, retentionA: Int? = nil,
                     wrap: (@Sendable (MemoryEventStore) -> Storage)? = nil, clock: (@Sendable () -> Int64)? = nil) async throws -> Harness {
        let now = clock?() ?? unixNow()
        let clock = clock ?? { now }
        let memory = MemoryEventStore(clock: clock)
        let storage = wrap?(memory) ?? Storage(memory)
        _ = try await storage.accounts.createAccount(name: "a", retentionDays: retentionA, id: accountA)
        _ = try await storage.accounts.createAccount(name: "b", retentionDays: nil, id: accountB)
        let sealer = try SecretSealer(masterKey: CredentialGenerator.masterKey())
        let administration = Administration(storage: storage, sealer: sealer)
        func key(_ account: Int64, _ role: KeyRole) async throws -> TestKey {
            let k = try await administration.createKey(accountId: account, role: role)
            return TestKey(secretId: k.SecretId, secretKey: k.SecretKey, accountId: k.AccountId)
        }
        var configuration = ServerConfiguration()
        if let rateLimit { configuration.rateLimit = rateLimit }
        var logger = Logger(label: "cloudaudit-test")
        logger.logLevel = .critical
        let bucketsRoot = (harnessBucketsRoot as NSString).appendingPathComponent(UUID().uuidString)
        let regions = try RegionRegistry.load(file: nil, dataDirectory: bucketsRoot, logger: logger)
        let api = try await CloudAuditServer.makeAPI(storage: storage, sealer: sealer, configuration: configuration, regions: regions, logger: logger,
                                                     clock: clock)
        return Harness(memory: memory, api: api, regions: regions, now: now,
                       admin: try await key(accountA, .admin), auditor: try await key(accountA, .auditor), ingest: try await key(accountA, .ingest),
                       service: try await key(accountA, .service), admin2: try await key(accountA, .admin), adminB: try await key(accountB, .admin))
    }

    /// Runs `body` against the real router.
    func run(_ body: @Sendable (Session) async throws -> Void) async throws {
        var logger = Logger(label: "cloudaudit-test-http")
        logger.logLevel = .critical
        let app = Application(router: api.buildRouter(), logger: logger)
        try await app.test(.router) { client in try await body(Session(client: client, now: self.now)) }
    }

    /// Self-audit records of an account, straight from the store.
    func selfAuditRecords(_ account: Int64 = accountA) async throws -> [JSONValue] {
        let page = try await memory.lookup(EventQuery(accountId: account, startTime: now - 60, endTime: now + 60,
                                                      conditions: [LookupCondition(key: .eventSource, values: ["cloudaudit.api"])], limit: 1000))
        return page.events.compactMap { try? JSONParser.parse($0.record) }
    }
}

/// A client of the API through the router.
struct Session: Sendable {
    let client: any TestClientProtocol
    let now: Int64

    func request(_ action: String?, key: TestKey, body: String = "{}") -> SDKRequest {
        SDKRequest(action: action, timestamp: now, body: Array(body.utf8), key: key)
    }

    func send(_ r: SDKRequest, headers: HTTPFields? = nil, body: [UInt8]? = nil) async throws -> Reply {
        let response = try await client.executeRequest(uri: r.uri, method: r.method, headers: headers ?? r.headers(),
                                                       body: r.method == .get ? nil : ByteBuffer(bytes: body ?? r.body))
        return Reply(response)
    }

    func call(_ action: String, _ body: String, key: TestKey) async throws -> Reply {
        try await send(request(action, key: key, body: body))
    }

    func call(_ action: String, _ params: [(String, JSONValue)], key: TestKey) async throws -> Reply {
        try await call(action, String(decoding: JSONWriter.encode(.obj(params)), as: UTF8.self), key: key)
    }

    func put(_ records: [String], key: TestKey) async throws -> Reply {
        try await call("PutEvents", #"{"Events": ["# + records.joined(separator: ",") + "]}", key: key)
    }

    static func attributes(_ attrs: [(String, String)]) -> JSONValue {
        .array(attrs.map { .obj([("AttributeKey", .string($0.0)), ("AttributeValue", .string($0.1))]) })
    }

    func lookup(_ key: TestKey, start: Int64, end: Int64, attrs: [(String, String)] = [], max: Int64? = nil, token: String? = nil) async throws -> Reply {
        var p: [(String, JSONValue)] = [("StartTime", .int(start)), ("EndTime", .int(end))]
        if !attrs.isEmpty { p.append(("LookupAttributes", Self.attributes(attrs))) }
        if let max { p.append(("MaxResults", .int(max))) }
        if let token { p.append(("NextToken", .string(token))) }
        return try await call("LookUpEvents", p, key: key)
    }

    func describe(_ key: TestKey, start: Int64, end: Int64, attrs: [(String, String)] = [], max: Int64? = nil, token: JSONValue? = nil,
                  extra: [(String, JSONValue)] = []) async throws -> Reply {
        var p: [(String, JSONValue)] = [("StartTime", .int(start)), ("EndTime", .int(end))]
        if !attrs.isEmpty { p.append(("LookupAttributes", Self.attributes(attrs))) }
        if let max { p.append(("MaxResults", .int(max))) }
        if let token { p.append(("NextToken", token)) }
        return try await call("DescribeEvents", p + extra, key: key)
    }
}

/// One event record as a JSON string.
/// `accountId` is a raw JSON fragment put in `userIdentity.accountId`.
func event(_ name: String, time: Int64, id: String? = nil, action: String = "Write", accountId: String? = nil, extra: String = "") -> String {
    var s = "{"
    if let id { s += "\"eventId\":\"\(id)\"," }
    s += "\"eventTime\":\(time),\"eventName\":\"\(name)\",\"eventSource\":\"cvm.tencentcloudapi.com\",\"actionType\":\"\(action)\""
    s += ",\"resourceType\":\"cvm\",\"eventRegion\":\"ap-guangzhou\",\"userIdentity\":{\"type\":\"CAMUser\",\"principalId\":\"p-1\",\"userName\":\"alice\",\"secretId\":\"AKIDuser\""
    if let accountId { s += ",\"accountId\":\(accountId)" }
    s += "}"
    if !extra.isEmpty { s += "," + extra }
    return s + "}"
}

// MARK: - tests

final class APITests: XCTestCase {
    // MARK: assertions

    func assertOK(_ r: Reply, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, .ok, label, file: file, line: line)
        XCTAssertNil(r.errorCode, "\(label): unexpected error \(r.errorCode ?? ""): \(r.errorMessage)", file: file, line: line)
        XCTAssertNotNil(r.requestId.flatMap(UUID.init(uuidString:)), "\(label): RequestId missing or not a UUID: \(r.text.prefix(300))", file: file, line: line)
    }

    /// An error in the API 3.0 envelope: HTTP 200, `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`, and a message without
    /// internal details.
    func assertError(_ r: Reply, _ code: String, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.errorCode, code, "\(label): \(r.text.prefix(400))", file: file, line: line)
        XCTAssertEqual(r.status, .ok, "\(label): errors are HTTP 200", file: file, line: line)
        XCTAssertEqual(r.contentType?.hasPrefix("application/json"), true, "\(label): content type \(r.contentType ?? "none")", file: file, line: line)
        guard let response = r.response?.objectValue else { return XCTFail("\(label): no Response object in \(r.text.prefix(300))", file: file, line: line) }
        XCTAssertEqual(response.fields.map(\.key).sorted(), ["Error", "RequestId"], "\(label): envelope", file: file, line: line)
        XCTAssertEqual(r.json?.objectValue?.fields.map(\.key), ["Response"], file: file, line: line)
        XCTAssertEqual(response["Error"]?.objectValue?.fields.map(\.key).sorted(), ["Code", "Message"], "\(label): Error object", file: file, line: line)
        XCTAssertNotNil(r.requestId.flatMap(UUID.init(uuidString:)), "\(label): RequestId", file: file, line: line)
        let m = r.errorMessage
        XCTAssertGreaterThan(m.count, 10, "\(label): a message a person can act on", file: file, line: line)
        for leak in [".swift", "Fatal error", "backtrace", "Backtrace", "stack trace", "Stack trace", "#0 ", "0x0000", "Swift.", "AuditAPI.",
                     "AuditStore.", "AuditModel.", "StoreError", "DecodingError", "\n"] {
            XCTAssertFalse(m.contains(leak), "\(label): message leaks \(leak.debugDescription): \(m)", file: file, line: line)
        }
    }

    func poll<T>(seconds: Double = 2, _ probe: () async throws -> T?) async throws -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let v = try await probe() { return v }
            if Date() > deadline { return nil }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    // MARK: authentication

    func testMissingAuthorizationIsInvalidAuthorization() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let req = s.request("LookUpEvents", key: h.admin, body: #"{"StartTime": 1, "EndTime": 2}"#)
            var headers = req.headers()
            headers[.authorization] = nil
            let r = try await s.send(req, headers: headers)
            self.assertError(r, "AuthFailure.InvalidAuthorization", "no Authorization")
            headers[.authorization] = ""
            let empty = try await s.send(req, headers: headers)
            self.assertError(empty, "AuthFailure.InvalidAuthorization", "empty Authorization")
        }
    }

    func testMalformedAuthorizationIsInvalidAuthorization() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let req = s.request("LookUpEvents", key: h.admin)
            let good = req.headers()[.authorization]!
            let sig = String(good.suffix(64))
            let date = TC3Signer.utcDate(h.now)
            let malformed = [
                "Bearer abcdef",
                "TC3-HMAC-SHA256",
                "TC3-HMAC-SHA256 garbage",
                "HMAC-SHA256 Credential=\(h.admin.secretId)/\(date)/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=\(sig)",
                "TC3-HMAC-SHA256 Credential=\(h.admin.secretId)/\(date)/cloudaudit/tc3_request, SignedHeaders=content-type;host",
                "TC3-HMAC-SHA256 Credential=\(h.admin.secretId)/\(date)/cloudaudit/tc3_request, Signature=\(sig)",
                "TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature=\(sig)",
                "TC3-HMAC-SHA256 Credential=\(h.admin.secretId)/\(date)/cloudaudit, SignedHeaders=content-type;host, Signature=\(sig)",
                "TC3-HMAC-SHA256 Credential=\(h.admin.secretId)/\(date)/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=xyz",
                "TC3-HMAC-SHA256 Credential=\(h.admin.secretId)/\(date)/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=\(String(repeating: "g", count: 64))",
                "TC3-HMAC-SHA256 Credential=/\(date)/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=\(sig)",
                "TC3-HMAC-SHA256 Credential=\(h.admin.secretId)/\(date)/cloudaudit/tc3_request, SignedHeaders=, Signature=\(sig)",
            ]
            for value in malformed {
                var headers = req.headers()
                headers[.authorization] = value
                let r = try await s.send(req, headers: headers)
                self.assertError(r, "AuthFailure.InvalidAuthorization", value)
            }
        }
    }

    func testUnknownOrDisabledSecretIdIsSecretIdNotFound() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let unknown = TestKey(secretId: CredentialGenerator.secretId(), secretKey: CredentialGenerator.secretKey(), accountId: Harness.accountA)
            let r = try await s.call("LookUpEvents", "{}", key: unknown)
            self.assertError(r, "AuthFailure.SecretIdNotFound")
            let ok = try await s.call("GetAttributeKey", "{}", key: h.admin2)
            self.assertOK(ok, "before disabling")
            _ = try await h.memory.setKeyStatus(secretId: h.admin2.secretId, status: .disabled)
            let disabled = try await s.call("GetAttributeKey", "{}", key: h.admin2)
            self.assertError(disabled, "AuthFailure.SecretIdNotFound", "disabled key")
        }
    }

    func testWrongSecretIsSignatureFailure() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            var wrong = h.admin
            wrong.secretKey = CredentialGenerator.secretKey()
            let r = try await s.call("GetAttributeKey", "{}", key: wrong)
            self.assertError(r, "AuthFailure.SignatureFailure")
            // Another key's secret.
            wrong.secretKey = h.auditor.secretKey
            let r2 = try await s.call("GetAttributeKey", "{}", key: wrong)
            self.assertError(r2, "AuthFailure.SignatureFailure", "another key's secret")
        }
    }

    func testChangesAfterSigningAreSignatureFailure() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let body = #"{"StartTime": \#(h.now - 3600), "EndTime": \#(h.now)}"#
            let req = s.request("LookUpEvents", key: h.admin, body: body)
            let fine = try await s.send(req)
            self.assertOK(fine, "as signed")

            let changed = try await s.send(req, body: Array(body.replacingOccurrences(of: String(h.now - 3600), with: String(h.now - 3599)).utf8))
            self.assertError(changed, "AuthFailure.SignatureFailure", "body changed")
            let spaced = try await s.send(req, body: Array((body + " ").utf8))
            self.assertError(spaced, "AuthFailure.SignatureFailure", "one byte added to the body")

            var headers = req.headers()
            headers[.contentType] = "application/json; charset=utf-8"
            let ct = try await s.send(req, headers: headers)
            self.assertError(ct, "AuthFailure.SignatureFailure", "signed content-type changed")

            headers = req.headers()
            headers[HTTPField.Name("X-TC-Timestamp")!] = String(h.now - 1)
            let ts = try await s.send(req, headers: headers)
            self.assertError(ts, "AuthFailure.SignatureFailure", "timestamp changed")

            // The credential scope must be this service and the date of the timestamp.
            var cvm = req
            cvm.service = "cvm"
            let svc = try await s.send(cvm)
            self.assertError(svc, "AuthFailure.SignatureFailure", "signed for another service")
            headers = req.headers()
            headers[.authorization] = headers[.authorization]!.replacingOccurrences(of: TC3Signer.utcDate(h.now), with: "2001-01-01")
            let date = try await s.send(req, headers: headers)
            self.assertError(date, "AuthFailure.SignatureFailure", "credential date")
        }
    }

    func testExtraSignedHeadersAreHonoured() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            var req = s.request("GetAttributeKey", key: h.admin)
            req.extraSignedHeaders = ["x-tc-action", "x-tc-timestamp"]
            let r = try await s.send(req)
            self.assertOK(r, "content-type;host;x-tc-action;x-tc-timestamp")
            var headers = req.headers()
            headers[HTTPField.Name("X-TC-Action")!] = "LookUpEvents"
            let tampered = try await s.send(req, headers: headers)
            self.assertError(tampered, "AuthFailure.SignatureFailure", "signed action changed")
            req.extraSignedHeaders = ["x-tc-missing"]
            let missing = try await s.send(req)
            XCTAssertNotNil(missing.errorCode, "a signed header that is not sent cannot verify")
            XCTAssertTrue(missing.errorCode?.hasPrefix("AuthFailure.") ?? false, missing.text)
        }
    }

    func testUnsignedPayloadOption() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            var req = s.request("LookUpEvents", key: h.auditor, body: #"{"StartTime": \#(h.now - 60), "EndTime": \#(h.now)}"#)
            req.unsignedPayload = true
            let r = try await s.send(req)
            self.assertOK(r, "UNSIGNED-PAYLOAD")
            var headers = req.headers()
            headers[HTTPField.Name("X-TC-Content-SHA256")!] = nil
            let dropped = try await s.send(req, headers: headers)
            self.assertError(dropped, "AuthFailure.SignatureFailure", "signed as unsigned payload, sent without the header")
        }
    }

    func testTimestampSkew() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            for offset: Int64 in [-300, 0, 300] {
                var req = s.request("GetAttributeKey", key: h.admin)
                req.timestamp = h.now + offset
                let r = try await s.send(req)
                self.assertOK(r, "offset \(offset)")
            }
            for offset: Int64 in [-301, 301, -86400, 86400] {
                var req = s.request("GetAttributeKey", key: h.admin)
                req.timestamp = h.now + offset
                let r = try await s.send(req)
                self.assertError(r, "AuthFailure.SignatureExpire", "offset \(offset)")
            }
        }
    }

    func testRolesAreEnforced() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 3600
            let put = [event("RoleCheck", time: t)]
            let query = #"{"StartTime": \#(h.now - 7200), "EndTime": \#(h.now)}"#

            let auditorPut = try await s.put(put, key: h.auditor)
            self.assertError(auditorPut, "AuthFailure.UnauthorizedOperation", "auditor PutEvents")
            XCTAssertTrue(auditorPut.errorMessage.contains("PutEvents"), auditorPut.errorMessage)
            for action in ["LookUpEvents", "DescribeEvents", "GetAttributeKey"] {
                let ingest = try await s.call(action, query, key: h.ingest)
                self.assertError(ingest, "AuthFailure.UnauthorizedOperation", "ingest \(action)")
                let service = try await s.call(action, query, key: h.service)
                self.assertError(service, "AuthFailure.UnauthorizedOperation", "service \(action)")
                let auditor = try await s.call(action, query, key: h.auditor)
                self.assertOK(auditor, "auditor \(action)")
                let admin = try await s.call(action, query, key: h.admin)
                self.assertOK(admin, "admin \(action)")
            }
            let ingestPut = try await s.put(put, key: h.ingest)
            self.assertOK(ingestPut, "ingest PutEvents")
            XCTAssertEqual(ingestPut.failed.count, 0)
            let adminPut = try await s.put([event("RoleCheck2", time: t)], key: h.admin)
            self.assertOK(adminPut, "admin PutEvents")
            // Nothing of the refused auditor call was stored: exactly one RoleCheck (from the ingest key).
            let found = try await s.lookup(h.admin, start: h.now - 7200, end: h.now, attrs: [("EventName", "RoleCheck")])
            XCTAssertEqual(found.totalCount, 1)
        }
    }

    // MARK: protocol errors

    func testUnknownActionIsInvalidAction() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            for action in ["NoSuchThing", "lookupevents", "PutEvent"] {
                let r = try await s.call(action, "{}", key: h.admin)
                self.assertError(r, "InvalidAction", action)
            }
            let none = try await s.send(s.request(nil, key: h.admin))
            self.assertError(none, "InvalidAction", "no action")
        }
    }

    func testWrongVersionIsNoSuchVersion() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            for version in ["2017-03-12", "2019-03-20", ""] {
                var req = s.request("LookUpEvents", key: h.admin)
                req.version = version
                let r = try await s.send(req)
                self.assertError(r, "NoSuchVersion", "version \(version)")
            }
            var req = s.request("GetAttributeKey", key: h.admin)
            req.version = nil
            let r = try await s.send(req)
            self.assertError(r, "NoSuchVersion", "no version")
        }
    }

    func testBodyOverTheLimitIsRequestSizeLimitExceeded() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let record = event("Big", time: h.now - 60, id: "big-1")
            let sixMB = #"{"Events": ["# + record + "]" + String(repeating: " ", count: 6_000_000) + "}"
            let r = try await s.call("PutEvents", sixMB, key: h.admin)
            self.assertError(r, "RequestSizeLimitExceeded", "6 MB")

            // Exactly 5 MiB is allowed; one byte more is not.
            let head = #"{"Events": ["# + record + "]"
            let atLimit = head + String(repeating: " ", count: 5 * 1024 * 1024 - head.utf8.count - 1) + "}"
            XCTAssertEqual(atLimit.utf8.count, 5 * 1024 * 1024)
            let over = try await s.call("PutEvents", atLimit + " ", key: h.admin)
            self.assertError(over, "RequestSizeLimitExceeded", "5 MiB + 1")
            let ok = try await s.call("PutEvents", atLimit, key: h.admin)
            self.assertOK(ok, "exactly 5 MiB")
            XCTAssertEqual(ok.putIds, ["big-1"])
        }
    }

    func testBodyThatIsNotAJSONObjectIsInvalidParameter() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            for body in ["not json", #"{"Events": [}"#, "[1, 2]", #""Events""#, "{\"Events\": [\"\u{01}\"]}", #"{"a": 1} trailing"#] {
                let r = try await s.call("PutEvents", body, key: h.admin)
                self.assertError(r, "InvalidParameter", "PutEvents \(body)")
                let q = try await s.call("LookUpEvents", body, key: h.admin)
                self.assertError(q, "InvalidParameter", "LookUpEvents \(body)")
            }
            var bytes = Array(#"{"Events": [{"eventName": "x"#.utf8)
            bytes += [0xFF, 0xFE]
            bytes += Array(#"", "eventSource": "s", "actionType": "Read"}]}"#.utf8)
            let req = SDKRequest(action: "PutEvents", timestamp: h.now, body: bytes, key: h.admin)
            let r = try await s.send(req)
            self.assertError(r, "InvalidParameter", "invalid UTF-8")
        }
    }

    func testErrorsNeverLeakInternalDetails() async throws {
        let h = try await Harness.make(wrap: { FailingLookupLog.storage($0) })
        try await h.run { s in
            let r = try await s.lookup(h.admin, start: h.now - 60, end: h.now)
            self.assertError(r, "InternalError", "store failure")
            for secret in ["secret-internal", "Corrupt", "page 42", "/var/lib"] {
                XCTAssertFalse(r.text.contains(secret), "the response leaks \(secret): \(r.text)")
            }
            let d = try await s.describe(h.admin, start: h.now - 60, end: h.now)
            self.assertError(d, "InternalError", "store failure (DescribeEvents)")
        }
    }

    func testSuccessEnvelope() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let r = try await s.call("GetAttributeKey", #"{"WebsiteType": "en"}"#, key: h.auditor)
            self.assertOK(r)
            XCTAssertEqual(r.contentType?.hasPrefix("application/json"), true)
            XCTAssertEqual(r.json?.objectValue?.fields.map(\.key), ["Response"])
            let values = r.response?["AttributeKeyDetails"]?.arrayValue?.compactMap { $0["Value"]?.stringValue } ?? []
            XCTAssertEqual(Set(values), Set(LookupAttributeName.all.map(\.name)))
            let r2 = try await s.call("GetAttributeKey", #"{}"#, key: h.auditor)
            XCTAssertNotEqual(r.requestId, r2.requestId, "every request has its own RequestId")
        }
    }

    // MARK: PutEvents

    func testPutEventsRequestLevelErrors() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let missing = try await s.call("PutEvents", "{}", key: h.admin)
            self.assertError(missing, "MissingParameter", "Events missing")
            XCTAssertTrue(missing.errorMessage.contains("Events"), missing.errorMessage)
            let null = try await s.call("PutEvents", #"{"Events": null}"#, key: h.admin)
            self.assertError(null, "MissingParameter", "Events null")
            for bad in [#""abc""#, "5", "true", #"{"eventName": "x"}"#] {
                let r = try await s.call("PutEvents", #"{"Events": \#(bad)}"#, key: h.admin)
                self.assertError(r, "InvalidParameter", "Events = \(bad)")
            }
            let empty = try await s.call("PutEvents", #"{"Events": []}"#, key: h.admin)
            self.assertError(empty, "InvalidParameterValue", "Events empty")

            let tooMany = (0..<1001).map { event("Many", time: h.now - 100, id: "many-\($0)") }
            let r = try await s.put(tooMany, key: h.admin)
            self.assertError(r, "LimitExceeded", "1001 records")
            let none = try await s.lookup(h.admin, start: h.now - 200, end: h.now, attrs: [("EventName", "Many")])
            XCTAssertEqual(none.totalCount, 0, "nothing of a refused request is stored")

            let thousand = try await s.put(Array(tooMany.prefix(1000)), key: h.admin)
            self.assertOK(thousand, "1000 records")
            XCTAssertEqual(thousand.putIds.count, 1000)
            XCTAssertEqual(thousand.failed.count, 0)
            let all = try await s.lookup(h.admin, start: h.now - 200, end: h.now, attrs: [("EventName", "Many")])
            XCTAssertEqual(all.totalCount, 1000)
        }
    }

    func testPutEventsRejectsRecordsIndividually() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 3600
            let records = [
                event("Good0", time: t, id: "good-0"),
                #"{"eventId": "bad-1", "eventTime": \#(t), "eventSource": "s", "actionType": "Read"}"#,  // eventName missing
                event("Good2", time: t - 1, id: "good-2"),
                #"{"eventId": "bad-3", "eventTime": \#(t), "eventName": 5, "eventSource": "s", "actionType": "Read"}"#,
                event("Bad4", time: h.now + 3600, id: "bad-4"),
                event("Bad5", time: t, id: "bad-5", action: "Delete"),
                #""not an object""#,
                event("Bad7", time: t, id: "bad-7", extra: #""resourceName": "\#(String(repeating: "r", count: 2049))""#),
                event("Bad8", time: t, id: "bad-8", extra: #""eventType": "WebCall""#),
                event("Bad9", time: h.now - 31 * 86400, id: "bad-9"),
                event("Good10", time: t - 2),
            ]
            let r = try await s.put(records, key: h.ingest)
            self.assertOK(r)
            let ids = r.putIds
            XCTAssertEqual(ids.count, records.count, "one EventIds entry per record")
            guard ids.count == records.count else { return }
            XCTAssertEqual(ids[0], "good-0")
            XCTAssertEqual(ids[2], "good-2")
            XCTAssertFalse(ids[10].isEmpty, "a generated id")
            for i in [1, 3, 4, 5, 6, 7, 8, 9] { XCTAssertEqual(ids[i], "", "rejected record \(i)") }
            let failures = Dictionary(uniqueKeysWithValues: r.failed.map { ($0.index, $0.code) })
            XCTAssertEqual(failures, [1: "MissingParameter", 3: "InvalidParameter", 4: "InvalidParameterValue.Time", 5: "InvalidParameterValue",
                                      6: "InvalidParameter", 7: "InvalidParameterValue", 8: "InvalidParameterValue", 9: "InvalidParameterValue.Time"])
            XCTAssertEqual(r.failed.map(\.index), r.failed.map(\.index).sorted(), "FailedEvents in input order")
            for f in r.failed { XCTAssertGreaterThan(f.message.count, 10, "message for \(f.index)") }
            XCTAssertTrue(r.failed.first { $0.index == 1 }?.message.contains("eventName") ?? false)

            // The good records are visible at once; nothing of the rejected ones was stored.
            let window = try await s.lookup(h.admin, start: h.now - 30 * 86400, end: h.now, max: 50)
            let stored = Set(window.eventIds)
            XCTAssertTrue(stored.isSuperset(of: ["good-0", "good-2", ids[10]]), "\(stored)")
            for bad in ["bad-1", "bad-3", "bad-4", "bad-5", "bad-7", "bad-8", "bad-9"] {
                XCTAssertFalse(stored.contains(bad), bad)
                let byId = try await s.lookup(h.admin, start: h.now - 29 * 86400, end: h.now, attrs: [("EventId", bad)])
                XCTAssertEqual(byId.totalCount, 0, "\(bad) must not be stored")
            }
            for name in ["Bad4", "Bad5", "Bad7", "Bad8", "Bad9"] {
                let byName = try await s.lookup(h.admin, start: h.now - 29 * 86400, end: h.now, attrs: [("EventName", name)])
                XCTAssertEqual(byName.totalCount, 0, "\(name) must not be stored")
            }
            let sourceS = try await s.lookup(h.admin, start: h.now - 29 * 86400, end: h.now, attrs: [("EventSource", "s")])
            XCTAssertEqual(sourceS.totalCount, 0)
        }
    }

    func testStoredRecordsAreByteExactAndShownAsEvents() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 600
            let exact = "{ \"eventId\": \"exact-1\", \"eventTime\": \(t),\n  \"eventName\": \"Run\\u0049nstances\", \"eventSource\": \"cvm.tencentcloudapi.com\","
                + " \"actionType\": \"Write\", \"resourceType\": \"cvm\", \"resourceName\": \"ins-1\", \"eventRegion\": \"ap-guangzhou\","
                + " \"userIdentity\": {\"userName\": \"alice\", \"secretId\": \"AKIDx\"}, \"requestID\": \"req-9\", \"sourceIPAddress\": \"10.1.2.3\","
                + " \"errorCode\": 0, \"note\": \"中文😀\", \"requestParameters\": {\"b\": 1.50, \"a\": [1e2]} }"
            let generated = #"{"eventName":"NoIdNoTime","eventSource":"cos.tencentcloudapi.com","actionType":"Read"}"#
            let put = try await s.put([exact, generated], key: h.admin)
            self.assertOK(put)
            XCTAssertEqual(put.putIds.first, "exact-1")
            let generatedId = put.putIds.count == 2 ? put.putIds[1] : ""
            XCTAssertNotNil(UUID(uuidString: generatedId), "generated eventId \(generatedId)")

            let r = try await s.lookup(h.admin, start: t - 10, end: t + 10, attrs: [("EventId", "exact-1")])
            self.assertOK(r)
            XCTAssertEqual(r.events.count, 1)
            let e = try XCTUnwrap(r.events.first)
            XCTAssertEqual(e["CloudAuditEvent"]?.stringValue, exact, "the record is kept byte-exact")
            XCTAssertEqual(e["EventId"], "exact-1")
            XCTAssertEqual(e["EventTime"], .string(String(t)), "EventTime is Unix seconds as a string")
            XCTAssertEqual(e["EventName"], "RunInstances")
            XCTAssertEqual(e["EventSource"], "cvm.tencentcloudapi.com")
            XCTAssertEqual(e["Username"], "alice")
            XCTAssertEqual(e["SecretId"], "AKIDx")
            XCTAssertEqual(e["RequestID"], "req-9")
            XCTAssertEqual(e["SourceIPAddress"], "10.1.2.3")
            XCTAssertEqual(e["EventRegion"], "ap-guangzhou")
            XCTAssertEqual(e["ResourceRegion"], "ap-guangzhou")
            XCTAssertEqual(e["Resources"]?["ResourceType"], "cvm")
            XCTAssertEqual(e["Resources"]?["ResourceName"], "ins-1")
            XCTAssertEqual(e["ErrorCode"], .int(0))
            XCTAssertEqual(e["AccountID"], .int(Harness.accountA))

            // eventId and eventTime are put in front of a record that lacks them; the rest is as sent.
            let g = try await s.lookup(h.admin, start: h.now - 10, end: h.now, attrs: [("EventId", generatedId)])
            XCTAssertEqual(g.events.first?["CloudAuditEvent"]?.stringValue,
                           "{\"eventId\":\"\(generatedId)\",\"eventTime\":\(h.now)," + generated.dropFirst())
            XCTAssertEqual(g.events.first?["EventTime"], .string(String(h.now)))
        }
    }

    func testRetriesAreIdempotentByEventId() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 900
            let first = try await s.put([event("Retry", time: t, id: "retry-1"), event("Retry", time: t, id: "retry-2")], key: h.ingest)
            self.assertOK(first)
            XCTAssertEqual(first.putIds, ["retry-1", "retry-2"])
            // The same batch again, then again with a changed body for the same id, then a duplicate inside one batch.
            let again = try await s.put([event("Retry", time: t, id: "retry-1"), event("Retry", time: t, id: "retry-2")], key: h.ingest)
            self.assertOK(again)
            XCTAssertEqual(again.putIds, ["retry-1", "retry-2"])
            XCTAssertEqual(again.failed.count, 0, "a retry is not a failure")
            let changed = try await s.put([event("RetryChanged", time: t - 5, id: "retry-1")], key: h.admin)
            XCTAssertEqual(changed.putIds, ["retry-1"])
            XCTAssertEqual(changed.failed.count, 0)
            let inBatch = try await s.put([event("Retry", time: t, id: "retry-3"), event("Retry", time: t, id: "retry-3")], key: h.ingest)
            XCTAssertEqual(inBatch.putIds, ["retry-3", "retry-3"])
            XCTAssertEqual(inBatch.failed.count, 0)

            let r = try await s.lookup(h.admin, start: t - 60, end: t + 60, max: 50)
            XCTAssertEqual(r.totalCount, 3)
            XCTAssertEqual(r.eventIds.sorted(), ["retry-1", "retry-2", "retry-3"])
            let one = try await s.lookup(h.admin, start: t - 60, end: t + 60, attrs: [("EventId", "retry-1")])
            XCTAssertEqual(one.totalCount, 1)
            XCTAssertEqual(one.eventNames, ["Retry"], "the first accepted copy is kept")
        }
    }

    func testTenantAndServiceKeysAndAccounts() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 1200
            let b = Harness.accountB
            let own = try await s.put([event("Own", time: t, id: "own-1", accountId: #""\#(Harness.accountA)""#),
                                       event("Other", time: t, id: "other-1", accountId: #""\#(b)""#)], key: h.ingest)
            self.assertOK(own)
            XCTAssertEqual(own.putIds, ["own-1", ""])
            XCTAssertEqual(own.failed.map(\.code), ["UnauthorizedOperation"])
            let adminOther = try await s.put([event("Other", time: t, id: "other-2", accountId: #"\#(b)"#)], key: h.admin)
            XCTAssertEqual(adminOther.failed.map(\.code), ["UnauthorizedOperation"])

            let service = try await s.put([
                event("ForB", time: t, id: "svc-b", accountId: #""\#(b)""#),
                event("ForNobody", time: t, id: "svc-x", accountId: #""999999999999""#),
                event("ForNone", time: t, id: "svc-none"),
                event("ForA", time: t, id: "svc-a", accountId: #"\#(Harness.accountA)"#),
            ], key: h.service)
            self.assertOK(service)
            XCTAssertEqual(service.putIds, ["svc-b", "", "", "svc-a"])
            XCTAssertEqual(service.failed.map(\.code), ["ResourceNotFound", "MissingParameter"])

            let inB = try await s.lookup(h.adminB, start: t - 10, end: t + 10)
            XCTAssertEqual(inB.eventIds, ["svc-b"])
            XCTAssertEqual(inB.events.first?["AccountID"], .int(b))
            let inA = try await s.lookup(h.admin, start: t - 10, end: t + 10, max: 50)
            XCTAssertEqual(Set(inA.eventIds), ["own-1", "svc-a"])
        }
    }

    /// docs/contract.md limits userIdentity.* to 256 characters; a zero-padded accountId still names account B.
    func testOverlongAccountIdIsRejectedForServiceKeys() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let b = String(Harness.accountB)
            let padded = String(repeating: "0", count: 257 - b.count) + b
            let r = try await s.put([event("Padded", time: h.now - 60, id: "pad-1", accountId: "\"\(padded)\"")], key: h.service)
            self.assertOK(r)
            XCTAssertEqual(r.failed.map(\.code), ["InvalidParameterValue"], "accountId of 257 characters")
            let stored = try await s.lookup(h.adminB, start: h.now - 120, end: h.now, attrs: [("EventId", "pad-1")])
            XCTAssertEqual(stored.totalCount, 0)
        }
    }

    // MARK: queries

    func testLookUpEventsPaging() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let base = h.now - 3600
            let records = (0..<25).map { event("Page", time: base - Int64($0) * 10, id: String(format: "page-%02d", $0)) }
            let put = try await s.put(records, key: h.ingest)
            XCTAssertEqual(put.failed.count, 0)
            // Noise outside the query window and of other names.
            _ = try await s.put([event("Page", time: h.now - 100, id: "late"), event("Other", time: base, id: "other")], key: h.ingest)

            var seen: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let r = try await s.lookup(h.admin, start: base - 1000, end: base, attrs: [("EventName", "Page")], max: 10, token: token)
                self.assertOK(r, "page \(pages)")
                XCTAssertEqual(r.totalCount, 25)
                pages += 1
                seen += r.eventIds
                if r.listOver == true {
                    XCTAssertNil(r.nextToken, "no NextToken on the last page")
                    token = nil
                } else {
                    XCTAssertEqual(r.listOver, false)
                    XCTAssertEqual(r.events.count, 10)
                    guard case .string(let next)? = r.nextToken, !next.isEmpty else { XCTFail("NextToken is a string: \(r.text.prefix(200))"); break }
                    token = next
                }
            } while token != nil && pages < 10
            XCTAssertEqual(pages, 3)
            XCTAssertEqual(seen, (0..<25).map { String(format: "page-%02d", $0) }, "newest first, each exactly once")

            // Default page size is 10; 50 is the maximum.
            let d = try await s.lookup(h.admin, start: base - 1000, end: base, attrs: [("EventName", "Page")])
            XCTAssertEqual(d.events.count, 10)
            let all = try await s.lookup(h.admin, start: base - 1000, end: base, attrs: [("EventName", "Page")], max: 50)
            XCTAssertEqual(all.events.count, 25)
            XCTAssertEqual(all.listOver, true)
            XCTAssertNil(all.nextToken)
            let one = try await s.lookup(h.admin, start: base - 1000, end: base, attrs: [("EventName", "Page")], max: 1)
            XCTAssertEqual(one.eventIds, ["page-00"])
            // A window that matches nothing.
            let empty = try await s.lookup(h.admin, start: base - 90_000, end: base - 80_000)
            self.assertOK(empty)
            XCTAssertEqual(empty.events.count, 0)
            XCTAssertEqual(empty.listOver, true)
            XCTAssertEqual(empty.totalCount, 0)
        }
    }

    func testPagingIsStableUnderConcurrentIngestion() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let base = h.now - 5000
            // 12 events in the same second (ties are broken by position) and 8 more spread out.
            var records = (0..<12).map { event("Stable", time: base, id: "tie-\($0)") }
            records += (0..<8).map { event("Stable", time: base - 10 - Int64($0), id: "spread-\($0)") }
            _ = try await s.put(records, key: h.ingest)
            let original = Set(records.indices.map { $0 < 12 ? "tie-\($0)" : "spread-\($0 - 12)" })

            var seen: [String] = []
            var token: String?
            var round = 0
            repeat {
                let r = try await s.lookup(h.admin, start: base - 100, end: base + 100, attrs: [("EventName", "Stable")], max: 5, token: token)
                self.assertOK(r, "round \(round)")
                seen += r.eventIds
                token = r.nextToken?.stringValue
                // New events arrive between pages: newer, in the same second, and older than everything.
                _ = try await s.put([event("Stable", time: base + 50, id: "new-\(round)"), event("Stable", time: base, id: "newtie-\(round)"),
                                     event("Stable", time: base - 90, id: "old-\(round)")], key: h.ingest)
                round += 1
            } while token != nil && round < 20
            XCTAssertEqual(seen.count, Set(seen).count, "no event is repeated: \(seen)")
            XCTAssertTrue(Set(seen).isSuperset(of: original), "no event is skipped: missing \(original.subtracting(seen))")
        }
    }

    func testDescribeEventsPaging() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let base = h.now - 3600
            _ = try await s.put((0..<23).map { event("Desc", time: base - Int64($0), id: "d-\($0)") }, key: h.ingest)
            var seen: [String] = []
            var token: JSONValue?
            var pages = 0
            repeat {
                let r = try await s.describe(h.auditor, start: base - 100, end: base, max: 10, token: token)
                self.assertOK(r, "page \(pages)")
                XCTAssertEqual(r.totalCount, 23)
                seen += r.eventIds
                pages += 1
                if r.listOver == true {
                    XCTAssertNil(r.nextToken)
                    token = nil
                } else {
                    guard case .int(let n)? = r.nextToken, n > 0 else { XCTFail("NextToken is an unsigned integer: \(r.text.prefix(300))"); break }
                    token = .int(n)
                }
            } while token != nil && pages < 10
            XCTAssertEqual(pages, 3)
            XCTAssertEqual(seen, (0..<23).map { "d-\($0)" })

            // The token also works as a string of digits (GET sends strings).
            let first = try await s.describe(h.auditor, start: base - 100, end: base, max: 10)
            guard case .int(let n)? = first.nextToken else { return XCTFail("no NextToken") }
            let asString = try await s.describe(h.auditor, start: base - 100, end: base, max: 10, token: .string(String(n)))
            XCTAssertEqual(asString.eventIds, (10..<20).map { "d-\($0)" })

            let loc = try await s.describe(h.auditor, start: base - 100, end: base, max: 2, extra: [("IsReturnLocation", .int(1))])
            XCTAssertEqual(loc.events.first?["Location"], "unknown")
            let noLoc = try await s.describe(h.auditor, start: base - 100, end: base, max: 2)
            XCTAssertNil(noLoc.events.first?["Location"])
        }
    }

    func testTamperedLookUpNextTokenIsRejected() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let base = h.now - 3600
            _ = try await s.put((0..<5).map { event("Tamper", time: base - Int64($0), id: "t-\($0)") }, key: h.ingest)
            let first = try await s.lookup(h.admin, start: base - 100, end: base, max: 2)
            let token = try XCTUnwrap(first.nextToken?.stringValue)
            let ok = try await s.lookup(h.admin, start: base - 100, end: base, max: 2, token: token)
            XCTAssertEqual(ok.eventIds, ["t-2", "t-3"])

            let chars = Array(token)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            for i in Set([0, 1, 2, chars.count / 3, chars.count / 2, chars.count - 2, chars.count - 1]) {
                var flipped = chars
                flipped[i] = flipped[i] == alphabet[0] ? alphabet[1] : alphabet[0]
                let r = try await s.lookup(h.admin, start: base - 100, end: base, max: 2, token: String(flipped))
                self.assertError(r, "InvalidParameterValue", "character \(i) flipped")
            }
            for bad in ["x", "garbage-token", token + "A", String(token.dropLast()), String(repeating: "A", count: 44), "12345",
                        String(repeating: "A", count: 1000)] {
                let r = try await s.lookup(h.admin, start: base - 100, end: base, max: 2, token: bad)
                self.assertError(r, "InvalidParameterValue", "token \(bad.prefix(50))")
            }
        }
    }

    func testLookUpNextTokenIsBoundToTheAccountAndQuery() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let base = h.now - 3600
            _ = try await s.put((0..<5).map { event("Bound", time: base - Int64($0), id: "a-\($0)") }, key: h.admin)
            _ = try await s.put((0..<5).map { event("Bound", time: base - Int64($0), id: "b-\($0)") }, key: h.adminB)
            let first = try await s.lookup(h.admin, start: base - 100, end: base, attrs: [("EventName", "Bound")], max: 2)
            let token = try XCTUnwrap(first.nextToken?.stringValue)

            let otherAccount = try await s.lookup(h.adminB, start: base - 100, end: base, attrs: [("EventName", "Bound")], max: 2, token: token)
            self.assertError(otherAccount, "InvalidParameterValue", "token of account A used by account B")
            XCTAssertFalse(otherAccount.text.contains("\"a-"), "no event of account A leaks")

            let variants: [(String, Int64, Int64, [(String, String)])] = [
                ("EndTime changed", base - 100, base - 1, [("EventName", "Bound")]),
                ("StartTime changed", base - 101, base, [("EventName", "Bound")]),
                ("attribute dropped", base - 100, base, []),
                ("attribute value changed", base - 100, base, [("EventName", "Other")]),
                ("attribute added", base - 100, base, [("EventName", "Bound"), ("ActionType", "Write")]),
            ]
            for (label, start, end, attrs) in variants {
                let r = try await s.lookup(h.admin, start: start, end: end, attrs: attrs, max: 2, token: token)
                self.assertError(r, "InvalidParameterValue", label)
            }
            // The same query from another key of the same account continues fine; MaxResults may change.
            let same = try await s.lookup(h.auditor, start: base - 100, end: base, attrs: [("EventName", "Bound")], max: 3, token: token)
            self.assertOK(same)
            XCTAssertEqual(same.eventIds, ["a-2", "a-3", "a-4"])
        }
    }

    func testDescribeEventsNextTokenCannotBeForged() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let base = h.now - 3600
            _ = try await s.put((0..<5).map { event("Forge", time: base - Int64($0), id: "f-\($0)") }, key: h.admin)
            _ = try await s.put((0..<5).map { event("Forge", time: base - Int64($0), id: "g-\($0)") }, key: h.adminB)
            let first = try await s.describe(h.admin, start: base - 100, end: base, max: 2)
            guard case .int(let token)? = first.nextToken else { return XCTFail("no NextToken: \(first.text.prefix(300))") }

            for forged: Int64 in [1, 42, 123_456_789, token + 1, token - 1, 9_007_199_254_740_991, -token, -1] {
                let r = try await s.describe(h.admin, start: base - 100, end: base, max: 2, token: .int(forged))
                self.assertError(r, "InvalidParameterValue", "token \(forged)")
            }
            for bad: JSONValue in ["abc", "1.5", .double(1.5), .bool(true), .array([])] {
                let r = try await s.describe(h.admin, start: base - 100, end: base, max: 2, token: bad)
                self.assertError(r, "InvalidParameterValue", "token \(bad)")
            }
            let lookToken = try await s.lookup(h.admin, start: base - 100, end: base, max: 2)
            if let t = lookToken.nextToken?.stringValue {
                let r = try await s.describe(h.admin, start: base - 100, end: base, max: 2, token: .string(t))
                self.assertError(r, "InvalidParameterValue", "a LookUpEvents token")
            }

            let otherAccount = try await s.describe(h.adminB, start: base - 100, end: base, max: 2, token: .int(token))
            self.assertError(otherAccount, "InvalidParameterValue", "token of account A used by account B")
            let otherQuery = try await s.describe(h.admin, start: base - 100, end: base - 1, max: 2, token: .int(token))
            self.assertError(otherQuery, "InvalidParameterValue", "token reused with another query")
            let otherFilter = try await s.describe(h.admin, start: base - 100, end: base, attrs: [("EventName", "Forge")], max: 2, token: .int(token))
            self.assertError(otherFilter, "InvalidParameterValue", "token reused with a filter added")

            let ok = try await s.describe(h.admin, start: base - 100, end: base, max: 2, token: .int(token))
            self.assertOK(ok)
            XCTAssertEqual(ok.eventIds, ["f-2", "f-3"])
        }
    }

    func testQueryErrorCodes() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let now = h.now
            let cases: [(String, String, String)] = [
                ("no StartTime", #"{"EndTime": \#(now)}"#, "InvalidParameter.Time"),
                ("no EndTime", #"{"StartTime": \#(now - 60)}"#, "InvalidParameter.Time"),
                ("no times", "{}", "InvalidParameter.Time"),
                ("StartTime text", #"{"StartTime": "yesterday", "EndTime": \#(now)}"#, "InvalidParameter.Time"),
                ("StartTime float", #"{"StartTime": 1.5, "EndTime": \#(now)}"#, "InvalidParameter.Time"),
                ("EndTime bool", #"{"StartTime": \#(now - 60), "EndTime": true}"#, "InvalidParameter.Time"),
                ("EndTime null", #"{"StartTime": \#(now - 60), "EndTime": null}"#, "InvalidParameter.Time"),
                ("StartTime > EndTime", #"{"StartTime": \#(now), "EndTime": \#(now - 1)}"#, "InvalidParameterValue.Time"),
                ("older than retention", #"{"StartTime": \#(now - 31 * 86400), "EndTime": \#(now)}"#, "LimitExceeded.OverTime"),
                ("MaxResults 51", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "MaxResults": 51}"#, "InvalidParameterValue.MaxResult"),
                ("MaxResults 0", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "MaxResults": 0}"#, "InvalidParameterValue.MaxResult"),
                ("MaxResults -1", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "MaxResults": -1}"#, "InvalidParameterValue.MaxResult"),
                ("MaxResults 1000", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "MaxResults": 1000}"#, "InvalidParameterValue.MaxResult"),
                ("MaxResults text", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "MaxResults": "many"}"#, "InvalidParameterValue.MaxResult"),
                ("unknown key", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "x"}]}"#,
                 "InvalidParameterValue.attributeKey"),
                ("key case", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "LookupAttributes": [{"AttributeKey": "eventName", "AttributeValue": "x"}]}"#,
                 "InvalidParameterValue.attributeKey"),
                ("unknown key after a good one", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x"}, {"AttributeKey": "Region", "AttributeValue": "x"}]}"#,
                 "InvalidParameterValue.attributeKey"),
            ]
            let allKeys: [String] = LookupAttributeName.all.map { a in
                let v: String
                switch a.name {
                case "Tags": v = #"[{\"key\":\"k\",\"value\":\"v\"}]"#
                case "ReadOnly", "SensitiveAction": v = "true"
                case "ActionType": v = "Read"
                default: v = "v"
                }
                return #"{"AttributeKey": "\#(a.name)", "AttributeValue": "\#(v)"}"#
            }
            let everyKey = #"{"StartTime": \#(now - 60), "EndTime": \#(now), "LookupAttributes": ["# + allKeys.joined(separator: ",") + "]}"
            for action in ["LookUpEvents", "DescribeEvents"] {
                for (label, body, code) in cases {
                    let r = try await s.call(action, body, key: h.auditor)
                    self.assertError(r, code, "\(action): \(label)")
                }
                for (label, body) in [
                    ("at retention", #"{"StartTime": \#(now - 30 * 86400), "EndTime": \#(now)}"#),
                    ("equal times", #"{"StartTime": \#(now), "EndTime": \#(now)}"#),
                    ("numeric strings", #"{"StartTime": "\#(now - 60)", "EndTime": "\#(now)", "MaxResults": "50"}"#),
                    ("MaxResults 1", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "MaxResults": 1}"#),
                    ("MaxResults 50", #"{"StartTime": \#(now - 60), "EndTime": \#(now), "MaxResults": 50}"#),
                    ("every key", everyKey),
                ] {
                    let r = try await s.call(action, body, key: h.auditor)
                    self.assertOK(r, "\(action): \(label)")
                }
            }
        }
    }

    func testAContinuedQueryKeepsItsPagesAsTheRetentionBoundaryMoves() async throws {
        let clock = ManualClock(unixNow())
        let h = try await Harness.make(retentionA: 7, clock: { clock.now() })
        try await h.run { s in
            _ = try await s.put((0..<3).map { event("Boundary", time: h.now - 100 + Int64($0)) }, key: h.admin)
            let start = h.now - 7 * 86400 + 5
            let first = try await s.lookup(h.admin, start: start, end: h.now, max: 1)
            self.assertOK(first, "a query 5 s inside the boundary")
            // (Under the 300 s of signature skew the test's signer allows.)
            clock.advance(200)
            let again = try await s.lookup(h.admin, start: start, end: h.now, max: 1)
            self.assertError(again, "LimitExceeded.OverTime", "a new query from the same start, 200 s later")
            let second = try await s.lookup(h.admin, start: start, end: h.now, max: 1, token: first.nextToken?.stringValue)
            self.assertOK(second, "its next page, 200 s later")
            XCTAssertEqual(second.eventIds.count, 1)
            XCTAssertNotEqual(second.eventIds, first.eventIds)
            let described = try await s.describe(h.admin, start: start, end: h.now, max: 1)
            self.assertError(described, "LimitExceeded.OverTime", "DescribeEvents as well")
        }
    }

    func testRetentionOfTheAccountBoundsQueries() async throws {
        let h = try await Harness.make(retentionA: 7)
        try await h.run { s in
            let over = try await s.lookup(h.admin, start: h.now - 8 * 86400, end: h.now)
            self.assertError(over, "LimitExceeded.OverTime", "8 days with 7-day retention")
            XCTAssertTrue(over.errorMessage.contains("7"), over.errorMessage)
            let ok = try await s.lookup(h.admin, start: h.now - 7 * 86400, end: h.now)
            self.assertOK(ok, "7 days")
            // Account B keeps the default of 30 days.
            let b = try await s.lookup(h.adminB, start: h.now - 20 * 86400, end: h.now)
            self.assertOK(b, "20 days in account B")
            let put = try await s.put([event("Old", time: h.now - 8 * 86400, id: "old-1")], key: h.admin)
            XCTAssertEqual(put.failed.map(\.code), ["InvalidParameterValue.Time"])
        }
    }

    func testLookupAttributeSemantics() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 7200
            _ = try await s.put([
                event("Alpha", time: t, id: "e1", action: "Read",
                      extra: #""resourceName": "ins-x, ins-y", "tags": [{"key": "env", "value": "prod"}], "sensitiveAction": true, "errorCode": 4100"#),
                event("Beta", time: t - 1, id: "e2", action: "Write", extra: #""tags": [{"key": "env", "value": "dev"}], "apiErrorCode": "LimitExceeded""#),
                event("Gamma", time: t - 2, id: "e3", action: "Read",
                      extra: #""resourceSet": ["ins-3", {"resourceId": "ins-4"}], "requestID": "req-3", "sourceIPAddress": "10.9.9.9""#),
            ], key: h.ingest)
            func ids(_ attrs: [(String, String)]) async throws -> [String] {
                let r = try await s.lookup(h.auditor, start: t - 100, end: t, attrs: attrs, max: 50)
                self.assertOK(r, "\(attrs)")
                XCTAssertEqual(Int64(r.events.count), r.totalCount, "TotalCount for \(attrs)")
                return r.eventIds.sorted()
            }
            let cases: [([(String, String)], [String])] = [
                ([], ["e1", "e2", "e3"]),
                ([("EventName", "Alpha")], ["e1"]),
                ([("EventName", "alpha")], []),
                ([("EventName", "Alpha"), ("EventName", "Beta")], ["e1", "e2"]),
                ([("EventName", "Alpha"), ("ActionType", "Write")], []),
                ([("EventName", "Alpha"), ("EventName", "Beta"), ("ActionType", "Write")], ["e2"]),
                ([("ReadOnly", "true")], ["e1", "e3"]),
                ([("ReadOnly", "false")], ["e2"]),
                ([("ResourceName", "ins-y")], ["e1"]),
                ([("ResourceName", "ins-x, ins-y")], ["e1"]),
                ([("ResourceId", "ins-3")], ["e3"]),
                ([("ResourceId", "ins-4")], ["e3"]),
                ([("Tags", #"[{"key":"env","value":"prod"}]"#)], ["e1"]),
                ([("Tags", #"[{"key":"env","value":"*"}]"#)], ["e1", "e2"]),
                ([("Tags", #"[{"key":"env","value":"prod"},{"key":"env","value":"dev"}]"#)], ["e1", "e2"]),
                ([("SensitiveAction", "true")], ["e1"]),
                ([("CamErrorCode", "4100")], ["e1"]),
                ([("ApiErrorCode", "LimitExceeded")], ["e2"]),
                ([("RequestId", "req-3")], ["e3"]),
                ([("SourceIPAddress", "10.9.9.9")], ["e3"]),
                ([("Username", "alice")], ["e1", "e2", "e3"]),
                ([("PrincipalId", "p-1")], ["e1", "e2", "e3"]),
                ([("AccessKeyId", "AKIDuser")], ["e1", "e2", "e3"]),
                ([("ResourceType", "cvm")], ["e1", "e2", "e3"]),
                ([("EventSource", "cvm.tencentcloudapi.com"), ("EventId", "e2")], ["e2"]),
            ]
            for (attrs, expected) in cases {
                let got = try await ids(attrs)
                XCTAssertEqual(got, expected, "\(attrs)")
            }
        }
    }

    func testGETWithQueryParameters() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 3600
            _ = try await s.put([event("Run Instances/v2", time: t, id: "get-1"), event("Other", time: t, id: "get-2")], key: h.admin)
            let params: [(String, String)] = [
                ("StartTime", String(t - 60)), ("EndTime", String(t + 60)), ("MaxResults", "5"),
                ("LookupAttributes.0.AttributeKey", "EventName"), ("LookupAttributes.0.AttributeValue", "Run Instances/v2"),
            ]
            let query = formEncode(params)
            XCTAssertTrue(query.contains("Run+Instances%2Fv2"), query)
            var req = SDKRequest(action: "LookUpEvents", timestamp: h.now, key: h.auditor)
            req.method = .get
            req.query = query
            let r = try await s.send(req)
            self.assertOK(r, "GET LookUpEvents")
            XCTAssertEqual(r.eventIds, ["get-1"])
            XCTAssertEqual(r.totalCount, 1)

            var d = req
            d.action = "DescribeEvents"
            let dr = try await s.send(d)
            self.assertOK(dr, "GET DescribeEvents")
            XCTAssertEqual(dr.eventIds, ["get-1"])

            // Action and Version in the query string instead of headers.
            var inQuery = SDKRequest(action: nil, version: nil, timestamp: h.now, key: h.auditor)
            inQuery.method = .get
            inQuery.query = formEncode([("Action", "LookUpEvents"), ("Version", AuditAPI.version)] + params)
            let q = try await s.send(inQuery)
            self.assertOK(q, "Action in the query")
            XCTAssertEqual(q.eventIds, ["get-1"])

            // The signature covers the query string.
            var tampered = req
            tampered.query = query.replacingOccurrences(of: "Run+Instances%2Fv2", with: "Other")
            let bad = try await s.send(tampered, headers: req.headers())
            self.assertError(bad, "AuthFailure.SignatureFailure", "query changed after signing")
            var reordered = req
            reordered.query = formEncode(Array(params.reversed()))
            let reorderedReply = try await s.send(reordered, headers: req.headers())
            self.assertError(reorderedReply, "AuthFailure.SignatureFailure", "query reordered after signing")

            // Query errors come back the same way.
            var over = req
            over.query = formEncode([("StartTime", String(t)), ("EndTime", String(t + 1)), ("MaxResults", "51")])
            let overReply = try await s.send(over)
            self.assertError(overReply, "InvalidParameterValue.MaxResult", "GET MaxResults 51")
        }
    }

    // MARK: self-audit, isolation, limits

    func testSelfAuditRecordsQueries() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            _ = try await s.put([event("Audited", time: h.now - 100, id: "sa-1")], key: h.admin)
            let r = try await s.lookup(h.auditor, start: h.now - 3600, end: h.now, attrs: [("EventName", "Audited")])
            self.assertOK(r)
            let requestId = try XCTUnwrap(r.requestId)
            let record = try await self.poll {
                try await h.selfAuditRecords().first { $0["requestID"]?.stringValue == requestId }
            }
            let rec = try XCTUnwrap(record, "a self-audit event for LookUpEvents within 2 s")
            XCTAssertEqual(rec["eventSource"], "cloudaudit.api")
            XCTAssertEqual(rec["eventName"], "LookUpEvents")
            XCTAssertEqual(rec["resourceType"], "cloudaudit")
            XCTAssertEqual(rec["actionType"], "Read")
            XCTAssertEqual(rec["eventType"], "ApiCall")
            XCTAssertEqual(rec["userIdentity"]?["secretId"]?.stringValue, h.auditor.secretId)
            XCTAssertEqual(rec["userIdentity"]?["accountId"]?.stringValue, String(Harness.accountA))
            XCTAssertEqual(EventRecordValidator.integer(rec["errorCode"] ?? .null), 0)
            XCTAssertTrue(rec["requestParameters"]?.stringValue?.contains("Audited") ?? false, "\(rec["requestParameters"] ?? .null)")

            // It can be found through the API as well.
            let viaAPI = try await self.poll { () -> Reply? in
                let q = try await s.lookup(h.admin, start: h.now - 60, end: h.now, attrs: [("EventSource", "cloudaudit.api"), ("RequestId", requestId)])
                return q.events.isEmpty ? nil : q
            }
            XCTAssertEqual(viaAPI?.events.first?["EventName"], "LookUpEvents")

            // A failed call is recorded with its error; a refused authentication with its errorCode.
            let failed = try await s.lookup(h.admin, start: h.now, end: h.now - 1)
            let failedId = try XCTUnwrap(failed.requestId)
            var wrong = h.auditor
            wrong.secretKey = "not-the-secret"
            let denied = try await s.lookup(wrong, start: h.now - 60, end: h.now)
            self.assertError(denied, "AuthFailure.SignatureFailure")
            let deniedId = try XCTUnwrap(denied.requestId)
            let both = try await self.poll { () -> (JSONValue, JSONValue)? in
                let all = try await h.selfAuditRecords()
                guard let a = all.first(where: { $0["requestID"]?.stringValue == failedId }),
                      let b = all.first(where: { $0["requestID"]?.stringValue == deniedId }) else { return nil }
                return (a, b)
            }
            let (failedRecord, deniedRecord) = try XCTUnwrap(both, "self-audit events for the failed calls")
            XCTAssertEqual(failedRecord["apiErrorCode"], "InvalidParameterValue.Time")
            XCTAssertEqual(deniedRecord["apiErrorCode"], "AuthFailure.SignatureFailure")
            XCTAssertNotEqual(EventRecordValidator.integer(deniedRecord["errorCode"] ?? .null) ?? 0, 0, "a failed authentication has an errorCode")

            // PutEvents is not recorded.
            try await Task.sleep(nanoseconds: 200_000_000)
            let names = try await h.selfAuditRecords().compactMap { $0["eventName"]?.stringValue }
            XCTAssertFalse(names.contains("PutEvents"), "\(names)")
            let other = try await h.selfAuditRecords(Harness.accountB)
            XCTAssertTrue(other.isEmpty, "account B saw no calls")
        }
    }

    func testAccountsAreIsolated() async throws {
        let h = try await Harness.make()
        try await h.run { s in
            let t = h.now - 2000
            let a = try await s.put([event("OnlyA", time: t, id: "shared-id"), event("OnlyA", time: t - 1, id: "a-only")], key: h.admin)
            let b = try await s.put([event("OnlyB", time: t, id: "shared-id")], key: h.adminB)
            XCTAssertEqual(a.putIds, ["shared-id", "a-only"])
            XCTAssertEqual(b.putIds, ["shared-id"], "the same eventId in another account is another event")
            XCTAssertEqual(b.failed.count, 0)

            let inA = try await s.lookup(h.admin, start: t - 60, end: t + 60, max: 50)
            XCTAssertEqual(Set(inA.eventNames), ["OnlyA"])
            XCTAssertEqual(inA.totalCount, 2)
            XCTAssertTrue(inA.events.allSatisfy { $0["AccountID"] == .int(Harness.accountA) })
            let inB = try await s.describe(h.adminB, start: t - 60, end: t + 60, max: 50)
            XCTAssertEqual(inB.eventNames, ["OnlyB"])
            XCTAssertEqual(inB.totalCount, 1)
            XCTAssertTrue(inB.events.allSatisfy { $0["AccountID"] == .int(Harness.accountB) })
            for attrs in [[("EventId", "a-only")], [("EventName", "OnlyA")]] {
                let r = try await s.lookup(h.adminB, start: t - 60, end: t + 60, attrs: attrs)
                XCTAssertEqual(r.totalCount, 0, "\(attrs)")
                XCTAssertTrue(r.events.isEmpty)
            }
            let sharedA = try await s.lookup(h.auditor, start: t - 60, end: t + 60, attrs: [("EventId", "shared-id")])
            XCTAssertEqual(sharedA.eventNames, ["OnlyA"])
            let sharedB = try await s.lookup(h.adminB, start: t - 60, end: t + 60, attrs: [("EventId", "shared-id")])
            XCTAssertEqual(sharedB.eventNames, ["OnlyB"])
        }
    }

    func testRequestLimitExceededPerKey() async throws {
        let h = try await Harness.make(rateLimit: 0.01)
        try await h.run { s in
            let first = try await s.call("GetAttributeKey", "{}", key: h.auditor)
            self.assertOK(first, "first request")
            var limited: Reply?
            for _ in 0..<3 {
                let r = try await s.call("GetAttributeKey", "{}", key: h.auditor)
                if r.errorCode != nil { limited = r; break }
            }
            let refused = try XCTUnwrap(limited, "a burst over the rate limit is refused")
            self.assertError(refused, "RequestLimitExceeded")
            let other = try await s.call("GetAttributeKey", "{}", key: h.admin)
            self.assertOK(other, "another key is not slowed")
            let ingest = try await s.put([event("StillIn", time: h.now - 10, id: "rl-1")], key: h.ingest)
            self.assertOK(ingest, "another key's PutEvents")
        }
    }
}
