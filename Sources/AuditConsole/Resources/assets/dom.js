// @ts-check
/**
 * Small DOM helpers shared by the views. Text goes into the page with `textContent` and attributes,
 * never as HTML.
 */
import { localText, utcText } from "./time.js";

/**
 * The page's element with this id. Typed `any`: the ids are the page's (index.html), and each view
 * knows which kind of element it asked for.
 * @param {string} id
 * @returns {any}
 */
export const $ = (id) => document.getElementById(id);

/**
 * Makes an element. Props: `class`, `text` (its textContent), `dataset`, any other as an attribute;
 * null, undefined and false ones are left out, and so are such children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any> | null} [props]
 * @param {...any} kids elements, strings or arrays of them
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...kids) {
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

/**
 * A <time> in the browser's zone, with the UTC time on hover.
 * @param {number} sec Unix seconds
 */
export function timeEl(sec) {
  if (!Number.isFinite(sec)) return h("span", { text: "—" });
  return h("time", { datetime: new Date(sec * 1000).toISOString(), title: utcText(sec), text: localText(sec) });
}

/** @param {HTMLElement} el @param {boolean} on */
export function show(el, on) { el.hidden = !on; }

/**
 * A message element's text; hidden when there is none.
 * @param {HTMLElement} el
 * @param {string} [text]
 */
export function setMessage(el, text) {
  el.textContent = text || "";
  el.hidden = !text;
}

/** @param {string} text @param {string} kind "ok", "error", "warn" or "neutral" */
export function badge(text, kind) { return h("span", { class: "badge badge-" + kind, title: text, text }); }

/**
 * Counts finished loads on a panel (`data-loads`), so tests and people reading the DOM know one arrived.
 * @param {HTMLElement} el
 */
export function bump(el) { el.dataset.loads = String(Number(el.dataset.loads || 0) + 1); }

/**
 * A panel's `data-state` (what the tests wait on) and its status line, set together; the line's look
 * follows the state, or `kind` when given.
 * @param {HTMLElement} panel
 * @param {HTMLElement} statusEl
 * @param {string} st "idle", "loading", "ready", "empty" or "error"
 * @param {string} [text]
 * @param {string} [hint]
 * @param {string} [kind]
 */
export function panelState(panel, statusEl, st, text = "", hint = "", kind = st === "ready" ? "" : st) {
  panel.dataset.state = st;
  setStatus(statusEl, text, kind, hint);
}

/**
 * A status line: its text and an optional hint below; hidden without text.
 * @param {HTMLElement} el
 * @param {string} text
 * @param {string} kind
 * @param {string} [hint]
 */
export function setStatus(el, text, kind, hint) {
  el.textContent = "";
  el.className = "status" + (kind ? " status-" + kind : "");
  if (text) el.append(h("p", { text }));
  if (hint) el.append(h("p", { class: "muted small", text: hint }));
  el.hidden = !text;
}

/**
 * The page's own confirmation dialog (`#confirm`); true when confirmed.
 * @param {string} text
 * @returns {Promise<boolean>}
 */
export function confirmDialog(text) {
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
