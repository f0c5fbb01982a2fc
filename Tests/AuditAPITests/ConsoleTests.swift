import AuditAPI
import AuditAuth
import AuditConsole
import AuditModel
import AuditStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOConcurrencyHelpers
import XCTest

/// A clock the test moves.
final class ManualClock: Sendable {
    private let value: NIOLockedValueBox<Int64>
    init(_ start: Int64) { value = NIOLockedValueBox(start) }
    func now() -> Int64 { value.withLockedValue { $0 } }
    func advance(_ seconds: Int64) { value.withLockedValue { $0 += seconds } }
}

/// A browser of the console: keeps the session cookie and the CSRF token.
final class ConsoleBrowser: @unchecked Sendable {
    let client: any TestClientProtocol
    var cookie: String?
    var csrf: String?

    init(client: any TestClientProtocol) { self.client = client }

    struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let text: String
        var json: JSONValue? { try? JSONParser.parse(Array(text.utf8)) }
        var errorCode: String? { json?["Error"]?["Code"]?.stringValue }
        var response: JSONValue? { json?["Response"] }
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, body: JSONValue? = nil, csrf sendCSRF: Bool = true, origin: String? = nil) async throws -> Answer {
        var headers = HTTPFields()
        if let cookie { headers[.cookie] = "cloudaudit_session=\(cookie)" }
        if sendCSRF, let csrf { headers[HTTPField.Name("X-CSRF-Token")!] = csrf }
        if let origin { headers[.origin] = origin }
        headers[.contentType] = "application/json"
        let r = try await client.executeRequest(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: JSONWriter.encode($0)) })
        let answer = Answer(status: r.status, headers: r.headers, text: String(decoding: r.body.readableBytesView, as: UTF8.self))
        if let set = r.headers[.setCookie], let value = set.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last {
            cookie = value.isEmpty ? nil : String(value)
        }
        if let token = answer.json?["Session"]?["CsrfToken"]?.stringValue { csrf = token }
        return answer
    }

    func signIn(_ key: TestKey) async throws -> Answer {
        try await send(.post, "/console/api/session", body: .obj([("SecretId", .string(key.secretId)), ("SecretKey", .string(key.secretKey))]))
    }

    func call(_ action: String, _ params: [(String, JSONValue)] = [], csrf: Bool = true) async throws -> Answer {
        try await send(.post, "/console/api/call", body: .obj([("Action", .string(action)), ("Params", .obj(params))]), csrf: csrf)
    }
}

final class ConsoleTests: XCTestCase {
    func console(_ h: Harness, idle: Int64 = 1800, lifetime: Int64 = 43_200, _ body: @Sendable (ConsoleBrowser) async throws -> Void) async throws {
        var c = ConsoleConfiguration()
        c.idleTimeout = idle
        c.lifetime = lifetime
        c.failedSignInDelay = 0
        let router = h.api.buildRouter()
        WebConsole(api: h.api, configuration: c).addRoutes(to: router)
        var logger = Logger(label: "cloudaudit-console-test")
        logger.logLevel = .critical
        try await Application(router: router, logger: logger).test(.router) { client in try await body(ConsoleBrowser(client: client)) }
    }

    func consoleRecords(_ h: Harness, _ account: Int64 = Harness.accountA) async throws -> [JSONValue] {
        await h.api.selfAudit.drain()
        return try await h.selfAuditRecords(account).filter { $0["eventType"]?.stringValue == "ConsoleCall" }
    }

    func testKeySignInSetsAStrictCookieAndRunsActionsAsTheKey() async throws {
        let h = try await Harness.make()
        try await console(h) { b in
            let signIn = try await b.signIn(h.admin)
            XCTAssertEqual(signIn.status, .ok, signIn.text)
            let cookie = signIn.headers[.setCookie] ?? ""
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] { XCTAssertTrue(cookie.contains(attribute), cookie) }
            XCTAssertEqual(signIn.json?["Session"]?["Role"]?.stringValue, "admin")
            XCTAssertEqual(signIn.json?["Session"]?["AccountId"], .int(Harness.accountA))
            XCTAssertNotNil(signIn.headers[.contentSecurityPolicy])

            let keys = try await b.call("GetAttributeKey", [("WebsiteType", "en")])
            XCTAssertEqual(keys.status, .ok)
            XCTAssertNotNil(keys.response?["AttributeKeyDetails"]?.arrayValue, keys.text)
            let lookup = try await b.call("LookUpEvents", [("StartTime", .int(h.now - 60)), ("EndTime", .int(h.now))])
            XCTAssertNotNil(lookup.response?["Events"], lookup.text)
            let bad = try await b.call("LookUpEvents", [("StartTime", .int(h.now)), ("EndTime", .int(h.now - 60))])
            XCTAssertEqual(bad.response?["Error"]?["Code"]?.stringValue, "InvalidParameterValue.Time", "the API's own validation answers")
            let ingest = try await b.call("PutEvents", [("Events", .array([]))])
            XCTAssertEqual(ingest.response?["Error"]?["Code"]?.stringValue, "InvalidAction", "ingestion is not offered by the console")
        }
        let records = try await consoleRecords(h)
        let names = records.compactMap { $0["eventName"]?.stringValue }
        XCTAssertEqual(Set(names), ["ConsoleLogin", "GetAttributeKey", "LookUpEvents", "PutEvents"])
        let login = records.first { $0["eventName"]?.stringValue == "ConsoleLogin" }
        XCTAssertEqual(login?["errorCode"], .int(0))
        XCTAssertEqual(login?["userIdentity"]?["secretId"]?.stringValue, h.admin.secretId)
    }

    func testStateChangesNeedTheCSRFTokenAndTheOwnOrigin() async throws {
        let h = try await Harness.make()
        try await console(h) { b in
            _ = try await b.signIn(h.admin)
            let noToken = try await b.call("DescribeAuditTracks", [("PageNumber", 1), ("PageSize", 10)], csrf: false)
            XCTAssertEqual(noToken.status, .forbidden)
            XCTAssertEqual(noToken.errorCode, "CsrfTokenInvalid")
            let foreign = try await b.send(.post, "/console/api/call", body: .obj([("Action", "DescribeAuditTracks")]), origin: "https://evil.example")
            XCTAssertEqual(foreign.status, .forbidden)
            XCTAssertEqual(foreign.errorCode, "OriginNotAllowed")
            let foreignSignIn = try await b.send(.post, "/console/api/session", body: .obj([("SecretId", .string(h.admin.secretId)),
                                                                                            ("SecretKey", .string(h.admin.secretKey))]),
                                                 origin: "http://evil.example")
            XCTAssertEqual(foreignSignIn.errorCode, "OriginNotAllowed")
            let signOutWithoutToken = try await b.send(.delete, "/console/api/session", csrf: false)
            XCTAssertEqual(signOutWithoutToken.status, .forbidden)
            let signOut = try await b.send(.delete, "/console/api/session")
            XCTAssertEqual(signOut.status, .ok)
            let after = try await b.send(.get, "/console/api/session")
            XCTAssertEqual(after.status, .unauthorized)
            XCTAssertEqual(after.errorCode, "NotSignedIn")
        }
    }

    func testFailedSignInsAreSlowedAndRecordedWithTheirErrorCode() async throws {
        let h = try await Harness.make()
        try await console(h) { b in
            var wrong = h.admin
            wrong.secretKey = String(wrong.secretKey.reversed())
            var durations: [Double] = []
            for _ in 0..<3 {
                let started = Date()
                let answer = try await b.signIn(wrong)
                durations.append(Date().timeIntervalSince(started))
                XCTAssertEqual(answer.status, .unauthorized)
                XCTAssertEqual(answer.errorCode, "AuthFailure.SignInFailed")
                XCTAssertNil(b.cookie)
            }
            XCTAssertGreaterThan(durations[2], 0.7, "the third failure from one address waits 0.75 s more than the first: \(durations)")
            var unknown = h.admin
            unknown.secretId = "AKIDunknownunknownunknownunknown12"
            let answer = try await b.signIn(unknown)
            XCTAssertEqual(answer.errorCode, "AuthFailure.SignInFailed", "the same answer whether the key exists or not")
            let ingest = try await b.signIn(h.ingest)
            XCTAssertEqual(ingest.status, .forbidden)
            XCTAssertEqual(ingest.errorCode, "AuthFailure.UnauthorizedOperation")
        }
        let logins = try await consoleRecords(h).filter { $0["eventName"]?.stringValue == "ConsoleLogin" }
        XCTAssertEqual(logins.filter { $0["errorCode"] == .int(4100) }.count, 3, "wrong secrets are recorded in the key's account as 4100")
        XCTAssertEqual(logins.filter { $0["errorCode"] == .int(4102) }.count, 1, "the ingest key's refusal is recorded")
    }

    func testPasswordSignInTakesTheRoleAndAnAuditorCannotChangeAnything() async throws {
        let h = try await Harness.make()
        try await h.memory.setConsolePassword(ConsolePassword(accountId: Harness.accountA, role: .auditor,
                                                               hash: try PasswordHash.make("correct horse battery"), updatedAt: h.now))
        try await console(h) { b in
            let wrong = try await b.send(.post, "/console/api/session", body: .obj([("AccountId", .string(String(Harness.accountA))),
                                                                                   ("Role", "auditor"), ("Password", "correct horse")]))
            XCTAssertEqual(wrong.errorCode, "AuthFailure.SignInFailed")
            let noAdmin = try await b.send(.post, "/console/api/session", body: .obj([("AccountId", .int(Harness.accountA)), ("Role", "admin"),
                                                                                     ("Password", "correct horse battery")]))
            XCTAssertEqual(noAdmin.errorCode, "AuthFailure.SignInFailed", "the admin role has no password")
            let ok = try await b.send(.post, "/console/api/session", body: .obj([("AccountId", .int(Harness.accountA)), ("Role", "auditor"),
                                                                                ("Password", "correct horse battery")]))
            XCTAssertEqual(ok.status, .ok, ok.text)
            XCTAssertEqual(ok.json?["Session"]?["UserName"]?.stringValue, "console:auditor")
            let create = try await b.call("CreateAuditTrack", [("Name", "t1"), ("ActionType", "*"), ("ResourceType", "*"), ("EventNames", .array(["*"])),
                                                               ("Status", 1), ("Storage", .obj([("StorageType", "cos"), ("StorageRegion", "local"),
                                                                                                ("StorageName", "bucket-1"), ("StoragePrefix", "p")]))])
            XCTAssertEqual(create.response?["Error"]?["Code"]?.stringValue, "AuthFailure.UnauthorizedOperation", create.text)
            let read = try await b.call("DescribeAuditTracks", [("PageNumber", 1), ("PageSize", 10)])
            XCTAssertEqual(read.response?["TotalCount"], .int(0), read.text)
        }
        let records = try await consoleRecords(h)
        XCTAssertTrue(records.contains { $0["eventName"]?.stringValue == "ConsoleLogin" && $0["errorCode"] == .int(4100)
                          && $0["userIdentity"]?["userName"]?.stringValue == "console:auditor" })
        XCTAssertTrue(records.contains { $0["eventName"]?.stringValue == "CreateAuditTrack" && $0["apiErrorCode"]?.stringValue == "AuthFailure.UnauthorizedOperation" })
    }

    func testSessionsEndWhenIdleTooOldOrTheirKeyIsDisabled() async throws {
        let clock = ManualClock(unixNow())
        let h = try await Harness.make(clock: { clock.now() })
        try await console(h, idle: 60, lifetime: 300) { b in
            _ = try await b.signIn(h.admin)
            for _ in 0..<5 {
                clock.advance(50)
                let still = try await b.send(.get, "/console/api/session")
                XCTAssertEqual(still.status, .ok, "activity keeps the session: \(still.text)")
            }
            clock.advance(50)
            let old = try await b.send(.get, "/console/api/session")
            XCTAssertEqual(old.errorCode, "SessionExpired", "300 s after sign-in the session ends however active")

            _ = try await b.signIn(h.admin)
            let held = b.cookie
            clock.advance(61)
            let idle = try await b.call("DescribeAuditTracks", [("PageNumber", 1), ("PageSize", 10)])
            XCTAssertEqual(idle.status, .unauthorized)
            XCTAssertEqual(idle.errorCode, "SessionExpired")
            // The page's other calls, sent with the same cookie before that answer cleared it, hear the
            // same reason (the first answer may not be the first the page reads).
            b.cookie = held
            let concurrent = try await b.call("GetAttributeKey")
            XCTAssertEqual(concurrent.errorCode, "SessionExpired", concurrent.text)

            _ = try await b.signIn(h.admin)
            _ = try await h.memory.setKeyStatus(secretId: h.admin.secretId, status: .disabled)
            let disabled = try await b.send(.get, "/console/api/session")
            XCTAssertEqual(disabled.errorCode, "NotSignedIn", "a disabled key ends its sessions")
        }
    }

    func testExportStreamsEveryMatchingEventAsTheAPIListsThem() async throws {
        let h = try await Harness.make()
        let records = (0..<130).map { i in
            #"{"eventId":"exp-\#(i)","eventTime":\#(h.now - 1000 + Int64(i)),"eventName":"\#(i % 2 == 0 ? "RunInstances" : "=HYPERLINK(1)")","eventSource":"cvm.api","actionType":"Write","resourceType":"cvm","resourceName":"ins-\#(i),a \"quoted\" name","userIdentity":{"userName":"alice"}}"#
        }
        try await h.run { s in _ = try await s.put(records, key: h.admin) }
        try await console(h) { b in
            _ = try await b.signIn(h.admin)
            let start = h.now - 2000, end = h.now
            let csv = try await b.send(.get, "/console/api/export?format=csv&StartTime=\(start)&EndTime=\(end)&LookupAttributes="
                                           + "%5B%7B%22AttributeKey%22%3A%22ResourceType%22%2C%22AttributeValue%22%3A%22cvm%22%7D%5D")
            XCTAssertEqual(csv.status, .ok, csv.text)
            XCTAssertTrue(csv.headers[.contentDisposition]?.hasPrefix("attachment") ?? false)
            let lines = csv.text.split(separator: "\r\n", omittingEmptySubsequences: true)
            XCTAssertEqual(lines.count, 131)
            guard lines.count == 131 else { return }
            XCTAssertEqual(String(lines[0]), WebConsole.csvHeader)
            XCTAssertTrue(lines[1].hasPrefix("\(h.now - 1000 + 129),exp-129,alice,'=HYPERLINK(1),cvm.api,cvm,\"ins-129,a \"\"quoted\"\" name\""), String(lines[1]))
            let jsonl = try await b.send(.get, "/console/api/export?format=jsonl&StartTime=\(start)&EndTime=\(end)")
            let ids = jsonl.text.split(separator: "\n").compactMap { (try? JSONParser.parse(Array($0.utf8)))?["EventId"]?.stringValue }
            XCTAssertEqual(ids.filter { $0.hasPrefix("exp-") }, (0..<130).reversed().map { "exp-\($0)" })
            let bad = try await b.send(.get, "/console/api/export?format=csv&StartTime=\(end)&EndTime=\(start)")
            XCTAssertEqual(bad.status, .badRequest)
            XCTAssertEqual(bad.errorCode, "InvalidParameterValue.Time")
            let badFormat = try await b.send(.get, "/console/api/export?format=xml&StartTime=\(start)&EndTime=\(end)")
            XCTAssertEqual(badFormat.errorCode, "InvalidParameterValue")
        }
        try await console(h) { signedOut in
            let refused = try await signedOut.send(.get, "/console/api/export?format=csv&StartTime=\(h.now - 60)&EndTime=\(h.now)")
            XCTAssertEqual(refused.status, .unauthorized, "no export without a session")
        }
    }

    func testEventStatsAndDeliveryStatus() async throws {
        let h = try await Harness.make()
        let records = (0..<40).map { i in
            #"{"eventId":"st-\#(i)","eventTime":\#(h.now - 3000 + Int64(i) * 60),"eventName":"\#(i % 4 == 0 ? "DeleteBucket" : "RunInstances")","eventSource":"cvm.api","actionType":"Write","sourceIPAddress":"10.0.0.\#(i % 3)","userIdentity":{"userName":"\#(i % 5 == 0 ? "bob" : "alice")"}}"#
        }
        try await h.run { s in _ = try await s.put(records, key: h.admin) }
        try await console(h) { b in
            _ = try await b.signIn(h.admin)
            let stats = try await b.call("DescribeEventStats", [("StartTime", .int(h.now - 3000)), ("EndTime", .int(h.now - 3000 + 40 * 60 - 1)), ("Buckets", 40),
                                                                ("LookupAttributes", .array([.obj([("AttributeKey", "EventName"), ("AttributeValue", "DeleteBucket")])]))])
            let bars = stats.response?["Histogram"]?.arrayValue ?? []
            XCTAssertEqual(bars.count, 40, stats.text)
            XCTAssertEqual(stats.response?["TotalCount"], .int(10))
            XCTAssertEqual(bars.map { $0["Count"] }, (0..<40).map { .int($0 % 4 == 0 ? 1 : 0) })
            XCTAssertEqual(stats.response?["TopUsers"]?.arrayValue?.first?["Value"]?.stringValue, "alice")
            XCTAssertEqual(stats.response?["TopUsers"]?.arrayValue?.first?["Count"], .int(32), "top lists are of the whole range, unfiltered")
            let tooMany = try await b.call("DescribeEventStats", [("StartTime", .int(h.now - 60)), ("EndTime", .int(h.now)), ("Buckets", 500)])
            XCTAssertEqual(tooMany.response?["Error"]?["Code"]?.stringValue, "InvalidParameterValue")

            let create = try await b.call("CreateAuditTrack", [("Name", "console-set"), ("ActionType", "*"), ("ResourceType", "*"), ("EventNames", .array(["*"])),
                                                               ("Status", 1), ("Storage", .obj([("StorageType", "cos"), ("StorageRegion", "local"),
                                                                                                ("StorageName", "console-bucket"), ("StoragePrefix", "logs")]))])
            XCTAssertNotNil(create.response?["TrackId"], create.text)
            let status = try await b.call("DescribeDeliveryStatus")
            let first = status.response?["Statuses"]?.arrayValue?.first
            XCTAssertEqual(first?["Name"]?.stringValue, "console-set", status.text)
            // The local region's files are named by region, bucket and prefix: never a path on the server.
            XCTAssertEqual(first?["Location"]?.stringValue, "local/console-bucket/logs", status.text)
        }
    }

    func testThePageIsServedWithItsSecurityHeaders() async throws {
        let h = try await Harness.make()
        try await console(h) { b in
            let page = try await b.send(.get, "/console/")
            XCTAssertEqual(page.status, .ok)
            XCTAssertTrue(page.headers[.contentType]?.hasPrefix("text/html") ?? false)
            XCTAssertTrue(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") ?? false)
            XCTAssertEqual(page.headers[HTTPField.Name("X-Frame-Options")!], "DENY")
            let redirect = try await b.send(.get, "/console")
            XCTAssertEqual(redirect.status, .found)
            let missing = try await b.send(.get, "/console/assets/nothing.js")
            XCTAssertEqual(missing.status, .notFound)
            let signedOut = try await b.call("LookUpEvents")
            XCTAssertEqual(signedOut.errorCode, "NotSignedIn")
            // Every refusal comes from the one catalogue with the request's id, as the API's errors do.
            for r in [missing, signedOut] {
                XCTAssertEqual(r.json?["Error"]?["Message"]?.stringValue?.isEmpty, false, r.text)
                XCTAssertEqual(r.json?["RequestId"]?.stringValue?.count, 36, r.text)
            }
            XCTAssertEqual(missing.json?["Error"]?["Message"]?.stringValue, APIError.consolePageNotFound.message)
            XCTAssertNotEqual(missing.json?["RequestId"], signedOut.json?["RequestId"])
        }
    }
}
