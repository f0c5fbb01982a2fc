// @ts-check
/**
 * The console's entry module (index.html loads it): starting and ending a session, the routes
 * `#/events`, `#/live`, `#/history`, `#/tracks`, the language switch, and wiring the page. What each
 * view does is in its own module; the state they share is state.js.
 */
import { state } from "./state.js";
import { t, initialLanguage, saveLanguage, applyLabels } from "./lang.js";
import { LANGUAGES } from "./i18n.js";
import { $, show } from "./dom.js";
import { request, errorText, hideBanner, whenSessionLost } from "./api.js";
import { endedText, showSignIn, setSignInMode, signIn, renderSessionInfo } from "./session.js";
import { setPreset, search, renderEvents, renderQueryRange, renderStats, updateExportLinks, resetEvents, wireEvents } from "./events.js";
import { loadAttributeKeys } from "./filters.js";
import { showLive, leaveLive, renderLive, resetLive, wireLive } from "./live.js";
import { closeDetail, renderDetail, copyRaw } from "./detail.js";
import { historyOf, renderHistory, resetHistory, wireHistory } from "./history.js";
import { renderTrackToolbar, loadTracks, renderTrackFormTitle, resetTracks, wireTracks } from "./tracks.js";
import { loadAlerts, resetAlerts, wireAlerts } from "./alerts.js";

// ---- session -------------------------------------------------------------------------------------

/** @param {string} message why, on the sign-in view */
function sessionEnded(message) {
  // Concurrent calls may all answer 401: the first one decides the message.
  if (!state.session) return;
  state.session = null;
  forgetData();
  showSignIn(message);
}

/** Nothing of one session stays on the page for the next one (maybe another account). */
function forgetData() {
  closeDetail(false);
  resetLive();
  resetTracks();
  resetAlerts();
  resetEvents();
  resetHistory();
}

/** @param {import("./state.js").Session} session */
async function startSession(session) {
  state.session = session;
  const admin = session.Role === "admin";
  document.body.classList.add("signed-in");
  document.body.classList.toggle("role-admin", admin);
  document.body.classList.toggle("role-auditor", !admin);
  show($("nav"), true);
  show($("user-info"), true);
  show($("signout"), true);
  renderSessionInfo();
  renderTrackToolbar();
  $("signin-message").hidden = true;
  // replaceState does not fire hashchange: one route() only.
  if (!/^#\/\w+/.test(location.hash)) history.replaceState(null, "", "#/events");
  await route();
}

async function signOut() {
  try { await request("DELETE", "session"); } catch (e) { /* the session may be gone already */ }
  sessionEnded(t("signin.signedOut"));
}

// ---- routing -------------------------------------------------------------------------------------

const VIEWS = ["events", "live", "history", "tracks", "alerts"];

async function route() {
  if (!state.session) return;
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const view = VIEWS.includes(name) ? name : "events";
  // The detail panel belongs to the view whose row opened it: another view closes it.
  if (view !== state.view) closeDetail(false);
  // The live stream is open only while its view is shown.
  if (view !== "live") leaveLive();
  state.view = view;
  for (const v of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".view"))) v.hidden = v.id !== "view-" + view;
  for (const a of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("#nav a"))) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (view === "events") {
    if (!state.attrKeys.length) await loadAttributeKeys(false);
    if (!state.query) search();
  } else if (view === "live") {
    showLive();
    if (!state.attrKeys.length) loadAttributeKeys(false);
  } else if (view === "tracks") {
    loadTracks();
  } else if (view === "alerts") {
    // The rule form's condition menus are the Operation Record's.
    if (!state.attrKeys.length) loadAttributeKeys(false);
    loadAlerts();
  }
}

// ---- language ------------------------------------------------------------------------------------

/** @param {string} lang */
async function setLanguage(lang) {
  state.lang = LANGUAGES.includes(lang) ? lang : "en";
  saveLanguage();
  applyLabels();
  renderSessionInfo();
  if (!state.session) return;
  // Labels built by script follow the language too.
  await loadAttributeKeys(true);
  renderEvents();
  renderQueryRange();
  if (state.lastStats) renderStats(state.lastStats);
  if (state.view === "tracks") loadTracks();
  if (state.view === "alerts") loadAlerts();
  renderLive();
  if (state.historyEvents) renderHistory();
  if (state.detailEvent) renderDetail(state.detailEvent);
  renderTrackFormTitle();
}

// ---- start ---------------------------------------------------------------------------------------

function wire() {
  whenSessionLost((code) => sessionEnded(endedText(code)));
  $("lang").addEventListener("change", (/** @type {Event} */ e) => setLanguage(/** @type {HTMLSelectElement} */ (e.target).value));
  $("banner-dismiss").addEventListener("click", hideBanner);
  $("signin-form-key").addEventListener("submit", (/** @type {SubmitEvent} */ ev) => signIn(ev, startSession));
  $("signin-form-password").addEventListener("submit", (/** @type {SubmitEvent} */ ev) => signIn(ev, startSession));
  $("signin-mode-key").addEventListener("click", () => { setSignInMode("key"); $("signin-secret-id").focus(); });
  $("signin-mode-password").addEventListener("click", () => { setSignInMode("password"); $("signin-account").focus(); });
  $("signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);

  wireEvents();

  $("detail-close").addEventListener("click", () => closeDetail());
  $("detail-copy").addEventListener("click", copyRaw);
  $("detail-history").addEventListener("click", () => state.detailEvent && historyOf(state.detailEvent));
  // One button per resource of an event on several (detail.js draws them with data-name).
  $("detail-history-parts").addEventListener("click", (/** @type {MouseEvent} */ e) => {
    const part = /** @type {HTMLElement | null} */ ((/** @type {Element} */ (e.target)).closest("button[data-name]"));
    if (part && state.detailEvent) historyOf(state.detailEvent, part.dataset.name);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("detail").hidden && !$("confirm").open) closeDetail();
  });

  wireLive();
  wireHistory();
  wireTracks();
  wireAlerts();
}

async function boot() {
  state.lang = initialLanguage();
  applyLabels();
  wire();
  setSignInMode("key");
  setPreset("24h");
  updateExportLinks();
  try {
    const data = await request("GET", "session");
    document.body.classList.remove("booting");
    await startSession(data.Session);
  } catch (e) {
    document.body.classList.remove("booting");
    if (e.status === 401) showSignIn(e.code === "SessionExpired" ? t("signin.expired") : "");
    else showSignIn(e.code === "NetworkError" ? "" : errorText(e));
  }
}

boot();
