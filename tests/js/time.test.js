// Unit tests of time.js: the page's times, in the browser's zone and in UTC.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pad, localText, utcText, inputValue, fromInputValue, nowSec } from "../../Sources/AuditConsole/Resources/assets/time.js";

// Node reads TZ again when it changes: the local texts are checked in a zone 8 hours east of UTC.
process.env.TZ = "Asia/Shanghai";

test("pad gives two digits at least", () => {
  assert.equal(pad(0), "00");
  assert.equal(pad(7), "07");
  assert.equal(pad(12), "12");
  assert.equal(pad(123), "123");
});

test("localText is the time in the browser's zone, utcText the same instant in UTC", () => {
  assert.equal(localText(0), "1970-01-01 08:00:00");
  assert.equal(utcText(0), "1970-01-01 00:00:00 UTC");
  // 2023-11-14 22:13:20 UTC is the next day in Shanghai.
  assert.equal(localText(1700000000), "2023-11-15 06:13:20");
  assert.equal(utcText(1700000000), "2023-11-14 22:13:20 UTC");
});

test("inputValue and fromInputValue round-trip to the second, in local time", () => {
  assert.equal(inputValue(1700000000), "2023-11-15T06:13:20");
  assert.equal(fromInputValue("2023-11-15T06:13:20"), 1700000000);
  for (const sec of [0, 86399, 1700000000, 1893456000]) assert.equal(fromInputValue(inputValue(sec)), sec);
  // A browser that drops the seconds (step not honoured) still gives a time.
  assert.equal(fromInputValue("2023-11-15T06:13"), 1700000000 - 20);
});

test("fromInputValue is NaN for an empty or unreadable value", () => {
  assert.ok(Number.isNaN(fromInputValue("")));
  assert.ok(Number.isNaN(fromInputValue("not a time")));
  assert.ok(Number.isNaN(fromInputValue("2023-13-45T99:00:00")));
});

test("nowSec is whole Unix seconds of now", () => {
  const before = Math.floor(Date.now() / 1000);
  const now = nowSec();
  assert.ok(Number.isInteger(now));
  assert.ok(now >= before && now <= before + 1);
});
