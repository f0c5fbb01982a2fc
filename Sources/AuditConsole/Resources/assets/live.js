// @ts-check
/**
 * The Live view: the account's events as they are recorded, newest on top, from the server's live tail
 * (`GET api/tail`: server-sent events, read with fetch and sse.js). Filters as on the Operation Record
 * (applying them starts a new stream from the newest event), pause (new events counted, drawn on
 * resume), at most LIVE_ROWS rows. A dropped connection, the server's `end` and a return to the view
 * continue after the last message read (its id, the cursor): no event is lost or shown twice. Leaving
 * the view, or the session, closes the stream. docs/console.md, "The Live view".
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, show, bump } from "./dom.js";
import { ApiError, openStream, request, errorText, sessionLost } from "./api.js";
import { lookupAttributes, tailPath } from "./query.js";
import { eventOfRecord } from "./records.js";
import { EventStreamParser } from "./sse.js";
import { localText, nowSec } from "./time.js";
import { FilterRows } from "./filters.js";
import { appendRows, prependRows, setHead, EVENT_COLUMNS } from "./event-rows.js";

/** @typedef {import("./sse.js").StreamMessage} StreamMessage */
/** @typedef {import("./records.js").ConsoleEvent} ConsoleEvent */

/** The rows the table keeps; older ones are dropped off its bottom. */
export const LIVE_ROWS = 500;
/** Seconds between the server's heartbeats when it has nothing else to send. */
const HEARTBEAT = 5;
/** A connection that says nothing for this long (four heartbeats missed) is taken as lost. */
const SILENCE_MS = 4 * HEARTBEAT * 1000;
/** The live region says what arrived at most this often. */
const ANNOUNCE_MS = 5000;
/** The delay before reconnecting, until the server gives its own (`retry:`), doubled per failure up to MAX_RETRY_MS. */
const RETRY_MS = 2000;
const MAX_RETRY_MS = 30000;
/** The reasons of the server's `end` that have a label (`live.reason.<reason>`). */
const REASONS = ["reconnect", "shutdown", "unauthorized", "unavailable"];

/** The view's filter rows (`#live-filter-rows`). */
const filters = new FilterRows("live-filter", "live-form-error");

/**
 * The connection's handles and timers: plumbing, not data (what the page shows is in state.js).
 * `active` is true from opening a stream until it is closed, refused or stopped, reconnections included.
 */
const conn = {
  active: false,
  /** @type {AbortController | null} */
  abort: null,
  /** @type {number | undefined} */
  retryTimer: undefined,
  /** @type {number | undefined} */
  silenceTimer: undefined,
  /** Connections lost or refused in a row since the last `ready`. */
  failures: 0,
  retryMs: RETRY_MS,
  /** @type {number | undefined} */
  announceTimer: undefined,
  lastAnnounce: 0,
  /** Events drawn since the live region last said so. */
  unannounced: 0,
  /** Events counted while paused since the live region last said so. */
  unannouncedPaused: 0,
  /** The status line the live region last said. */
  announcedStatus: "",
};

// ---- the stream ----------------------------------------------------------------------------------

/** The conditions of the form. */
function readQuery() {
  return { LookupAttributes: lookupAttributes(filters.read()), HideOwnReads: /** @type {HTMLInputElement} */ ($("live-hide-own")).checked };
}

/** Opens the stream of state.liveQuery after state.liveCursor (after the account's newest event when there is none). */
function connect() {
  closeStream();
  conn.active = true;
  const seq = state.liveSeq;
  const ctrl = new AbortController();
  conn.abort = ctrl;
  if (state.liveStatus.state !== "reconnecting") setStatus("connecting", state.liveCursor ? "live.continuing" : "live.connecting");
  read(seq, ctrl);
}

/** Closes the connection and cancels its timers; whatever it still reads is dropped (state.liveSeq). */
function closeStream() {
  state.liveSeq++;
  if (conn.abort) conn.abort.abort();
  conn.abort = null;
  clearTimeout(conn.retryTimer);
  clearTimeout(conn.silenceTimer);
}

/**
 * Reads one connection to its end, then reconnects, stops or says the refusal.
 * @param {number} seq the stream this connection is of
 * @param {AbortController} ctrl
 */
async function read(seq, ctrl) {
  const q = /** @type {import("./query.js").LiveQuery} */ (state.liveQuery);
  watchSilence(seq, ctrl);
  let body;
  try {
    body = await openStream(tailPath(q, state.liveCursor, HEARTBEAT), ctrl.signal);
  } catch (e) {
    if (seq !== state.liveSeq) return;
    clearTimeout(conn.silenceTimer);
    // A 401 ended the session already (api.js), and this stream with it.
    if (e.status === 401) return;
    // Not reachable, too many tails, the server's trouble, a silent connection: again, later. Anything else
    // (a refused filter) would be refused again.
    if (!(e instanceof ApiError) || e.status === 0 || e.status === 429 || Number(e.status) >= 500) {
      retry(seq, "live.retrying", { msg: errorText(e) });
    } else {
      conn.active = false;
      setStatus("error", "live.refused", { msg: errorText(e) });
    }
    return;
  }
  const parser = new EventStreamParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  /** @type {string | null} the reason of the server's `end` */
  let ended = null;
  try {
    for (;;) {
      watchSilence(seq, ctrl);
      const { value, done } = await reader.read();
      if (seq !== state.liveSeq) return;
      if (done) break;
      ended = take(parser.push(decoder.decode(value, { stream: true }))) || ended;
      if (parser.lastEventId) state.liveCursor = parser.lastEventId;
      if (parser.retry !== null) conn.retryMs = parser.retry;
    }
  } catch (e) {
    // The connection broke, or went silent (watchSilence aborted it); closeStream's abort is stale here.
    if (seq !== state.liveSeq) return;
  }
  clearTimeout(conn.silenceTimer);
  if (ended === "unauthorized") stop(ended);
  else if (ended) retry(seq, "live.ended", { why: reasonText(ended), reason: ended }, ended === "reconnect" ? 0 : undefined);
  else retry(seq, "live.lost");
}

/**
 * Aborts the connection when nothing comes for SILENCE_MS (its heartbeats stopped): a proxy or a network
 * that dropped it without saying so.
 * @param {number} seq
 * @param {AbortController} ctrl
 */
function watchSilence(seq, ctrl) {
  clearTimeout(conn.silenceTimer);
  conn.silenceTimer = window.setTimeout(() => { if (seq === state.liveSeq) ctrl.abort(); }, SILENCE_MS);
}

/**
 * Reconnects after the last message read, after `delayMs` or the server's delay doubled per failure.
 * @param {number} seq
 * @param {string} key the status line's label meanwhile
 * @param {Record<string, unknown>} [vars]
 * @param {number} [delayMs]
 */
function retry(seq, key, vars, delayMs) {
  conn.abort = null;
  const wait = delayMs ?? Math.min(MAX_RETRY_MS, conn.retryMs * 2 ** conn.failures);
  conn.failures++;
  setStatus("reconnecting", key, vars);
  conn.retryTimer = window.setTimeout(() => { if (seq === state.liveSeq) connect(); }, wait);
}

/**
 * The server ended the stream for good (the session or key may no longer read): stopped, and back to
 * sign-in when the session is over.
 * @param {string} reason
 */
async function stop(reason) {
  conn.active = false;
  conn.abort = null;
  setStatus("stopped", "live.stopped", { why: reasonText(reason), reason });
  try {
    await request("GET", "session");
  } catch (e) {
    if (e.status === 401) sessionLost(e.code);
  }
}

/** @param {string} reason the `Reason` of the server's `end` */
function reasonText(reason) {
  return t(REASONS.includes(reason) ? "live.reason." + reason : "live.reason.other");
}

/** @param {string} data @returns {any} */
function parsed(data) {
  try { return JSON.parse(data) || {}; } catch (e) { return {}; }
}

/**
 * Takes what one piece of the stream completed: events, `ready`, `behind`, `end`, heartbeats.
 * @param {StreamMessage[]} messages
 * @returns {string | null} the reason of an `end`
 */
function take(messages) {
  /** @type {string[]} */
  const records = [];
  let ended = null;
  for (const m of messages) {
    if (m.comment) {
      // A heartbeat: the server had nothing to send for a while, so it caught up.
      if (state.liveBehind && !state.liveBehind.caughtUp) {
        state.liveBehind.caughtUp = true;
        renderBehind();
      }
    } else if (m.event === "message") {
      records.push(m.data);
    } else if (m.event === "ready") {
      conn.failures = 0;
      setStatus("live", "live.live");
      // Counts the streams that opened (`data-loads`), for the tests and people reading the DOM.
      bump($("live-panel"));
    } else if (m.event === "behind") {
      state.liveBehind = { behind: Number(parsed(m.data).Behind) || 0, at: nowSec(), caughtUp: false };
      renderBehind();
      scheduleAnnouncement();
    } else if (m.event === "end") {
      ended = String(parsed(m.data).Reason || "") || "unknown";
    }
  }
  if (records.length) arrive(records);
  return ended;
}

// ---- rows ----------------------------------------------------------------------------------------

/**
 * New events, oldest first: drawn, or counted and kept while paused (the newest LIVE_ROWS of them: the
 * table would drop the others when they are drawn).
 * @param {string[]} records the stored records, as the stream gives them
 */
function arrive(records) {
  scheduleAnnouncement();
  if (!state.livePaused) {
    conn.unannounced += records.length;
    draw(records);
    return;
  }
  conn.unannouncedPaused += records.length;
  state.livePendingCount += records.length;
  const keep = records.slice(-LIVE_ROWS);
  state.liveDropped += records.length - keep.length;
  state.livePending.push(...keep);
  const over = state.livePending.length - LIVE_ROWS;
  if (over > 0) {
    state.livePending.splice(0, over);
    state.liveDropped += over;
  }
  renderPause();
}

/**
 * Draws events on top of the table (oldest first in, newest on top), and drops the rows past LIVE_ROWS.
 * @param {string[]} records
 */
function draw(records) {
  const keep = records.slice(-LIVE_ROWS);
  state.liveDropped += records.length - keep.length;
  const account = state.session ? state.session.AccountId : 0;
  /** @type {ConsoleEvent[]} */
  const evs = [];
  for (const r of keep) {
    const ev = eventOfRecord(r, account);
    if (ev) evs.push(ev);
  }
  evs.reverse();
  state.liveEvents = evs.concat(state.liveEvents);
  const body = $("live-body");
  prependRows(body, evs, EVENT_COLUMNS, "live-row");
  const over = state.liveEvents.length - LIVE_ROWS;
  if (over > 0) {
    state.liveEvents.length = LIVE_ROWS;
    for (let i = 0; i < over; i++) body.lastElementChild.remove();
    state.liveDropped += over;
  }
  renderCount();
}

/** Pause, or resume: what arrived meanwhile is drawn. */
function togglePause() {
  state.livePaused = !state.livePaused;
  if (!state.livePaused) {
    const pending = state.livePending;
    state.livePending = [];
    state.livePendingCount = 0;
    if (pending.length) draw(pending);
  }
  renderPause();
  renderStatus();
  scheduleAnnouncement();
}

// ---- drawing -------------------------------------------------------------------------------------

/**
 * @param {string} st
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 */
function setStatus(st, key, vars) {
  state.liveStatus = { state: st, key, vars };
  renderStatus();
  scheduleAnnouncement();
}

/** The state the panel shows: the connection's, or "paused" while a live one is paused. */
function shownState() {
  return state.liveStatus.state === "live" && state.livePaused ? "paused" : state.liveStatus.state;
}

function statusText() {
  if (shownState() === "paused") return t("live.paused");
  return state.liveStatus.key ? t(state.liveStatus.key, state.liveStatus.vars) : "";
}

function renderStatus() {
  const st = shownState();
  $("live-panel").dataset.state = st;
  const el = $("live-status");
  el.textContent = statusText();
  el.className = "live-status live-status-" + st;
  el.dataset.state = st;
  show($("live-restart"), st === "stopped" || st === "error");
  renderEmpty();
}

/** "No events yet" under an empty table, unless no stream is coming. */
function renderEmpty() {
  show($("live-empty"), !state.liveEvents.length && state.liveStatus.state !== "error" && state.liveStatus.state !== "stopped");
}

function renderCount() {
  const n = state.liveEvents.length;
  let text = n ? t("live.count", { n }) : "";
  if (state.liveDropped) text += " " + t("live.dropped", { n: state.liveDropped, max: LIVE_ROWS });
  const el = $("live-count");
  el.textContent = text;
  el.dataset.shown = String(n);
  el.dataset.dropped = String(state.liveDropped);
  renderEmpty();
}

function renderPause() {
  $("live-pause").textContent = t(state.livePaused ? "live.resume" : "live.pause");
  const pending = $("live-pending");
  pending.textContent = t("live.pending", { n: state.livePendingCount });
  pending.dataset.count = String(state.livePendingCount);
  show(pending, state.livePaused);
}

function renderBehind() {
  const b = state.liveBehind;
  const el = $("live-behind");
  show(el, !!b);
  if (!b) { el.textContent = ""; delete el.dataset.behind; return; }
  el.textContent = t(b.caughtUp ? "live.caughtUp" : "live.behind", { n: b.behind, time: localText(b.at) });
  el.dataset.behind = String(b.behind);
  el.dataset.caughtUp = String(b.caughtUp);
}

/** The whole view again (the language changed). */
export function renderLive() {
  const body = $("live-body");
  body.textContent = "";
  appendRows(body, state.liveEvents, EVENT_COLUMNS, "live-row");
  renderCount();
  renderPause();
  renderStatus();
  renderBehind();
}

// ---- the live region -----------------------------------------------------------------------------

/**
 * Has the live region (polite) say the status line when it changed and how many events arrived, at most
 * every ANNOUNCE_MS: one message for a burst of events, none per event.
 */
function scheduleAnnouncement() {
  if (conn.announceTimer !== undefined) return;
  const wait = Math.max(0, conn.lastAnnounce + ANNOUNCE_MS - Date.now());
  conn.announceTimer = window.setTimeout(announce, wait);
}

function announce() {
  conn.announceTimer = undefined;
  const parts = [];
  const status = statusText();
  if (status && status !== conn.announcedStatus) parts.push(status);
  conn.announcedStatus = status;
  if (conn.unannounced) parts.push(t("live.announce", { n: conn.unannounced }));
  if (conn.unannouncedPaused) parts.push(t("live.announcePaused", { n: conn.unannouncedPaused, pending: state.livePendingCount }));
  if (state.liveBehind && !state.liveBehind.caughtUp) parts.push($("live-behind").textContent);
  conn.unannounced = 0;
  conn.unannouncedPaused = 0;
  if (!parts.length) return;
  conn.lastAnnounce = Date.now();
  $("live-announce").textContent = parts.join(" ");
}

// ---- the view ------------------------------------------------------------------------------------

/** Empties the table and forgets the stream's place (a new query, or a new session). */
function clearRows() {
  state.liveCursor = null;
  state.liveEvents = [];
  state.liveDropped = 0;
  state.livePending = [];
  state.livePendingCount = 0;
  state.liveBehind = null;
  conn.failures = 0;
  $("live-body").textContent = "";
  renderCount();
  renderPause();
  renderBehind();
}

/**
 * The view is shown: its stream opens, after the last event it received when it had one (the rows stay).
 * A refused stream stays refused until the filters are applied again or "Start again" is chosen.
 */
export function showLive() {
  if (!state.liveQuery) {
    state.liveQuery = readQuery();
    clearRows();
  }
  if (conn.active || state.liveStatus.state === "error" || state.liveStatus.state === "stopped") return;
  connect();
}

/** Another view is shown: the stream closes; its rows and its place stay for the return. */
export function leaveLive() {
  if (!conn.active) return;
  closeStream();
  conn.active = false;
  setStatus("idle", "");
}

/** @param {Event} ev the form's submit: a new table from the newest event, drawn as they come (not paused) */
function apply(ev) {
  ev.preventDefault();
  state.liveQuery = readQuery();
  closeStream();
  state.livePaused = false;
  clearRows();
  state.liveStatus = { state: "idle", key: "" };
  connect();
}

/** Nothing of one session's stream stays for the next one. */
export function resetLive() {
  closeStream();
  conn.active = false;
  clearTimeout(conn.announceTimer);
  conn.announceTimer = undefined;
  conn.unannounced = 0;
  conn.unannouncedPaused = 0;
  conn.announcedStatus = "";
  state.liveQuery = null;
  state.livePaused = false;
  clearRows();
  state.liveStatus = { state: "idle", key: "" };
  renderStatus();
  $("live-announce").textContent = "";
  /** @type {HTMLInputElement} */ ($("live-hide-own")).checked = true;
  filters.clear();
}

export function wireLive() {
  filters.wire("live-hide-own");
  setHead($("live-table"), EVENT_COLUMNS);
  $("live-form").addEventListener("submit", apply);
  $("live-hide-own").addEventListener("change", () => $("live-form").requestSubmit());
  $("live-pause").addEventListener("click", togglePause);
  $("live-restart").addEventListener("click", () => {
    state.liveStatus = { state: "idle", key: "" };
    connect();
  });
}
