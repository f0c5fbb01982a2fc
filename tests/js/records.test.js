// Unit tests of records.js: reading one LookUpEvents event and its CloudAuditEvent record.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  recordOf, resultOf, isSensitive, resourceOf, resourceNames, flatten, detailFields, shortUserName,
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

test("resultOf: success, else the error code, else the API's error code", () => {
  assert.deepEqual(resultOf({ ErrorCode: 0, CloudAuditEvent: "{}" }), { ok: true, code: "" });
  assert.deepEqual(resultOf({ ErrorCode: 4100 }), { ok: false, code: "4100" });
  assert.deepEqual(resultOf({ CloudAuditEvent: '{"errorCode":4104}' }), { ok: false, code: "4104" });
  assert.deepEqual(resultOf({ ErrorCode: 0, CloudAuditEvent: '{"apiErrorCode":"ResourceNotFound"}' }), { ok: false, code: "ResourceNotFound" });
  assert.deepEqual(resultOf({ ErrorCode: 7, CloudAuditEvent: '{"apiErrorCode":"X"}' }), { ok: false, code: "7" }, "the error code first");
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
