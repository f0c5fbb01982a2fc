// Unit tests of records.js: reading one LookUpEvents event and its CloudAuditEvent record.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  recordOf, resultOf, isSensitive, resourceOf, resourceNames, flatten, detailFields, shortUserName, eventOfRecord, eventSeconds,
} from "../../Sources/AuditConsole/Resources/assets/records.js";

test("recordOf parses the record once, and is null for none or for one that is not JSON", () => {
  const ev = { CloudAuditEvent: '{"eventName":"RunInstances"}' };
  const rec = recordOf(ev);
  assert.deepEqual(rec, { eventName: "RunInstances" });
  ev.CloudAuditEvent = "{}";
  assert.equal(recordOf(ev), rec, "cached: parsed once");
  assert.equal(recordOf({}), null);
  assert.equal(recordOf({ CloudAuditEvent: "{not json" }), null);
});

test("resultOf: success, else the API's error code, else the error code, with the message", () => {
  const ok = { ok: true, code: "", errorCode: 0, apiErrorCode: "", message: "" };
  assert.deepEqual(resultOf({ ErrorCode: 0, CloudAuditEvent: "{}" }), ok);
  assert.deepEqual(resultOf({ ErrorCode: 4100 }), { ok: false, code: "4100", errorCode: 4100, apiErrorCode: "", message: "" });
  assert.deepEqual(resultOf({ CloudAuditEvent: '{"errorCode":4104,"errorMessage":"no such key"}' }),
    { ok: false, code: "4104", errorCode: 4104, apiErrorCode: "", message: "no such key" });
  assert.deepEqual(resultOf({ ErrorCode: 0, CloudAuditEvent: '{"apiErrorCode":"ResourceNotFound","apiErrorMessage":"no set 9"}' }),
    { ok: false, code: "ResourceNotFound", errorCode: 0, apiErrorCode: "ResourceNotFound", message: "no set 9" }, "a refusal that is not the CAM's");
  assert.deepEqual(resultOf({ ErrorCode: 4100, CloudAuditEvent: '{"apiErrorCode":"AuthFailure.SignatureFailure","errorMessage":"bad"}' }),
    { ok: false, code: "AuthFailure.SignatureFailure", errorCode: 4100, apiErrorCode: "AuthFailure.SignatureFailure", message: "bad" },
    "the API's code names it better than the number");
});

test("detailFields shows a refused call's codes and message instead of ErrorCode 0", () => {
  const refused = { EventName: "DescribeAuditTrack", ErrorCode: 0,
    CloudAuditEvent: '{"errorCode":0,"apiErrorCode":"ResourceNotFound","apiErrorMessage":"No tracking set 9."}' };
  assert.deepEqual(detailFields(refused), [["EventName", "DescribeAuditTrack"], ["ApiErrorCode", "ResourceNotFound"], ["ErrorMessage", "No tracking set 9."]]);
  const signIn = { EventName: "ConsoleLogin", ErrorCode: 4100, CloudAuditEvent: '{"apiErrorCode":"AuthFailure.SignatureFailure","apiErrorMessage":"wrong"}' };
  assert.deepEqual(detailFields(signIn), [["EventName", "ConsoleLogin"], ["ErrorCode", "4100"], ["ApiErrorCode", "AuthFailure.SignatureFailure"],
    ["ErrorMessage", "wrong"]]);
  assert.deepEqual(detailFields({ EventName: "X", ErrorCode: 0, CloudAuditEvent: "{}" }), [["EventName", "X"], ["ErrorCode", "0"]], "a success keeps its ErrorCode");
});

test("isSensitive takes the API's boolean and producers' 1 and \"true\"", () => {
  for (const v of [true, 1, "true", "1"]) assert.equal(isSensitive({ sensitiveAction: v }), true, String(v));
  for (const v of [false, 0, "false", "", null, undefined]) assert.equal(isSensitive({ sensitiveAction: v }), false, String(v));
});

test("resourceOf prefers the listing's Resources, then the record's fields", () => {
  assert.deepEqual(resourceOf({ Resources: { ResourceType: "cvm", ResourceName: "ins-1" }, CloudAuditEvent: '{"resourceType":"cos"}' }),
    { type: "cvm", name: "ins-1" });
  assert.deepEqual(resourceOf({ CloudAuditEvent: '{"resourceType":"cos","resourceName":"bucket-1"}' }), { type: "cos", name: "bucket-1" });
  assert.deepEqual(resourceOf({}), { type: "", name: "" });
});

test("resourceNames splits a comma-separated ResourceName", () => {
  assert.deepEqual(resourceNames("ins-1, ins-2,,ins-3 "), ["ins-1", "ins-2", "ins-3"]);
  assert.deepEqual(resourceNames(""), []);
});

test("flatten gives dotted paths; arrays as JSON, null as empty, the page's _ keys left out", () => {
  /** @type {[string, string][]} */
  const out = [];
  flatten("", { a: 1, b: { c: "x", d: { e: null } }, f: [1, "two"], g: {}, _record: { secret: 1 }, h: false }, out);
  assert.deepEqual(out, [["a", "1"], ["b.c", "x"], ["b.d.e", ""], ["f", '[1,"two"]'], ["g", "{}"], ["h", "false"]]);
});

test("detailFields lists every field of the event but the raw record", () => {
  const ev = { EventId: "e1", EventTime: "1700000000", Resources: { ResourceType: "cvm" }, CloudAuditEvent: "{}", _record: {} };
  assert.deepEqual(detailFields(ev), [["EventId", "e1"], ["EventTime", "1700000000"], ["Resources.ResourceType", "cvm"]]);
});

test("shortUserName keeps names up to 20 characters and cuts longer ones in the middle", () => {
  assert.equal(shortUserName("console:admin"), "console:admin");
  assert.equal(shortUserName("a".repeat(20)), "a".repeat(20));
  assert.equal(shortUserName("AKIDabcdefghijklmnopqrstuvwxyz"), "AKIDabcdef…wxyz");
});

test("eventSeconds reads eventTime as the server does: whole seconds, RFC 3339, Tencent's Beijing time", () => {
  assert.equal(eventSeconds(1700000000), 1700000000);
  assert.equal(eventSeconds("1700000000"), 1700000000);
  assert.equal(eventSeconds("2023-11-14T22:13:20Z"), 1700000000);
  assert.equal(eventSeconds("2023-11-14T22:13:20.999999999Z"), 1700000000, "the fraction dropped");
  assert.equal(eventSeconds("2023-11-15T06:13:20+08:00"), 1700000000);
  assert.equal(eventSeconds("2023-11-15T06:13:20+0800"), 1700000000);
  assert.equal(eventSeconds("2023-11-15T06:13:20+08"), 1700000000);
  assert.equal(eventSeconds("2023-11-15 06:13:20"), 1700000000, "Beijing time");
  for (const bad of [1.5, "soon", "2023-11-15", "2023-11-14T22:13:20", null, undefined, {}]) assert.ok(Number.isNaN(eventSeconds(bad)), String(bad));
});

test("eventOfRecord gives a streamed record the fields LookUpEvents gives it", () => {
  const rec = { eventId: "ev-1", eventTime: 1700000000, eventName: "RunInstances", eventSource: "cvm.tencentcloudapi.com",
    eventRegion: "ap-guangzhou", resourceType: "cvm", resourceName: "ins-1,ins-2", actionType: "Write", errorCode: 4102,
    userIdentity: { principalId: "100001", userName: "alice", secretId: "AKID1" }, sourceIPAddress: "10.0.0.1", requestID: "r-1" };
  const data = JSON.stringify(rec);
  const ev = eventOfRecord(data, 100000000001);
  assert.deepEqual({ ...ev, _record: undefined }, {
    EventId: "ev-1", Username: "alice", EventTime: "1700000000", CloudAuditEvent: data, ErrorCode: 4102, EventName: "RunInstances",
    SecretId: "AKID1", EventSource: "cvm.tencentcloudapi.com", RequestID: "r-1", ResourceRegion: "ap-guangzhou", AccountID: 100000000001,
    SourceIPAddress: "10.0.0.1", EventNameCn: "RunInstances", Resources: { ResourceType: "cvm", ResourceName: "ins-1,ins-2" },
    EventRegion: "ap-guangzhou", _record: undefined,
  });
  assert.deepEqual(recordOf(/** @type {any} */ (ev)), rec, "the record is parsed once, here");
  assert.equal(detailFields(/** @type {any} */ (ev)).find(([k]) => k === "ErrorCode")?.[1], "4102");
});

test("eventOfRecord reads missing and odd fields as the server's EventSummary does", () => {
  const ev = /** @type {any} */ (eventOfRecord(JSON.stringify({ eventID: "ev-2", eventTime: "2023-11-14T22:13:20Z", errorCode: "7",
    resourceRegion: "ap-shanghai", userIdentity: { principalId: 42 } }), 1));
  assert.equal(ev.EventId, "ev-2");
  assert.equal(ev.EventTime, "1700000000");
  assert.equal(ev.ErrorCode, 7);
  assert.equal(ev.Username, "42", "the principal when there is no user name");
  assert.equal(ev.ResourceRegion, "ap-shanghai");
  assert.equal(ev.EventName, "");
  assert.equal(/** @type {any} */ (eventOfRecord('{"errorCode":"x","userIdentity":{"userName":null,"principalId":"p"}}', 1)).Username, "",
    "a user name given as null is no name (the principal is not read instead)");
  assert.equal(eventOfRecord("[1]", 1), null);
  assert.equal(eventOfRecord("{not json", 1), null);
});
