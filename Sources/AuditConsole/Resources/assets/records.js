// @ts-check
/**
 * Reading one LookUpEvents `Event` and the CloudAuditEvent record it carries: its result, its
 * resources, its fields for the detail panel. Pure: no DOM (tests/js/records.test.js).
 */

/**
 * An event as LookUpEvents lists it; `_record` caches the parsed CloudAuditEvent.
 * @typedef {{EventId?: string, EventName?: string, EventTime?: string | number, Username?: string,
 *   SourceIPAddress?: string, ErrorCode?: number, CloudAuditEvent?: string,
 *   Resources?: {ResourceType?: string, ResourceName?: string}, _record?: any, [field: string]: any}} ConsoleEvent
 */

/**
 * The event's CloudAuditEvent record, parsed once; null when it is missing or not JSON.
 * @param {ConsoleEvent} ev
 * @returns {any}
 */
export function recordOf(ev) {
  if (ev._record !== undefined) return ev._record;
  try { ev._record = JSON.parse(ev.CloudAuditEvent || "null"); } catch (e) { ev._record = null; }
  return ev._record;
}

/**
 * Unix seconds of a record's `eventTime` as the server reads it (EventTimeParser): a whole number, or
 * a string of one, RFC 3339 (the fraction dropped), or Tencent's `YYYY-MM-DD HH:MM:SS` in Beijing time;
 * NaN for anything else.
 * @param {unknown} v
 */
export function eventSeconds(v) {
  if (typeof v === "number") return Number.isInteger(v) ? v : NaN;
  if (typeof v !== "string") return NaN;
  if (/^[+-]?\d+$/.test(v)) return Number(v);
  const text = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v) ? v.replace(" ", "T") + "+08:00" : v;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d(?::?\d\d)?)$/.exec(text);
  if (!m) return NaN;
  const zone = m[2] === "Z" ? "Z" : m[2].slice(0, 3) + ":" + (m[2].replace(":", "").slice(3) || "00");
  const ms = Date.parse(m[1] + zone);
  return Number.isNaN(ms) ? NaN : Math.floor(ms / 1000);
}

/** @param {any} v a value of the record, shown as the server's EventSummary reads it ("" for none) */
const text = (v) => (typeof v === "string" ? v : "");
/** @param {any} v @returns {string} */
const scalar = (v) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");

/**
 * The LookUpEvents `Event` of a stored record (the `data` of a live-tail message), with the fields the
 * server's EventView gives, read from the record as its EventSummary reads them, so that a row and
 * the detail panel show a streamed event as they show a listed one. Left out: `ResourceTypeCn` (a
 * table of the server's) and `Location`. Null when the text is not a JSON object.
 * @param {string} data the record, exactly as stored
 * @param {number} accountId the session's account (a tail streams that account only)
 * @returns {ConsoleEvent | null}
 */
export function eventOfRecord(data, accountId) {
  let rec;
  try { rec = JSON.parse(data); } catch (e) { return null; }
  if (!rec || typeof rec !== "object" || Array.isArray(rec)) return null;
  const identity = rec.userIdentity && typeof rec.userIdentity === "object" ? rec.userIdentity : {};
  const time = eventSeconds(rec.eventTime);
  const code = typeof rec.errorCode === "number" || /^[+-]?\d+$/.test(text(rec.errorCode)) ? Number(rec.errorCode) : 0;
  return {
    EventId: typeof rec.eventId === "string" ? rec.eventId : text(rec.eventID),
    Username: scalar("userName" in identity ? identity.userName : identity.principalId),
    EventTime: Number.isNaN(time) ? "0" : String(time),
    CloudAuditEvent: data,
    ErrorCode: Number.isInteger(code) && Math.abs(code) < 1e15 ? code : 0,
    EventName: text(rec.eventName),
    SecretId: scalar(identity.secretId),
    EventSource: text(rec.eventSource),
    RequestID: text(rec.requestID),
    ResourceRegion: typeof rec.resourceRegion === "string" ? rec.resourceRegion : text(rec.eventRegion),
    AccountID: accountId,
    SourceIPAddress: text(rec.sourceIPAddress),
    EventNameCn: text(rec.eventName),
    Resources: { ResourceType: text(rec.resourceType), ResourceName: text(rec.resourceName) },
    EventRegion: text(rec.eventRegion),
    _record: rec,
  };
}

/** The CAM error codes the API records for refused calls (SelfAudit.authErrorCode); labels `errorCode.<n>`. */
export const KNOWN_ERROR_CODES = [4100, 4102, 4104, 4110, 4111];

/**
 * Whether the call succeeded; when it did not, what to show of why: `code` the most telling code (the
 * API's error code, such as "AuthFailure.SignatureFailure", when the record has one, else the numeric
 * error code), `errorCode` the number (0 for none), `apiErrorCode`, and `message` (the API's error
 * message, else the error message).
 * @param {ConsoleEvent} ev
 * @returns {{ok: boolean, code: string, errorCode: number, apiErrorCode: string, message: string}}
 */
export function resultOf(ev) {
  const rec = recordOf(ev) || {};
  const errorCode = Number(ev.ErrorCode ?? rec.errorCode ?? 0) || 0;
  const apiErrorCode = rec.apiErrorCode ? String(rec.apiErrorCode) : "";
  if (!errorCode && !apiErrorCode) return { ok: true, code: "", errorCode: 0, apiErrorCode: "", message: "" };
  const message = String(rec.apiErrorMessage || rec.errorMessage || "");
  return { ok: false, code: apiErrorCode || String(errorCode), errorCode, apiErrorCode, message };
}

/**
 * Whether the record marks the action sensitive (the API writes it as a boolean, producers also as 1
 * or "true").
 * @param {any} rec a CloudAuditEvent record
 */
export function isSensitive(rec) {
  return [true, 1, "true", "1"].includes(rec.sensitiveAction);
}

/**
 * The resource type and name of the event ("" when it has none).
 * @param {ConsoleEvent} ev
 * @returns {{type: string, name: string}}
 */
export function resourceOf(ev) {
  const rec = recordOf(ev) || {};
  return {
    type: (ev.Resources && ev.Resources.ResourceType) || rec.resourceType || "",
    name: (ev.Resources && ev.Resources.ResourceName) || rec.resourceName || "",
  };
}

/**
 * The resources of a comma-separated ResourceName, each once trimmed, empty ones left out.
 * @param {string} name
 */
export function resourceNames(name) {
  return name.split(",").map((n) => n.trim()).filter(Boolean);
}

/**
 * `[path, text]` pairs of a value, nested objects flattened with dotted paths; arrays as JSON,
 * null and undefined as "", keys starting with `_` (the page's own) left out.
 * @param {string} prefix
 * @param {unknown} value
 * @param {[string, string][]} out appended to
 */
export function flatten(prefix, value, out) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const obj = /** @type {Record<string, unknown>} */ (value);
    const keys = Object.keys(obj).filter((k) => !k.startsWith("_"));
    if (!keys.length) out.push([prefix, "{}"]);
    for (const k of keys) flatten(prefix ? `${prefix}.${k}` : k, obj[k], out);
  } else if (Array.isArray(value)) {
    out.push([prefix, JSON.stringify(value)]);
  } else {
    out.push([prefix, value === null || value === undefined ? "" : String(value)]);
  }
}

/**
 * The fields of the detail panel: every field of the event but the raw record, flattened.
 * @param {ConsoleEvent} ev
 * @returns {[string, string][]}
 */
export function detailFields(ev) {
  /** @type {[string, string][]} */
  const fields = [];
  const res = resultOf(ev);
  for (const [k, v] of Object.entries(ev)) {
    if (k === "CloudAuditEvent" || k.startsWith("_")) continue;
    if (k === "ErrorCode" && !res.ok) {
      // A refused call's ErrorCode is 0 when the refusal was not the CAM's: its code is the API's.
      if (res.errorCode) fields.push(["ErrorCode", String(res.errorCode)]);
      if (res.apiErrorCode) fields.push(["ApiErrorCode", res.apiErrorCode]);
      if (res.message) fields.push(["ErrorMessage", res.message]);
      continue;
    }
    flatten(k, v, fields);
  }
  return fields;
}

/**
 * A long user name shortened for the top bar: the first 10 and last 4 characters.
 * @param {string} user
 */
export function shortUserName(user) {
  return user.length > 20 ? user.slice(0, 10) + "…" + user.slice(-4) : user;
}
