// Unit tests of api.js's error text (the client's requests need a page: tests/browser).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, errorText } from "../../Sources/AuditConsole/Resources/assets/api.js";

test("an API error shows its message with its code", () => {
  const e = new ApiError("InvalidParameterValue", "StartTime is after EndTime.", 200);
  assert.equal(e.code, "InvalidParameterValue");
  assert.equal(e.status, 200);
  assert.equal(errorText(e), "StartTime is after EndTime. (InvalidParameterValue)");
});

test("a message that is only its code, a network error and other errors show the message alone", () => {
  assert.equal(errorText(new ApiError("HTTP500")), "HTTP500");
  assert.equal(errorText(new ApiError("NetworkError", "The server cannot be reached.", 0)), "The server cannot be reached.");
  assert.equal(errorText(new Error("boom")), "boom");
  assert.equal(errorText("plain"), "plain");
  assert.equal(errorText(null), "");
});
