// @ts-check
/**
 * The sign-in view (an access key, or an account's console password of a role) and the session's
 * line in the top bar. Starting and ending a session is app.js's: it touches every view.
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, show, setMessage } from "./dom.js";
import { request, errorText } from "./api.js";
import { localText } from "./time.js";
import { shortUserName } from "./records.js";

/**
 * Why the session ended, from the server's 401 code.
 * @param {string} code
 */
export function endedText(code) {
  return code === "SessionExpired" ? t("signin.expired") : t("signin.notSignedIn");
}

/** @param {string} [message] why the sign-in view shows */
export function showSignIn(message) {
  document.body.classList.remove("signed-in", "role-auditor", "role-admin");
  show($("nav"), false);
  show($("user-info"), false);
  show($("signout"), false);
  for (const v of document.querySelectorAll(".view")) /** @type {HTMLElement} */ (v).hidden = v.id !== "view-signin";
  state.view = "signin";
  setMessage($("signin-message"), message || "");
  $("signin-message").classList.toggle("message-error", false);
  const first = state.signinMode === "password" ? $("signin-account") : $("signin-secret-id");
  first.focus();
}

/** @param {"key" | "password"} mode */
export function setSignInMode(mode) {
  state.signinMode = mode;
  $("signin-mode-key").setAttribute("aria-pressed", String(mode === "key"));
  $("signin-mode-password").setAttribute("aria-pressed", String(mode === "password"));
  show($("signin-form-key"), mode === "key");
  show($("signin-form-password"), mode === "password");
}

/**
 * Signs in with the form on screen; the sign-in button stays busy until `start` has opened the page.
 * @param {SubmitEvent} ev
 * @param {(session: import("./state.js").Session) => Promise<void>} start
 */
export async function signIn(ev, start) {
  ev.preventDefault();
  const msg = $("signin-message");
  let body;
  if (state.signinMode === "password") {
    const account = $("signin-account").value.trim();
    const password = $("signin-password").value;
    if (!account || !password) { setMessage(msg, t("signin.missing")); msg.classList.add("message-error"); return; }
    body = { AccountId: /^\d+$/.test(account) ? Number(account) : account, Role: $("signin-role").value, Password: password };
  } else {
    const id = $("signin-secret-id").value.trim();
    const key = $("signin-secret-key").value.trim();
    if (!id || !key) { setMessage(msg, t("signin.missing")); msg.classList.add("message-error"); return; }
    body = { SecretId: id, SecretKey: key };
  }
  const btn = /** @type {HTMLButtonElement} */ (ev.submitter || /** @type {HTMLElement} */ (ev.target).querySelector(".signin-submit"));
  btn.disabled = true;
  btn.textContent = t("signin.busy");
  try {
    const data = await request("POST", "session", body);
    $("signin-secret-key").value = "";
    $("signin-password").value = "";
    setMessage(msg, "");
    await start(data.Session);
  } catch (e) {
    setMessage(msg, errorText(e));
    msg.classList.add("message-error");
  } finally {
    btn.disabled = false;
    btn.textContent = t("signin.submit");
  }
}

/** Who is signed in, in the top bar; the whole name and when the session ends on hover. */
export function renderSessionInfo() {
  const s = state.session;
  const el = $("user-info");
  if (!s) { el.textContent = ""; return; }
  const user = s.UserName || "";
  const short = shortUserName(user);
  el.textContent = t("session.info", { user: short, role: t("role." + s.Role), account: s.AccountId });
  const idle = Math.round((s.IdleTimeout || 0) / 60);
  el.title = t("session.info", { user, role: t("role." + s.Role), account: s.AccountId }) +
    (s.ExpiresAt ? "\n" + t("session.expires", { time: localText(s.ExpiresAt), idle }) : "");
}
