// @ts-check
/**
 * The Operation Record's query as the API takes it: time ranges of the presets, LookUpEvents and
 * DescribeEventStats parameters, and the export link; and the Live view's `api/tail` path. Pure: no DOM
 * (tests/js/query.test.js).
 */

/** @typedef {{StartTime: number, EndTime: number}} Range */
/** @typedef {{AttributeKey: string, AttributeValue: string}} LookupAttribute */
/**
 * A search: its range, fixed when it started, its filters, whether CloudAudit's own reads are left
 * out, and the snapshot of the log its first page took (so that its pages, its histogram and its
 * export count the same events while others arrive).
 * @typedef {Range & {LookupAttributes: LookupAttribute[], HideOwnReads?: boolean, Snapshot?: number}} Query
 */
/**
 * One filter row of the form.
 * @typedef {{key: string, value: string}} Filter
 */

export const API = "/console/api/";
/** Events per LookUpEvents page (the results and the resource history). */
export const PAGE_SIZE = 50;

/** @type {Record<string, number>} the presets' lengths, in seconds */
export const PRESETS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
// The API refuses a StartTime older than the account's retention (30 days by default) with
// LimitExceeded.OverTime, and the boundary moves every second: the long presets start a few minutes
// inside it, so that the next pages of the same query (same StartTime) still pass for a while.
/** @type {Record<string, number>} */
export const PRESET_SLACK = { "7d": 600, "30d": 600 };

/**
 * The range of a preset ending `now`.
 * @param {string} preset a key of PRESETS
 * @param {number} now Unix seconds
 * @returns {Range}
 */
export function presetRange(preset, now) {
  return { StartTime: now - PRESETS[preset] + (PRESET_SLACK[preset] || 0), EndTime: now };
}

/**
 * A custom range from its two ends (Unix seconds, NaN when not given); null unless both are times
 * and the start is not after the end.
 * @param {number} start
 * @param {number} end
 * @returns {Range | null}
 */
export function customRange(start, end) {
  if (!Number.isFinite(start) || !Number.isFinite(end) || start > end) return null;
  return { StartTime: start, EndTime: end };
}

/**
 * LookupAttributes of the filter rows (those that hold a value, in order).
 * @param {Filter[]} filters
 * @returns {LookupAttribute[]}
 */
export function lookupAttributes(filters) {
  return filters.map((f) => ({ AttributeKey: f.key, AttributeValue: f.value }));
}

/**
 * The calls CloudAudit records of itself that only read (searches, lists, this page's own calls) and
 * passed authentication: the events `ExcludeAttributes` leaves out when the form's "Hide CloudAudit's
 * own reads" is on. Its changes (tracking sets, keys), the console's sign-ins and every call refused
 * for its credentials (a CAM error code, such as 4100 for a wrong signature) stay.
 * @type {LookupAttribute[]}
 */
export const OWN_READS = [{ AttributeKey: "EventSource", AttributeValue: "cloudaudit.api" }, { AttributeKey: "ReadOnly", AttributeValue: "true" },
  { AttributeKey: "CamErrorCode", AttributeValue: "0" }];

/**
 * The API parameters of query `q` (its range, filters, exclusion and snapshot), plus `extra`.
 * @param {Query} q
 * @param {Record<string, unknown>} [extra]
 * @returns {Record<string, unknown>}
 */
export function queryParams(q, extra) {
  /** @type {Record<string, unknown>} */
  const params = { StartTime: q.StartTime, EndTime: q.EndTime, ...extra };
  if (q.LookupAttributes.length) params.LookupAttributes = q.LookupAttributes;
  if (q.HideOwnReads) params.ExcludeAttributes = OWN_READS;
  if (q.Snapshot !== undefined) params.Snapshot = q.Snapshot;
  return params;
}

/**
 * The `api/export` link of query `q`.
 * @param {Query} q
 * @param {string} format "csv" or "jsonl"
 */
export function exportHref(q, format) {
  const p = new URLSearchParams({ format, StartTime: String(q.StartTime), EndTime: String(q.EndTime) });
  if (q.LookupAttributes.length) p.set("LookupAttributes", JSON.stringify(q.LookupAttributes));
  if (q.HideOwnReads) p.set("ExcludeAttributes", JSON.stringify(OWN_READS));
  if (q.Snapshot !== undefined) p.set("Snapshot", String(q.Snapshot));
  return API + "export?" + p.toString();
}

/**
 * The file name the browser saves an export as.
 * @param {Query} q
 * @param {string} format
 */
export function exportFileName(q, format) {
  return `cloudaudit-events-${q.StartTime}-${q.EndTime}.${format}`;
}

/**
 * What the Live view follows: its filters and whether CloudAudit's own reads are left out (the tail's
 * own `TailEvents` call, recorded each time a stream starts, is one of them).
 * @typedef {{LookupAttributes: LookupAttribute[], HideOwnReads: boolean}} LiveQuery
 */

/**
 * The `api/tail` path of a live query: its conditions as `LookupAttributes.N.AttributeKey/AttributeValue`
 * (and `ExcludeAttributes.N...`), numbered from 0 as the API reads a query string, then `Cursor` (the last
 * message's id; none: start at the account's newest event) and `Heartbeat` (seconds).
 * @param {LiveQuery} q
 * @param {string | null} cursor
 * @param {number} heartbeat
 */
export function tailPath(q, cursor, heartbeat) {
  const p = new URLSearchParams();
  /** @param {string} name @param {LookupAttribute[]} attrs */
  const put = (name, attrs) => attrs.forEach((a, i) => {
    p.append(`${name}.${i}.AttributeKey`, a.AttributeKey);
    p.append(`${name}.${i}.AttributeValue`, a.AttributeValue);
  });
  put("LookupAttributes", q.LookupAttributes);
  if (q.HideOwnReads) put("ExcludeAttributes", OWN_READS);
  if (cursor) p.set("Cursor", cursor);
  p.set("Heartbeat", String(heartbeat));
  return "tail?" + p.toString();
}
