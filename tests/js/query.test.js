// Unit tests of query.js: preset ranges, LookUpEvents parameters, the export link.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  PRESETS, presetRange, customRange, lookupAttributes, queryParams, exportHref, exportFileName, OWN_READS, tailPath,
} from "../../Sources/AuditConsole/Resources/assets/query.js";

const NOW = 1700000000;

test("the short presets end now and last their length", () => {
  assert.deepEqual(presetRange("1h", NOW), { StartTime: NOW - 3600, EndTime: NOW });
  assert.deepEqual(presetRange("24h", NOW), { StartTime: NOW - 86400, EndTime: NOW });
});

test("the long presets start 10 minutes inside the 30-day retention, so that their next pages still pass", () => {
  assert.deepEqual(presetRange("7d", NOW), { StartTime: NOW - 7 * 86400 + 600, EndTime: NOW });
  assert.deepEqual(presetRange("30d", NOW), { StartTime: NOW - 30 * 86400 + 600, EndTime: NOW });
  for (const p of Object.keys(PRESETS)) assert.ok(NOW - presetRange(p, NOW).StartTime <= 30 * 86400, p);
});

test("a custom range needs two times, the start not after the end", () => {
  assert.deepEqual(customRange(10, 20), { StartTime: 10, EndTime: 20 });
  assert.deepEqual(customRange(20, 20), { StartTime: 20, EndTime: 20 });
  assert.equal(customRange(21, 20), null);
  assert.equal(customRange(NaN, 20), null);
  assert.equal(customRange(10, NaN), null);
});

test("filters become LookupAttributes in order, repeated keys kept", () => {
  assert.deepEqual(lookupAttributes([{ key: "Username", value: "alice" }, { key: "EventName", value: "A" }, { key: "EventName", value: "B" }]), [
    { AttributeKey: "Username", AttributeValue: "alice" },
    { AttributeKey: "EventName", AttributeValue: "A" },
    { AttributeKey: "EventName", AttributeValue: "B" },
  ]);
  assert.deepEqual(lookupAttributes([]), []);
});

test("queryParams sends LookupAttributes only when there are filters, with the extra parameters", () => {
  const plain = { StartTime: 1, EndTime: 2, LookupAttributes: [] };
  assert.deepEqual(queryParams(plain, { MaxResults: 50 }), { StartTime: 1, EndTime: 2, MaxResults: 50 });
  assert.ok(!("LookupAttributes" in queryParams(plain)));
  const attrs = [{ AttributeKey: "ResourceType", AttributeValue: "cvm" }];
  assert.deepEqual(queryParams({ StartTime: 1, EndTime: 2, LookupAttributes: attrs }, { Buckets: 60 }),
    { StartTime: 1, EndTime: 2, Buckets: 60, LookupAttributes: attrs });
});

test("the export link carries the query's range and filters as api/export reads them", () => {
  const q = { StartTime: 100, EndTime: 200, LookupAttributes: [{ AttributeKey: "Username", AttributeValue: "a&b=c d" }] };
  const href = exportHref(q, "jsonl");
  assert.ok(href.startsWith("/console/api/export?"), href);
  const params = new URL(href, "http://console.test").searchParams;
  assert.equal(params.get("format"), "jsonl");
  assert.equal(params.get("StartTime"), "100");
  assert.equal(params.get("EndTime"), "200");
  assert.deepEqual(JSON.parse(params.get("LookupAttributes") ?? ""), q.LookupAttributes);
  assert.equal(new URL(exportHref({ ...q, LookupAttributes: [] }, "csv"), "http://console.test").searchParams.has("LookupAttributes"), false);
  assert.equal(exportFileName(q, "csv"), "cloudaudit-events-100-200.csv");
});

test("hiding CloudAudit's own reads and a snapshot go to every call of the search and to the export", () => {
  assert.deepEqual(OWN_READS, [{ AttributeKey: "EventSource", AttributeValue: "cloudaudit.api" }, { AttributeKey: "ReadOnly", AttributeValue: "true" },
    { AttributeKey: "CamErrorCode", AttributeValue: "0" }]);
  const q = { StartTime: 1, EndTime: 2, LookupAttributes: [], HideOwnReads: true, Snapshot: 0 };
  assert.deepEqual(queryParams(q, { Buckets: 60 }), { StartTime: 1, EndTime: 2, Buckets: 60, ExcludeAttributes: OWN_READS, Snapshot: 0 },
    "a snapshot of 0 (an empty log) is still sent");
  const shown = queryParams({ StartTime: 1, EndTime: 2, LookupAttributes: [], HideOwnReads: false });
  assert.ok(!("ExcludeAttributes" in shown) && !("Snapshot" in shown), JSON.stringify(shown));
  const params = new URL(exportHref({ ...q, Snapshot: 41 }, "csv"), "http://console.test").searchParams;
  assert.deepEqual(JSON.parse(params.get("ExcludeAttributes") ?? ""), OWN_READS);
  assert.equal(params.get("Snapshot"), "41");
});

test("the tail's path: conditions numbered from 0, the own reads excluded when hidden, the cursor and heartbeat", () => {
  const q = { LookupAttributes: lookupAttributes([{ key: "EventName", value: "A B" }, { key: "EventName", value: "C&D" }]), HideOwnReads: false };
  const path = tailPath(q, null, 5);
  assert.ok(path.startsWith("tail?"), path);
  const p = new URLSearchParams(path.slice(5));
  assert.deepEqual([...p], [["LookupAttributes.0.AttributeKey", "EventName"], ["LookupAttributes.0.AttributeValue", "A B"],
    ["LookupAttributes.1.AttributeKey", "EventName"], ["LookupAttributes.1.AttributeValue", "C&D"], ["Heartbeat", "5"]]);
  const hidden = new URLSearchParams(tailPath({ LookupAttributes: [], HideOwnReads: true }, "1234", 10).slice(5));
  assert.deepEqual([...hidden], [
    ...OWN_READS.flatMap((a, i) => [[`ExcludeAttributes.${i}.AttributeKey`, a.AttributeKey], [`ExcludeAttributes.${i}.AttributeValue`, a.AttributeValue]]),
    ["Cursor", "1234"], ["Heartbeat", "10"]]);
});
