// @ts-check
/**
 * Times as the page shows and reads them. The API speaks Unix seconds; people read the browser's own
 * zone, with UTC on hover. Pure: no DOM (tests/js/time.test.js).
 */

/** @param {number} n @returns {string} two digits at least */
export const pad = (n) => String(n).padStart(2, "0");

/**
 * `YYYY-MM-DD hh:mm:ss` in the browser's zone.
 * @param {number} sec Unix seconds
 */
export function localText(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * `YYYY-MM-DD hh:mm:ss UTC`.
 * @param {number} sec Unix seconds
 */
export function utcText(sec) {
  return new Date(sec * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/**
 * The value of a `datetime-local` input (local time, to the second).
 * @param {number} sec Unix seconds
 */
export function inputValue(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Unix seconds of a `datetime-local` value; NaN when empty or not a time.
 * @param {string} v
 */
export function fromInputValue(v) {
  if (!v) return NaN;
  const ms = new Date(v).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : NaN;
}

/** The browser's IANA zone name, or "local". */
export function timeZoneName() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "local"; } catch (e) { return "local"; }
}

/** Now, in Unix seconds. */
export function nowSec() { return Math.floor(Date.now() / 1000); }
