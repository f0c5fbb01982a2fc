// @ts-check
/**
 * Filter rows (an attribute's menu, its value, a remove button), as the Operation Record and the Live
 * view edit their conditions, and the lookup keys their menus offer (GetAttributeKey, in the page's
 * language, loaded once for both).
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, h, setMessage } from "./dom.js";
import { call, errorText } from "./api.js";

/** @typedef {import("./query.js").Filter} Filter */
/** @typedef {import("./state.js").AttributeKey} AttributeKey */

/** @type {FilterRows[]} the editors of the page: new keys (another language) relabel them all */
const editors = [];

/**
 * The lookup keys for the filter menus (GetAttributeKey, in the page's language), once unless `force`;
 * then every editor's rows again with the new labels.
 * @param {boolean} force
 */
export function loadAttributeKeys(force) {
  if (!force && (state.attrKeys.length || state.attrKeysLoading)) return state.attrKeysLoading || Promise.resolve();
  state.attrKeysLoading = fetchAttributeKeys().finally(() => { state.attrKeysLoading = null; });
  return state.attrKeysLoading;
}

async function fetchAttributeKeys() {
  try {
    const r = await call("GetAttributeKey", { WebsiteType: state.lang });
    state.attrKeys = (r.AttributeKeyDetails || []).slice()
      .sort((/** @type {AttributeKey} */ a, /** @type {AttributeKey} */ b) => (a.Order || 0) - (b.Order || 0));
  } catch (e) {
    if (e.status === 401) return;
    state.attrKeys = [];
    for (const ed of editors) setMessage($(ed.errorId), t("error.generic", { msg: errorText(e) }));
  }
  for (const ed of editors) ed.relabel();
}

/** @param {string} key */
function keyInfo(key) { return state.attrKeys.find((k) => k.Value === key); }

/**
 * The filters of one form, in its `#<prefix>-fieldset` (`wire` builds it): `#<prefix>-rows` holds the rows,
 * `#<prefix>-add` adds one; the rows and their controls have data-testid `<prefix>-row`, `<prefix>-key`,
 * `<prefix>-value`, `<prefix>-remove`.
 */
export class FilterRows {
  /**
   * @param {string} prefix "filter" (the Operation Record) or "live-filter"
   * @param {string} errorId the form's message element, where a failed GetAttributeKey says so
   */
  constructor(prefix, errorId) {
    this.prefix = prefix;
    this.errorId = errorId;
    editors.push(this);
  }

  /** @returns {HTMLElement} */
  get rows() { return $(this.prefix + "-rows"); }

  /**
   * A filter row: the key's menu, its value (a menu of the key's values when the API gives them), a
   * remove button.
   * @param {string} key
   * @param {string} value
   */
  add(key, value) {
    const rows = this.rows;
    const p = this.prefix;
    const n = rows.children.length + 1;
    const keySelect = h("select", { class: "filter-key", "data-testid": p + "-key", "aria-label": `${t("filters.key")} ${n}` },
      state.attrKeys.map((k) => h("option", { value: k.Value, text: k.Label || k.Value })));
    if (!state.attrKeys.length) keySelect.append(h("option", { value: key || "EventName", text: key || "EventName" }));
    keySelect.value = key || "EventName";
    const row = h("div", { class: "filter-row", "data-testid": p + "-row" }, keySelect);
    const slot = h("span", { class: "filter-value-slot" });
    row.append(slot);
    const remove = h("button", { type: "button", class: "btn btn-quiet btn-icon filter-remove", "data-testid": p + "-remove",
      "aria-label": t("filters.remove"), title: t("filters.remove"), text: "×" });
    remove.addEventListener("click", () => {
      row.remove();
      if (!rows.children.length) this.add("EventName", "");
      $(p + "-add").focus();
    });
    row.append(remove);
    /** @param {string} v */
    const renderValue = (v) => {
      const info = keyInfo(keySelect.value);
      slot.textContent = "";
      let control;
      if (info && info.LabelType === "select" && info.Starter) {
        control = h("select", { class: "filter-value", "data-testid": p + "-value", "aria-label": `${t("filters.value")} ${n}` },
          h("option", { value: "", text: t("filters.choose") }),
          info.Starter.split(",").map((s) => s.trim()).filter(Boolean).map((s) => h("option", { value: s, text: s })));
      } else {
        control = h("input", { class: "filter-value", "data-testid": p + "-value", "aria-label": `${t("filters.value")} ${n}`,
          spellcheck: "false", placeholder: info ? info.Label : "" });
      }
      // A value the key's menu does not offer (a rule's SensitiveAction "1") is kept, as an entry of its own.
      if (v && control instanceof HTMLSelectElement && ![...control.options].some((o) => o.value === v)) {
        control.append(h("option", { value: v, text: v }));
      }
      control.value = v || "";
      slot.append(control);
    };
    keySelect.addEventListener("change", () => renderValue(""));
    renderValue(value);
    rows.append(row);
    return row;
  }

  /**
   * The rows that hold a value, in order.
   * @returns {Filter[]}
   */
  read() {
    const out = [];
    for (const row of this.rows.querySelectorAll(".filter-row")) {
      const key = /** @type {HTMLSelectElement} */ (row.querySelector(".filter-key")).value;
      const value = (/** @type {HTMLInputElement} */ (row.querySelector(".filter-value")).value || "").trim();
      if (value) out.push({ key, value });
    }
    return out;
  }

  /**
   * Adds a filter unless it is there, in place of an empty row.
   * @param {string} key
   * @param {string} value
   */
  put(key, value) {
    if (this.read().some((f) => f.key === key && f.value === value)) return;
    const empty = [...this.rows.querySelectorAll(".filter-row")]
      .find((r) => !(/** @type {HTMLInputElement} */ (r.querySelector(".filter-value"))).value.trim());
    if (empty) empty.remove();
    this.add(key, value);
  }

  /** The rows again with the labels of the keys loaded, keeping what they hold (one empty row for none). */
  relabel() {
    const kept = this.read();
    this.rows.textContent = "";
    if (kept.length) for (const f of kept) this.add(f.key, f.value);
    else this.add("EventName", "");
  }

  /** Back to one empty row. */
  clear() {
    this.rows.textContent = "";
    this.add("EventName", "");
  }

  /**
   * Builds the form's filter fieldset (`#<prefix>-fieldset`, empty in the page): its legend, the rows,
   * "Add filter" with its hint, and the "Hide CloudAudit's own reads" box (`#<hideOwnId>`, on; none when
   * null: an alert rule's conditions), labelled with data-i18n as the page's own labels are; "Add filter"
   * adds an empty row and focuses its menu.
   * @param {string | null} hideOwnId
   */
  wire(hideOwnId) {
    const p = this.prefix;
    const add = h("button", { type: "button", id: p + "-add", "data-testid": p + "-add", class: "btn btn-quiet btn-small",
      "data-i18n": "filters.add", text: t("filters.add") });
    $(p + "-fieldset").append(
      h("legend", { "data-i18n": "filters.label", text: t("filters.label") }),
      h("div", { class: "line-body" },
        h("div", { id: p + "-rows", class: "filter-rows", "data-testid": p + "-rows" }),
        h("div", { class: "filter-actions" }, add, h("span", { class: "muted small", "data-i18n": "filters.hint", text: t("filters.hint") })),
        hideOwnId && h("label", { class: "check", "data-i18n-title": "filters.hideOwnHint", title: t("filters.hideOwnHint") },
          h("input", { type: "checkbox", id: hideOwnId, "data-testid": hideOwnId, checked: true }),
          h("span", { "data-i18n": "filters.hideOwn", text: t("filters.hideOwn") }))));
    add.addEventListener("click", () => {
      const row = this.add("EventName", "");
      /** @type {HTMLElement} */ (row.querySelector(".filter-key")).focus();
    });
  }
}
