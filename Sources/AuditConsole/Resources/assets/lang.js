// @ts-check
/**
 * The page's language: labels from the table of i18n.js, the language chosen at start, and the
 * labels of the static page (`data-i18n`, `data-i18n-title`, `data-i18n-aria` attributes).
 */
import { TEXT, LANGUAGES } from "./i18n.js";
import { state } from "./state.js";
import { $ } from "./dom.js";

const LANG_KEY = "cloudaudit.console.lang";

/**
 * The label `key` in `lang`, else in English, else the key itself; `{name}` placeholders filled
 * from `vars` (those not in `vars` stay as they are), and `{name|one|other}` is `one` when `vars[name]`
 * is 1, else `other` ("1 event", "2 events"). Pure (tests/js/lang.test.js).
 * @param {string} lang
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 */
export function translate(lang, key, vars) {
  /** @type {Record<string, string>} */
  const table = TEXT[lang] || TEXT.en;
  let s = table[key] ?? TEXT.en[key] ?? key;
  if (vars) {
    s = s.replace(/\{(\w+)\|([^|{}]*)\|([^|{}]*)\}/g, (m, k, one, other) => (k in vars ? (String(vars[k]) === "1" ? one : other) : m));
    s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  }
  return s;
}

/**
 * The label `key` in the page's language.
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 */
export function t(key, vars) {
  return translate(state.lang, key, vars);
}

/**
 * The language to start in: the one saved when it is known, else Chinese for a browser that
 * prefers it, else English. Pure (tests/js/lang.test.js).
 * @param {string | null} saved
 * @param {string} preferred the browser's first language, e.g. "zh-CN"
 */
export function pickLanguage(saved, preferred) {
  if (saved && LANGUAGES.includes(saved)) return saved;
  return preferred.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function initialLanguage() {
  let saved = null;
  try { saved = localStorage.getItem(LANG_KEY); } catch (e) { saved = null; }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return pickLanguage(saved, nav);
}

/** Keeps the choice for the next visit (not in a private window that refuses storage). */
export function saveLanguage() {
  try { localStorage.setItem(LANG_KEY, state.lang); } catch (e) { /* private mode */ }
}

/**
 * Puts the labels of the page's language into the static page (under `root`).
 * @param {ParentNode} [root]
 */
export function applyLabels(root = document) {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
  /** @param {string} selector @returns {NodeListOf<HTMLElement>} */
  const all = (selector) => root.querySelectorAll(selector);
  for (const el of all("[data-i18n]")) el.textContent = t(String(el.dataset.i18n));
  for (const el of all("[data-i18n-title]")) el.title = t(String(el.dataset.i18nTitle));
  for (const el of all("[data-i18n-aria]")) el.setAttribute("aria-label", t(String(el.dataset.i18nAria)));
  $("lang").value = state.lang;
}
