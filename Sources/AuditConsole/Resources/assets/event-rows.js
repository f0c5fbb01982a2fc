// @ts-check
/**
 * Rows of events, for the Operation Record, the resource history and the Live view: one cell per
 * column, opened in the detail panel by click, Enter or Space; the arrow keys move between rows.
 */
import { t } from "./lang.js";
import { h, timeEl, badge } from "./dom.js";
import { localText } from "./time.js";
import { recordOf, resultOf, resourceOf, isSensitive } from "./records.js";
import { openDetail, resultText } from "./detail.js";

/** @typedef {import("./records.js").ConsoleEvent} ConsoleEvent */

/** The Operation Record's columns. */
export const EVENT_COLUMNS = ["time", "user", "eventName", "resourceType", "resourceName", "sourceIP", "actionType", "result", "sensitive"];

/**
 * A table's header row: a column header per column, labelled `col.<column>` through data-i18n (the
 * language switch relabels it), so that a table's header and its rows name the same columns.
 * @param {HTMLTableElement} table
 * @param {string[]} columns
 */
export function setHead(table, columns) {
  const head = table.createTHead();
  head.textContent = "";
  head.append(h("tr", {}, columns.map((c) => h("th", { scope: "col", "data-i18n": `col.${c}`, text: t(`col.${c}`) }))));
}

/**
 * @param {ConsoleEvent} ev
 * @param {string[]} columns
 */
function eventRow(ev, columns) {
  const rec = recordOf(ev) || {};
  const time = Number(ev.EventTime);
  const res = resultOf(ev);
  const resource = resourceOf(ev);
  /** @type {Record<string, () => Node | string>} */
  const cells = {
    time: () => timeEl(time),
    user: () => ev.Username || "",
    eventName: () => ev.EventName || "",
    resourceType: () => resource.type,
    resourceName: () => resource.name,
    sourceIP: () => ev.SourceIPAddress || "",
    actionType: () => rec.actionType ? t("action." + rec.actionType) : "",
    result: () => res.ok ? badge(resultText(res), "ok") : badge(resultText(res), "error"),
    sensitive: () => isSensitive(rec) ? badge(t("sensitive.yes"), "warn") : "",
  };
  const tr = h("tr", { tabindex: "0", class: "clickable", "data-testid": "event-row", dataset: { eventId: ev.EventId, eventTime: ev.EventTime },
    "aria-label": t("results.open", { name: ev.EventName || "", time: localText(time) }) },
    columns.map((c) => {
      const content = cells[c]();
      // Long values are cut with an ellipsis: the whole value on hover.
      const title = c === "result" && res.message ? res.message : (typeof content === "string" && content ? content : null);
      return h("td", { class: "col-" + c, dataset: { col: c }, title }, content);
    }));
  const open = () => openDetail(ev, tr);
  tr.addEventListener("click", (e) => { if (!(/** @type {Element} */ (e.target)).closest("a,button")) open(); });
  tr.addEventListener("keydown", (e) => {
    const next = /** @type {HTMLElement | null} */ (tr.nextElementSibling);
    const previous = /** @type {HTMLElement | null} */ (tr.previousElementSibling);
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); }
    else if (e.key === "ArrowDown" && next) { e.preventDefault(); next.focus(); }
    else if (e.key === "ArrowUp" && previous) { e.preventDefault(); previous.focus(); }
  });
  return tr;
}

/**
 * A row per event, in the order given, as one fragment.
 * @param {ConsoleEvent[]} evs
 * @param {string[]} columns
 * @param {string} [testid] the rows' data-testid, when not "event-row"
 */
function rowsOf(evs, columns, testid) {
  const frag = document.createDocumentFragment();
  for (const ev of evs) {
    const tr = eventRow(ev, columns);
    if (testid) tr.setAttribute("data-testid", testid);
    frag.append(tr);
  }
  return frag;
}

/**
 * Appends a row per event to a table body, in one DOM change.
 * @param {HTMLElement} body
 * @param {ConsoleEvent[]} evs
 * @param {string[]} columns
 * @param {string} [testid] the rows' data-testid, when not "event-row"
 */
export function appendRows(body, evs, columns, testid) {
  body.append(rowsOf(evs, columns, testid));
}

/**
 * Puts a row per event above the rows of a table body, in one DOM change (the Live view: newest on
 * top). The focus stays where it is.
 * @param {HTMLElement} body
 * @param {ConsoleEvent[]} evs newest first
 * @param {string[]} columns
 * @param {string} [testid]
 */
export function prependRows(body, evs, columns, testid) {
  body.prepend(rowsOf(evs, columns, testid));
}
