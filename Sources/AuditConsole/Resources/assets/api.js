// @ts-check
/**
 * The console API client. It speaks only the contract of docs/console.md: `api/session`, `api/call`
 * (with `X-CSRF-Token` on every POST and DELETE), and opens the stream of `api/tail` (live.js reads it);
 * the export is a link (events.js).
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $ } from "./dom.js";
import { API } from "./query.js";

export class ApiError extends Error {
  /**
   * @param {string} code the API's or the console's error code, or "NetworkError", or "HTTP<status>"
   * @param {string} [message]
   * @param {number} [status] the HTTP status, 0 when the server could not be reached
   */
  constructor(code, message, status) {
    super(message || code);
    this.code = code;
    this.status = status;
  }
}

/** @param {string} text */
function showBanner(text) {
  $("banner-text").textContent = text;
  $("banner").hidden = false;
}

export function hideBanner() { $("banner").hidden = true; }

/** @type {(code: string) => void} */
let lost = () => {};

/**
 * What the page does when the server says the session is over (app.js: back to sign-in).
 * @param {(code: string) => void} handler told the 401's code, NotSignedIn or SessionExpired
 */
export function whenSessionLost(handler) { lost = handler; }

/**
 * Tells the page the session is over, for a 401 that `request` does not take as the end (those of
 * `api/session`).
 * @param {string} code
 */
export function sessionLost(code) { lost(code); }

/**
 * One request to the console API. Rejected fetches (server down, network) raise the banner; a 401
 * from anything but the sign-in itself ends the session and returns to the sign-in view.
 * @param {string} method
 * @param {string} path under /console/api/
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<any>} the JSON answer
 * @throws {ApiError}
 */
export async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (state.session && state.session.CsrfToken) headers["X-CSRF-Token"] = state.session.CsrfToken;
  }
  const resp = await reach(API + path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  const err = (data && (data.Error || (data.Response && data.Response.Error))) || null;
  if (!resp.ok) throw refusal(resp.status, err, path);
  if (err) throw new ApiError(err.Code, err.Message, resp.status);
  return data || {};
}

/**
 * Opens a stream of the console API (`api/tail`): its body once the server answered 200; a refusal
 * throws as `request`'s do (its code and message; a 401 ends the session), and so does a server that
 * cannot be reached (with the banner). Aborting `signal` closes the connection.
 * @param {string} path under /console/api/, with its query
 * @param {AbortSignal} signal
 * @returns {Promise<ReadableStream<Uint8Array>>}
 * @throws {ApiError} or the fetch's AbortError once `signal` is aborted
 */
export async function openStream(path, signal) {
  const resp = await reach(API + path, { headers: { Accept: "text/event-stream" }, credentials: "same-origin", cache: "no-store", signal });
  if (resp.ok && resp.body) return resp.body;
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  throw refusal(resp.ok ? 500 : resp.status, (data && data.Error) || null, path);
}

/**
 * The fetch, with the banner raised while the server cannot be reached.
 * @param {string} url
 * @param {RequestInit} init
 */
async function reach(url, init) {
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    if (init.signal && init.signal.aborted) throw e;
    showBanner(t("banner.unreachable"));
    throw new ApiError("NetworkError", t("banner.unreachable"), 0);
  }
  hideBanner();
  return resp;
}

/**
 * The error of an answer that is not 2xx; a 401 from anything but the sign-in itself ends the session.
 * @param {number} status
 * @param {{Code?: string, Message?: string} | null} err the answer's `Error`
 * @param {string} path
 */
function refusal(status, err, path) {
  if (status === 401 && path !== "session") {
    const code = (err && err.Code) || "NotSignedIn";
    lost(code);
    return new ApiError(code, err ? err.Message : undefined, 401);
  }
  return new ApiError((err && err.Code) || "HTTP" + status, (err && err.Message) || `HTTP ${status}`, status);
}

/**
 * Runs one of the API's actions (or the console's two) as the signed-in caller.
 * @param {string} action
 * @param {Record<string, unknown>} [params]
 * @returns {Promise<any>} the answer's `Response`
 */
export async function call(action, params) {
  const data = await request("POST", "call", { Action: action, Params: params || {} });
  return data.Response || {};
}

/**
 * An error for people: the message with its code, or the message alone. Pure (tests/js/api.test.js).
 * @param {any} e an ApiError, another Error, or anything thrown
 */
export function errorText(e) {
  if (!e) return "";
  if (e.code && e.code !== "NetworkError" && e.message && e.message !== e.code) return `${e.message} (${e.code})`;
  return e.message || String(e);
}
