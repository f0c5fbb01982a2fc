"""The Live view (docs/console.md, "The Live view"): the account's events as they are recorded, from the
server's live tail (`GET /console/api/tail`). Events are put with the official SDK after the view opened;
what the page shows is compared with LookUpEvents and with the Operation Record's rows of the same events.

Each test signs in with a key of a new account (the `tenant` fixture): the view then shows only what the
test puts, and the account's 32 tail slots (docs/contract.md, "Live tail") are the test's alone."""

import re

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

import sse
import support
from console_page import ConsolePage
from support import make_event, uid

LIVE_ROWS = 500
TAILS_PER_ACCOUNT = 32


@pytest.fixture
def tenant(console_env):
    """An admin key of a new account on the session's server."""
    srv = console_env.server
    acct = srv.create_account(uid("live"))
    return srv.create_key(acct["AccountId"], "admin")


def _lookup(key, attrs):
    """Every event LookUpEvents finds for `attrs` over the last hour, newest first."""
    return support.lookup_all(key, list(attrs), start=support.now() - 3600, end=support.now() + 60)


def _open_live(console, key):
    """Signs in and opens the Live view. First waits until the sign-in's ConsoleLogin event (recorded
    asynchronously, and not one of the reads the view hides) is stored: it is then before the view's
    stream, not one of its rows. Returns a new event source for the test's events."""
    console.sign_in_key(key)
    assert support.poll(lambda: _lookup(key, [("EventName", "ConsoleLogin")]), timeout=10), "the sign-in is recorded"
    console.goto_live()
    return uid("livesrc")


def _record_texts(console, id_):
    """From now on, every text element `id_` shows, with its time (ms): read with _texts."""
    console.js("""
        const el = document.getElementById(arguments[0]);
        const seen = window.__texts = window.__texts || {};
        seen[el.id] = [];
        new MutationObserver(() => seen[el.id].push([Date.now(), el.textContent]))
          .observe(el, {childList: true, characterData: true, subtree: true});""", id_)


def _texts(console, id_):
    return console.js("return window.__texts[arguments[0]]", id_)


def _open_tail(key):
    """A tail of the account opened here (not by the page), or None when the server refused it."""
    s = sse.open_tail(key, Heartbeat=1)
    if isinstance(s, sse.Stream):
        sse.ready(s)
        return s
    support.raw_error(s, "LimitExceeded.Tails")
    return None


def test_events_arrive_newest_on_top_with_the_operation_records_cells(console, tenant):
    source = _open_live(console, tenant)
    assert console.el("nav-live").get_attribute("aria-current") == "page"
    assert console.el("live-status").text == "Live: new events appear at the top as they are recorded."
    assert not console.live_ids() and console.visible("live-empty")

    first = tenant.put_ok([
        make_event(source, "RunInstances", actionType="Write", resourceType="cvm", resourceName="ins-a,ins-b", sensitiveAction=True),
        make_event(source, "StopInstances", actionType="Write", errorCode=4102, errorMessage="not allowed"),
        make_event(source, "DescribeInstances", userIdentity={"type": "CAMUser", "principalId": "100000009002", "userName": "bob"},
                   sourceIPAddress="10.9.8.7"),
    ])
    assert console.wait_live_rows(3) == list(reversed(first))
    second = tenant.put_ok([make_event(source, "Op%d" % i) for i in range(4)])
    console.wait_live_rows(7)
    ids = console.live_ids()
    assert ids == list(reversed(first + second)), "newest on top, in the order they were stored"
    assert ids == support.ids_of(_lookup(tenant, [("EventSource", source)])), "the same events as LookUpEvents, in its order"
    assert console.el("live-count").text == "7 events, newest first."
    assert not console.visible("live-empty")
    live = console.row_cells("live-body")
    assert live[first[1]][7] == ("4102 Not authorized", "not allowed"), live[first[1]]
    assert live[first[0]][8][0] == "Sensitive", live[first[0]]

    # The Operation Record draws the same events with the same cells (its table, its helpers).
    console.goto_events()
    console.set_filters([("EventSource", source)])
    console.search()
    assert console.row_ids() == ids
    assert console.row_cells("events-body") == live
    headers = console.js("return [...document.querySelectorAll(arguments[0])].map(th => th.textContent)", "#live-table th")
    assert headers == console.js("return [...document.querySelectorAll(arguments[0])].map(th => th.textContent)", "#events-table th")

    # In Chinese: the navigation, the status line and the cells follow.
    console.goto_live()
    Select(console.el("lang")).select_by_value("zh")
    console.wait(lambda d: console.el("nav-live").text == "实时")
    assert console.el("live-status").text == "实时：新事件记录后显示在最上面。"
    assert console.live_ids() == ids, "the rows stay"
    assert console.row_cells("live-body")[first[1]][7][0].startswith("4102 ")
    assert console.row_cells("live-body")[first[1]][7][0] != "4102 Not authorized"


def test_a_filter_shows_what_lookupevents_finds_and_own_reads_can_be_shown(console, tenant):
    source = _open_live(console, tenant)
    before = tenant.put_ok([make_event(source, "Before")])
    assert console.wait_live_rows(1) == before

    attrs = [("EventSource", source), ("EventName", "Alpha"), ("EventName", "Beta"), ("ActionType", "Write")]
    streams = console.apply_live_filters(attrs)
    console.wait_live(streams)
    assert console.live_ids() == [], "new conditions start a new table"
    t0 = support.now()
    evs = [make_event(source, name, actionType=action, eventTime=t0) for name in ("Alpha", "Beta", "Gamma") for action in ("Read", "Write")]
    evs.append(make_event(uid("elsewhere"), "Alpha", actionType="Write", eventTime=t0))
    tenant.put_ok(evs)
    marker = tenant.put_ok([make_event(source, "Beta", actionType="Write", eventTime=t0)])[0]
    console.wait(lambda d: marker in console.live_ids())
    expected = support.ids_of(_lookup(tenant, attrs))
    assert len(expected) == 3
    assert console.live_ids() == expected, "the view shows exactly what LookUpEvents finds with the same conditions"
    names = {cells[2][0] for cells in console.row_cells("live-body").values()}
    assert names == {"Alpha", "Beta"}

    # CloudAudit's own reads: hidden while the box is on (the default), shown once it is off.
    console.wait_live(console.apply_live_filters([]))
    tenant.lookup(max_results=1)  # a read of the API, recorded in the account (asynchronously)
    assert support.poll(lambda: _lookup(tenant, [("EventName", "LookUpEvents")]), timeout=10), "the read is recorded"
    marker = tenant.put_ok([make_event(source, "AfterTheRead")])[0]
    console.wait(lambda d: marker in console.live_ids())
    names = [cells[2][0] for cells in console.row_cells("live-body").values()]
    assert "LookUpEvents" not in names, "recorded before the marker, and left out: %s" % names
    streams = console.live_streams()
    console.click(console.el("live-hide-own"))
    console.wait_live(streams)
    tenant.lookup(max_results=1)
    console.wait(lambda d: "LookUpEvents" in [cells[2][0] for cells in console.row_cells("live-body").values()],
                 message="with the box off, the API's reads are shown")


def test_pause_counts_and_resume_draws_them_once(console, tenant):
    source = _open_live(console, tenant)
    a = tenant.put_ok([make_event(source, "A%d" % i) for i in range(3)])
    console.wait_live_rows(3)

    console.click(console.el("live-pause"))
    console.wait(lambda d: console.live_state() == "paused")
    assert console.el("live-pause").text == "Resume"
    assert console.el("live-status").text == "Paused: new events are counted, and shown when you resume."
    assert console.el("live-pending").text == "0 new events"
    _record_texts(console, "live-announce")
    b = []
    for i in range(4):
        b += tenant.put_ok([make_event(source, "B%d-%d" % (i, j)) for j in range(3)])
        console.wait(lambda d: console.el("live-pending").get_attribute("data-count") == str(len(b)))
    assert console.el("live-pending").text == "12 new events"
    assert console.live_ids() == list(reversed(a)), "nothing drawn while paused"
    console.wait(lambda d: "12 waiting" in console.el("live-announce").text, timeout=15, message="the live region says the count")
    announced = _texts(console, "live-announce")
    times = [t for t, _ in announced]
    assert all(later - earlier >= 4500 for earlier, later in zip(times, times[1:])), "at most every 5 s: %r" % announced
    counts = [int(m.group(1)) for _, text in announced for m in [re.search(r"(\d+) new events? while paused", text)] if m]
    assert sum(counts) == 12 and len(counts) < 4, "one message per burst, not per event: %r" % announced

    console.click(console.el("live-pause"))
    console.wait(lambda d: console.live_state() == "live")
    assert not console.visible("live-pending")
    assert console.live_ids() == list(reversed(a + b)), "what arrived while paused, in order, once"
    c = tenant.put_ok([make_event(source, "C%d" % i) for i in range(2)])
    ids = console.wait_live_rows(17)
    assert ids == list(reversed(a + b + c)) and len(set(ids)) == 17, "nothing lost, nothing twice"
    assert ids == support.ids_of(_lookup(tenant, [("EventSource", source)]))


def test_a_row_opens_the_detail_and_new_rows_leave_the_focus_alone(console, tenant):
    source = _open_live(console, tenant)
    ids = tenant.put_ok([make_event(source, "RunInstances", actionType="Write", requestID=uid("req")),
                         make_event(source, "StopInstances", actionType="Write", errorCode=4102)])
    console.wait_live_rows(2)
    api = {e["EventId"]: e for e in _lookup(tenant, [("EventSource", source)])}

    eid = console.open_row(0, testid="live-row")
    assert eid == ids[1]
    ev = api[eid]
    fields = console.detail_fields()
    for k in ("EventId", "EventName", "Username", "SourceIPAddress", "RequestID", "SecretId", "EventSource", "EventRegion",
              "ResourceRegion", "Resources.ResourceType", "Resources.ResourceName", "ErrorCode", "AccountID"):
        expected = ev[k.split(".")[0]][k.split(".")[1]] if "." in k else ev[k]
        assert fields.get(k) == str(expected), "detail field %s: %r, LookUpEvents %r" % (k, fields.get(k), expected)
    assert ev["EventTime"] in fields["EventTime"]
    assert fields["Result"] == "4102 Not authorized"
    assert console.detail_raw() == support.record_of(ev), "the raw record is the stored one"
    assert console.js("return document.activeElement.id") == "detail-close"

    # Events arriving while the panel is open: drawn, and the focus and the panel stay.
    more = tenant.put_ok([make_event(source, "Later%d" % i) for i in range(3)])
    assert console.wait_live_rows(5)[:3] == list(reversed(more))
    assert console.js("return document.activeElement.id") == "detail-close"
    assert console.detail_fields()["EventId"] == eid
    console.el("detail-close").send_keys(Keys.ESCAPE)
    console.wait(lambda d: not console.visible("detail"))
    assert console.js("return document.activeElement.dataset.eventId") == eid, "the focus returns to the row"

    # Keyboard: from that row, down to the next one, Enter; a new event on top moves nothing.
    ActionChains(console.d).send_keys(Keys.ARROW_DOWN).perform()
    assert console.js("return document.activeElement.dataset.eventId") == ids[0]
    newest = tenant.put_ok([make_event(source, "Newest")])[0]
    console.wait(lambda d: console.live_ids()[0] == newest)
    assert console.js("return document.activeElement.dataset.eventId") == ids[0], "a new row does not take the focus"
    ActionChains(console.d).send_keys(Keys.ENTER).perform()
    console.wait(lambda d: console.visible("detail"))
    assert console.detail_fields()["EventId"] == ids[0]
    assert console.detail_raw() == support.record_of(api[ids[0]])


def test_leaving_the_view_or_signing_out_closes_the_stream(console, tenant):
    """The server holds 32 tails per account: the page takes one, this test the 31 others. Once the page
    left the view (or signed out), one more tail opens: the page's connection was closed."""
    source = _open_live(console, tenant)
    held = []
    try:
        for _ in range(TAILS_PER_ACCOUNT - 1):
            s = _open_tail(tenant)
            assert s is not None, "a free slot"
            held.append(s)
        assert _open_tail(tenant) is None, "all 32 are taken: the page holds one"
        seen = tenant.put_ok([make_event(source, "Seen%d" % i) for i in range(2)])
        console.wait_live_rows(2)

        console.goto_events()
        s = support.poll(lambda: _open_tail(tenant), timeout=30)
        assert s is not None, "leaving the view freed the page's slot"
        held.append(s)
        away = tenant.put_ok([make_event(source, "Away%d" % i) for i in range(3)])
        assert support.ids_of(_lookup(tenant, [("EventSource", source)]))[:3] == list(reversed(away))
        assert console.live_ids() == list(reversed(seen)), "nothing is drawn while the view is not shown"

        # Back: the view continues after the last event it received, so what came meanwhile arrives, once.
        held.pop().close()
        console.goto_live()
        ids = console.wait_live_rows(5)
        assert ids == list(reversed(seen + away)), ids
        late = tenant.put_ok([make_event(source, "Late")])
        assert console.wait_live_rows(6) == list(reversed(seen + away + late))
        assert _open_tail(tenant) is None, "the page holds a slot again"

        console.click(console.el("signout"))
        console.wait(lambda d: console.visible("view-signin"))
        s = support.poll(lambda: _open_tail(tenant), timeout=30)
        assert s is not None, "signing out freed the page's slot"
        held.append(s)
        assert console.live_ids() == [], "nothing of the session stays"
    finally:
        for s in held:
            s.close()


def test_a_refused_filter_shows_the_servers_error(console, console_env, tenant):
    auditor = console_env.server.create_key(tenant.account_id, "auditor")
    source = _open_live(console, auditor)
    assert console.page_session()["body"]["Session"]["Role"] == "auditor"
    bad = [("Tags", "env=prod")]
    refusal = support.expect_error("InvalidParameterValue", support.lookup, auditor, attrs=bad)
    console.apply_live_filters(bad)
    console.wait(lambda d: console.live_state() == "error")
    assert console.el("live-status").text == "The server refused the live view: %s (%s)" % (refusal.message, refusal.code)
    assert console.visible("live-restart")
    assert console.live_ids() == []
    # Leaving and coming back does not retry it; fixed conditions do.
    console.goto_events()
    console.click(console.el("nav-live"))
    console.wait(lambda d: console.visible("view-live"))
    assert console.live_state() == "error"
    console.wait_live(console.apply_live_filters([("EventSource", source)]))
    assert not console.visible("live-restart")
    ids = tenant.put_ok([make_event(source, "Fine")])
    assert console.wait_live_rows(1) == ids


def test_coming_back_after_many_events_catches_up_keeps_the_newest_and_says_so(console, tenant):
    source = _open_live(console, tenant)
    first = tenant.put_ok([make_event(source, "First%d" % i) for i in range(2)])
    console.wait_live_rows(2)
    console.goto_events()
    away = []
    for batch in range(3):
        away += tenant.put_ok([make_event(source, "Away%d-%d" % (batch, i), requestParameters={}, responseElements={}) for i in range(500)])
    console.goto_live()
    # 1,500 events after its cursor: the server says the stream is behind, then it catches up.
    console.wait(lambda d: console.el("live-behind").get_attribute("data-behind"), message="the page says it fell behind")
    behind = int(console.el("live-behind").get_attribute("data-behind"))
    assert behind >= 1000, behind
    console.wait(lambda d: console.live_ids()[:1] == [away[-1]], timeout=60)
    ids = console.live_ids()
    assert ids == list(reversed(away))[:LIVE_ROWS], "the 500 newest, newest first, none twice"
    count = console.el("live-count")
    assert count.get_attribute("data-dropped") == str(len(first) + len(away) - LIVE_ROWS)
    assert count.text == "500 events, newest first. The page keeps the 500 newest: 1002 older events were removed."
    assert "behind the log" in console.el("live-behind").text and str(behind) in console.el("live-behind").text
    console.wait(lambda d: console.el("live-behind").get_attribute("data-caught-up") == "true", message="a heartbeat says it caught up")
    assert console.el("live-behind").text.startswith("Caught up: ")
    more = tenant.put_ok([make_event(source, "More")])
    console.wait(lambda d: console.live_ids()[0] == more[0])
    assert len(console.live_ids()) == LIVE_ROWS and console.live_ids()[1:] == ids[:-1]


def test_a_server_restart_is_followed_with_no_gap_and_no_repeat(browser, spawn_server):
    srv = spawn_server()
    acct = srv.create_account(uid("liverestart"))
    key = srv.create_key(acct["AccountId"], "admin")
    console = ConsolePage(browser, srv)
    source = _open_live(console, key)
    before = key.put_ok([make_event(source, "Before%d" % i) for i in range(2)])
    console.wait_live_rows(2)
    streams = console.live_streams()
    _record_texts(console, "live-status")
    srv.stop()  # SIGTERM: the server ends open tails with `end` (shutdown) before it exits
    # It tries again, and again later while the server is down (the banner says it cannot be reached).
    console.wait(lambda d: console.el("live-status").text.startswith("Could not connect: "), timeout=60)
    assert console.live_state() == "reconnecting" and console.visible("banner")
    srv.start(port=srv.port)
    # Events stored while the page waits to try again (it waits 4 s or more by now): they come after its cursor.
    during = key.put_ok([make_event(source, "During%d" % i) for i in range(2)])
    # The session is in the store: the page reconnects by itself, after the last event it received.
    console.wait_live(streams, timeout=60)
    statuses = [text for _, text in _texts(console, "live-status")]
    assert any("the server is stopping (shutdown)" in s for s in statuses), statuses
    assert not console.visible("banner"), "the banner of the outage went once the server answered"
    after = key.put_ok([make_event(source, "After%d" % i) for i in range(3)])
    ids = console.wait_live_rows(7)
    assert ids == list(reversed(before + during + after)), ids
