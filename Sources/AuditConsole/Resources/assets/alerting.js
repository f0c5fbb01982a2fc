// @ts-check
/**
 * The Alerts view's data as the API takes and gives it (docs/contract.md, "Alerts: channels, rules,
 * fired alerts"): the CreateAlertRule and CreateAlertChannel parameters of the forms, a channel's
 * configuration and a rule's conditions and threshold as short texts. Pure: no DOM
 * (tests/js/alerting.test.js).
 */

/** @typedef {{AttributeKey: string, AttributeValue: string}} Condition */
/** @typedef {{Count: number, WindowSeconds: number, GroupBy?: string | null}} Threshold */
/**
 * A rule of DescribeAlertRules (or a template of DescribeAlertRuleTemplates, without RuleId).
 * @typedef {{RuleId?: number, Template?: string, Name: string, Description?: string, Severity: string, Conditions?: Condition[],
 *   ErrorOnly?: boolean, Threshold?: Threshold | null, ChannelIds?: number[], Status?: string}} AlertRule
 */
/** @typedef {{ChannelId: number, Name: string, Type: string, Config: Record<string, any>}} AlertChannel */
/**
 * A fired alert of DescribeAlerts.
 * @typedef {{AlertId: string, RuleId: number, RuleName: string, Severity: string, FiredAt: number, Group?: string | null,
 *   Count: number, EventIds: string[], AlertEventId: string}} FiredAlert
 */

/** @type {Record<string, number>} the fired alerts' ranges, in seconds */
export const ALERT_RANGES = { "1h": 3600, "24h": 86400, "7d": 7 * 86400 };
/** Alerts per DescribeAlerts page (the API's most). */
export const ALERTS_LIMIT = 100;

/**
 * DescribeAlerts parameters of a range ending `now`.
 * @param {string} range a key of ALERT_RANGES (24 h when unknown)
 * @param {number} now Unix seconds
 */
export function alertsParams(range, now) {
  return { StartTime: now - (ALERT_RANGES[range] || ALERT_RANGES["24h"]), EndTime: now, Offset: 0, Limit: ALERTS_LIMIT };
}

/**
 * A rule's conditions as one line: ORed within one key, ANDed across keys (as LookupAttributes), and
 * ErrorOnly.
 * @param {AlertRule} rule
 * @param {string} failedText the label of ErrorOnly ("failed")
 */
export function conditionsText(rule, failedText) {
  /** @type {Map<string, string[]>} */
  const byKey = new Map();
  for (const c of rule.Conditions || []) byKey.set(c.AttributeKey, [...(byKey.get(c.AttributeKey) || []), c.AttributeValue]);
  const parts = [...byKey].map(([k, vs]) => `${k} = ${vs.join(" | ")}`);
  if (rule.ErrorOnly) parts.push(failedText);
  return parts.join(" AND ");
}

/**
 * The CreateAlertRule parameters of the rule form. A threshold is sent only when its count is given;
 * what the API would refuse is sent as it is, for the API to say why.
 * @param {{name: string, severity: string, conditions: Condition[], errorOnly: boolean, count: string, seconds: string,
 *   groupBy: string, channelIds: number[], enabled: boolean, template?: string}} form
 * @returns {Record<string, unknown>}
 */
export function ruleParams(form) {
  /** @type {Record<string, unknown>} */
  const p = {
    Name: form.name, Severity: form.severity, Conditions: form.conditions, ErrorOnly: form.errorOnly ? 1 : 0,
    ChannelIds: form.channelIds, Status: form.enabled ? "enabled" : "disabled",
  };
  if (form.count.trim() || form.seconds.trim()) {
    /** @type {Record<string, unknown>} */
    const th = { Count: Number(form.count), WindowSeconds: Number(form.seconds) };
    if (form.groupBy) th.GroupBy = form.groupBy;
    p.Threshold = th;
  }
  if (form.template) p.Template = form.template;
  return p;
}

/**
 * The Config of CreateAlertChannel for the form's type.
 * @param {string} type "webhook", "email" or "syslog"
 * @param {{url: string, secret: string, to: string, address: string, protocol: string}} f
 * @returns {Record<string, unknown>}
 */
export function channelConfig(type, f) {
  if (type === "webhook") return { Url: f.url.trim(), Secret: f.secret };
  if (type === "email") return { To: f.to.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean) };
  return { Address: f.address.trim(), Protocol: f.protocol };
}

/**
 * A channel's configuration in a line; a webhook's secret is never shown, whatever the server said.
 * @param {AlertChannel} ch
 */
export function channelSummary(ch) {
  const c = ch.Config || {};
  if (ch.Type === "webhook") return `${c.Url || ""} · Secret ******`;
  if (ch.Type === "email") return (c.To || []).join(", ");
  if (ch.Type === "syslog") return `${c.Address || ""} (${c.Protocol || "tcp"})`;
  return JSON.stringify(c);
}
