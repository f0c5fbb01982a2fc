"""A small page object for the console: what a person does (sign in, pick a range, add filters, open an
event...), in terms of the page's stable ids and data-testid attributes, and waits that follow the
page's `data-state` / `data-loads` markers instead of sleeping."""

import json

import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 30


class ConsolePage:
    def __init__(self, driver, server):
        self.d = driver
        self.server = server

    # ---- basics

    @property
    def url(self):
        return self.server.url + "/console/"

    def open(self, hash_=""):
        self.d.get(self.url + hash_)
        self.wait(lambda d: d.execute_script("return document.readyState === 'complete' && !document.body.classList.contains('booting')"))
        return self

    def el(self, id_):
        return self.d.find_element(By.ID, id_)

    def all(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def testid(self, name):
        return self.all('[data-testid="%s"]' % name)

    def visible(self, id_):
        els = self.d.find_elements(By.ID, id_)
        return bool(els) and els[0].is_displayed()

    def wait(self, cond, timeout=WAIT, message=""):
        def safe(d):
            try:
                return cond(d)
            except StaleElementReferenceException:
                return False
        return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(safe, message)

    def click(self, element):
        """Clicks after scrolling the element to the middle of the window (the top bar is sticky, and an
        element just under it counts as visible but would not get the click)."""
        self.js("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})", element)
        element.click()
        return element

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def js_async(self, script, *args):
        self.d.set_script_timeout(WAIT)
        return self.d.execute_async_script(script, *args)

    def loads(self, id_):
        return int(self.el(id_).get_attribute("data-loads") or 0)

    def wait_loaded(self, id_, before, timeout=WAIT):
        """Wait until panel `id_` finished a load after `before` (its data-loads counter)."""
        self.wait(lambda d: self.loads(id_) > before and self.el(id_).get_attribute("data-state") != "loading", timeout,
                  "%s did not finish loading" % id_)
        return self.el(id_).get_attribute("data-state")

    # ---- session

    def sign_in_key(self, key, expect_ok=True):
        self.open()
        self.wait(lambda d: self.visible("view-signin") or self.visible("view-events"))
        self.el("signin-mode-key").click()
        self.el("signin-secret-id").clear()
        self.el("signin-secret-id").send_keys(key.secret_id)
        self.el("signin-secret-key").clear()
        self.el("signin-secret-key").send_keys(key.secret_key)
        return self._submit_sign_in(expect_ok)

    def sign_in_password(self, account_id, role, password, expect_ok=True):
        self.open()
        self.wait(lambda d: self.visible("view-signin"))
        self.el("signin-mode-password").click()
        self.el("signin-account").clear()
        self.el("signin-account").send_keys(str(account_id))
        Select(self.el("signin-role")).select_by_value(role)
        self.el("signin-password").clear()
        self.el("signin-password").send_keys(password)
        return self._submit_sign_in(expect_ok)

    def _submit_sign_in(self, expect_ok):
        before, stats_before = self.loads("events-panel"), self.loads("histogram")
        submit = [b for b in self.testid("signin-submit") if b.is_displayed()]
        assert len(submit) == 1, "one visible Sign in button"
        submit[0].click()
        if expect_ok:
            self.wait(lambda d: self.visible("view-events"), message="sign-in did not reach the Operation Record")
            self._wait_search(before, stats_before)
        else:
            self.wait(lambda d: self.visible("signin-message") and self.el("signin-message").text.strip()
                      and all(b.is_enabled() for b in self.testid("signin-submit")))
        return self

    def session_cookie(self):
        c = self.d.get_cookie("cloudaudit_session")
        assert c, "no cloudaudit_session cookie in the browser: %r" % self.d.get_cookies()
        return c["value"]

    def http(self):
        """A requests session carrying the browser's session cookie (as a cross-site attacker's form
        would: the cookie, but not the page's CSRF token)."""
        s = requests.Session()
        s.cookies.set("cloudaudit_session", self.session_cookie(), path="/console")
        return s

    def page_session(self):
        """GET /console/api/session from inside the page (same cookie, same origin)."""
        return self.js_async("""
            const done = arguments[arguments.length - 1];
            fetch('/console/api/session', {credentials: 'same-origin'})
              .then(r => r.json().then(b => done({status: r.status, body: b})))
              .catch(e => done({status: 0, body: String(e)}));""")

    def page_call(self, action, params):
        """POST /console/api/call from inside the page with the session's CSRF token, as the page does."""
        return self.js_async("""
            const [action, params, done] = arguments;
            fetch('/console/api/session', {credentials: 'same-origin'}).then(r => r.json()).then(s =>
              fetch('/console/api/call', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.Session.CsrfToken},
                body: JSON.stringify({Action: action, Params: params})}))
              .then(r => r.json().then(b => done({status: r.status, body: b})))
              .catch(e => done({status: 0, body: String(e)}));""", action, params)

    # ---- Operation Record

    def set_local_input(self, id_, epoch):
        """Puts a Unix time into a datetime-local input, as the browser's local time."""
        self.js("""
            const [id, sec] = arguments; const d = new Date(sec * 1000); const p = n => String(n).padStart(2, '0');
            const el = document.getElementById(id);
            el.value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
            el.dispatchEvent(new Event('change', {bubbles: true}));""", id_, epoch)

    def set_custom_range(self, start, end):
        self.el("preset-custom").click()
        self.set_local_input("range-start", start)
        self.set_local_input("range-end", end)

    def clear_filters(self, prefix="filter"):
        while len(self.testid(prefix + "-row")) > 1:
            self.click(self.testid(prefix + "-remove")[0])
        row = self.testid(prefix + "-row")[0]
        self._fill_row(row, "EventName", "")

    def _fill_row(self, row, key, value):
        # In the middle of the window: a row near the top would be under the sticky top bar, where
        # Firefox refuses the click (ElementClickInterceptedException).
        self.js("arguments[0].scrollIntoView({block: 'center'})", row)
        Select(row.find_element(By.CSS_SELECTOR, ".filter-key")).select_by_value(key)
        control = row.find_element(By.CSS_SELECTOR, ".filter-value")
        if control.tag_name == "select":
            Select(control).select_by_value(value)
        else:
            control.clear()
            if value:
                control.send_keys(value)

    def set_filters(self, pairs, prefix="filter"):
        """Replaces the filter rows with `pairs` [(AttributeKey, value)], one row each: the Operation
        Record's, or the Live view's with prefix "live-filter"."""
        self.clear_filters(prefix)
        for i, (key, value) in enumerate(pairs):
            if i > 0:
                self.click(self.el(prefix + "-add"))
            row = self.testid(prefix + "-row")[i]
            self._fill_row(row, key, value)

    def search(self):
        return self.click_and_wait_results(self.el("search"))

    def click_and_wait_results(self, element):
        """Clicks `element`, which starts a search, and waits for its first page and then its histogram and
        top lists: they come after the page and, above the table, push its rows down; a row clicked while
        they arrive may take the click on something else (a top-list entry starts another search)."""
        before, stats_before = self.loads("events-panel"), self.loads("histogram")
        self.click(element)
        return self._wait_search(before, stats_before)

    def _wait_search(self, before, stats_before):
        state = self.wait_loaded("events-panel", before)
        self.wait_loaded("histogram", stats_before)
        return state

    def query_range(self):
        el = self.el("query-range")
        return int(el.get_attribute("data-start")), int(el.get_attribute("data-end"))

    def row_ids(self, testid="event-row"):
        return [r.get_attribute("data-event-id") for r in self.testid(testid)]

    def load_all(self, limit=100):
        """Clicks "Load more" until the last page is shown."""
        for _ in range(limit):
            more = self.el("load-more")
            if not more.is_displayed():
                return self.row_ids()
            before = self.loads("events-panel")
            self.click(more)
            self.wait_loaded("events-panel", before)
        raise AssertionError("Load more never ended")

    def export_url(self, fmt):
        href = self.el("export-" + fmt).get_attribute("href")
        assert href and "/console/api/export?" in href, "export link for %s: %r" % (fmt, href)
        return href

    def wait_stats(self, before):
        return self.wait_loaded("histogram", before)

    # ---- detail

    def open_row(self, index=0, keyboard=False, testid="event-row"):
        row = self.testid(testid)[index]
        if keyboard:
            self.js("arguments[0].focus()", row)
            from selenium.webdriver.common.keys import Keys
            row.send_keys(Keys.ENTER)
        else:
            # on the row's first cell, as a person clicks on its text: Firefox's WebDriver refuses to click
            # a <tr> itself ("could not be scrolled into view", with the row in view)
            self.click(row.find_element(By.CSS_SELECTOR, "td"))
        self.wait(lambda d: self.visible("detail"))
        return row.get_attribute("data-event-id")

    def detail_fields(self):
        out = {}
        for dd in self.all("#detail-fields dd"):
            out[dd.get_attribute("data-field")] = dd.text
        return out

    def detail_raw(self):
        return json.loads(self.el("detail-raw").get_attribute("textContent"))

    def goto_events(self):
        """Back to the Operation Record by its navigation entry (no new search: it shows the last one)."""
        self.click(self.el("nav-events"))
        self.wait(lambda d: self.visible("view-events"))

    # ---- live view

    def live_state(self):
        return self.el("live-panel").get_attribute("data-state")

    def live_streams(self):
        """How many times the Live view's stream said `ready` (its panel's data-loads)."""
        return self.loads("live-panel")

    def goto_live(self):
        """Opens the Live view by its navigation entry and waits until its stream is live."""
        before = self.live_streams()
        self.click(self.el("nav-live"))
        self.wait(lambda d: self.visible("view-live"))
        self.wait_live(before)
        return self

    def wait_live(self, before, timeout=WAIT):
        """Waits until a stream opened after `before` (live_streams()) is live (or paused)."""
        self.wait(lambda d: self.live_streams() > before and self.live_state() in ("live", "paused"), timeout,
                  "the live stream did not open: %s" % self.el("live-status").text)

    def apply_live_filters(self, pairs):
        """Sets the Live view's filter rows and applies them; waits for the new stream."""
        self.set_filters(pairs, prefix="live-filter")
        before = self.live_streams()
        self.click(self.el("live-apply"))
        return before

    def live_ids(self):
        """The EventIds of the Live view's rows, top to bottom (in one script: the table may hold 500)."""
        return self.js("return [...document.querySelectorAll('#live-body tr')].map(r => r.dataset.eventId)")

    def wait_live_rows(self, n, timeout=WAIT):
        self.wait(lambda d: len(self.live_ids()) >= n, timeout, "the Live view did not reach %d rows" % n)
        return self.live_ids()

    def row_cells(self, body_id):
        """{EventId: [(text, title) per cell]} of a table body, read in one script."""
        return {k: [tuple(c) for c in v] for k, v in self.js("""
            const out = {};
            for (const r of document.getElementById(arguments[0]).rows)
              out[r.dataset.eventId] = [...r.cells].map(c => [c.textContent, c.title || (c.firstElementChild && c.firstElementChild.title) || ""]);
            return out;""", body_id).items()}

    # ---- tracking sets

    def goto_tracks(self):
        before = self.loads("tracks-panel")
        self.el("nav-tracks").click()
        self.wait(lambda d: self.visible("view-tracks"))
        return self.wait_loaded("tracks-panel", before)

    def track_row(self, name):
        rows = [r for r in self.testid("track-row") if r.get_attribute("data-name") == name]
        return rows[0] if rows else None

    def wait_tracks_reload(self, action):
        before = self.loads("tracks-panel")
        action()
        return self.wait_loaded("tracks-panel", before)

    # ---- alerts

    def goto_alerts(self):
        """Opens the Alerts view by its navigation entry and waits for its three lists."""
        before = {p: self.loads(p) for p in ("fired-panel", "rules-panel", "channels-panel")}
        self.click(self.el("nav-alerts"))
        self.wait(lambda d: self.visible("view-alerts"))
        return {p: self.wait_loaded(p, n) for p, n in before.items()}

    def refresh_alerts(self):
        before = {p: self.loads(p) for p in ("fired-panel", "rules-panel", "channels-panel")}
        self.click(self.el("alerts-refresh"))
        return {p: self.wait_loaded(p, n) for p, n in before.items()}

    def row_named(self, testid, name):
        rows = [r for r in self.testid(testid) if r.get_attribute("data-name") == name]
        return rows[0] if rows else None
