import AuditModel
import Foundation
import XCTest

final class EventValidationTests: XCTestCase {
    let now: Int64 = 1_700_000_000
    let accountId: Int64 = 100_000_000_001

    // MARK: helpers

    /// The three required fields, as raw JSON fragments.
    let required: [(String, String)] = [("eventName", #""RunInstances""#), ("eventSource", #""cvm.tencentcloudapi.com""#), ("actionType", #""Write""#)]

    /// A record built from raw (key, JSON fragment) pairs, in order.
    func record(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// The required fields plus `extra` (a field already present is replaced in place).
    func record(with extra: [(String, String)]) -> String {
        var fields = required
        for (k, v) in extra {
            if let i = fields.firstIndex(where: { $0.0 == k }) { fields[i].1 = v } else { fields.append((k, v)) }
        }
        return record(fields)
    }

    func record(with key: String, _ raw: String) -> String { record(with: [(key, raw)]) }

    func record(without key: String) -> String { record(required.filter { $0.0 != key }) }

    func str(_ n: Int, _ c: Character = "a") -> String { "\"" + String(repeating: c, count: n) + "\"" }

    func ownAccount(retention: Int = 30) -> (String?) -> Result<AccountScope, RecordRejection> {
        let id = accountId
        return { _ in .success(AccountScope(accountId: id, retentionDays: retention)) }
    }

    /// Validates `record` as the element of an `Events` array in a larger body, as PutEvents does.
    func validate(_ record: String, now: Int64? = nil, retention: Int = 30,
                  resolve: ((String?) -> Result<AccountScope, RecordRejection>)? = nil,
                  eventId: String = "generated-id", file: StaticString = #filePath, line: UInt = #line) -> (Result<AuditEvent, RecordRejection>, [UInt8])? {
        let body = Array((" {\"Other\": {\"x\": [1, 2]}, \"Events\": [\n  " + record + " ,{\"eventName\":\"second\"} ] }").utf8)
        guard let parsed = try? JSONParser.parse(body), let element = parsed["Events"]?.arrayValue?.first else {
            XCTFail("test record is not valid JSON: \(record.prefix(200))", file: file, line: line)
            return nil
        }
        let result = EventRecordValidator.validate(element, source: body, now: now ?? self.now, resolveAccount: resolve ?? ownAccount(retention: retention),
                                                   makeEventId: { eventId })
        return (result, body)
    }

    @discardableResult
    func assertAccepted(_ record: String, now: Int64? = nil, retention: Int = 30, _ label: String = "",
                        file: StaticString = #filePath, line: UInt = #line) -> AuditEvent? {
        guard let (result, _) = validate(record, now: now, retention: retention, file: file, line: line) else { return nil }
        switch result {
        case .success(let e): return e
        case .failure(let r):
            XCTFail("\(label) should be accepted, got \(r.code): \(r.message) for \(record.prefix(300))", file: file, line: line)
            return nil
        }
    }

    func assertRejected(_ record: String, _ code: String, now: Int64? = nil, retention: Int = 30, mentioning: String? = nil, _ label: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
        guard let (result, _) = validate(record, now: now, retention: retention, file: file, line: line) else { return }
        switch result {
        case .success:
            XCTFail("\(label) should be rejected with \(code): \(record.prefix(300))", file: file, line: line)
        case .failure(let r):
            XCTAssertEqual(r.code, code, "\(label): \(r.message)", file: file, line: line)
            XCTAssertFalse(r.message.isEmpty, file: file, line: line)
            if let mentioning { XCTAssertTrue(r.message.contains(mentioning), "\(label): message \"\(r.message)\" should name \(mentioning)", file: file, line: line) }
        }
    }

    func postings(_ e: AuditEvent) -> Set<String> {
        Set(e.postings.map { "\($0.key):\($0.value)" })
    }

    // MARK: shape

    func testMinimalRecordIsAccepted() throws {
        let e = try XCTUnwrap(assertAccepted(record(required)))
        XCTAssertEqual(e.eventId, "generated-id")
        XCTAssertEqual(e.eventTime, now)
        XCTAssertEqual(e.accountId, accountId)
    }

    func testNonObjectRecordsAreInvalidParameter() {
        for v in [#""a string""#, "5", "1.5", "true", "null", "[]", #"[{"eventName":"x"}]"#] {
            assertRejected(v, "InvalidParameter", v)
        }
    }

    /// Limits count Unicode scalars: one letter with thousands of combining marks is one Character, and
    /// passed a 128-character limit at 200 KB.
    func testLengthLimitsCountScalarsNotCharacters() {
        let marks = "a" + String(repeating: "\u{0301}", count: 2000)
        assertRejected(record(required.map { $0.0 == "eventName" ? ("eventName", "\"\(marks)\"") : $0 }), "InvalidParameterValue",
                       mentioning: "eventName", "eventName of one Character")
        assertRejected(record(required + [("resourceName", "\"\(marks + marks)\"")]), "InvalidParameterValue", mentioning: "resourceName")
        let ok = "e" + String(repeating: "\u{0301}", count: 127)
        assertAccepted(record(required.map { $0.0 == "eventName" ? ("eventName", "\"\(ok)\"") : $0 }), "128 scalars")
    }

    // MARK: required fields

    func testEachMissingRequiredFieldIsMissingParameter() {
        for (k, _) in required {
            assertRejected(record(without: k), "MissingParameter", mentioning: k, k)
        }
        assertRejected("{}", "MissingParameter", "empty object")
    }

    func testRequiredFieldsWithWrongTypeAreInvalidParameter() {
        for (k, _) in required {
            for bad in ["5", "true", "{}", #"["Write"]"#, "1.5"] {
                assertRejected(record(with: k, bad), "InvalidParameter", mentioning: k, "\(k)=\(bad)")
            }
        }
    }

    func testEmptyRequiredStringsAreInvalidParameterValue() {
        for (k, _) in required {
            assertRejected(record(with: k, #""""#), "InvalidParameterValue", mentioning: k, k)
        }
    }

    func testActionTypeMustBeReadOrWrite() {
        assertAccepted(record(with: "actionType", #""Read""#))
        assertAccepted(record(with: "actionType", #""Write""#))
        for bad in ["read", "WRITE", "ReadWrite", "List", " Read"] {
            assertRejected(record(with: "actionType", "\"\(bad)\""), "InvalidParameterValue", mentioning: "actionType", bad)
        }
    }

    func testEventTypeMustBeKnown() {
        for ok in ["ApiCall", "ConsoleCall", "MiniProgramCall"] { assertAccepted(record(with: "eventType", "\"\(ok)\""), ok) }
        assertAccepted(record(with: "eventType", "null"), "null eventType")
        for bad in ["apicall", "WebCall", "", "ApiCall "] {
            assertRejected(record(with: "eventType", "\"\(bad)\""), "InvalidParameterValue", mentioning: "eventType", bad)
        }
        assertRejected(record(with: "eventType", "1"), "InvalidParameter", mentioning: "eventType")
    }

    func testEmptyEventIdIsInvalidParameterValue() {
        assertRejected(record(with: "eventId", #""""#), "InvalidParameterValue", mentioning: "eventId")
    }

    // MARK: string fields: types and lengths

    static let stringLimits: [(String, Int)] = [
        ("eventName", 128), ("eventSource", 128), ("eventRegion", 128), ("resourceType", 128), ("requestID", 128), ("eventId", 128),
        ("httpMethod", 128), ("apiVersion", 128), ("resourceRegion", 128),
        ("sourceIPAddress", 256),
        ("resourceName", 2048), ("userAgent", 2048), ("errorMessage", 2048), ("apiErrorMessage", 2048),
    ]

    func testStringFieldsWithWrongTypeAreInvalidParameter() {
        for (f, _) in Self.stringLimits + [("eventType", 128)] {
            for bad in ["5", "false", "{}", "[]"] {
                assertRejected(record(with: f, bad), "InvalidParameter", mentioning: f, "\(f)=\(bad)")
            }
            if f == "eventId" {
                assertRejected(record(with: f, "null"), "InvalidParameter", mentioning: f, "eventId=null must be left out instead")
            } else if !required.contains(where: { $0.0 == f }) {
                assertAccepted(record(with: f, "null"), "\(f)=null")
            }
        }
    }

    func testStringFieldLengthLimits() {
        for (f, limit) in Self.stringLimits {
            assertAccepted(record(with: f, str(limit)), "\(f) at \(limit)")
            assertRejected(record(with: f, str(limit + 1)), "InvalidParameterValue", mentioning: f, "\(f) at \(limit + 1)")
        }
        // eventType has its own values; an over-long one is still InvalidParameterValue.
        assertRejected(record(with: "eventType", str(129)), "InvalidParameterValue", "eventType over 128")
    }

    /// Real CloudAudit records carry `"eventVersion": 1` (a number); both forms are kept as sent.
    func testEventVersionMayBeANumberOrAString() throws {
        for v in ["1", #""1.0""#, "null"] {
            let e = try XCTUnwrap(assertAccepted(record(with: "eventVersion", v), v))
            XCTAssertTrue(String(decoding: e.record, as: UTF8.self).contains("\"eventVersion\":\(v)"))
        }
    }

    func testLengthLimitsCountCharactersNotBytes() {
        assertAccepted(record(with: "eventName", str(128, "中")), "128 CJK characters")
        assertRejected(record(with: "eventName", str(129, "中")), "InvalidParameterValue", "129 CJK characters")
        assertAccepted(record(with: "resourceName", str(2048, "é")), "2048 two-byte characters")
    }

    func testApiErrorCode() throws {
        assertAccepted(record(with: "apiErrorCode", #""InvalidParameter""#))
        let e = try XCTUnwrap(assertAccepted(record(with: "apiErrorCode", "500")))
        XCTAssertTrue(postings(e).contains("apiErrorCode:500"))
        assertAccepted(record(with: "apiErrorCode", "null"))
        assertAccepted(record(with: "apiErrorCode", str(128)), "128 characters")
        assertRejected(record(with: "apiErrorCode", str(129)), "InvalidParameterValue", mentioning: "apiErrorCode")
        for bad in ["true", "{}", "[]"] {
            assertRejected(record(with: "apiErrorCode", bad), "InvalidParameter", mentioning: "apiErrorCode", bad)
        }
    }

    func testErrorCodeMustBeAnInteger() throws {
        for ok in ["0", "4100", #""4100""#, "4100.0", "null", "-1"] { assertAccepted(record(with: "errorCode", ok), ok) }
        for bad in [#""abc""#, "true", "{}", "[]", "1.5", #""""#] {
            assertRejected(record(with: "errorCode", bad), "InvalidParameter", mentioning: "errorCode", bad)
        }
    }

    func testSensitiveActionMustBeBoolean() {
        // 1/0 and "1"/"0" as Tencent's own records write them.
        for ok in ["true", "false", "null", #""true""#, #""false""#, "1", "0", #""1""#, #""0""#] { assertAccepted(record(with: "sensitiveAction", ok), ok) }
        for bad in ["2", #""yes""#, #""True""#, "{}", "[]"] {
            assertRejected(record(with: "sensitiveAction", bad), "InvalidParameter", mentioning: "sensitiveAction", bad)
        }
    }

    func testRequestParametersAndResponseElements() {
        for f in ["requestParameters", "responseElements"] {
            for ok in [#""a=1""#, #"{"InstanceIds": ["ins-1"], "n": {"deep": true}}"#, "[1, 2]", "null", #""""#] {
                assertAccepted(record(with: f, ok), "\(f)=\(ok)")
            }
            for bad in ["5", "true", "1.5"] {
                assertRejected(record(with: f, bad), "InvalidParameter", mentioning: f, "\(f)=\(bad)")
            }
        }
    }

    // MARK: userIdentity

    func testUserIdentityMustBeAnObject() {
        assertAccepted(record(with: "userIdentity", "null"))
        assertAccepted(record(with: "userIdentity", "{}"))
        for bad in [#""alice""#, "5", "[]", "true"] {
            assertRejected(record(with: "userIdentity", bad), "InvalidParameter", mentioning: "userIdentity", bad)
        }
    }

    func testUserIdentityStringFields() {
        for f in ["type", "principalId", "secretId", "userName"] {
            assertAccepted(record(with: "userIdentity", "{\"\(f)\": \(str(256))}"), "\(f) at 256")
            assertRejected(record(with: "userIdentity", "{\"\(f)\": \(str(257))}"), "InvalidParameterValue", mentioning: f, "\(f) at 257")
            // Integers are accepted (Tencent's own records carry numeric principalIds).
            assertAccepted(record(with: "userIdentity", "{\"\(f)\": 5}"), "\(f)=5")
            for bad in ["1.5", "true", "{}", "[]"] {
                assertRejected(record(with: "userIdentity", "{\"\(f)\": \(bad)}"), "InvalidParameter", mentioning: f, "\(f)=\(bad)")
            }
        }
        assertAccepted(record(with: "userIdentity", #"{"sessionContext": {"attributes": {"mfaAuthenticated": "false"}}}"#), "sessionContext object")
    }

    func testUserIdentityAccountIdType() {
        assertAccepted(record(with: "userIdentity", #"{"accountId": "100000000001"}"#))
        assertAccepted(record(with: "userIdentity", #"{"accountId": 100000000001}"#))
        assertAccepted(record(with: "userIdentity", #"{"accountId": null}"#))
        for bad in ["true", "{}", "[]"] {
            assertRejected(record(with: "userIdentity", "{\"accountId\": \(bad)}"), "InvalidParameter", mentioning: "accountId", bad)
        }
    }

    /// docs/contract.md: "userIdentity.* and sourceIPAddress: 256" — accountId included.
    func testUserIdentityAccountIdLengthLimit() {
        assertAccepted(record(with: "userIdentity", "{\"accountId\": \(str(256, "0"))}"), "accountId at 256")
        assertRejected(record(with: "userIdentity", "{\"accountId\": \(str(257, "0"))}"), "InvalidParameterValue", "accountId at 257")
    }

    // MARK: accounts

    func testTheNamedAccountIsResolved() throws {
        var seen: [String?] = []
        let scope = AccountScope(accountId: 100_000_000_002, retentionDays: 30)
        for (identity, expected) in [("null", nil), ("{}", nil), (#"{"accountId": "100000000002"}"#, "100000000002"),
                                     (#"{"accountId": 100000000002}"#, "100000000002")] as [(String, String?)] {
            let (result, _) = try XCTUnwrap(validate(record(with: "userIdentity", identity), resolve: { named in
                seen.append(named)
                return .success(scope)
            }))
            XCTAssertEqual(try result.get().accountId, 100_000_000_002)
            XCTAssertEqual(seen.last ?? "unset", expected, identity)
        }
        let refusal = RecordRejection("UnauthorizedOperation", "not your account")
        let (refused, _) = try XCTUnwrap(validate(record(with: "userIdentity", #"{"accountId": "1"}"#), resolve: { _ in .failure(refusal) }))
        XCTAssertThrowsError(try refused.get()) { XCTAssertEqual($0 as? RecordRejection, refusal) }
    }

    // MARK: eventTime

    func testEventTimeFormats() throws {
        let cases: [(String, Int64)] = [
            ("1699999000", 1_699_999_000),
            (#""1699999000""#, 1_699_999_000),
            ("1699999000.0", 1_699_999_000),
            (#""2023-11-14T22:13:20Z""#, 1_700_000_000),
            (#""2023-11-14T22:00:00Z""#, 1_699_999_200),
            (#""2023-11-15T06:13:20+08:00""#, 1_700_000_000),
            (#""2023-11-14T22:13:19.750Z""#, 1_699_999_999),
        ]
        for (raw, expected) in cases {
            let e = try XCTUnwrap(assertAccepted(record(with: "eventTime", raw), raw))
            XCTAssertEqual(e.eventTime, expected, raw)
        }
        assertRejected(record(with: "eventTime", "null"), "InvalidParameter", mentioning: "eventTime", "null eventTime must be left out instead")
    }

    /// Found by FuzzEventRecord (Fuzz/Corpus/FuzzEventRecord/regression-eventtime-*): ICU's parser behind
    /// ISO8601DateFormatter died of SIGFPE on a fraction of a second of 35 digits or more (in ASCII or
    /// another script's digits) or written with an exponent, which ended the server on one PutEvents
    /// record. RFC 3339 is now parsed by EventTimeParser itself.
    func testEventTimeWithAnyFractionIsParsedNotFatal() throws {
        let zeros = String(repeating: "0", count: 40)
        for (text, expected) in [("2023-11-14T22:13:19.\(zeros)5Z", 1_699_999_999), ("2023-11-15T06:13:19.\(zeros)+08:00", 1_699_999_999),
                                 ("2023-11-14T22:13:19.\(String(repeating: "9", count: 10_000))Z", 1_699_999_999),
                                 ("2023-11-14T22:13:19.123456789Z", 1_699_999_999)] as [(String, Int64)] {
            XCTAssertEqual(EventTimeParser.rfc3339(text), expected, String(text.prefix(80)))
            let e = try XCTUnwrap(assertAccepted(record(with: "eventTime", "\"\(text)\""), String(text.prefix(80))))
            XCTAssertEqual(e.eventTime, expected)
        }
        var refused = ["2023-11-14T22:13:19.\(zeros)9e15\(zeros)Z", "2023-11-14T22:13:19.5e3Z", "2023-11-14T22:13:19.Z"]
        // Digits of other scripts, which ICU read too.
        for digit in ["\u{FF10}", "\u{0660}", "\u{0966}"] { refused.append("2023-11-14T22:13:19." + String(repeating: digit, count: 40) + "Z") }
        refused.append("\u{FF12}\u{FF10}\u{FF12}\u{FF13}-11-14T22:13:20Z")
        for text in refused {
            XCTAssertNil(EventTimeParser.rfc3339(text), text)
            assertRejected(record(with: "eventTime", "\"\(text)\""), "InvalidParameter", mentioning: "eventTime", text)
        }
    }

    /// The RFC 3339 forms: `Z`, `±HH:MM`, and the `±HHMM` / `±HH` offsets that strftime's %z prints
    /// (ISO8601DateFormatter took those too); nothing looser than RFC 3339 otherwise.
    func testRFC3339Forms() {
        let t: Int64 = 1_700_000_000  // 2023-11-14T22:13:20Z
        for (text, expected) in [("2023-11-14T22:13:20Z", t), ("2023-11-15T06:13:20+08:00", t), ("2023-11-15T06:13:20+0800", t),
                                 ("2023-11-15T06:13:20+08", t), ("2023-11-14T22:13:20-00:00", t), ("2023-11-14T12:43:20-09:30", t),
                                 ("2023-11-14T22:13:20.999Z", t), ("1969-12-31T23:59:59.5Z", -1), ("0001-01-01T00:00:00Z", -62_135_596_800),
                                 ("9999-12-31T23:59:59Z", 253_402_300_799), ("2024-02-29T00:00:00Z", 1_709_164_800)] as [(String, Int64)] {
            XCTAssertEqual(EventTimeParser.rfc3339(text), expected, text)
        }
        XCTAssertEqual(EventTimeParser.seconds("2023-11-15 06:13:20"), t, "Tencent's local time, UTC+08:00")
        for text in ["2023-11-14T22:13:20", "2023-11-14t22:13:20Z", "2023-11-14 22:13:20Z", " 2023-11-14T22:13:20Z", "2023-11-14T22:13:20Z ",
                     "2023-11-14T22:13:20z", "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:60Z", "2023-02-29T00:00:00Z",
                     "2023-11-31T00:00:00Z", "2023-00-14T22:13:20Z", "0000-01-01T00:00:00Z", "12023-11-14T22:13:20Z", "2023-1-4T2:3:20Z",
                     "+2023-11-14T22:13:20Z", "2023-11-14T22:13:20+24:00", "2023-11-14T22:13:20+08:60", "2023-11-14T22:13:20+8:00",
                     "2023-11-14T22:13:20+08:00:00", "2023-11-14T22:13:20+", "2023-11-14T22:13:20ZZ", "2023-11-14T22:13:20,5Z",
                     "2023-11-14T22:13:-1Z", "2023-11-14T22:13:20+-8:00"] {
            XCTAssertNil(EventTimeParser.rfc3339(text), text)
        }
    }

    func testUnparseableEventTimeIsInvalidParameter() {
        for bad in [#""yesterday""#, #""""#, "true", "{}", "[]", "1699999000.5", #""2023-13-45T00:00:00Z""#, #""1699999000x""#] {
            assertRejected(record(with: "eventTime", bad), "InvalidParameter", mentioning: "eventTime", bad)
        }
    }

    func testEventTimeBounds() {
        let retentionDays = 30
        let oldest = now - Int64(retentionDays) * 86400
        assertAccepted(record(with: "eventTime", String(now)), "now")
        assertAccepted(record(with: "eventTime", String(now + 300)), "now + 300")
        assertRejected(record(with: "eventTime", String(now + 301)), "InvalidParameterValue.Time", mentioning: "future", "now + 301")
        assertRejected(record(with: "eventTime", String(now + 86400 * 365)), "InvalidParameterValue.Time", "a year ahead")
        assertAccepted(record(with: "eventTime", String(oldest)), "at retention")
        assertRejected(record(with: "eventTime", String(oldest - 1)), "InvalidParameterValue.Time", mentioning: "retention", "past retention")
        assertRejected(record(with: "eventTime", "0"), "InvalidParameterValue.Time", "1970")
        assertRejected(record(with: "eventTime", "-5"), "InvalidParameterValue.Time", "negative")
        assertRejected(record(with: "eventTime", #""2030-01-01T00:00:00Z""#), "InvalidParameterValue.Time", "RFC 3339 in the future")
        assertRejected(record(with: "eventTime", #""2001-01-01T00:00:00Z""#), "InvalidParameterValue.Time", "RFC 3339 too old")
        assertAccepted(record(with: "eventTime", "\"\(now + 300)\""), "numeric string at the future bound")
        assertRejected(record(with: "eventTime", "\"\(now + 301)\""), "InvalidParameterValue.Time", "numeric string over the future bound")
    }

    func testEventTimeFollowsTheAccountRetention() {
        assertAccepted(record(with: "eventTime", String(now - 7 * 86400)), retention: 7, "7 days with 7-day retention")
        assertRejected(record(with: "eventTime", String(now - 7 * 86400 - 1)), "InvalidParameterValue.Time", retention: 7, "7 days + 1 s")
        assertAccepted(record(with: "eventTime", String(now - 365 * 86400)), retention: 400, "a year with 400-day retention")
    }

    // MARK: record bytes

    func testRecordWithIdAndTimeIsKeptByteExact() throws {
        let raw = "{ \"eventId\" : \"e-1\",\n\t\"eventTime\": \"2023-11-14T22:13:20Z\", \"eventName\":\"Run\\u0049nstances\", \"eventSource\": \"cvm\","
            + " \"actionType\": \"Write\", \"requestParameters\": {\"b\": 2, \"a\": [1.50, 1e2]}, \"note\": \"中文😀\", \"x\": null }"
        let (result, body) = try XCTUnwrap(validate(raw))
        let e = try result.get()
        XCTAssertEqual(e.record, Array(raw.utf8))
        XCTAssertNotNil(Array(body).firstRange(of: e.record))
        XCTAssertEqual(e.eventId, "e-1")
        XCTAssertEqual(e.eventTime, 1_700_000_000)
    }

    func testMissingIdAndTimeAreGeneratedInFront() throws {
        let rest = " \"eventName\" : \"Run\",\n\"eventSource\":\"cvm\", \"actionType\":\"Read\", \"p\": {\"z\":1, \"a\":\"\\u00e9\"} }"
        let raw = "{" + rest
        let e = try XCTUnwrap(assertAccepted(raw))
        XCTAssertEqual(String(decoding: e.record, as: UTF8.self), "{\"eventId\":\"generated-id\",\"eventTime\":\(now)," + rest)
        XCTAssertEqual(e.eventId, "generated-id")
        XCTAssertEqual(e.eventTime, now)
        let back = try JSONParser.parse(e.record)
        XCTAssertEqual(back["eventId"], "generated-id")
        XCTAssertEqual(back["eventTime"], .int(now))
        XCTAssertEqual(back["p"], try JSONParser.parse(Array(raw.utf8))["p"])
    }

    func testOnlyTheMissingFieldIsGenerated() throws {
        let withTime = #"{"eventTime":1699999999,"eventName":"A","eventSource":"s","actionType":"Read"}"#
        let e1 = try XCTUnwrap(assertAccepted(withTime))
        XCTAssertEqual(String(decoding: e1.record, as: UTF8.self), "{\"eventId\":\"generated-id\"," + withTime.dropFirst())
        XCTAssertEqual(e1.eventTime, 1_699_999_999)

        let withId = #"{"eventName":"A","eventSource":"s","actionType":"Read","eventId":"mine"}"#
        let e2 = try XCTUnwrap(assertAccepted(withId))
        XCTAssertEqual(String(decoding: e2.record, as: UTF8.self), "{\"eventTime\":\(now)," + withId.dropFirst())
        XCTAssertEqual(e2.eventId, "mine")
    }

    /// `"eventId": null` / `"eventTime": null` count as absent (an id is generated, the time is now). Whatever the server does, the
    /// stored record must not contradict the indexed event: read back (last key wins, as in most parsers) it has to show the same
    /// eventId and eventTime — or the record is rejected.
    func testNullEventIdAndEventTimeStayConsistentWithTheRecord() throws {
        for (label, raw) in [("eventId null", #"{"eventId": null, "eventTime": 1699999000, "eventName": "A", "eventSource": "s", "actionType": "Read"}"#),
                             ("eventTime null", #"{"eventId": "e-1", "eventTime": null, "eventName": "A", "eventSource": "s", "actionType": "Read"}"#)] {
            let (result, _) = try XCTUnwrap(validate(raw))
            guard case .success(let e) = result else { continue }
            let back = try JSONParser.parse(e.record)
            XCTAssertEqual(back["eventId"]?.stringValue, e.eventId, "\(label): stored record \(String(decoding: e.record, as: UTF8.self))")
            XCTAssertEqual(back["eventTime"].flatMap(EventTimeParser.seconds), e.eventTime,
                           "\(label): stored record \(String(decoding: e.record, as: UTF8.self))")
        }
    }

    func testDefaultEventIdsAreUniqueUUIDs() throws {
        let body = Array(record(required).utf8)
        let v = try JSONParser.parse(body)
        var ids = Set<String>()
        for _ in 0..<50 {
            let e = try EventRecordValidator.validate(v, source: body, now: now, resolveAccount: ownAccount()).get()
            XCTAssertEqual(e.eventId, e.eventId.lowercased())
            XCTAssertNotNil(UUID(uuidString: e.eventId), e.eventId)
            ids.insert(e.eventId)
        }
        XCTAssertEqual(ids.count, 50)
    }

    func testRecordSizeLimit() throws {
        let head = #"{"eventName":"a","eventSource":"s","actionType":"Read","requestParameters":""#
        let tail = #""}"#
        func sized(_ n: Int) -> String { head + String(repeating: "x", count: n - head.utf8.count - tail.utf8.count) + tail }
        XCTAssertEqual(EventRecordValidator.maxRecordBytes, 256 * 1024)
        let atLimit = sized(256 * 1024)
        XCTAssertEqual(atLimit.utf8.count, 262_144)
        assertAccepted(atLimit, "exactly 256 KiB")
        assertRejected(sized(256 * 1024 + 1), "InvalidParameterValue", "256 KiB + 1")
        assertRejected(sized(1024 * 1024), "InvalidParameterValue", "1 MiB")
    }

    // MARK: resourceSet and tags

    func testResourceSet() throws {
        assertAccepted(record(with: "resourceSet", "null"))
        assertAccepted(record(with: "resourceSet", "[]"))
        assertAccepted(record(with: "resourceSet", #"["ins-1", {"resourceId": "ins-2"}, {"resourceName": "n"}, {"other": 1}]"#))
        for bad in [#""ins-1""#, "{}", "5"] {
            assertRejected(record(with: "resourceSet", bad), "InvalidParameter", mentioning: "resourceSet", bad)
        }
        for bad in ["[1]", "[true]", "[[\"a\"]]", "[null]"] {
            assertRejected(record(with: "resourceSet", bad), "InvalidParameter", mentioning: "resourceSet", bad)
        }
        let hundred = "[" + (0..<100).map { "\"r\($0)\"" }.joined(separator: ",") + "]"
        assertAccepted(record(with: "resourceSet", hundred), "100 entries")
        let hundredOne = "[" + (0..<101).map { "\"r\($0)\"" }.joined(separator: ",") + "]"
        assertRejected(record(with: "resourceSet", hundredOne), "InvalidParameterValue", mentioning: "resourceSet", "101 entries")
        assertAccepted(record(with: "resourceSet", "[\(str(2048))]"), "entry at 2048")
        assertRejected(record(with: "resourceSet", "[\(str(2049))]"), "InvalidParameterValue", mentioning: "resourceSet", "entry at 2049")
        assertRejected(record(with: "resourceSet", "[{\"resourceId\": \(str(2049))}]"), "InvalidParameterValue", "object entry at 2049")
    }

    func testTags() throws {
        for ok in [#"[{"key": "env", "value": "prod"}]"#, #"[{"Key": "env", "Value": "prod"}]"#, #"[{"key": "env"}]"#, #"{"env": "prod", "n": 5}"#, "[]", "{}", "null"] {
            assertAccepted(record(with: "tags", ok), ok)
        }
        for bad in [#""env=prod""#, "5", "[1]", #"[{"value": "x"}]"#, #"[{"key": 5}]"#, #"{"env": true}"#, #"{"env": null}"#, #"{"env": {}}"#, "[[]]"] {
            assertRejected(record(with: "tags", bad), "InvalidParameter", mentioning: "tag", bad)
        }
        let fifty = "[" + (0..<50).map { "{\"key\":\"k\($0)\",\"value\":\"v\"}" }.joined(separator: ",") + "]"
        assertAccepted(record(with: "tags", fifty), "50 tags")
        let fiftyOne = "[" + (0..<51).map { "{\"key\":\"k\($0)\",\"value\":\"v\"}" }.joined(separator: ",") + "]"
        assertRejected(record(with: "tags", fiftyOne), "InvalidParameterValue", mentioning: "50", "51 tags")
        assertAccepted(record(with: "tags", "[{\"key\": \(str(128)), \"value\": \(str(256))}]"), "key 128, value 256")
        assertRejected(record(with: "tags", "[{\"key\": \(str(129)), \"value\": \"v\"}]"), "InvalidParameterValue", "key 129")
        assertRejected(record(with: "tags", "[{\"key\": \"k\", \"value\": \(str(257))}]"), "InvalidParameterValue", "value 257")
        assertRejected(record(with: "tags", "{\(str(129)): \"v\"}"), "InvalidParameterValue", "map key 129")
    }

    // MARK: postings

    func testPostingsOfAMinimalRecord() throws {
        let e = try XCTUnwrap(assertAccepted(record(with: [("eventId", #""e-1""#), ("requestID", #""""#), ("resourceName", #""""#)])))
        XCTAssertEqual(postings(e), ["all:", "eventId:e-1", "actionType:Write", "eventName:RunInstances", "eventSource:cvm.tencentcloudapi.com",
                                     "sensitiveAction:false", "camErrorCode:0"])
    }

    func testPostingsForEveryLookupKey() throws {
        let raw = #"""
        {"eventId":"e-1","eventTime":1699990000,"eventName":"RunInstances","eventSource":"cvm.tencentcloudapi.com","eventType":"ApiCall",
         "eventRegion":"ap-guangzhou","actionType":"Write","sensitiveAction":true,"resourceType":"cvm",
         "resourceName":"ins-1, ins-2 ,ins-3,,ins-1","resourceSet":["ins-1",{"resourceId":"ins-9"},{"resourceName":"disk-1"},{"other":1},"", "ins-9"],
         "userIdentity":{"type":"CAMUser","principalId":"p-1","accountId":"100000000001","secretId":"AKID1","userName":"alice"},
         "sourceIPAddress":"10.0.0.1","requestID":"req-1","errorCode":4100,"apiErrorCode":"AuthFailure.SignatureFailure",
         "tags":[{"key":"env","value":"prod"},{"key":"team","value":""},{"key":"env","value":"dev"}]}
        """#
        let e = try XCTUnwrap(assertAccepted(raw))
        let expected: Set<String> = [
            "all:", "eventId:e-1", "actionType:Write", "eventName:RunInstances", "eventSource:cvm.tencentcloudapi.com",
            "requestId:req-1", "resourceType:cvm", "sourceIPAddress:10.0.0.1", "apiErrorCode:AuthFailure.SignatureFailure",
            "principalId:p-1", "username:alice", "accessKeyId:AKID1", "sensitiveAction:true", "camErrorCode:4100",
            "resourceName:ins-1, ins-2 ,ins-3,,ins-1", "resourceName:ins-1", "resourceName:ins-2", "resourceName:ins-3",
            "resourceId:ins-1", "resourceId:ins-9",
            "tags:env\u{0}prod", "tags:env\u{0}dev", "tags:env\u{0}*", "tags:team\u{0}", "tags:team\u{0}*",
        ]
        XCTAssertEqual(postings(e), expected)
        XCTAssertEqual(e.postings.count, expected.count, "no duplicate postings")
        XCTAssertEqual(e.eventTime, 1_699_990_000)
    }

    func testPostingVariants() throws {
        let e = try XCTUnwrap(assertAccepted(record(with: [("sensitiveAction", #""true""#), ("errorCode", #""4104""#), ("apiErrorCode", "42"),
                                                          ("tags", #"{"env": "prod", "n": 5}"#), ("resourceName", #""single""#)])))
        let p = postings(e)
        XCTAssertTrue(p.isSuperset(of: ["sensitiveAction:true", "camErrorCode:4104", "apiErrorCode:42", "tags:env\u{0}prod", "tags:env\u{0}*",
                                        "tags:n\u{0}5", "tags:n\u{0}*", "resourceName:single"]), "\(p.sorted())")
        XCTAssertEqual(p.filter { $0.hasPrefix("resourceName:") }, ["resourceName:single"])
        let read = try XCTUnwrap(assertAccepted(record(with: "actionType", #""Read""#)))
        XCTAssertTrue(postings(read).contains("actionType:Read"))
        XCTAssertEqual(TagPosting.values(key: "k", value: "v"), ["k\u{0}v", "k\u{0}*"])
        XCTAssertEqual(TagPosting.queryValue(key: "k", value: "*"), "k\u{0}*")
    }

    func testEveryLookupAttributeNameHasAKey() {
        let names = LookupAttributeName.all.map(\.name)
        XCTAssertEqual(Set(names), ["RequestId", "EventName", "ActionType", "ReadOnly", "PrincipalId", "Username", "ResourceType", "ResourceId",
                                    "ResourceName", "AccessKeyId", "SensitiveAction", "ApiErrorCode", "CamErrorCode", "SourceIPAddress", "Tags",
                                    "EventSource", "EventId"])
        XCTAssertNil(LookupAttributeName.named("eventname"))
        XCTAssertEqual(LookupAttributeName.named("ReadOnly")?.key, .actionType)
    }
}
