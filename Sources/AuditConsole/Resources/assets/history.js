// @ts-check
/**
 * The Resource history view: every event on one resource (ResourceType and ResourceName) in a time
 * range, oldest first, read to the end of the listing or to HISTORY_CAP events.
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, setMessage, bump, panelState, setStatus } from "./dom.js";
import { call, errorText } from "./api.js";
import { localText, timeZoneName } from "./time.js";
import { PAGE_SIZE } from "./query.js";
import { readAllPages } from "./paging.js";
import { resourceOf } from "./records.js";
import { appendRows, setHead } from "./event-rows.js";
import { closeDetail } from "./detail.js";
import { resolveRange } from "./events.js";

/** @typedef {import("./records.js").ConsoleEvent} ConsoleEvent */

const HISTORY_CAP = 2000;
const HISTORY_COLUMNS = ["time", "user", "eventName", "sourceIP", "result"];

/** The range chosen in the form: a preset, or the Operation Record's ("current"). */
function historyRange() {
  const choice = $("history-range-select").value;
  if (choice !== "current") return resolveRange(choice);
  return resolveRange();
}

/** @param {Event} [ev] the form's submit */
export async function runHistory(ev) {
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
  let read;
  try {
    read = await readAllPages((token) => {
      /** @type {Record<string, unknown>} */
      const params = { StartTime: range.StartTime, EndTime: range.EndTime, MaxResults: PAGE_SIZE, LookupAttributes: attrs };
      if (token) params.NextToken = token;
      return call("LookUpEvents", params);
    }, HISTORY_CAP, (/** @type {ConsoleEvent[]} */ out) => {
      if (seq !== state.historySeq) return false;
      setStatus($("history-status"), t("history.loading", { n: out.length }), "loading");
      return true;
    });
  } catch (e) {
    if (seq !== state.historySeq) return;
    panelState(panel, $("history-status"), "error", t("results.error", { msg: errorText(e) }));
    bump(panel);
    return;
  }
  if (!read) return;
  state.historyEvents = read.items.slice().reverse();
  state.historyCapped = read.capped;
  renderHistory();
  bump(panel);
}

/** Draws the history in state (again when the language changed). */
export function renderHistory() {
  const evs = state.historyEvents || [];
  const body = $("history-body");
  body.textContent = "";
  appendRows(body, evs, HISTORY_COLUMNS, "history-row");
  const panel = $("history-panel");
  $("history-count").textContent = t("history.count", { n: evs.length });
  if (!evs.length) panelState(panel, $("history-status"), "empty", t("history.empty"));
  else if (state.historyCapped) panelState(panel, $("history-status"), "ready", t("history.capped", { n: evs.length }), "", "warn");
  else panelState(panel, $("history-status"), "ready");
}

/**
 * Opens the history of the event's resource (or of `name`, one of its comma-separated resources)
 * over the Operation Record's range.
 * @param {ConsoleEvent} ev
 * @param {string} [name]
 */
export function historyOf(ev, name) {
  const res = resourceOf(ev);
  if (!res.type || !res.name) return;
  $("history-type").value = res.type;
  $("history-name").value = name || res.name;
  $("history-range-select").value = "current";
  closeDetail(false);
  location.hash = "#/history";
  runHistory();
}

/** Nothing of one session's history stays for the next one. */
export function resetHistory() {
  state.historySeq++;
  state.historyEvents = null;
  for (const id of ["history-body", "history-count", "history-range"]) $(id).textContent = "";
  $("history-status").hidden = true;
  $("history-panel").dataset.state = "idle";
}

export function wireHistory() {
  setHead($("history-table"), HISTORY_COLUMNS);
  $("history-form").addEventListener("submit", runHistory);
}
