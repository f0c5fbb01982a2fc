// Unit tests of alerting.js: the Alerts view's DescribeAlerts range, rule and channel parameters, and texts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { alertsParams, conditionsText, ruleParams, channelConfig, channelSummary } from "../../Sources/AuditConsole/Resources/assets/alerting.js";

test("alertsParams: the range ends now, one page of the API's most", () => {
  assert.deepEqual(alertsParams("1h", 10000), { StartTime: 6400, EndTime: 10000, Offset: 0, Limit: 100 });
  assert.equal(alertsParams("7d", 1e6).StartTime, 1e6 - 604800);
  assert.equal(alertsParams("nonsense", 1e6).StartTime, 1e6 - 86400, "24 h when unknown");
});

test("conditionsText: ORed within a key, ANDed across keys, then ErrorOnly", () => {
  const rule = { Name: "r", Severity: "info", ErrorOnly: true, Conditions: [
    { AttributeKey: "EventName", AttributeValue: "A" }, { AttributeKey: "Username", AttributeValue: "u" }, { AttributeKey: "EventName", AttributeValue: "B" }] };
  assert.equal(conditionsText(rule, "failed"), "EventName = A | B AND Username = u AND failed");
  assert.equal(conditionsText({ Name: "r", Severity: "info" }, "failed"), "");
});

test("ruleParams: a threshold only when given, ErrorOnly as 1/0, the template when there is one", () => {
  const form = { name: "n", severity: "warning", conditions: [{ AttributeKey: "SensitiveAction", AttributeValue: "1" }], errorOnly: false,
    count: "", seconds: "", groupBy: "Username", channelIds: [3], enabled: true };
  assert.deepEqual(ruleParams(form), { Name: "n", Severity: "warning", Conditions: form.conditions, ErrorOnly: 0, ChannelIds: [3], Status: "enabled" });
  const p = ruleParams({ ...form, count: "5", seconds: "300", errorOnly: true, enabled: false, template: "sign-in-failures" });
  assert.deepEqual(p.Threshold, { Count: 5, WindowSeconds: 300, GroupBy: "Username" });
  assert.equal(p.ErrorOnly, 1);
  assert.equal(p.Status, "disabled");
  assert.equal(p.Template, "sign-in-failures");
  assert.deepEqual(ruleParams({ ...form, count: "3", seconds: "60", groupBy: "" }).Threshold, { Count: 3, WindowSeconds: 60 });
});

test("channelConfig: each type's fields", () => {
  const f = { url: " http://h/x ", secret: "s", to: "a@x.org, b@y.org;c@z.org", address: " h:514 ", protocol: "tls" };
  assert.deepEqual(channelConfig("webhook", f), { Url: "http://h/x", Secret: "s" });
  assert.deepEqual(channelConfig("email", f), { To: ["a@x.org", "b@y.org", "c@z.org"] });
  assert.deepEqual(channelConfig("syslog", f), { Address: "h:514", Protocol: "tls" });
});

test("channelSummary never shows a webhook's secret", () => {
  assert.equal(channelSummary({ ChannelId: 1, Name: "h", Type: "webhook", Config: { Url: "http://h/x", Secret: "leaked-if-shown" } }), "http://h/x · Secret ******");
  assert.equal(channelSummary({ ChannelId: 1, Name: "m", Type: "email", Config: { To: ["a@x.org", "b@y.org"] } }), "a@x.org, b@y.org");
  assert.equal(channelSummary({ ChannelId: 1, Name: "s", Type: "syslog", Config: { Address: "h:6514", Protocol: "tls" } }), "h:6514 (tls)");
});
