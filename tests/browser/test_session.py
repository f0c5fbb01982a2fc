"""Signing in and out, roles, session expiry, CSRF and cross-site requests, languages, and the
server-unreachable state (docs/console.md "Sign-in and sessions" and "HTTP contract")."""

import time

import requests
from selenium.webdriver.support.ui import Select

import support
from console_page import ConsolePage
from deliverysupport import create_track, describe_track, track_name


def _set_password(server, account_id, role, password):
    server.cli("accounts", "set-password", "--account", str(account_id), "--role", role, input=(password + "\n").encode())


def test_sign_in_with_access_key_and_sign_out(console, console_env):
    key = console_env.admin
    console.sign_in_key(key)
    info = console.el("user-info")
    assert key.secret_id[:10] in info.text and str(console_env.account_id) in info.text, info.text
    assert key.secret_id in info.get_attribute("title"), "the whole SecretId on hover"
    assert console.visible("nav") and console.visible("signout")
    assert console.testid("event-row"), "the first search after sign-in shows the seeded events"
    s = console.page_session()
    assert s["status"] == 200 and s["body"]["Session"]["Role"] == "admin", s
    assert s["body"]["Session"]["AccountId"] == console_env.account_id
    cookie = console.d.get_cookie("cloudaudit_session")
    assert cookie["httpOnly"] and cookie.get("sameSite") == "Strict" and cookie["path"] == "/console", cookie
    assert not console.js("return document.cookie.includes('cloudaudit_session')"), "the session cookie must be HttpOnly"

    # the console's own calls are recorded in the account, as ConsoleCall events of this key
    def console_calls():
        evs = support.lookup(key, start=support.now() - 600, end=support.now() + 60,
                             attrs=[("AccessKeyId", key.secret_id)], max_results=50)["Events"]
        return {(support.record_of(e)["eventName"], support.record_of(e)["eventType"]) for e in evs}
    wanted = {("ConsoleLogin", "ConsoleCall"), ("LookUpEvents", "ConsoleCall"), ("DescribeEventStats", "ConsoleCall")}

    def recorded():
        calls = console_calls()
        return calls if wanted <= calls else None
    assert support.poll(recorded, timeout=10), console_calls()

    console.click(console.el("signout"))
    console.wait(lambda d: console.visible("view-signin"))
    assert console.el("signin-message").text.strip(), "signing out says so"
    assert not console.visible("nav")
    assert console.page_session()["status"] == 401
    # a reload stays signed out
    console.open()
    console.wait(lambda d: console.visible("view-signin"))


def test_wrong_key_is_refused_with_one_message(console, console_env):
    bad = support.Key(console_env.server, console_env.admin.secret_id, "x" * 32, console_env.account_id, "admin")
    console.sign_in_key(bad, expect_ok=False)
    msg = console.el("signin-message").text
    assert "AuthFailure.SignInFailed" in msg, msg
    assert console.visible("view-signin") and not console.visible("nav")


def test_sign_in_with_password(console, console_env):
    password = "correct horse " + support.uid("pw")
    _set_password(console_env.server, console_env.account_id, "admin", password)
    console.sign_in_password(console_env.account_id, "admin", "wrong " + password, expect_ok=False)
    assert "AuthFailure.SignInFailed" in console.el("signin-message").text
    console.sign_in_password(console_env.account_id, "admin", password)
    s = console.page_session()["body"]["Session"]
    assert s["Role"] == "admin" and s["AccountId"] == console_env.account_id, s
    assert "admin" in console.el("user-info").text


def test_auditor_cannot_change_anything(console, console_env):
    admin = console_env.admin
    name = track_name("auditview")
    tid = create_track(admin, name=name, region="local", bucket="auditor-view")
    password = "auditor " + support.uid("pw")
    _set_password(console_env.server, console_env.account_id, "auditor", password)
    console.sign_in_password(console_env.account_id, "auditor", password)
    assert console.page_session()["body"]["Session"]["Role"] == "auditor"

    console.goto_tracks()
    row = console.track_row(name)
    assert row is not None, "an auditor sees the tracking sets"
    assert console.testid("tracks-readonly"), "the page says the session is read-only"
    for testid in ("track-new", "track-edit", "track-toggle", "track-delete"):
        assert not console.testid(testid), "an auditor session must not offer %s" % testid
    assert not console.all("#tracks-table button"), "no buttons in the tracking-set rows of an auditor"

    # the server refuses anyway: a write sent from the page's own JavaScript, with a valid CSRF token
    r = console.page_call("DeleteAuditTrack", {"TrackId": tid})
    assert r["status"] == 200, r
    assert r["body"]["Response"]["Error"]["Code"] == "AuthFailure.UnauthorizedOperation", r
    r = console.page_call("ModifyAuditTrack", {"TrackId": tid, "Status": 0})
    assert r["body"]["Response"]["Error"]["Code"] == "AuthFailure.UnauthorizedOperation", r
    d = describe_track(admin, tid)
    assert d["Status"] == 1 and d["Name"] == name, d
    # reading works
    r = console.page_call("DescribeAuditTracks", {"PageNumber": 1, "PageSize": 10})
    assert "Error" not in r["body"]["Response"], r
    admin.common().call_json("DeleteAuditTrack", {"TrackId": tid})


def test_expired_session_returns_to_sign_in(browser, spawn_server):
    srv = spawn_server(extra_args=["--console-idle-timeout", "2"])
    acct = srv.create_account(support.uid("idle"))
    key = srv.create_key(acct["AccountId"], "admin")
    console = ConsolePage(browser, srv)
    console.sign_in_key(key)
    s = console.page_session()["body"]["Session"]
    assert s["IdleTimeout"] == 2, s
    time.sleep(3.5)
    console.click(console.el("preset-7d"))  # any call now answers 401 SessionExpired
    console.wait(lambda d: console.visible("view-signin"), message="an expired session must return to sign-in")
    msg = console.el("signin-message").text
    assert "expired" in msg.lower(), msg

    # An export link is checked first: an expired session returns to sign-in instead of downloading the error.
    console.sign_in_key(key)
    console.search()
    time.sleep(3.5)
    console.click(console.el("export-csv"))
    console.wait(lambda d: console.visible("view-signin"), message="an export with an expired session must return to sign-in")
    assert "expired" in console.el("signin-message").text.lower()
    assert not console.visible("nav")
    r = console.page_session()
    assert r["status"] == 401 and r["body"]["Error"]["Code"] in ("SessionExpired", "NotSignedIn"), r
    # signing in again works
    console.sign_in_key(key)


def test_cross_site_post_without_csrf_token_is_refused(console, console_env):
    console.sign_in_key(console_env.admin)
    base = console_env.server.url + "/console/api/"
    body = {"Action": "DescribeAuditTracks", "Params": {"PageNumber": 1, "PageSize": 10}}
    http = console.http()

    # the cookie alone (what a cross-site form post carries) is not enough
    r = http.post(base + "call", json=body, timeout=30)
    assert r.status_code == 403 and r.json()["Error"]["Code"] == "CsrfTokenInvalid", (r.status_code, r.text)
    r = http.post(base + "call", json=body, headers={"X-CSRF-Token": "not-the-token"}, timeout=30)
    assert r.status_code == 403 and r.json()["Error"]["Code"] == "CsrfTokenInvalid", (r.status_code, r.text)
    token = console.page_session()["body"]["Session"]["CsrfToken"]
    # the right token from a foreign origin
    r = http.post(base + "call", json=body, headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}, timeout=30)
    assert r.status_code == 403 and r.json()["Error"]["Code"] == "OriginNotAllowed", (r.status_code, r.text)
    # sign-out is state-changing too
    r = http.delete(base + "session", timeout=30)
    assert r.status_code == 403 and r.json()["Error"]["Code"] == "CsrfTokenInvalid", (r.status_code, r.text)
    # with the token and our own origin the same request passes
    r = http.post(base + "call", json=body, headers={"X-CSRF-Token": token, "Origin": console_env.server.url}, timeout=30)
    assert r.status_code == 200 and "Error" not in r.json()["Response"], r.text
    # no cookie at all
    r = requests.post(base + "call", json=body, headers={"X-CSRF-Token": token}, timeout=30)
    assert r.status_code == 401 and r.json()["Error"]["Code"] == "NotSignedIn", (r.status_code, r.text)
    # the page itself is framed by nobody and runs no inline script
    page = requests.get(console_env.server.url + "/console/", timeout=30)
    csp = page.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, page.headers
    assert page.headers.get("X-Frame-Options") == "DENY"
    assert console.visible("view-events"), "the refused requests did not sign the page out"


def test_labels_switch_to_chinese_and_stay(console, console_env):
    console.sign_in_key(console_env.admin)
    assert console.el("nav-events").text == "Operation Record"
    Select(console.el("lang")).select_by_value("zh")
    console.wait(lambda d: console.el("nav-events").text == "操作记录")
    assert console.el("nav-tracks").text == "跟踪集"
    assert console.el("search").text == "查询"
    assert console.js("return document.documentElement.lang") == "zh-CN"
    # attribute labels come from GetAttributeKey in Chinese
    console.wait(lambda d: "事件名称" in [o.text for o in console.all("#filter-rows .filter-key option")])
    assert "用户名" in [o.text for o in console.all("#filter-rows .filter-key option")]
    # table headers and the result column follow
    assert "时间" in [th.text for th in console.all("#events-table th")]
    # remembered after a reload
    console.open()
    console.wait(lambda d: console.visible("view-events"))
    console.wait(lambda d: console.el("nav-events").text == "操作记录")
    console.wait_loaded("events-panel", 0)
    assert console.el("lang").get_attribute("value") == "zh"


def test_server_unreachable_shows_a_banner(browser, spawn_server):
    srv = spawn_server()
    acct = srv.create_account(support.uid("down"))
    key = srv.create_key(acct["AccountId"], "admin")
    console = ConsolePage(browser, srv)
    console.sign_in_key(key)
    assert not console.visible("banner")
    srv.kill9()
    console.click(console.el("search"))
    console.wait(lambda d: console.visible("banner"), message="a failed fetch must raise the banner")
    assert "reach" in console.el("banner-text").text.lower()
    assert console.el("events-panel").get_attribute("data-state") == "error"
    assert console.visible("view-events"), "an unreachable server is not a signed-out session"
