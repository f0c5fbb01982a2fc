// @ts-check
/**
 * The Operation Record view: the time range and filters, the search and its pages of results, the
 * histogram and top lists (DescribeEventStats), and the export links.
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, h, show, setMessage, bump, panelState } from "./dom.js";
import { call, request, errorText, sessionLost } from "./api.js";
import { FilterRows } from "./filters.js";
import { localText, utcText, inputValue, fromInputValue, timeZoneName, nowSec } from "./time.js";
import { PAGE_SIZE, presetRange, customRange, lookupAttributes, queryParams, exportHref, exportFileName } from "./query.js";
import { appendRows, setHead, EVENT_COLUMNS } from "./event-rows.js";
import { openDetail } from "./detail.js";

/** @typedef {import("./query.js").Query} Query */
/** @typedef {import("./state.js").EventStats} EventStats */

/** The search form's filter rows (`#filter-rows`). */
const filters = new FilterRows("filter", "query-error");

// ---- range and filters ---------------------------------------------------------------------------

/** @param {string} preset a preset of query.js, or "custom" */
export function setPreset(preset) {
  state.preset = preset;
  for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("#range-presets .seg"))) {
    b.setAttribute("aria-pressed", String(b.dataset.preset === preset));
  }
  $("custom-range").classList.toggle("is-active", preset === "custom");
  if (preset === "custom" && !$("range-start").value) {
    const end = nowSec();
    $("range-start").value = inputValue(end - 86400);
    $("range-end").value = inputValue(end);
  }
}

/**
 * Fixes the range when a search starts, so that paging stays on one query while events arrive.
 * @param {string} [preset] the form's when not given
 * @returns {import("./query.js").Range | null} null for a custom range that is not one
 */
export function resolveRange(preset) {
  const p = preset || state.preset;
  if (p === "custom") return customRange(fromInputValue($("range-start").value), fromInputValue($("range-end").value));
  return presetRange(p, nowSec());
}

/**
 * Adds a filter (from a top list) unless it is there, then searches again.
 * @param {string} key
 * @param {string} value
 */
function addFilterAndSearch(key, value) {
  filters.put(key, value);
  search();
}

export function renderQueryRange() {
  const q = state.query;
  const el = $("query-range");
  if (!q) { el.textContent = ""; return; }
  el.textContent = t("range.shown", { start: localText(q.StartTime), end: localText(q.EndTime), tz: timeZoneName() });
  el.title = `${utcText(q.StartTime)} – ${utcText(q.EndTime)}`;
  el.dataset.start = q.StartTime;
  el.dataset.end = q.EndTime;
}

// ---- export --------------------------------------------------------------------------------------

/**
 * An export is a plain download link, so its answer would be saved as the file even when it is an
 * error. The session is checked first: an ended session returns to sign-in, a server that cannot be
 * reached raises the banner, and only then does the download start.
 * @param {MouseEvent} e
 */
async function checkedExport(e) {
  const a = /** @type {HTMLAnchorElement} */ (e.currentTarget);
  if (a.dataset.checked === "1") { delete a.dataset.checked; return; }
  e.preventDefault();
  if (!state.query) return;
  try {
    await request("GET", "session");
  } catch (err) {
    if (err.status === 401) sessionLost(err.code);
    return;
  }
  a.dataset.checked = "1";
  a.click();
}

export function updateExportLinks() {
  for (const [id, fmt] of [["export-csv", "csv"], ["export-jsonl", "jsonl"]]) {
    const a = $(id);
    if (state.query) {
      a.href = exportHref(state.query, fmt);
      a.setAttribute("download", exportFileName(state.query, fmt));
      a.removeAttribute("aria-disabled");
    } else {
      a.href = "#";
      a.setAttribute("aria-disabled", "true");
    }
  }
}

// ---- search, results, paging ---------------------------------------------------------------------

/** @param {Event} [ev] the form's submit */
export async function search(ev) {
  if (ev) ev.preventDefault();
  const range = resolveRange();
  if (!range) {
    setMessage($("query-error"), t("range.invalid"));
    return;
  }
  setMessage($("query-error"), "");
  const attrs = lookupAttributes(filters.read());
  state.query = { ...range, LookupAttributes: attrs, HideOwnReads: /** @type {HTMLInputElement} */ ($("hide-own")).checked };
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
  // The first page takes a snapshot of the log (NewSnapshot); the histogram, the next pages and the
  // export then count that same snapshot, so that their totals agree while events arrive.
  statsLoading();
  if (await loadPage(seq, true)) loadStats(seq);
}

/**
 * @param {number} seq the search this page is of; dropped when another started
 * @param {boolean} first
 * @returns {Promise<boolean>} whether the page came (and its search is still the one shown)
 */
async function loadPage(seq, first) {
  const panel = $("events-panel");
  const q = /** @type {Query} */ (state.query); // set by the search this page is of
  panelState(panel, $("events-status"), "loading", t("results.loading"));
  if (first) {
    $("events-body").textContent = "";
    $("results-count").textContent = "";
    show($("load-more"), false);
  }
  $("load-more").disabled = true;
  const params = queryParams(q, { MaxResults: PAGE_SIZE });
  if (first) params.NewSnapshot = 1;
  if (!first && state.next) params.NextToken = state.next;
  try {
    const r = await call("LookUpEvents", params);
    if (seq !== state.searchSeq) return false;
    if (first && typeof r.Snapshot === "number") {
      q.Snapshot = r.Snapshot;
      updateExportLinks();
    }
    const evs = r.Events || [];
    state.events.push(...evs);
    state.next = r.NextToken || null;
    state.listOver = !!r.ListOver || !state.next;
    state.total = r.TotalCount ?? state.events.length;
    appendRows($("events-body"), evs, EVENT_COLUMNS);
    finishResults();
    bump(panel);
    return true;
  } catch (e) {
    if (seq !== state.searchSeq) return false;
    panelState(panel, $("events-status"), "error", t("results.error", { msg: errorText(e) }));
    // A refused search shows nothing of the previous one: no bars, no axis, no "Load more" (a later
    // page that failed keeps its button, to try again).
    if (first) {
      clearStats(t("stats.noSearch"));
      bump($("histogram"));
    }
    $("load-more").disabled = false;
    bump(panel);
    return false;
  }
}

function finishResults() {
  const panel = $("events-panel");
  if (!state.events.length) panelState(panel, $("events-status"), "empty", t("results.empty"), t("results.emptyHint"));
  else panelState(panel, $("events-status"), "ready");
  $("results-count").textContent = state.events.length ? t("results.count", { shown: state.events.length, total: state.total }) : "";
  show($("load-more"), !state.listOver);
  $("load-more").disabled = false;
}

/** Draws the loaded events again (the language changed). */
export function renderEvents() {
  $("events-body").textContent = "";
  appendRows($("events-body"), state.events, EVENT_COLUMNS);
  if (state.query && $("events-panel").dataset.state !== "loading" && $("events-panel").dataset.state !== "error") finishResults();
}

// ---- histogram and top lists ---------------------------------------------------------------------

/** The histogram while its search's first page loads: no bars, totals or axis of an earlier search. */
function statsLoading() {
  clearStats(t("stats.loading"));
  $("histogram").dataset.state = "loading";
}

/**
 * The histogram with no bars: a note (or an error) in their place, the axis, total and top lists empty.
 * @param {string} note
 * @param {boolean} [isError]
 */
function clearStats(note, isError = false) {
  const hist = $("histogram");
  state.lastStats = null;
  hist.dataset.state = isError ? "error" : "idle";
  hist.textContent = "";
  hist.append(isError ? h("p", { class: "message message-error", role: "alert", text: note }) : h("p", { class: "muted small histogram-note", text: note }));
  for (const id of ["top-users", "top-events", "top-ips", "stats-total", "axis-start", "axis-end"]) $(id).textContent = "";
}

/** @param {number} seq the search these stats are of */
async function loadStats(seq) {
  const q = /** @type {Query} */ (state.query); // set by the search these stats are of
  const hist = $("histogram");
  try {
    const params = queryParams(q, { Buckets: 60 });
    const r = await call("DescribeEventStats", params);
    if (seq !== state.searchSeq) return;
    state.lastStats = r;
    renderStats(r);
  } catch (e) {
    if (seq !== state.searchSeq) return;
    clearStats(t("stats.error", { msg: errorText(e) }), true);
  }
  bump(hist);
}

/** @param {EventStats} r */
export function renderStats(r) {
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
  /** @type {[string, import("./state.js").TopValue[] | undefined][]} */
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

/**
 * Searches the range of one histogram bar.
 * @param {number} start
 * @param {number} end
 */
function zoomTo(start, end) {
  setPreset("custom");
  $("range-start").value = inputValue(start);
  $("range-end").value = inputValue(end);
  search();
}

/**
 * Opens one event in the Operation Record (a fired alert's link): its EventId as the only filter over the
 * last 30 days, then its detail once the search found it.
 * @param {string} eventId
 */
export async function showEvent(eventId) {
  filters.clear();
  filters.put("EventId", eventId);
  setPreset("30d");
  location.hash = "#/events";
  const seq = state.searchSeq + 1;
  await search();
  if (seq !== state.searchSeq || state.view !== "events") return;
  const i = state.events.findIndex((ev) => ev.EventId === eventId);
  const row = /** @type {HTMLElement[]} */ ([...$("events-body").rows]).find((r) => r.dataset.eventId === eventId);
  if (i >= 0) openDetail(state.events[i], row);
}

// ---- the view's own controls ---------------------------------------------------------------------

/** Nothing of one session's search stays for the next one. */
export function resetEvents() {
  state.searchSeq++;
  state.query = null;
  state.events = [];
  state.next = null;
  state.lastStats = null;
  for (const id of ["events-body", "histogram", "top-users", "top-events", "top-ips", "results-count", "stats-total", "query-range",
    "axis-start", "axis-end"]) $(id).textContent = "";
  for (const id of ["events-status", "query-error"]) $(id).hidden = true;
  for (const id of ["events-panel", "histogram"]) $(id).dataset.state = "idle";
  show($("load-more"), false);
  /** @type {HTMLInputElement} */ ($("hide-own")).checked = true;
  updateExportLinks();
}

export function wireEvents() {
  filters.wire("hide-own");
  setHead($("events-table"), EVENT_COLUMNS);
  for (const id of ["export-csv", "export-jsonl"]) $(id).addEventListener("click", checkedExport);
  for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("#range-presets .seg"))) {
    b.addEventListener("click", () => {
      setPreset(/** @type {string} */ (b.dataset.preset));
      if (b.dataset.preset !== "custom") search();
      else $("range-start").focus();
    });
  }
  for (const id of ["range-start", "range-end"]) $(id).addEventListener("change", () => setPreset("custom"));
  $("query-form").addEventListener("submit", search);
  $("hide-own").addEventListener("change", () => { if (state.query) search(); });
  $("load-more").addEventListener("click", () => loadPage(state.searchSeq, false));
  $("top-more").addEventListener("click", () => {
    const open = $("top-more").getAttribute("aria-expanded") !== "true";
    $("top-more").setAttribute("aria-expanded", String(open));
    $("top-more").dataset.i18n = open ? "stats.less" : "stats.more";
    $("top-more").textContent = t($("top-more").dataset.i18n);
    for (const id of ["top-users", "top-events", "top-ips"]) $(id).classList.toggle("is-expanded", open);
  });
}
