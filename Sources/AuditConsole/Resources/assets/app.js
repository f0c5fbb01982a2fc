import { TEXT, LANGUAGES } from "./i18n.js";

const API = "/console/api/";
const PAGE_SIZE = 50;
const HISTORY_CAP = 2000;
const TRACKS_PAGE_SIZE = 20;
const PRESETS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
// The API refuses a StartTime older than the account's retention (30 days by default) with
// LimitExceeded.OverTime, and the boundary moves every second: the long presets start a few minutes
// inside it, so that the next pages of the same query (same StartTime) still pass for a while.
const PRESET_SLACK = { "7d": 600, "30d": 600 };
const LANG_KEY = "cloudaudit.console.lang";

const state = {
  lang: "en",
  session: null,
  attrKeys: [],
  preset: "24h",
  query: null,
  next: null,
  events: [],
  searchSeq: 0,
  historySeq: 0,
  tracksPage: 1,
  tracksTotal: 0,
  editing: null,
  trackMode: "single",
  regions: [],
  detailEvent: null,
  detailReturn: null,
  view: null,
};

const $ = (id) => document.getElementById(id);

// ---- i18n --------------------------------------------------------------------------------------

function t(key, vars) {
  const table = TEXT[state.lang] || TEXT.en;
  let s = table[key] ?? TEXT.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

function initialLanguage() {
  let saved = null;
  try { saved = localStorage.getItem(LANG_KEY); } catch (e) { saved = null; }
  if (saved && LANGUAGES.includes(saved)) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return nav.toLowerCase().startsWith("zh") ? "zh" : "en";
}

function applyLabels(root = document) {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  $("lang").value = state.lang;
}

async function setLanguage(lang) {
  state.lang = LANGUAGES.includes(lang) ? lang : "en";
  try { localStorage.setItem(LANG_KEY, state.lang); } catch (e) { /* private mode */ }
  applyLabels();
  renderSessionInfo();
  if (!state.session) return;
  // Labels built by script follow the language too.
  await loadAttributeKeys(true);
  renderEvents();
  renderQueryRange();
  if (state.lastStats) renderStats(state.lastStats);
  if (state.view === "tracks") loadTracks();
  if (state.historyEvents) renderHistory();
  if (state.detailEvent) renderDetail(state.detailEvent);
  renderTrackFormTitle();
}

// ---- small DOM and time helpers ----------------------------------------------------------------

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

const pad = (n) => String(n).padStart(2, "0");

function localText(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function utcText(sec) {
  return new Date(sec * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A <time> in the browser's zone, with the UTC time on hover. */
function timeEl(sec) {
  if (!Number.isFinite(sec)) return h("span", { text: "—" });
  return h("time", { datetime: new Date(sec * 1000).toISOString(), title: utcText(sec), text: localText(sec) });
}

function inputValue(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fromInputValue(v) {
  if (!v) return NaN;
  const ms = new Date(v).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : NaN;
}

function timeZoneName() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "local"; } catch (e) { return "local"; }
}

function nowSec() { return Math.floor(Date.now() / 1000); }

function show(el, on) { el.hidden = !on; }

function setMessage(el, text) {
  el.textContent = text || "";
  el.hidden = !text;
}

// ---- server access -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.code = code;
    this.status = status;
  }
}

function showBanner(text) {
  $("banner-text").textContent = text;
  $("banner").hidden = false;
}

function hideBanner() { $("banner").hidden = true; }

/**
 * One request to the console API. Rejected fetches (server down, network) raise the banner; a 401
 * from anything but the sign-in itself ends the session and returns to the sign-in view.
 */
async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (state.session && state.session.CsrfToken) headers["X-CSRF-Token"] = state.session.CsrfToken;
  }
  let resp;
  try {
    resp = await fetch(API + path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    showBanner(t("banner.unreachable"));
    throw new ApiError("NetworkError", t("banner.unreachable"), 0);
  }
  hideBanner();
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  const err = (data && (data.Error || (data.Response && data.Response.Error))) || null;
  if (resp.status === 401 && path !== "session") {
    const code = (err && err.Code) || "NotSignedIn";
    sessionEnded(endedText(code));
    throw new ApiError(code, err && err.Message, 401);
  }
  if (!resp.ok) {
    throw new ApiError((err && err.Code) || "HTTP" + resp.status, (err && err.Message) || `HTTP ${resp.status}`, resp.status);
  }
  if (err) throw new ApiError(err.Code, err.Message, resp.status);
  return data || {};
}

/** Runs one of the API's actions (or the console's two) as the signed-in caller. */
async function call(action, params) {
  const data = await request("POST", "call", { Action: action, Params: params || {} });
  return data.Response || {};
}

function errorText(e) {
  if (!e) return "";
  if (e.code && e.code !== "NetworkError" && e.message && e.message !== e.code) return `${e.message} (${e.code})`;
  return e.message || String(e);
}

// ---- session -------------------------------------------------------------------------------------

/** Why the session ended, from the server's 401 code. */
function endedText(code) {
  return code === "SessionExpired" ? t("signin.expired") : t("signin.notSignedIn");
}

function sessionEnded(message) {
  // Concurrent calls may all answer 401: the first one decides the message.
  if (!state.session) return;
  state.session = null;
  forgetData();
  showSignIn(message);
}

/** Nothing of one session stays on the page for the next one (maybe another account). */
function forgetData() {
  closeDetail(false);
  closeTrackForm();
  state.searchSeq++;
  state.historySeq++;
  state.query = null;
  state.events = [];
  state.next = null;
  state.lastStats = null;
  state.historyEvents = null;
  state.regions = [];
  state.tracksPage = 1;
  for (const id of ["events-body", "history-body", "tracks-body", "histogram", "top-users", "top-events", "top-ips",
    "results-count", "stats-total", "history-count", "history-range", "query-range", "axis-start", "axis-end"]) $(id).textContent = "";
  for (const id of ["events-status", "history-status", "tracks-status", "tracks-notice", "tracks-error", "query-error"]) $(id).hidden = true;
  for (const id of ["events-panel", "history-panel", "tracks-panel", "histogram"]) $(id).dataset.state = "idle";
  show($("load-more"), false);
  updateExportLinks();
}

function showSignIn(message) {
  document.body.classList.remove("signed-in", "role-auditor", "role-admin");
  show($("nav"), false);
  show($("user-info"), false);
  show($("signout"), false);
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-signin";
  state.view = "signin";
  setMessage($("signin-message"), message || "");
  $("signin-message").classList.toggle("message-error", false);
  const first = state.signinMode === "password" ? $("signin-account") : $("signin-secret-id");
  first.focus();
}

function setSignInMode(mode) {
  state.signinMode = mode;
  $("signin-mode-key").setAttribute("aria-pressed", String(mode === "key"));
  $("signin-mode-password").setAttribute("aria-pressed", String(mode === "password"));
  show($("signin-form-key"), mode === "key");
  show($("signin-form-password"), mode === "password");
}

async function signIn(ev) {
  ev.preventDefault();
  const msg = $("signin-message");
  let body;
  if (state.signinMode === "password") {
    const account = $("signin-account").value.trim();
    const password = $("signin-password").value;
    if (!account || !password) { setMessage(msg, t("signin.missing")); msg.classList.add("message-error"); return; }
    body = { AccountId: /^\d+$/.test(account) ? Number(account) : account, Role: $("signin-role").value, Password: password };
  } else {
    const id = $("signin-secret-id").value.trim();
    const key = $("signin-secret-key").value.trim();
    if (!id || !key) { setMessage(msg, t("signin.missing")); msg.classList.add("message-error"); return; }
    body = { SecretId: id, SecretKey: key };
  }
  const btn = ev.submitter || ev.target.querySelector(".signin-submit");
  btn.disabled = true;
  btn.textContent = t("signin.busy");
  try {
    const data = await request("POST", "session", body);
    $("signin-secret-key").value = "";
    $("signin-password").value = "";
    setMessage(msg, "");
    await startSession(data.Session);
  } catch (e) {
    setMessage(msg, errorText(e));
    msg.classList.add("message-error");
  } finally {
    btn.disabled = false;
    btn.textContent = t("signin.submit");
  }
}

async function signOut() {
  try { await request("DELETE", "session"); } catch (e) { /* the session may be gone already */ }
  sessionEnded(t("signin.signedOut"));
}

function renderSessionInfo() {
  const s = state.session;
  const el = $("user-info");
  if (!s) { el.textContent = ""; return; }
  const user = s.UserName || "";
  const short = user.length > 20 ? user.slice(0, 10) + "…" + user.slice(-4) : user;
  el.textContent = t("session.info", { user: short, role: t("role." + s.Role), account: s.AccountId });
  const idle = Math.round((s.IdleTimeout || 0) / 60);
  el.title = t("session.info", { user, role: t("role." + s.Role), account: s.AccountId }) +
    (s.ExpiresAt ? "\n" + t("session.expires", { time: localText(s.ExpiresAt), idle }) : "");
}

async function startSession(session) {
  state.session = session;
  const admin = session.Role === "admin";
  document.body.classList.add("signed-in");
  document.body.classList.toggle("role-admin", admin);
  document.body.classList.toggle("role-auditor", !admin);
  show($("nav"), true);
  show($("user-info"), true);
  show($("signout"), true);
  renderSessionInfo();
  renderTrackToolbar();
  $("signin-message").hidden = true;
  // replaceState does not fire hashchange: one route() only.
  if (!/^#\/\w+/.test(location.hash)) history.replaceState(null, "", "#/events");
  await route();
}

// ---- routing -------------------------------------------------------------------------------------

const VIEWS = ["events", "history", "tracks"];

async function route() {
  if (!state.session) return;
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const view = VIEWS.includes(name) ? name : "events";
  state.view = view;
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + view;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (view === "events") {
    if (!state.attrKeys.length) await loadAttributeKeys(false);
    if (!state.query) search();
  } else if (view === "tracks") {
    loadTracks();
  }
}

// ---- Operation Record: range and filters -----------------------------------------------------------

function setPreset(preset) {
  state.preset = preset;
  for (const b of document.querySelectorAll("#range-presets .seg")) {
    b.setAttribute("aria-pressed", String(b.dataset.preset === preset));
  }
  $("custom-range").classList.toggle("is-active", preset === "custom");
  if (preset === "custom" && !$("range-start").value) {
    const end = nowSec();
    $("range-start").value = inputValue(end - 86400);
    $("range-end").value = inputValue(end);
  }
}

/** Fixes the range when a search starts, so that paging stays on one query while events arrive. */
function resolveRange(preset) {
  const p = preset || state.preset;
  if (p === "custom") {
    const start = fromInputValue($("range-start").value);
    const end = fromInputValue($("range-end").value);
    if (!Number.isFinite(start) || !Number.isFinite(end) || start > end) return null;
    return { StartTime: start, EndTime: end };
  }
  const end = nowSec();
  return { StartTime: end - PRESETS[p] + (PRESET_SLACK[p] || 0), EndTime: end };
}

function loadAttributeKeys(force) {
  if (!force && (state.attrKeys.length || state.attrKeysLoading)) return state.attrKeysLoading || Promise.resolve();
  state.attrKeysLoading = fetchAttributeKeys().finally(() => { state.attrKeysLoading = null; });
  return state.attrKeysLoading;
}

async function fetchAttributeKeys() {
  try {
    const r = await call("GetAttributeKey", { WebsiteType: state.lang });
    state.attrKeys = (r.AttributeKeyDetails || []).slice().sort((a, b) => (a.Order || 0) - (b.Order || 0));
  } catch (e) {
    if (e.status === 401) return;
    state.attrKeys = [];
    setMessage($("query-error"), t("error.generic", { msg: errorText(e) }));
  }
  // Rebuild the rows with the new labels, keeping what they hold.
  const kept = readFilters();
  $("filter-rows").textContent = "";
  if (kept.length) for (const f of kept) addFilterRow(f.key, f.value);
  else addFilterRow("EventName", "");
}

function keyInfo(key) { return state.attrKeys.find((k) => k.Value === key); }

function addFilterRow(key, value) {
  const rows = $("filter-rows");
  const n = rows.children.length + 1;
  const keySelect = h("select", { class: "filter-key", "data-testid": "filter-key", "aria-label": `${t("filters.key")} ${n}` },
    state.attrKeys.map((k) => h("option", { value: k.Value, text: k.Label || k.Value })));
  if (!state.attrKeys.length) keySelect.append(h("option", { value: key || "EventName", text: key || "EventName" }));
  keySelect.value = key || "EventName";
  const row = h("div", { class: "filter-row", "data-testid": "filter-row" }, keySelect);
  const slot = h("span", { class: "filter-value-slot" });
  row.append(slot);
  const remove = h("button", { type: "button", class: "btn btn-quiet btn-icon filter-remove", "data-testid": "filter-remove",
    "aria-label": t("filters.remove"), title: t("filters.remove"), text: "×" });
  remove.addEventListener("click", () => {
    row.remove();
    if (!rows.children.length) addFilterRow("EventName", "");
    $("filter-add").focus();
  });
  row.append(remove);
  const renderValue = (v) => {
    const info = keyInfo(keySelect.value);
    slot.textContent = "";
    let control;
    if (info && info.LabelType === "select" && info.Starter) {
      control = h("select", { class: "filter-value", "data-testid": "filter-value", "aria-label": `${t("filters.value")} ${n}` },
        h("option", { value: "", text: t("filters.choose") }),
        info.Starter.split(",").map((s) => s.trim()).filter(Boolean).map((s) => h("option", { value: s, text: s })));
    } else {
      control = h("input", { class: "filter-value", "data-testid": "filter-value", "aria-label": `${t("filters.value")} ${n}`,
        spellcheck: "false", placeholder: info ? info.Label : "" });
    }
    control.value = v || "";
    slot.append(control);
  };
  keySelect.addEventListener("change", () => renderValue(""));
  renderValue(value);
  rows.append(row);
  return row;
}

/** The filter rows that hold a value, in order. */
function readFilters() {
  const out = [];
  for (const row of document.querySelectorAll("#filter-rows .filter-row")) {
    const key = row.querySelector(".filter-key").value;
    const value = (row.querySelector(".filter-value").value || "").trim();
    if (value) out.push({ key, value });
  }
  return out;
}

/** Adds a filter (from a top list) unless it is there, then searches again. */
function addFilterAndSearch(key, value) {
  const existing = readFilters();
  if (!existing.some((f) => f.key === key && f.value === value)) {
    const empty = [...document.querySelectorAll("#filter-rows .filter-row")].find((r) => !r.querySelector(".filter-value").value.trim());
    if (empty) empty.remove();
    addFilterRow(key, value);
  }
  search();
}

function renderQueryRange() {
  const q = state.query;
  const el = $("query-range");
  if (!q) { el.textContent = ""; return; }
  el.textContent = t("range.shown", { start: localText(q.StartTime), end: localText(q.EndTime), tz: timeZoneName() });
  el.title = `${utcText(q.StartTime)} – ${utcText(q.EndTime)}`;
  el.dataset.start = q.StartTime;
  el.dataset.end = q.EndTime;
}

function exportHref(format) {
  const q = state.query;
  const p = new URLSearchParams({ format, StartTime: String(q.StartTime), EndTime: String(q.EndTime) });
  if (q.LookupAttributes.length) p.set("LookupAttributes", JSON.stringify(q.LookupAttributes));
  return API + "export?" + p.toString();
}

/**
 * An export is a plain download link, so its answer would be saved as the file even when it is an
 * error. The session is checked first: an ended session returns to sign-in, a server that cannot be
 * reached raises the banner, and only then does the download start.
 */
async function checkedExport(e) {
  const a = e.currentTarget;
  if (a.dataset.checked === "1") { delete a.dataset.checked; return; }
  e.preventDefault();
  if (!state.query) return;
  try {
    await request("GET", "session");
  } catch (err) {
    if (err.status === 401) sessionEnded(endedText(err.code));
    return;
  }
  a.dataset.checked = "1";
  a.click();
}

function updateExportLinks() {
  for (const [id, fmt] of [["export-csv", "csv"], ["export-jsonl", "jsonl"]]) {
    const a = $(id);
    if (state.query) {
      a.href = exportHref(fmt);
      a.setAttribute("download", `cloudaudit-events-${state.query.StartTime}-${state.query.EndTime}.${fmt}`);
      a.removeAttribute("aria-disabled");
    } else {
      a.href = "#";
      a.setAttribute("aria-disabled", "true");
    }
  }
}

// ---- Operation Record: search, results, paging --------------------------------------------------------

async function search(ev) {
  if (ev) ev.preventDefault();
  const range = resolveRange();
  if (!range) {
    setMessage($("query-error"), t("range.invalid"));
    return;
  }
  setMessage($("query-error"), "");
  const attrs = readFilters().map((f) => ({ AttributeKey: f.key, AttributeValue: f.value }));
  state.query = { ...range, LookupAttributes: attrs };
  if (state.preset !== "custom") {
    // Show the fixed range a preset resolved to; editing it switches to a custom range.
    $("range-start").value = inputValue(range.StartTime);
    $("range-end").value = inputValue(range.EndTime);
  }
  state.next = null;
  state.events = [];
  state.total = 0;
  state.listOver = true;
  renderQueryRange();
  updateExportLinks();
  const seq = ++state.searchSeq;
  loadStats(seq);
  await loadPage(seq, true);
}

/** The API parameters of query `q` (its range and filters), plus `extra`. */
function queryParams(q, extra) {
  const params = { StartTime: q.StartTime, EndTime: q.EndTime, ...extra };
  if (q.LookupAttributes.length) params.LookupAttributes = q.LookupAttributes;
  return params;
}

async function loadPage(seq, first) {
  const panel = $("events-panel");
  const q = state.query;
  panelState(panel, $("events-status"), "loading", t("results.loading"));
  if (first) {
    $("events-body").textContent = "";
    $("results-count").textContent = "";
  }
  $("load-more").disabled = true;
  const params = queryParams(q, { MaxResults: PAGE_SIZE });
  if (!first && state.next) params.NextToken = state.next;
  try {
    const r = await call("LookUpEvents", params);
    if (seq !== state.searchSeq) return;
    const evs = r.Events || [];
    state.events.push(...evs);
    state.next = r.NextToken || null;
    state.listOver = !!r.ListOver || !state.next;
    state.total = r.TotalCount ?? state.events.length;
    appendRows($("events-body"), evs, EVENT_COLUMNS);
    finishResults();
  } catch (e) {
    if (seq !== state.searchSeq) return;
    panelState(panel, $("events-status"), "error", t("results.error", { msg: errorText(e) }));
    $("load-more").disabled = false;
  }
  bump(panel);
}

function finishResults() {
  const panel = $("events-panel");
  if (!state.events.length) panelState(panel, $("events-status"), "empty", t("results.empty"), t("results.emptyHint"));
  else panelState(panel, $("events-status"), "ready");
  $("results-count").textContent = state.events.length ? t("results.count", { shown: state.events.length, total: state.total }) : "";
  show($("load-more"), !state.listOver);
  $("load-more").disabled = false;
}

/** Counts finished loads on a panel (`data-loads`), so tests and people reading the DOM know one arrived. */
function bump(el) { el.dataset.loads = String(Number(el.dataset.loads || 0) + 1); }

/** A panel's `data-state` (what the tests wait on) and its status line, set together; the line's look
 * follows the state, or `kind` when given. */
function panelState(panel, statusEl, st, text = "", hint = "", kind = st === "ready" ? "" : st) {
  panel.dataset.state = st;
  setStatus(statusEl, text, kind, hint);
}

function setStatus(el, text, kind, hint) {
  el.textContent = "";
  el.className = "status" + (kind ? " status-" + kind : "");
  if (text) el.append(h("p", { text }));
  if (hint) el.append(h("p", { class: "muted small", text: hint }));
  el.hidden = !text;
}

function recordOf(ev) {
  if (ev._record !== undefined) return ev._record;
  try { ev._record = JSON.parse(ev.CloudAuditEvent || "null"); } catch (e) { ev._record = null; }
  return ev._record;
}

function resultOf(ev) {
  const rec = recordOf(ev) || {};
  const code = Number(ev.ErrorCode ?? rec.errorCode ?? 0);
  if (code) return { ok: false, text: String(code) };
  if (rec.apiErrorCode) return { ok: false, text: String(rec.apiErrorCode) };
  return { ok: true, text: t("result.success") };
}

function badge(text, kind) { return h("span", { class: "badge badge-" + kind, title: text, text }); }

function eventRow(ev, columns) {
  const rec = recordOf(ev) || {};
  const time = Number(ev.EventTime);
  const res = resultOf(ev);
  const resource = resourceOf(ev);
  const cells = {
    time: () => timeEl(time),
    user: () => ev.Username || "",
    eventName: () => ev.EventName || "",
    resourceType: () => resource.type,
    resourceName: () => resource.name,
    sourceIP: () => ev.SourceIPAddress || "",
    actionType: () => rec.actionType ? t("action." + rec.actionType) : "",
    result: () => badge(res.text, res.ok ? "ok" : "error"),
    sensitive: () => [true, 1, "true", "1"].includes(rec.sensitiveAction) ? badge(t("sensitive.yes"), "warn") : "",
  };
  const tr = h("tr", { tabindex: "0", class: "clickable", "data-testid": "event-row", dataset: { eventId: ev.EventId, eventTime: ev.EventTime },
    "aria-label": t("results.open", { name: ev.EventName || "", time: localText(time) }) },
    columns.map((c) => {
      const content = cells[c]();
      // Long values are cut with an ellipsis: the whole value on hover.
      return h("td", { class: "col-" + c, dataset: { col: c }, title: typeof content === "string" && content ? content : null }, content);
    }));
  const open = () => openDetail(ev, tr);
  tr.addEventListener("click", (e) => { if (!e.target.closest("a,button")) open(); });
  tr.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); }
    else if (e.key === "ArrowDown" && tr.nextElementSibling) { e.preventDefault(); tr.nextElementSibling.focus(); }
    else if (e.key === "ArrowUp" && tr.previousElementSibling) { e.preventDefault(); tr.previousElementSibling.focus(); }
  });
  return tr;
}

const EVENT_COLUMNS = ["time", "user", "eventName", "resourceType", "resourceName", "sourceIP", "actionType", "result", "sensitive"];

/** Appends a row per event to a table body, in one DOM change. */
function appendRows(body, evs, columns, testid) {
  const frag = document.createDocumentFragment();
  for (const ev of evs) {
    const tr = eventRow(ev, columns);
    if (testid) tr.setAttribute("data-testid", testid);
    frag.append(tr);
  }
  body.append(frag);
}

function renderEvents() {
  $("events-body").textContent = "";
  appendRows($("events-body"), state.events, EVENT_COLUMNS);
  if (state.query && $("events-panel").dataset.state !== "loading" && $("events-panel").dataset.state !== "error") finishResults();
}

// ---- Operation Record: histogram and top lists --------------------------------------------------------

async function loadStats(seq) {
  const q = state.query;
  const hist = $("histogram");
  hist.dataset.state = "loading";
  hist.textContent = "";
  hist.append(h("p", { class: "muted small histogram-note", text: t("stats.loading") }));
  try {
    const params = queryParams(q, { Buckets: 60 });
    const r = await call("DescribeEventStats", params);
    if (seq !== state.searchSeq) return;
    state.lastStats = r;
    renderStats(r);
    bump(hist);
  } catch (e) {
    if (seq !== state.searchSeq) return;
    state.lastStats = null;
    hist.dataset.state = "error";
    hist.textContent = "";
    hist.append(h("p", { class: "message message-error", role: "alert", text: t("stats.error", { msg: errorText(e) }) }));
    for (const id of ["top-users", "top-events", "top-ips"]) $(id).textContent = "";
    $("stats-total").textContent = "";
    bump(hist);
  }
}

function renderStats(r) {
  const hist = $("histogram");
  const buckets = r.Histogram || [];
  hist.textContent = "";
  const max = Math.max(1, ...buckets.map((b) => b.Count || 0));
  $("stats-total").textContent = t("stats.total", { n: r.TotalCount ?? 0 });
  $("axis-start").textContent = buckets.length ? localText(buckets[0].StartTime) : "";
  $("axis-end").textContent = buckets.length ? localText(buckets[buckets.length - 1].EndTime) : "";
  buckets.forEach((b, i) => {
    const label = t("stats.bar", { count: b.Count, start: localText(b.StartTime), end: localText(b.EndTime) });
    const fill = h("span", { class: "bar-fill" });
    fill.style.height = b.Count ? Math.max(3, Math.round((b.Count / max) * 100)) + "%" : "0";
    const bar = h("button", { type: "button", class: "bar" + (b.Count ? "" : " bar-empty"), "data-testid": "histogram-bar",
      "aria-label": label, title: label, dataset: { start: b.StartTime, end: b.EndTime, count: b.Count, index: i } }, fill);
    bar.addEventListener("click", () => zoomTo(b.StartTime, b.EndTime));
    hist.append(bar);
  });
  hist.dataset.state = buckets.length ? "ready" : "empty";
  const lists = [["top-users", r.TopUsers], ["top-events", r.TopEventNames], ["top-ips", r.TopSourceIPs]];
  for (const [id, items] of lists) {
    const ol = $(id);
    ol.textContent = "";
    if (!items || !items.length) { ol.append(h("li", { class: "muted small", text: t("stats.none") })); continue; }
    const top = Math.max(1, ...items.map((x) => x.Count || 0));
    for (const item of items) {
      const meter = h("span", { class: "top-meter" });
      meter.style.width = Math.round(((item.Count || 0) / top) * 100) + "%";
      const btn = h("button", { type: "button", class: "top-item", "data-testid": "top-item", dataset: { value: item.Value, count: item.Count },
        title: item.Value }, meter, h("span", { class: "top-value", text: item.Value || "—" }), h("span", { class: "top-count", text: item.Count }));
      btn.addEventListener("click", () => addFilterAndSearch(ol.dataset.key, item.Value));
      ol.append(h("li", {}, btn));
    }
  }
}

function zoomTo(start, end) {
  setPreset("custom");
  $("range-start").value = inputValue(start);
  $("range-end").value = inputValue(end);
  search();
}

// ---- detail panel --------------------------------------------------------------------------------

function openDetail(ev, from) {
  state.detailEvent = ev;
  state.detailReturn = from || null;
  renderDetail(ev);
  const panel = $("detail");
  panel.hidden = false;
  document.body.classList.add("detail-open");
  for (const tr of document.querySelectorAll("tr.is-selected")) tr.classList.remove("is-selected");
  if (from) from.classList.add("is-selected");
  $("detail-close").focus();
}

function closeDetail(restoreFocus = true) {
  const panel = $("detail");
  if (panel.hidden) return;
  panel.hidden = true;
  document.body.classList.remove("detail-open");
  state.detailEvent = null;
  for (const tr of document.querySelectorAll("tr.is-selected")) tr.classList.remove("is-selected");
  if (restoreFocus && state.detailReturn && document.body.contains(state.detailReturn)) state.detailReturn.focus();
  state.detailReturn = null;
}

function flatten(prefix, value, out) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value).filter((k) => !k.startsWith("_"));
    if (!keys.length) out.push([prefix, "{}"]);
    for (const k of keys) flatten(prefix ? `${prefix}.${k}` : k, value[k], out);
  } else if (Array.isArray(value)) {
    out.push([prefix, JSON.stringify(value)]);
  } else {
    out.push([prefix, value === null || value === undefined ? "" : String(value)]);
  }
}

function renderDetail(ev) {
  const rec = recordOf(ev);
  $("detail-title").textContent = ev.EventName || ev.EventId;
  const dl = $("detail-fields");
  dl.textContent = "";
  const fields = [];
  for (const [k, v] of Object.entries(ev)) {
    if (k === "CloudAuditEvent" || k.startsWith("_")) continue;
    flatten(k, v, fields);
  }
  for (const [k, v] of fields) {
    let dd;
    if (k === "EventTime") {
      const sec = Number(v);
      dd = h("dd", { dataset: { field: k } }, timeEl(sec), h("span", { class: "muted small", text: ` (${v}, ${utcText(sec)})` }));
    } else {
      dd = h("dd", { dataset: { field: k }, text: v });
    }
    dl.append(h("div", { class: "field-pair", "data-testid": "detail-field" }, h("dt", { text: k }), dd));
  }
  $("detail-raw").textContent = rec ? JSON.stringify(rec, null, 2) : (ev.CloudAuditEvent || "");
  $("detail-copy-status").textContent = "";
  const res = resourceOf(ev);
  $("detail-history").disabled = !(res.type && res.name);
  // An event on several resources names them comma-separated: each one's history too.
  const parts = $("detail-history-parts");
  parts.textContent = "";
  const names = res.name.split(",").map((n) => n.trim()).filter(Boolean);
  if (res.type && names.length > 1) {
    for (const name of names.slice(0, 10)) {
      const b = h("button", { type: "button", class: "btn btn-quiet btn-small", "data-testid": "detail-history-part", dataset: { name },
        text: t("detail.historyOf", { name }) });
      b.addEventListener("click", () => historyOf(ev, name));
      parts.append(b);
    }
  }
  parts.hidden = !parts.children.length;
}

function resourceOf(ev) {
  const rec = recordOf(ev) || {};
  return {
    type: (ev.Resources && ev.Resources.ResourceType) || rec.resourceType || "",
    name: (ev.Resources && ev.Resources.ResourceName) || rec.resourceName || "",
  };
}

async function copyRaw() {
  const text = $("detail-raw").textContent;
  const status = $("detail-copy-status");
  const viaSelection = () => {
    const range = document.createRange();
    range.selectNodeContents($("detail-raw"));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    const ok = document.execCommand("copy");
    sel.removeAllRanges();
    return ok;
  };
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch (e) { ok = false; }
  if (!ok) { try { ok = viaSelection(); } catch (e) { ok = false; } }
  status.textContent = ok ? t("detail.copied") : t("detail.copyFailed");
}

// ---- resource history ------------------------------------------------------------------------------

function historyRange() {
  const choice = $("history-range-select").value;
  if (choice !== "current") return resolveRange(choice);
  return resolveRange();
}

async function runHistory(ev) {
  if (ev) ev.preventDefault();
  const type = $("history-type").value.trim();
  const name = $("history-name").value.trim();
  const err = $("history-error");
  if (!type || !name) { setMessage(err, t("history.missing")); return; }
  const range = historyRange();
  if (!range) { setMessage(err, t("range.invalid")); return; }
  setMessage(err, "");
  const seq = ++state.historySeq;
  const panel = $("history-panel");
  const rangeEl = $("history-range");
  rangeEl.textContent = t("range.shown", { start: localText(range.StartTime), end: localText(range.EndTime), tz: timeZoneName() });
  rangeEl.dataset.start = range.StartTime;
  rangeEl.dataset.end = range.EndTime;
  rangeEl.dataset.type = type;
  rangeEl.dataset.name = name;
  $("history-body").textContent = "";
  $("history-count").textContent = "";
  state.historyEvents = null;
  panelState(panel, $("history-status"), "loading", t("history.loading", { n: 0 }));
  const attrs = [{ AttributeKey: "ResourceType", AttributeValue: type }, { AttributeKey: "ResourceName", AttributeValue: name }];
  const out = [];
  let token = null;
  let capped = false;
  try {
    for (;;) {
      const params = { StartTime: range.StartTime, EndTime: range.EndTime, MaxResults: PAGE_SIZE, LookupAttributes: attrs };
      if (token) params.NextToken = token;
      const r = await call("LookUpEvents", params);
      if (seq !== state.historySeq) return;
      out.push(...(r.Events || []));
      setStatus($("history-status"), t("history.loading", { n: out.length }), "loading");
      if (r.ListOver || !r.NextToken) break;
      if (out.length >= HISTORY_CAP) { capped = true; break; }
      token = r.NextToken;
    }
  } catch (e) {
    if (seq !== state.historySeq) return;
    panelState(panel, $("history-status"), "error", t("results.error", { msg: errorText(e) }));
    bump(panel);
    return;
  }
  state.historyEvents = out.slice().reverse();
  state.historyCapped = capped;
  renderHistory();
  bump(panel);
}

function renderHistory() {
  const evs = state.historyEvents || [];
  const body = $("history-body");
  body.textContent = "";
  appendRows(body, evs, ["time", "user", "eventName", "sourceIP", "result"], "history-row");
  const panel = $("history-panel");
  $("history-count").textContent = t("history.count", { n: evs.length });
  if (!evs.length) panelState(panel, $("history-status"), "empty", t("history.empty"));
  else if (state.historyCapped) panelState(panel, $("history-status"), "ready", t("history.capped", { n: evs.length }), "", "warn");
  else panelState(panel, $("history-status"), "ready");
}

function historyOf(ev, name) {
  const res = resourceOf(ev);
  if (!res.type || !res.name) return;
  $("history-type").value = res.type;
  $("history-name").value = name || res.name;
  $("history-range-select").value = "current";
  closeDetail(false);
  location.hash = "#/history";
  runHistory();
}

// ---- tracking sets ---------------------------------------------------------------------------------------

function isAdmin() { return !!(state.session && state.session.Role === "admin"); }

function renderTrackToolbar() {
  const bar = $("tracks-toolbar");
  const old = $("track-new");
  if (old) old.remove();
  const ro = $("tracks-readonly");
  if (ro) ro.remove();
  if (isAdmin()) {
    const btn = h("button", { type: "button", id: "track-new", "data-testid": "track-new", class: "btn btn-primary", "data-i18n": "tracks.new", text: t("tracks.new") });
    btn.addEventListener("click", () => openTrackForm(null));
    bar.append(btn);
  } else {
    $("tracks-notice").insertAdjacentElement("beforebegin",
      h("p", { id: "tracks-readonly", class: "message", "data-testid": "tracks-readonly", "data-i18n": "tracks.readOnly", text: t("tracks.readOnly") }));
    $("track-form").hidden = true;
  }
}

function filtersOf(track) {
  const f = track.Filters && track.Filters.ResourceFields;
  if (f && f.length) return f;
  return [{ ResourceType: track.ResourceType, ActionType: track.ActionType, EventNames: track.EventNames || [] }];
}

function describeFilter(f) {
  const names = (f.EventNames || []).join(", ");
  return `${f.ResourceType === "*" ? t("filter.allProducts") : f.ResourceType} · ${f.ActionType === "*" ? t("filter.readWrite") : t("action." + f.ActionType)} · ${names === "*" ? t("filter.allEvents") : names}`;
}

async function loadTracks() {
  const panel = $("tracks-panel");
  panelState(panel, $("tracks-status"), "loading", t("tracks.loading"));
  setMessage($("tracks-error"), "");
  let tracks, statuses = {}, statusError = null;
  try {
    const [list, delivery] = await Promise.all([
      call("DescribeAuditTracks", { PageNumber: state.tracksPage, PageSize: TRACKS_PAGE_SIZE }),
      call("DescribeDeliveryStatus", {}).catch((e) => { if (e.status === 401) throw e; statusError = e; return { Statuses: [] }; }),
    ]);
    // The list answers the first product filter only (as the official API does): read each set
    // of the page for its multi-product filters.
    tracks = await Promise.all((list.Tracks || []).map((tr) =>
      call("DescribeAuditTrack", { TrackId: tr.TrackId }).then((d) => ({ ...tr, Filters: d.Filters })).catch(() => tr)));
    state.tracksTotal = list.TotalCount || 0;
    for (const s of delivery.Statuses || []) statuses[s.TrackId] = s;
    if (!tracks.length && state.tracksPage > 1 && state.tracksTotal) {
      state.tracksPage = Math.ceil(state.tracksTotal / TRACKS_PAGE_SIZE);
      return loadTracks();
    }
  } catch (e) {
    panelState(panel, $("tracks-status"), "error", t("error.generic", { msg: errorText(e) }));
    bump(panel);
    return;
  }
  renderTracks(tracks, statuses, statusError);
  bump(panel);
}

function renderTracks(tracks, statuses, statusError) {
  const body = $("tracks-body");
  body.textContent = "";
  for (const tr of tracks) body.append(trackRow(tr, statuses[tr.TrackId], statusError));
  const panel = $("tracks-panel");
  if (tracks.length) panelState(panel, $("tracks-status"), "ready");
  else panelState(panel, $("tracks-status"), "empty", t("tracks.empty"));
  const pages = Math.max(1, Math.ceil(state.tracksTotal / TRACKS_PAGE_SIZE));
  $("tracks-page").textContent = t("tracks.page", { n: state.tracksPage, pages });
  $("tracks-prev").disabled = state.tracksPage <= 1;
  $("tracks-next").disabled = state.tracksPage >= pages;
  show($("tracks-prev").parentElement, pages > 1);
}

function trackRow(track, st, statusError) {
  const on = Number(track.Status) === 1;
  const s = track.Storage || {};
  const delivery = h("div", { class: "delivery", "data-testid": "track-delivery" });
  if (statusError) {
    delivery.append(h("span", { class: "muted small", text: t("delivery.unavailable", { msg: errorText(statusError) }) }));
  } else if (st) {
    if (st.DeliveredAt) delivery.append(h("div", {}, t("delivery.last", { time: "" }), timeEl(Number(st.DeliveredAt))));
    else delivery.append(h("div", { class: "muted", text: t("delivery.never") }));
    delivery.append(h("div", { class: "muted small", "data-testid": "track-lag", text: t("delivery.lag", { events: st.LagEvents ?? 0, seconds: st.LagSeconds ?? 0 }) }));
    if (st.Files !== undefined) delivery.append(h("div", { class: "muted small", text: t("delivery.files", { files: st.Files, events: st.Events ?? 0 }) }));
    if (st.LastError) {
      delivery.append(h("div", { class: "delivery-error", "data-testid": "track-last-error",
        text: t("delivery.error", { time: st.LastErrorAt ? localText(Number(st.LastErrorAt)) : "", msg: st.LastError }) }));
    }
  }
  let where = h("span", { class: "muted", text: (st && st.Location) || "—" });
  if (st && st.Location && /^(https?|file|s3|cos):/i.test(st.Location)) {
    where = h("a", { href: st.Location, target: "_blank", rel: "noopener noreferrer", class: "location", "data-testid": "track-location",
      title: st.Location, text: st.Location });
  }
  const actions = h("td", { class: "col-actions" });
  if (isAdmin()) {
    const edit = h("button", { type: "button", class: "btn btn-small", "data-testid": "track-edit", dataset: { action: "edit" }, text: t("tracks.edit") });
    edit.addEventListener("click", () => openTrackForm(track));
    const toggle = h("button", { type: "button", class: "btn btn-small", "data-testid": "track-toggle", dataset: { action: on ? "stop" : "start" },
      text: on ? t("tracks.stop") : t("tracks.start") });
    toggle.addEventListener("click", () => setTrackStatus(track, on ? 0 : 1, toggle));
    const del = h("button", { type: "button", class: "btn btn-small btn-danger-quiet", "data-testid": "track-delete", dataset: { action: "delete" }, text: t("tracks.delete") });
    del.addEventListener("click", () => deleteTrack(track, del));
    actions.append(h("div", { class: "row-actions" }, edit, toggle, del));
  }
  return h("tr", { "data-testid": "track-row", dataset: { trackId: track.TrackId, name: track.Name, status: track.Status } },
    h("td", {}, h("strong", { text: track.Name }), h("div", { class: "muted small", text: `#${track.TrackId}` })),
    h("td", {}, badge(on ? t("status.on") : t("status.off"), on ? "ok" : "neutral")),
    h("td", { class: "filters-cell" }, filtersOf(track).map((f) => h("div", { text: describeFilter(f) }))),
    h("td", {}, h("div", { text: `${s.StorageRegion || ""} / ${s.StorageName || ""}` }), h("div", { class: "muted small", text: `${s.StoragePrefix || ""} · ${Number(s.Compress) === 2 ? "json" : "gzip"}` })),
    h("td", {}, delivery),
    h("td", { class: "col-location" }, where),
    actions);
}

function notice(text) {
  setMessage($("tracks-notice"), text);
}

async function setTrackStatus(track, status, btn) {
  btn.disabled = true;
  setMessage($("tracks-error"), "");
  try {
    await call("ModifyAuditTrack", { TrackId: track.TrackId, Status: status });
    notice(t(status ? "tracks.started" : "tracks.stopped", { name: track.Name }));
    await loadTracks();
  } catch (e) {
    btn.disabled = false;
    if (e.status !== 401) setMessage($("tracks-error"), errorText(e));
  }
}

function confirmDialog(text) {
  const dlg = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    const done = () => { dlg.removeEventListener("close", done); resolve(dlg.returnValue === "ok"); };
    dlg.returnValue = "";
    dlg.addEventListener("close", done);
    dlg.showModal();
    $("confirm-cancel").focus();
  });
}

async function deleteTrack(track, btn) {
  if (!(await confirmDialog(t("tracks.confirmDelete", { name: track.Name })))) { btn.focus(); return; }
  setMessage($("tracks-error"), "");
  try {
    await call("DeleteAuditTrack", { TrackId: track.TrackId });
    notice(t("tracks.deleted", { name: track.Name }));
    if (state.editing && state.editing.TrackId === track.TrackId) closeTrackForm();
    await loadTracks();
  } catch (e) {
    if (e.status !== 401) setMessage($("tracks-error"), errorText(e));
  }
}

async function loadRegions() {
  if (state.regions.length) return;
  try {
    const r = await call("ListCosEnableRegion", { WebsiteType: state.lang });
    state.regions = r.EnableRegions || [];
  } catch (e) {
    state.regions = [];
    if (e.status !== 401) setMessage($("track-form-error"), errorText(e));
  }
}

function fillRegions(selected) {
  const sel = $("track-region");
  sel.textContent = "";
  for (const r of state.regions) sel.append(h("option", { value: r.CosRegion, text: r.CosRegionName && r.CosRegionName !== r.CosRegion ? `${r.CosRegionName} (${r.CosRegion})` : r.CosRegion }));
  if (selected && !state.regions.some((r) => r.CosRegion === selected)) sel.append(h("option", { value: selected, text: selected }));
  if (selected) sel.value = selected;
}

function setTrackMode(mode) {
  state.trackMode = mode;
  $("track-mode-single").setAttribute("aria-pressed", String(mode === "single"));
  $("track-mode-multi").setAttribute("aria-pressed", String(mode === "multi"));
  show($("track-single"), mode === "single");
  show($("track-multi"), mode === "multi");
  if (mode === "multi" && !$("track-fields").children.length) {
    addFieldRow({ ResourceType: $("track-resource-type").value || "*", ActionType: $("track-action-type").value, EventNames: splitNames($("track-event-names").value) });
  }
}

function splitNames(text) {
  return String(text || "").split(",").map((s) => s.trim()).filter(Boolean);
}

function addFieldRow(f) {
  const wrap = $("track-fields");
  const n = wrap.children.length + 1;
  const rt = h("input", { class: "field-resource-type", "data-testid": "field-resource-type", spellcheck: "false", "aria-label": `${t("form.resourceType")} ${n}` });
  rt.value = f.ResourceType || "*";
  const at = h("select", { class: "field-action-type", "data-testid": "field-action-type", "aria-label": `${t("form.actionType")} ${n}` },
    h("option", { value: "*", text: t("actionType.any") }), h("option", { value: "Read", text: t("action.Read") }), h("option", { value: "Write", text: t("action.Write") }));
  at.value = f.ActionType || "*";
  const names = h("input", { class: "field-event-names", "data-testid": "field-event-names", spellcheck: "false", "aria-label": `${t("form.eventNames")} ${n}`,
    placeholder: t("form.eventNamesHint") });
  names.value = (f.EventNames || ["*"]).join(", ");
  const remove = h("button", { type: "button", class: "btn btn-quiet btn-icon", "data-testid": "field-remove", "aria-label": t("form.fieldRemove"), title: t("form.fieldRemove"), text: "×" });
  const row = h("div", { class: "track-field-row", "data-testid": "track-field-row" },
    h("label", { class: "field" }, h("span", { text: t("form.resourceType") }), rt),
    h("label", { class: "field" }, h("span", { text: t("form.actionType") }), at),
    h("label", { class: "field field-wide" }, h("span", { text: t("form.eventNames") }), names),
    remove);
  remove.addEventListener("click", () => { row.remove(); $("track-field-add").focus(); });
  wrap.append(row);
  return row;
}

function renderTrackFormTitle() {
  const e = state.editing;
  $("track-form-title").textContent = e ? t("form.editTitle", { name: e.Name }) : t("form.createTitle");
  $("track-save").textContent = e ? t("form.update") : t("form.create");
}

async function openTrackForm(listed) {
  if (!isAdmin()) return;
  const form = $("track-form");
  setMessage($("track-form-error"), "");
  let track = listed;
  if (listed) {
    // Edit what the set is now, not what the list showed (it may be minutes old).
    try {
      track = { ...(await call("DescribeAuditTrack", { TrackId: listed.TrackId })), TrackId: listed.TrackId };
    } catch (e) {
      if (e.status !== 401) setMessage($("tracks-error"), errorText(e));
      return;
    }
  }
  state.editing = track;
  renderTrackFormTitle();
  await loadRegions();
  const s = (track && track.Storage) || {};
  $("track-name").value = track ? track.Name : "";
  $("track-name").disabled = !!track;
  $("track-status").checked = track ? Number(track.Status) === 1 : true;
  $("track-fields").textContent = "";
  const filters = track ? filtersOf(track) : [{ ResourceType: "*", ActionType: "*", EventNames: ["*"] }];
  const multi = !!(track && track.Filters && track.Filters.ResourceFields && track.Filters.ResourceFields.length > 1);
  $("track-resource-type").value = filters[0].ResourceType || "*";
  $("track-action-type").value = filters[0].ActionType || "*";
  $("track-event-names").value = (filters[0].EventNames || ["*"]).join(", ");
  if (multi) for (const f of filters) addFieldRow(f);
  setTrackMode(multi ? "multi" : "single");
  fillRegions(s.StorageRegion || (state.regions[0] && state.regions[0].CosRegion));
  $("track-bucket").value = s.StorageName || "";
  $("track-prefix").value = s.StoragePrefix || "cloudaudit";
  $("track-compress").value = String(s.Compress || 1);
  form.hidden = false;
  (track ? $("track-resource-type") : $("track-name")).focus();
  form.scrollIntoView({ block: "nearest" });
}

function closeTrackForm() {
  $("track-form").hidden = true;
  state.editing = null;
}

function storageParams() {
  return {
    StorageType: "cos",
    StorageRegion: $("track-region").value,
    StorageName: $("track-bucket").value.trim(),
    StoragePrefix: $("track-prefix").value.trim(),
    Compress: Number($("track-compress").value),
  };
}

function storageChanged(track, s) {
  const o = track.Storage || {};
  return o.StorageRegion !== s.StorageRegion || o.StorageName !== s.StorageName || o.StoragePrefix !== s.StoragePrefix || Number(o.Compress || 1) !== s.Compress;
}

async function saveTrack(ev) {
  ev.preventDefault();
  const err = $("track-form-error");
  setMessage(err, "");
  const editing = state.editing;
  const status = $("track-status").checked ? 1 : 0;
  const storage = storageParams();
  let action, params;
  if (state.trackMode === "multi") {
    const fields = [...document.querySelectorAll("#track-fields .track-field-row")].map((row) => ({
      ResourceType: row.querySelector(".field-resource-type").value.trim(),
      ActionType: row.querySelector(".field-action-type").value,
      EventNames: splitNames(row.querySelector(".field-event-names").value),
    }));
    params = { Filters: { ResourceFields: fields } };
    action = editing ? "ModifyEventsAuditTrack" : "CreateEventsAuditTrack";
  } else {
    params = { ResourceType: $("track-resource-type").value.trim(), ActionType: $("track-action-type").value,
      EventNames: splitNames($("track-event-names").value) };
    action = editing ? "ModifyAuditTrack" : "CreateAuditTrack";
  }
  if (editing) {
    params.TrackId = editing.TrackId;
    params.Status = status;
    if (storageChanged(editing, storage)) params.Storage = storage;
  } else {
    params.Name = $("track-name").value.trim();
    params.Status = status;
    params.Storage = storage;
  }
  const btn = $("track-save");
  btn.disabled = true;
  btn.textContent = t("form.busy");
  try {
    await call(action, params);
    const name = editing ? editing.Name : params.Name;
    closeTrackForm();
    notice(t("tracks.saved", { name }));
    await loadTracks();
  } catch (e) {
    // The API's own message, verbatim, with its code.
    if (e.status !== 401) {
      err.textContent = "";
      err.append(h("span", { "data-testid": "track-form-error-message", text: e.message }), " ", h("code", { class: "muted small", text: e.code || "" }));
      err.hidden = false;
    }
  } finally {
    btn.disabled = false;
    renderTrackFormTitle();
  }
}

// ---- start ---------------------------------------------------------------------------------------------------

function wire() {
  $("lang").addEventListener("change", (e) => setLanguage(e.target.value));
  $("banner-dismiss").addEventListener("click", hideBanner);
  for (const id of ["export-csv", "export-jsonl"]) $(id).addEventListener("click", checkedExport);
  $("signin-form-key").addEventListener("submit", signIn);
  $("signin-form-password").addEventListener("submit", signIn);
  $("signin-mode-key").addEventListener("click", () => { setSignInMode("key"); $("signin-secret-id").focus(); });
  $("signin-mode-password").addEventListener("click", () => { setSignInMode("password"); $("signin-account").focus(); });
  $("signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);

  for (const b of document.querySelectorAll("#range-presets .seg")) {
    b.addEventListener("click", () => {
      setPreset(b.dataset.preset);
      if (b.dataset.preset !== "custom") search();
      else $("range-start").focus();
    });
  }
  for (const id of ["range-start", "range-end"]) $(id).addEventListener("change", () => setPreset("custom"));
  $("query-form").addEventListener("submit", search);
  $("filter-add").addEventListener("click", () => {
    const row = addFilterRow("EventName", "");
    row.querySelector(".filter-key").focus();
  });
  $("load-more").addEventListener("click", () => loadPage(state.searchSeq, false));
  $("top-more").addEventListener("click", () => {
    const open = $("top-more").getAttribute("aria-expanded") !== "true";
    $("top-more").setAttribute("aria-expanded", String(open));
    $("top-more").dataset.i18n = open ? "stats.less" : "stats.more";
    $("top-more").textContent = t($("top-more").dataset.i18n);
    for (const id of ["top-users", "top-events", "top-ips"]) $(id).classList.toggle("is-expanded", open);
  });

  $("detail-close").addEventListener("click", () => closeDetail());
  $("detail-copy").addEventListener("click", copyRaw);
  $("detail-history").addEventListener("click", () => state.detailEvent && historyOf(state.detailEvent));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("detail").hidden && !$("confirm").open) closeDetail();
  });

  $("history-form").addEventListener("submit", runHistory);

  $("tracks-refresh").addEventListener("click", loadTracks);
  $("tracks-prev").addEventListener("click", () => { state.tracksPage = Math.max(1, state.tracksPage - 1); loadTracks(); });
  $("tracks-next").addEventListener("click", () => { state.tracksPage += 1; loadTracks(); });
  $("track-form").addEventListener("submit", saveTrack);
  $("track-cancel").addEventListener("click", closeTrackForm);
  $("track-mode-single").addEventListener("click", () => setTrackMode("single"));
  $("track-mode-multi").addEventListener("click", () => setTrackMode("multi"));
  $("track-field-add").addEventListener("click", () => addFieldRow({}).querySelector("input").focus());
}

async function boot() {
  state.lang = initialLanguage();
  applyLabels();
  wire();
  setSignInMode("key");
  setPreset("24h");
  updateExportLinks();
  try {
    const data = await request("GET", "session");
    document.body.classList.remove("booting");
    await startSession(data.Session);
  } catch (e) {
    document.body.classList.remove("booting");
    if (e.status === 401) showSignIn(e.code === "SessionExpired" ? t("signin.expired") : "");
    else showSignIn(e.code === "NetworkError" ? "" : errorText(e));
  }
}

boot();
