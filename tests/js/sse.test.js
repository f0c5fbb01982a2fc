// Unit tests of sse.js: a text/event-stream read as the HTML standard's EventSource reads it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStreamParser } from "../../Sources/AuditConsole/Resources/assets/sse.js";

/** @param {string[]} pieces @param {EventStreamParser} [p] */
const read = (pieces, p = new EventStreamParser()) => pieces.flatMap((s) => p.push(s));

test("the server's messages: ready, events, behind, end, each with its id", () => {
  const p = new EventStreamParser();
  const got = read([
    'retry: 2000\nid: 41\nevent: ready\ndata: {"Cursor":"41"}\n\n',
    'id: 42\ndata: {"eventId":"a"}\n\n',
    'event: behind\ndata: {"Behind":1200,"Cursor":"42"}\n\n',
    'id: 42\nevent: end\ndata: {"Reason":"shutdown","Cursor":"42"}\n\n',
  ], p);
  assert.deepEqual(got, [
    { event: "ready", data: '{"Cursor":"41"}', id: "41" },
    { event: "message", data: '{"eventId":"a"}', id: "42" },
    { event: "behind", data: '{"Behind":1200,"Cursor":"42"}', id: "42" },
    { event: "end", data: '{"Reason":"shutdown","Cursor":"42"}', id: "42" },
  ]);
  assert.equal(p.retry, 2000);
  assert.equal(p.lastEventId, "42");
});

test("a message cut anywhere, even between CR and LF, reads the same", () => {
  const whole = 'id: 7\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 8\rdata: x\r\r';
  const once = read([whole]);
  assert.deepEqual(once, [{ event: "message", data: '{"a":\n1}', id: "7" }, { event: "message", data: "x", id: "8" }]);
  for (let i = 1; i < whole.length; i++) {
    assert.deepEqual(read([whole.slice(0, i), whole.slice(i)]), once, `cut at ${i}`);
  }
  assert.deepEqual(read([...whole]), once, "one character at a time");
});

test("a heartbeat is a comment whose id moves the cursor; a message without data dispatches nothing", () => {
  const p = new EventStreamParser();
  assert.deepEqual(p.push("id: 5\nevent: ready\ndata: {}\n\n: heartbeat\nid: 9\n\n"), [
    { event: "ready", data: "{}", id: "5" },
    { event: ":", data: "heartbeat", id: "5", comment: true },
  ]);
  assert.equal(p.lastEventId, "9", "the heartbeat's id is the cursor now");
  assert.deepEqual(p.push("event: behind\n\n"), [], "no data: nothing");
  assert.deepEqual(p.push("data: y\n\n"), [{ event: "message", data: "y", id: "9" }], "the event name does not outlive its message");
});

test("fields as the standard reads them: one space after the colon dropped, unknown fields and bad ids ignored", () => {
  const p = new EventStreamParser();
  assert.deepEqual(p.push("\ufeffdata:a\ndata:  b\ndata\nfoo: bar\nid: x\0y\nretry: 1.5\n\n"), [{ event: "message", data: "a\n b\n", id: "" }]);
  assert.equal(p.retry, null);
  assert.deepEqual(p.push("data: after the BOM only once\n\n")[0].data, "after the BOM only once");
});

test("a message the stream's end cuts off is never given", () => {
  const p = new EventStreamParser();
  assert.deepEqual(p.push("id: 3\ndata: whole\n\nid: 4\ndata: cut"), [{ event: "message", data: "whole", id: "3" }]);
  assert.equal(p.lastEventId, "3", "the cursor stays on the last whole message");
});
