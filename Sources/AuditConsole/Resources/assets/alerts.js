// @ts-check
/**
 * The Alerts view (docs/console.md, "The Alerts view"): the alerts fired in a range (DescribeAlerts),
 * each with links that open its matching events in the Operation Record; the rules (DescribeAlertRules)
 * and the channels (DescribeAlertChannels). For an admin: a rule's form (its conditions in the Operation
 * Record's filter rows, optionally filled from a template), enabling, disabling and deleting rules, a
 * channel's form, deleting channels and sending a test alert. Refusals show the API's message.
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, h, setMessage, timeEl, badge, bump, panelState, confirmDialog } from "./dom.js";
import { call, errorText } from "./api.js";
import { nowSec } from "./time.js";
import { FilterRows } from "./filters.js";
import { showEvent } from "./events.js";
import { lookupAttributes } from "./query.js";
import { alertsParams, conditionsText, ruleParams, channelConfig, channelSummary } from "./alerting.js";

/** @typedef {import("./alerting.js").AlertRule} AlertRule */
/** @typedef {import("./alerting.js").AlertChannel} AlertChannel */
/** @typedef {import("./alerting.js").FiredAlert} FiredAlert */

/** The rule form's conditions (`#rule-filter-rows`). */
const conditions = new FilterRows("rule-filter", "rule-form-error");

const SEVERITY_KIND = /** @type {Record<string, string>} */ ({ info: "neutral", warning: "warn", critical: "error" });

function isAdmin() { return !!(state.session && state.session.Role === "admin"); }

/** @param {string} severity */
function severityBadge(severity) {
  const b = badge(t("severity." + severity), SEVERITY_KIND[severity] || "neutral");
  b.dataset.severity = severity;
  return b;
}

/**
 * A refusal next to the form it answers: the API's message, verbatim, with its code.
 * @param {HTMLElement} el
 * @param {any} e
 */
function showRefusal(el, e) {
  if (e.status === 401) return;
  el.textContent = "";
  el.append(h("span", { "data-testid": el.id + "-message", text: e.message }), " ", h("code", { class: "muted small", text: e.code || "" }));
  el.hidden = false;
}

/** @param {string} text what was done */
function notice(text) { setMessage($("alerts-notice"), text); }

// ---- loading -------------------------------------------------------------------------------------

/** Loads the three lists: the fired alerts, and the channels before the rules (which name them). */
export async function loadAlerts() {
  $("alerts-readonly").hidden = isAdmin();
  setMessage($("alerts-error"), "");
  const fired = loadFired();
  await loadChannels();
  await Promise.all([loadRules(), fired]);
}

async function loadFired() {
  const panel = $("fired-panel");
  const seq = ++state.firedSeq;
  panelState(panel, $("fired-status"), "loading", t("fired.loading"));
  try {
    const r = await call("DescribeAlerts", alertsParams(state.alertsRange, nowSec()));
    if (seq !== state.firedSeq) return;
    state.firedAlerts = r.Alerts || [];
    state.firedTotal = r.TotalCount ?? state.firedAlerts.length;
    renderFired();
  } catch (e) {
    if (seq !== state.firedSeq) return;
    panelState(panel, $("fired-status"), "error", t("error.generic", { msg: errorText(e) }));
  }
  bump(panel);
}

async function loadChannels() {
  const panel = $("channels-panel");
  panelState(panel, $("channels-status"), "loading", t("channels.loading"));
  try {
    const r = await call("DescribeAlertChannels", {});
    state.alertChannels = r.Channels || [];
    renderChannels();
  } catch (e) {
    panelState(panel, $("channels-status"), "error", t("error.generic", { msg: errorText(e) }));
  }
  bump(panel);
}

async function loadRules() {
  const panel = $("rules-panel");
  panelState(panel, $("rules-status"), "loading", t("rules.loading"));
  try {
    const [r, tpl] = await Promise.all([
      call("DescribeAlertRules", {}),
      state.alertTemplates.length ? Promise.resolve({ Templates: state.alertTemplates }) : call("DescribeAlertRuleTemplates", {}),
    ]);
    state.alertRules = r.Rules || [];
    state.alertTemplates = tpl.Templates || [];
    renderTemplates();
    renderRules();
  } catch (e) {
    panelState(panel, $("rules-status"), "error", t("error.generic", { msg: errorText(e) }));
  }
  bump(panel);
}

// ---- fired alerts --------------------------------------------------------------------------------

function renderFired() {
  const body = $("fired-body");
  body.textContent = "";
  for (const a of state.firedAlerts) body.append(firedRow(a));
  const panel = $("fired-panel");
  const n = state.firedAlerts.length;
  $("fired-count").textContent = n ? t("fired.count", { n, total: state.firedTotal }) : "";
  if (n) panelState(panel, $("fired-status"), "ready");
  else panelState(panel, $("fired-status"), "empty", t("fired.empty"));
}

/** @param {FiredAlert} a */
function firedRow(a) {
  const links = (a.EventIds || []).map((id) => {
    const link = h("a", { href: "#/events", "data-testid": "fired-event", dataset: { eventId: id }, title: t("fired.open"), text: id });
    link.addEventListener("click", (e) => { e.preventDefault(); showEvent(id); });
    return link;
  });
  return h("tr", { "data-testid": "fired-row", dataset: { alertId: a.AlertId, ruleId: a.RuleId } },
    h("td", { class: "col-time" }, timeEl(Number(a.FiredAt))),
    h("td", {}, severityBadge(a.Severity)),
    h("td", {}, h("span", { text: a.RuleName }), h("div", { class: "muted small", text: `#${a.RuleId}` })),
    h("td", { text: a.Group || "—" }),
    h("td", { text: String(a.Count) }),
    h("td", {}, h("div", { class: "event-links" }, links)));
}

// ---- rules ---------------------------------------------------------------------------------------

/** @param {number[]} ids */
function channelNames(ids) {
  return ids.map((id) => {
    const ch = state.alertChannels.find((c) => c.ChannelId === id);
    return ch ? ch.Name : `#${id}`;
  }).join(", ");
}

/** @param {AlertRule} rule */
function thresholdText(rule) {
  const th = rule.Threshold;
  if (!th) return t("rules.eachEvent");
  return t(th.GroupBy ? "rules.thresholdGrouped" : "rules.thresholdText", { n: th.Count, seconds: th.WindowSeconds, group: th.GroupBy || "" });
}

function renderRules() {
  const body = $("rules-body");
  body.textContent = "";
  for (const r of state.alertRules) body.append(ruleRow(r));
  const panel = $("rules-panel");
  if (state.alertRules.length) panelState(panel, $("rules-status"), "ready");
  else panelState(panel, $("rules-status"), "empty", t("rules.empty"));
}

/** @param {AlertRule} rule */
function ruleRow(rule) {
  const on = rule.Status === "enabled";
  const actions = h("td", { class: "col-actions" });
  if (isAdmin()) {
    const toggle = h("button", { type: "button", class: "btn btn-small", "data-testid": "rule-toggle", text: t(on ? "rules.disable" : "rules.enable") });
    toggle.addEventListener("click", () => setRuleStatus(rule, on ? "disabled" : "enabled", toggle));
    const del = h("button", { type: "button", class: "btn btn-small btn-danger-quiet", "data-testid": "rule-delete", text: t("rules.delete") });
    del.addEventListener("click", () => deleteRule(rule, del));
    actions.append(h("div", { class: "row-actions" }, toggle, del));
  }
  return h("tr", { "data-testid": "rule-row", dataset: { ruleId: rule.RuleId, name: rule.Name, status: rule.Status } },
    h("td", {}, h("strong", { text: rule.Name }), h("div", { class: "muted small", text: `#${rule.RuleId}` })),
    h("td", {}, severityBadge(rule.Severity)),
    h("td", { "data-testid": "rule-conditions", text: conditionsText(rule, t("rules.failed")) }),
    h("td", { "data-testid": "rule-threshold", text: thresholdText(rule) }),
    h("td", { "data-testid": "rule-channels-cell", text: channelNames(rule.ChannelIds || []) || "—" }),
    h("td", {}, badge(t(on ? "rules.statusEnabled" : "rules.statusDisabled"), on ? "ok" : "neutral")),
    actions);
}

/**
 * @param {AlertRule} rule
 * @param {string} status "enabled" or "disabled"
 * @param {HTMLButtonElement} btn
 */
async function setRuleStatus(rule, status, btn) {
  btn.disabled = true;
  setMessage($("alerts-error"), "");
  try {
    await call("ModifyAlertRule", { RuleId: rule.RuleId, Status: status });
    notice(t(status === "enabled" ? "rules.nowEnabled" : "rules.nowDisabled", { name: rule.Name }));
    await loadRules();
  } catch (e) {
    btn.disabled = false;
    showRefusal($("alerts-error"), e);
  }
}

/**
 * @param {AlertRule} rule
 * @param {HTMLButtonElement} btn
 */
async function deleteRule(rule, btn) {
  if (!(await confirmDialog(t("rules.confirmDelete", { name: rule.Name })))) { btn.focus(); return; }
  setMessage($("alerts-error"), "");
  try {
    await call("DeleteAlertRule", { RuleId: rule.RuleId });
    notice(t("rules.deleted", { name: rule.Name }));
    await loadRules();
  } catch (e) {
    showRefusal($("alerts-error"), e);
  }
}

/** The template menu: a first entry that names it, then DescribeAlertRuleTemplates. */
function renderTemplates() {
  const sel = $("rule-template");
  sel.textContent = "";
  sel.append(h("option", { value: "", text: t("rules.fromTemplate") }));
  for (const tpl of state.alertTemplates) sel.append(h("option", { value: tpl.Template, text: tpl.Name }));
}

/** The channels as checkboxes of the rule form. */
function renderChannelChoices() {
  const box = $("rule-channels");
  box.textContent = "";
  if (!state.alertChannels.length) box.append(h("span", { class: "muted small", text: t("rules.noChannels") }));
  for (const ch of state.alertChannels) {
    box.append(h("label", { class: "check" },
      h("input", { type: "checkbox", value: ch.ChannelId, "data-testid": "rule-channel", dataset: { name: ch.Name } }),
      h("span", { text: `${ch.Name} (${ch.Type})` })));
  }
}

/** @param {AlertRule | null} tpl a template to fill the form with, or null for an empty form */
function openRuleForm(tpl) {
  if (!isAdmin()) return;
  state.ruleTemplate = tpl ? tpl.Template || null : null;
  setMessage($("rule-form-error"), "");
  setMessage($("rule-template-note"), tpl ? t("rules.templateNote", { name: tpl.Name, description: tpl.Description || "" }) : "");
  $("rule-name").value = tpl ? tpl.Name : "";
  $("rule-severity").value = tpl ? tpl.Severity : "warning";
  $("rule-enabled").checked = true;
  $("rule-error-only").checked = !!(tpl && tpl.ErrorOnly);
  const th = tpl && tpl.Threshold;
  $("rule-count").value = th ? String(th.Count) : "";
  $("rule-window").value = th ? String(th.WindowSeconds) : "";
  $("rule-group-by").value = (th && th.GroupBy) || "";
  conditions.clear();
  for (const c of (tpl && tpl.Conditions) || []) conditions.put(c.AttributeKey, c.AttributeValue);
  renderChannelChoices();
  $("rule-form").hidden = false;
  $("rule-name").focus();
}

function closeRuleForm() {
  $("rule-form").hidden = true;
  state.ruleTemplate = null;
}

/** @param {SubmitEvent} ev */
async function saveRule(ev) {
  ev.preventDefault();
  const err = $("rule-form-error");
  setMessage(err, "");
  const params = ruleParams({
    name: $("rule-name").value.trim(),
    severity: $("rule-severity").value,
    conditions: lookupAttributes(conditions.read()),
    errorOnly: $("rule-error-only").checked,
    count: $("rule-count").value,
    seconds: $("rule-window").value,
    groupBy: $("rule-group-by").value,
    channelIds: [...document.querySelectorAll("#rule-channels input:checked")].map((i) => Number(/** @type {HTMLInputElement} */ (i).value)),
    enabled: $("rule-enabled").checked,
    template: state.ruleTemplate || undefined,
  });
  const btn = $("rule-save");
  btn.disabled = true;
  try {
    await call("CreateAlertRule", params);
    closeRuleForm();
    notice(t("rules.created", { name: String(params.Name) }));
    await loadRules();
  } catch (e) {
    showRefusal(err, e);
  } finally {
    btn.disabled = false;
  }
}

// ---- channels ------------------------------------------------------------------------------------

function renderChannels() {
  const body = $("channels-body");
  body.textContent = "";
  for (const ch of state.alertChannels) body.append(channelRow(ch));
  const panel = $("channels-panel");
  if (state.alertChannels.length) panelState(panel, $("channels-status"), "ready");
  else panelState(panel, $("channels-status"), "empty", t("channels.empty"));
  if (!$("rule-form").hidden) renderChannelChoices();
}

/** @param {AlertChannel} ch */
function channelRow(ch) {
  const actions = h("td", { class: "col-actions" });
  if (isAdmin()) {
    const result = h("span", { class: "test-result", "data-testid": "channel-test-result", role: "status", hidden: true });
    const test = h("button", { type: "button", class: "btn btn-small", "data-testid": "channel-test", text: t("channels.test") });
    test.addEventListener("click", () => testChannel(ch, test, result));
    const del = h("button", { type: "button", class: "btn btn-small btn-danger-quiet", "data-testid": "channel-delete", text: t("channels.delete") });
    del.addEventListener("click", () => deleteChannel(ch, del));
    actions.append(h("div", { class: "row-actions" }, test, del), result);
  }
  return h("tr", { "data-testid": "channel-row", dataset: { channelId: ch.ChannelId, name: ch.Name } },
    h("td", {}, h("strong", { text: ch.Name }), h("div", { class: "muted small", text: `#${ch.ChannelId}` })),
    h("td", { text: ch.Type }),
    h("td", { "data-testid": "channel-config", text: channelSummary(ch) }),
    actions);
}

/**
 * Sends a test alert and says what the receiver answered.
 * @param {AlertChannel} ch
 * @param {HTMLButtonElement} btn
 * @param {HTMLElement} result
 */
async function testChannel(ch, btn, result) {
  btn.disabled = true;
  result.hidden = false;
  result.className = "test-result muted";
  result.dataset.state = "loading";
  result.textContent = t("channels.testing");
  try {
    const r = await call("TestAlertChannel", { ChannelId: ch.ChannelId });
    result.dataset.state = r.Delivered ? "delivered" : "failed";
    result.className = "test-result " + (r.Delivered ? "test-result-ok" : "test-result-error");
    result.textContent = t(r.Delivered ? "channels.delivered" : "channels.notDelivered", { answer: r.Answer || "" });
  } catch (e) {
    result.dataset.state = "error";
    result.className = "test-result test-result-error";
    result.textContent = errorText(e);
  } finally {
    btn.disabled = false;
  }
}

/**
 * @param {AlertChannel} ch
 * @param {HTMLButtonElement} btn
 */
async function deleteChannel(ch, btn) {
  if (!(await confirmDialog(t("channels.confirmDelete", { name: ch.Name })))) { btn.focus(); return; }
  setMessage($("alerts-error"), "");
  try {
    await call("DeleteAlertChannel", { ChannelId: ch.ChannelId });
    notice(t("channels.deleted", { name: ch.Name }));
    await loadChannels();
    await loadRules();
  } catch (e) {
    showRefusal($("alerts-error"), e);
  }
}

function showChannelType() {
  const type = $("channel-type").value;
  for (const part of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("#channel-form [data-type]"))) part.hidden = part.dataset.type !== type;
}

function openChannelForm() {
  if (!isAdmin()) return;
  setMessage($("channel-form-error"), "");
  for (const id of ["channel-name", "channel-url", "channel-secret", "channel-to", "channel-address"]) $(id).value = "";
  $("channel-type").value = "webhook";
  $("channel-protocol").value = "tcp";
  showChannelType();
  $("channel-form").hidden = false;
  $("channel-name").focus();
}

/** @param {SubmitEvent} ev */
async function saveChannel(ev) {
  ev.preventDefault();
  const err = $("channel-form-error");
  setMessage(err, "");
  const type = $("channel-type").value;
  const name = $("channel-name").value.trim();
  const config = channelConfig(type, { url: $("channel-url").value, secret: $("channel-secret").value, to: $("channel-to").value,
    address: $("channel-address").value, protocol: $("channel-protocol").value });
  const btn = $("channel-save");
  btn.disabled = true;
  try {
    await call("CreateAlertChannel", { Name: name, Type: type, Config: config });
    $("channel-secret").value = "";
    $("channel-form").hidden = true;
    notice(t("channels.created", { name }));
    await loadChannels();
    await loadRules();
  } catch (e) {
    showRefusal(err, e);
  } finally {
    btn.disabled = false;
  }
}

// ---- the view's own controls ---------------------------------------------------------------------

/** Nothing of one session's alerts stays for the next one. */
export function resetAlerts() {
  closeRuleForm();
  $("channel-form").hidden = true;
  $("channel-secret").value = "";
  state.firedSeq++;
  state.firedAlerts = [];
  state.alertRules = [];
  state.alertChannels = [];
  state.alertTemplates = [];
  for (const id of ["fired-body", "rules-body", "channels-body", "fired-count"]) $(id).textContent = "";
  for (const id of ["fired-status", "rules-status", "channels-status", "alerts-notice", "alerts-error"]) $(id).hidden = true;
  for (const id of ["fired-panel", "rules-panel", "channels-panel"]) $(id).dataset.state = "idle";
}

export function wireAlerts() {
  conditions.wire(null);
  $("alerts-refresh").addEventListener("click", loadAlerts);
  $("fired-range").addEventListener("change", () => { state.alertsRange = $("fired-range").value; loadFired(); });
  $("rule-new").addEventListener("click", () => openRuleForm(null));
  $("rule-template").addEventListener("change", () => {
    const tpl = state.alertTemplates.find((x) => x.Template === $("rule-template").value);
    $("rule-template").value = "";
    if (tpl) openRuleForm(tpl);
  });
  $("rule-form").addEventListener("submit", saveRule);
  $("rule-cancel").addEventListener("click", closeRuleForm);
  $("channel-new").addEventListener("click", openChannelForm);
  $("channel-type").addEventListener("change", showChannelType);
  $("channel-form").addEventListener("submit", saveChannel);
  $("channel-cancel").addEventListener("click", () => { $("channel-form").hidden = true; });
}
