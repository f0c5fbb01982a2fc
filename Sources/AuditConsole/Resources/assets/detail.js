// @ts-check
/**
 * The event detail panel: every field of one event and its raw CloudAuditEvent record, opened from a
 * row of the Operation Record or of a resource history. Its "history of" buttons are wired by app.js
 * (they open the history view, which opens this panel from its rows).
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, h, timeEl } from "./dom.js";
import { utcText } from "./time.js";
import { recordOf, resourceOf, resourceNames, detailFields, resultOf, KNOWN_ERROR_CODES } from "./records.js";

/** @typedef {import("./records.js").ConsoleEvent} ConsoleEvent */

/**
 * How a call's result reads: "Success", the API's error code, or a CAM error code with its meaning
 * ("4100 Wrong signature").
 * @param {ReturnType<typeof resultOf>} res
 */
export function resultText(res) {
  if (res.ok) return t("result.success");
  if (!res.apiErrorCode && KNOWN_ERROR_CODES.includes(res.errorCode)) return `${res.errorCode} ${t("errorCode." + res.errorCode)}`;
  return res.code;
}

/**
 * @param {ConsoleEvent} ev
 * @param {HTMLElement} [from] the row it was opened from: marked, and focused again on close
 */
export function openDetail(ev, from) {
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

/** @param {boolean} [restoreFocus] back to the row it was opened from */
export function closeDetail(restoreFocus = true) {
  const panel = $("detail");
  if (panel.hidden) return;
  panel.hidden = true;
  document.body.classList.remove("detail-open");
  state.detailEvent = null;
  for (const tr of document.querySelectorAll("tr.is-selected")) tr.classList.remove("is-selected");
  if (restoreFocus && state.detailReturn && document.body.contains(state.detailReturn)) state.detailReturn.focus();
  state.detailReturn = null;
}

/** @param {ConsoleEvent} ev */
export function renderDetail(ev) {
  const rec = recordOf(ev);
  $("detail-title").textContent = ev.EventName || ev.EventId;
  const dl = $("detail-fields");
  dl.textContent = "";
  // First what became of the call: succeeded, or refused with which code and why.
  const result = resultOf(ev);
  let outcome = resultText(result);
  if (!result.ok && result.apiErrorCode && result.errorCode) outcome += ` (${result.errorCode})`;
  if (!result.ok && result.message) outcome += `: ${result.message}`;
  dl.append(h("div", { class: "field-pair", "data-testid": "detail-field" }, h("dt", { text: t("detail.result") }),
    h("dd", { dataset: { field: "Result" }, class: result.ok ? "result-ok" : "result-error", text: outcome })));
  for (const [k, v] of detailFields(ev)) {
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
  // An event on several resources names them comma-separated: each one's history too (a button per
  // name, `data-name`; app.js opens the history of the one clicked).
  const parts = $("detail-history-parts");
  parts.textContent = "";
  const names = resourceNames(res.name);
  if (res.type && names.length > 1) {
    for (const name of names.slice(0, 10)) {
      parts.append(h("button", { type: "button", class: "btn btn-quiet btn-small", "data-testid": "detail-history-part", dataset: { name },
        text: t("detail.historyOf", { name }) }));
    }
  }
  parts.hidden = !parts.children.length;
}

/** Copies the raw record: the Clipboard API where the page is a secure context, else a selection. */
export async function copyRaw() {
  const text = $("detail-raw").textContent;
  const status = $("detail-copy-status");
  const viaSelection = () => {
    const range = document.createRange();
    range.selectNodeContents($("detail-raw"));
    const sel = /** @type {Selection} */ (window.getSelection());
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
