"""Operation Record and Resource history: every list the page shows is compared with the same
LookUpEvents query made through the official SDK (same EventIds, same order)."""

import collections
import csv
import io
import json
import os
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import support
from conftest import DOWNLOADS, HISTORY_EVENTS, HISTORY_RESOURCE, SEED_COUNT

README_IMAGES = os.environ.get("CONSOLE_README_IMAGES") == "1"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

CSV_COLUMNS = ["EventTime", "EventId", "Username", "EventName", "EventSource", "ResourceType", "ResourceName",
               "SourceIPAddress", "AccessKeyId", "ActionType", "ErrorCode", "ApiErrorCode", "SensitiveAction", "RequestId",
               "EventRegion"]

# How the Result column reads the CAM error codes the API records (i18n.js "errorCode.<n>").
CAM_MEANINGS = {4100: "Wrong signature", 4102: "Not authorized", 4104: "Unknown key", 4110: "Signature expired", 4111: "Bad authorization"}


def _all(key, start, end, attrs=()):
    return support.lookup_all(key, list(attrs), start=start, end=end)


def _seeded_range(env):
    return env.seed_start, env.seeded_at


def _readme_image(console, name, script="window.scrollTo(0, 0)"):
    """The README's pictures (CONSOLE_README_IMAGES=1): 1280x800 in Chromium, from this seeded server."""
    if README_IMAGES and console.d.name == "chrome":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        console.js("document.getElementById('events-panel').scrollLeft = 0; document.activeElement.blur();" + script)
        console.d.save_screenshot(str(DOCS_IMG / name))


def _top_names(env, rtype, n=2):
    start, end = _seeded_range(env)
    evs = _all(env.admin, start, end, [("ResourceType", rtype)])
    counts = collections.Counter(e["EventName"] for e in evs)
    return [name for name, _ in counts.most_common(n)]


def test_filtered_search_matches_the_api(console, console_env):
    admin = console_env.admin
    a, b = _top_names(console_env, "cvm")
    console.sign_in_key(admin)
    console.click(console.el("preset-7d"))
    console.set_filters([("ResourceType", "cvm"), ("EventName", a), ("EventName", b)])
    assert console.search() == "ready"
    start, end = console.query_range()
    assert 7 * 86400 - 900 <= end - start <= 7 * 86400
    ids = console.load_all()
    api = _all(admin, start, end, [("ResourceType", "cvm"), ("EventName", a), ("EventName", b)])
    assert ids == support.ids_of(api), "the page lists the API's events, in its order"
    assert len(ids) > 2
    names = {r.find_element(By.CSS_SELECTOR, "td.col-eventName").text for r in console.testid("event-row")}
    assert names <= {a, b} and names, names
    assert {r.find_element(By.CSS_SELECTOR, "td.col-resourceType").text for r in console.testid("event-row")} == {"cvm"}

    # a select-type key (ActionType: Read,Write from GetAttributeKey's Starter) and paging past 50
    console.set_filters([("ResourceType", "cvm"), ("ActionType", "Read")])
    row = console.testid("filter-row")[1]
    assert row.find_element(By.CSS_SELECTOR, ".filter-value").tag_name == "select"
    console.search()
    start, end = console.query_range()
    first = console.row_ids()
    api = _all(admin, start, end, [("ResourceType", "cvm"), ("ActionType", "Read")])
    assert len(api) > 50, "the seed gives more than one page of cvm reads (%d)" % len(api)
    assert first == support.ids_of(api)[:50]
    assert console.el("load-more").is_displayed()
    assert console.load_all() == support.ids_of(api)
    assert not console.el("load-more").is_displayed()
    assert str(len(api)) in console.el("results-count").text
    for r in console.testid("event-row")[:10]:
        assert r.find_element(By.CSS_SELECTOR, "td.col-actionType").text == "Read"


def test_empty_range_says_so(console, console_env):
    console.sign_in_key(console_env.admin)
    console.set_filters([("EventName", "NoSuchEvent" + support.uid("x"))])
    assert console.search() == "empty"
    assert "No events in this range" in console.el("events-status").text
    assert not console.testid("event-row")


def test_top_lists_add_a_filter(console, console_env):
    admin = console_env.admin
    console.sign_in_key(admin)
    start, end = _seeded_range(console_env)
    console.set_custom_range(start, end)
    before = console.loads("histogram")
    console.search()
    console.wait_stats(before)
    items = console.el("top-events").find_elements(By.CSS_SELECTOR, "[data-testid=top-item]")
    assert 5 <= len(items) <= 10
    assert sum(1 for i in items if i.is_displayed()) == min(5, len(items)), "five shown at first"
    console.click(console.el("top-more"))
    assert all(i.is_displayed() for i in items), "then all of them"
    assert console.el("top-more").get_attribute("aria-expanded") == "true"
    # the top event names of the range are the API's
    api = _all(admin, start, end)
    counts = collections.Counter(e["EventName"] for e in api)
    shown = [(i.get_attribute("data-value"), int(i.get_attribute("data-count"))) for i in items]
    assert shown[0] == counts.most_common(1)[0], (shown[:3], counts.most_common(3))
    assert all(counts[v] == c for v, c in shown), shown
    name = shown[1][0]
    console.click_and_wait_results(items[1])
    rows = console.testid("filter-row")
    assert [(r.find_element(By.CSS_SELECTOR, ".filter-key").get_attribute("value"),
             r.find_element(By.CSS_SELECTOR, ".filter-value").get_attribute("value")) for r in rows] == [("EventName", name)]
    assert console.query_range() == (start, end)
    assert console.load_all() == support.ids_of(_all(admin, start, end, [("EventName", name)]))


def test_open_an_event_and_find_its_fields(console, console_env):
    admin = console_env.admin
    console.sign_in_key(admin)
    console.set_filters([("ResourceType", "cvm")])
    console.search()
    start, end = console.query_range()
    api = support.lookup(admin, start=start, end=end, attrs=[("ResourceType", "cvm")], max_results=50)["Events"]
    by_id = {e["EventId"]: e for e in api}

    eid = console.open_row(0)
    ev = by_id[eid]
    fields = console.detail_fields()
    for k in ("EventId", "EventName", "Username", "SourceIPAddress", "RequestID", "SecretId", "EventSource", "EventRegion",
              "Resources.ResourceType", "Resources.ResourceName", "ErrorCode", "AccountID"):
        expected = ev[k.split(".")[0]][k.split(".")[1]] if "." in k else ev[k]
        assert fields.get(k) == str(expected), "detail field %s: %r, API %r" % (k, fields.get(k), expected)
    assert ev["EventTime"] in fields["EventTime"]
    assert console.detail_raw() == support.record_of(ev), "the raw record is the API's CloudAuditEvent"
    assert console.el("detail-title").text == ev["EventName"]
    time_el = console.all('#detail-fields dd[data-field="EventTime"] time')[0]
    assert time_el.get_attribute("title").endswith("UTC"), "UTC time on hover"

    console.click(console.el("detail-copy"))
    console.wait(lambda d: console.el("detail-copy-status").text.strip())
    assert console.el("detail-copy-status").text == "Copied to the clipboard."
    _readme_image(console, "console-event-detail.png", "document.getElementById('results-title').scrollIntoView({block: 'start'})")

    # Escape closes the panel and gives the focus back to the row
    console.el("detail-raw").send_keys(Keys.ESCAPE)
    console.wait(lambda d: not console.visible("detail"))
    assert console.js("return document.activeElement.dataset.eventId") == eid

    # keyboard: the next row, Enter
    eid2 = console.open_row(1, keyboard=True)
    assert eid2 != eid
    assert console.detail_fields()["EventId"] == eid2
    assert console.detail_raw() == support.record_of(by_id[eid2])
    console.click(console.el("detail-close"))
    console.wait(lambda d: not console.visible("detail"))


def test_zoom_by_clicking_a_histogram_bar(console, console_env):
    admin = console_env.admin
    console.sign_in_key(admin)
    console.wait(lambda d: console.loads("histogram") > 0)
    assert console.el("histogram").get_attribute("data-state") == "ready"
    start, end = console.query_range()
    bars = console.testid("histogram-bar")
    assert 1 < len(bars) <= 60
    assert int(bars[0].get_attribute("data-start")) == start and int(bars[-1].get_attribute("data-end")) == end
    counts = [int(b.get_attribute("data-count")) for b in bars]
    assert any(counts), "the seeded events show in the histogram"
    assert str(sum(counts)) in console.el("stats-total").text
    top = [console.el(i).find_elements(By.CSS_SELECTOR, "[data-testid=top-item]") for i in ("top-users", "top-events", "top-ips")]
    assert all(top), "top users, event names and source IPs are listed"

    # a bar in the seeded past (not the last ones, where the console's own calls land), with events
    candidates = [i for i in range(len(bars) - 3) if counts[i] > 0]
    i = max(candidates, key=lambda j: counts[j])
    bar = bars[i]
    b_start, b_end, b_count = (int(bar.get_attribute(a)) for a in ("data-start", "data-end", "data-count"))
    stats_before = console.loads("histogram")
    console.click_and_wait_results(bar)
    console.wait_stats(stats_before)
    assert console.query_range() == (b_start, b_end), "the range is the bar's"
    assert console.el("preset-custom").get_attribute("aria-pressed") == "true"
    ids = console.load_all()
    times = [int(r.get_attribute("data-event-time")) for r in console.testid("event-row")]
    assert all(b_start <= t <= b_end for t in times), (b_start, b_end, min(times), max(times))
    api = _all(admin, b_start, b_end)
    assert ids == support.ids_of(api)
    assert len(ids) == b_count, "the bar counted %d events, LookUpEvents over its range gives %d" % (b_count, len(ids))
    new_bars = console.testid("histogram-bar")
    assert int(new_bars[0].get_attribute("data-start")) == b_start and int(new_bars[-1].get_attribute("data-end")) == b_end
    assert sum(int(b.get_attribute("data-count")) for b in new_bars) == b_count


def test_export_csv_and_json_lines_match_the_api(console, console_env):
    admin = console_env.admin
    console.sign_in_key(admin)
    start, end = _seeded_range(console_env)
    console.set_custom_range(start, end)
    console.search()
    assert console.query_range() == (start, end)
    api = _all(admin, start, end)
    assert len(api) == SEED_COUNT + HISTORY_EVENTS
    console.wait(lambda d: console.el("histogram").get_attribute("data-state") == "ready")
    _readme_image(console, "console-operation-record.png")
    http = console.http()

    r = http.get(console.export_url("csv"), timeout=300)
    assert r.status_code == 200, r.text[:300]
    assert "attachment" in r.headers.get("Content-Disposition", ""), r.headers
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert rows[0] == CSV_COLUMNS, rows[0]
    body = rows[1:]
    assert len(body) > 50
    assert [row[1] for row in body] == support.ids_of(api), "every event of the range, newest first, as the API"
    for row, ev in zip(body, api):
        rec = support.record_of(ev)
        assert row[0] == ev["EventTime"] and row[2] == ev["Username"] and row[3] == ev["EventName"], (row, ev)
        assert row[5] == ev["Resources"]["ResourceType"] and row[7] == ev["SourceIPAddress"]
        assert row[9] == rec.get("actionType", "")

    # The page's own link downloads the same file (after checking the session).
    name = "cloudaudit-events-%d-%d.csv" % (start, end)
    saved = DOWNLOADS / name
    if saved.exists():
        saved.unlink()
    console.click(console.el("export-csv"))
    console.wait(lambda d: saved.exists() and saved.stat().st_size == len(r.content), timeout=60, message="the CSV link saved no file")
    assert saved.read_bytes() == r.content

    r = http.get(console.export_url("jsonl"), timeout=300)
    assert r.status_code == 200
    lines = [json.loads(l) for l in r.content.decode("utf-8").splitlines() if l.strip()]
    assert [e["EventId"] for e in lines] == support.ids_of(api)
    assert lines[0] == {k: v for k, v in api[0].items() if v is not None}, "a line is the LookUpEvents Event object"

    # with filters, the export follows the query
    console.set_filters([("ResourceType", "cos"), ("ActionType", "Write")])
    console.search()
    api = _all(admin, start, end, [("ResourceType", "cos"), ("ActionType", "Write")])
    r = http.get(console.export_url("csv"), timeout=300)
    assert [row[1] for row in list(csv.reader(io.StringIO(r.content.decode("utf-8"))))[1:]] == support.ids_of(api)


def test_follow_a_resource_history(console, console_env):
    admin = console_env.admin
    rtype, rname = HISTORY_RESOURCE
    console.sign_in_key(admin)
    console.set_filters([("ResourceName", rname)])
    console.search()
    assert len(console.testid("event-row")) == HISTORY_EVENTS
    console.open_row(2)
    before = console.loads("history-panel")
    console.click(console.el("detail-history"))
    console.wait(lambda d: console.visible("view-history"))
    assert console.wait_loaded("history-panel", before) == "ready"
    assert not console.visible("detail")
    rng = console.el("history-range")
    start, end = int(rng.get_attribute("data-start")), int(rng.get_attribute("data-end"))
    api = _all(admin, start, end, [("ResourceType", rtype), ("ResourceName", rname)])
    ids = console.row_ids("history-row")
    assert ids == list(reversed(support.ids_of(api))), "oldest first"
    assert len(ids) == HISTORY_EVENTS
    times = [int(r.get_attribute("data-event-time")) for r in console.testid("history-row")]
    assert times == sorted(times)
    rows = console.testid("history-row")
    by_id = {e["EventId"]: e for e in api}
    for r in rows:
        ev = by_id[r.get_attribute("data-event-id")]
        assert r.find_element(By.CSS_SELECTOR, "td.col-user").text == ev["Username"]
        assert r.find_element(By.CSS_SELECTOR, "td.col-eventName").text == ev["EventName"]
        expect = "Success" if ev["ErrorCode"] == 0 else "%d %s" % (ev["ErrorCode"], CAM_MEANINGS[ev["ErrorCode"]])
        assert r.find_element(By.CSS_SELECTOR, "td.col-result").text == expect

    # typed by hand, over the last 30 days: a generated resource
    seeded = _all(admin, *_seeded_range(console_env), [("ResourceType", "cos")])
    name = collections.Counter(e["Resources"]["ResourceName"] for e in seeded if e["Resources"]["ResourceName"]).most_common(1)[0][0]
    console.el("history-type").clear()
    console.el("history-type").send_keys("cos")
    console.el("history-name").clear()
    console.el("history-name").send_keys(name)
    from selenium.webdriver.support.ui import Select
    Select(console.el("history-range-select")).select_by_value("30d")
    before = console.loads("history-panel")
    console.click(console.el("history-search"))
    console.wait_loaded("history-panel", before)
    start, end = int(rng.get_attribute("data-start")), int(rng.get_attribute("data-end"))
    assert 30 * 86400 - 900 <= end - start <= 30 * 86400, "about 30 days (a few minutes inside the retention)"
    api = _all(admin, start, end, [("ResourceType", "cos"), ("ResourceName", name)])
    assert console.row_ids("history-row") == list(reversed(support.ids_of(api)))


def test_history_of_each_resource_of_a_multi_resource_event(console, console_env):
    admin = console_env.admin
    start, end = _seeded_range(console_env)
    evs = _all(admin, start, end, [("ResourceType", "vpc")])
    multi = [e for e in evs if "," in e["Resources"]["ResourceName"]]
    assert multi, "the generator gives some events on several resources"
    ev = multi[0]
    parts = [p.strip() for p in ev["Resources"]["ResourceName"].split(",")]
    console.sign_in_key(admin)
    console.set_custom_range(start, end)
    console.set_filters([("EventId", ev["EventId"])])
    console.search()
    assert console.row_ids() == [ev["EventId"]]
    console.open_row(0)
    buttons = console.testid("detail-history-part")
    assert [b.get_attribute("data-name") for b in buttons] == parts
    before = console.loads("history-panel")
    console.click(buttons[-1])
    console.wait_loaded("history-panel", before)
    assert console.el("history-name").get_attribute("value") == parts[-1]
    rng = console.el("history-range")
    h_start, h_end = int(rng.get_attribute("data-start")), int(rng.get_attribute("data-end"))
    assert (h_start, h_end) == (start, end), "the history runs over the Operation Record's custom range"
    api = _all(admin, h_start, h_end, [("ResourceType", "vpc"), ("ResourceName", parts[-1])])
    assert ev["EventId"] in support.ids_of(api)
    assert console.row_ids("history-row") == list(reversed(support.ids_of(api)))


def test_api_refusal_is_the_error_state(console, console_env):
    console.sign_in_key(console_env.admin)
    # A search with bars, an axis and more pages first: a refused search must leave nothing of it.
    start, end = _seeded_range(console_env)
    console.set_custom_range(start, end)
    before = console.loads("histogram")
    assert console.search() == "ready"
    console.wait_stats(before)
    assert console.el("load-more").is_displayed() and console.testid("histogram-bar") and console.el("axis-start").text
    end = support.now()
    console.set_custom_range(end - 40 * 86400, end)
    before = console.loads("histogram")
    assert console.search() == "error"
    console.wait_stats(before)
    status = console.el("events-status").text
    assert "LimitExceeded.OverTime" in status and "retention" in status, status
    assert not console.testid("event-row")
    assert not console.el("load-more").is_displayed(), "no Load more for a refused search"
    assert not console.testid("histogram-bar"), "no bars of the previous search"
    for id_ in ("axis-start", "axis-end", "stats-total", "results-count"):
        assert console.el(id_).text == "", "%s still shows %r" % (id_, console.el(id_).text)
    assert console.el("histogram").text == "No histogram: the search was refused."
    # an inverted range is caught before any request
    console.set_custom_range(end, end - 3600)
    console.click(console.el("search"))
    console.wait(lambda d: console.visible("query-error"))
    assert "start" in console.el("query-error").text.lower()


def test_keyboard_only_zoom_and_detail(console, console_env):
    from selenium.webdriver.common.action_chains import ActionChains
    console.sign_in_key(console_env.admin)
    console.wait(lambda d: console.el("histogram").get_attribute("data-state") == "ready")
    bars = [b for b in console.testid("histogram-bar") if int(b.get_attribute("data-count")) > 0]
    bar = bars[len(bars) // 2]
    start, end = int(bar.get_attribute("data-start")), int(bar.get_attribute("data-end"))
    console.js("arguments[0].focus()", bar)
    assert console.js("return document.activeElement === arguments[0]", bar), "bars are focusable buttons"
    before = console.loads("events-panel")
    ActionChains(console.d).send_keys(Keys.ENTER).perform()
    console.wait_loaded("events-panel", before)
    assert console.query_range() == (start, end)
    # rows take the focus; arrow keys move between them, Enter opens one, Escape closes it
    row = console.testid("event-row")[0]
    console.js("arguments[0].focus()", row)
    ActionChains(console.d).send_keys(Keys.ARROW_DOWN).perform()
    second = console.testid("event-row")[1]
    assert console.js("return document.activeElement === arguments[0]", second), "arrow keys move between rows"
    ActionChains(console.d).send_keys(Keys.ENTER).perform()
    console.wait(lambda d: console.visible("detail"))
    assert console.js("return document.activeElement.id") == "detail-close"
    assert console.detail_fields()["EventId"] == second.get_attribute("data-event-id")
    ActionChains(console.d).send_keys(Keys.ESCAPE).perform()
    console.wait(lambda d: not console.visible("detail"))
    assert console.js("return document.activeElement === arguments[0]", second)


def test_readable_on_a_phone(console, console_env):
    console.sign_in_key(console_env.admin)
    console.d.set_window_size(390, 844)
    console.wait(lambda d: d.execute_script("return window.innerWidth") <= 400)
    # the page itself does not scroll sideways; the table does, inside its card
    assert console.js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    panel = console.el("events-panel")
    assert console.js("return arguments[0].scrollWidth > arguments[0].clientWidth", panel)
    assert console.el("search").is_displayed() and console.el("preset-24h").is_displayed()
    console.open_row(0)
    width = console.js("return document.getElementById('detail').getBoundingClientRect().width")
    assert width <= console.js("return window.innerWidth"), "the detail panel fits the screen"


def test_paging_stays_correct_while_events_arrive(console, console_env):
    admin = console_env.admin
    rname = support.uid("ins-paging")
    t0 = support.now()
    first = [support.make_event("cvm.tencentcloudapi.com", resourceName=rname, eventTime=t0 - 1000 + i) for i in range(60)]
    admin.put_ok(first)
    console.sign_in_key(admin)
    console.set_custom_range(t0 - 3600, t0 + 600)
    console.set_filters([("ResourceName", rname)])
    console.search()
    page1 = console.row_ids()
    expected = [e["eventId"] for e in sorted(first, key=lambda e: -e["eventTime"])]
    assert page1 == expected[:50]
    # newer events arrive in the range while the first page is on screen
    later = [support.make_event("cvm.tencentcloudapi.com", resourceName=rname, eventTime=t0 - 500 + i) for i in range(10)]
    admin.put_ok(later)
    rows = console.load_all()
    assert rows == expected, "the next page continues where the first stopped: nothing repeated, nothing skipped"
    assert len(set(rows)) == len(rows) == 60
    # a new search shows them
    console.search()
    assert console.row_ids()[:10] == [e["eventId"] for e in sorted(later, key=lambda e: -e["eventTime"])]


def test_markup_in_events_is_shown_as_text(console, console_env):
    """Events are written by whoever calls PutEvents: markup in them must be shown, never run."""
    admin = console_env.admin
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    name = "Evil" + support.uid("x") + payload
    admin.put_ok([support.make_event("cvm.tencentcloudapi.com", name=name, resourceType="cvm", resourceName=payload,
                                     userIdentity={"type": "CAMUser", "principalId": "1", "userName": payload})])
    console.sign_in_key(admin)
    console.set_filters([("EventName", name)])
    console.search()
    assert len(console.row_ids()) == 1
    row = console.testid("event-row")[0]
    assert name in row.text and payload in row.text
    console.open_row(0)
    fields = console.detail_fields()
    assert fields["EventName"] == name and fields["Username"] == payload
    assert console.detail_raw()["userIdentity"]["userName"] == payload
    assert console.js("return window.__pwned === undefined"), "the markup ran"
    assert console.js("return document.querySelectorAll('img[src=\"x\"], #view-events script').length") == 0


def test_one_event_is_one_event_and_the_detail_closes_with_its_view(console, console_env):
    """Issue 13: "1 events" read wrong, and the detail panel stayed open over the tracking sets."""
    admin = console_env.admin
    start, end = _seeded_range(console_env)
    one = _all(admin, start, end)[0]
    console.sign_in_key(admin)
    console.click(console.el("preset-7d"))
    console.set_filters([("EventId", one["EventId"])])
    assert console.search() == "ready"
    console.wait(lambda d: console.el("stats-total").text.strip())
    assert console.el("stats-total").text == "1 matching event"
    assert console.all("[data-testid=histogram-bar][data-count='1']")[0].get_attribute("title").startswith("1 event from ")

    console.open_row(0)
    console.goto_tracks()
    console.wait(lambda d: not console.visible("detail"))
    console.click(console.el("nav-events"))
    console.wait(lambda d: console.visible("view-events"))
    assert not console.visible("detail"), "back on the Operation Record, the panel stays closed until a row is opened"


def _count(text):
    """The first number of a label such as "Showing 50 of 1,234" or "1,234 matching events"."""
    import re
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


def _page_query(console):
    """The search the page shows, as its export link carries it: range, exclusion, snapshot."""
    from urllib.parse import parse_qs, urlparse
    q = {k: v[0] for k, v in parse_qs(urlparse(console.export_url("jsonl")).query).items()}
    params = {"StartTime": int(q["StartTime"]), "EndTime": int(q["EndTime"]), "MaxResults": 1}
    if "ExcludeAttributes" in q:
        params["ExcludeAttributes"] = json.loads(q["ExcludeAttributes"])
    if "Snapshot" in q:
        params["Snapshot"] = int(q["Snapshot"])
    return params


def test_totals_agree_while_events_arrive_and_own_reads_can_be_hidden(console, console_env):
    """Issue 13: the histogram's total and the table's total disagreed while events arrived, and the
    console's own calls filled the first page."""
    import threading
    admin = console_env.admin
    t0 = support.now()
    mine = [support.make_event("cvm.tencentcloudapi.com", name="RunInstances", eventTime=t0 - 30 + i % 20) for i in range(40)]
    admin.put_ok(mine)
    console.sign_in_key(admin)
    # A few searches of the page's own, so that its reads are many in the range.
    console.set_custom_range(t0 - 120, t0 + 600)
    for _ in range(3):
        console.search()
    stop = threading.Event()

    def producer():
        # Events keep arriving inside the range (times a little in the past, as batching producers send).
        while not stop.is_set():
            admin.put_ok([support.make_event("cvm.tencentcloudapi.com", eventTime=support.now() - 2) for _ in range(5)])
            time.sleep(0.05)

    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    try:
        for hide in (True, False):
            box = console.el("hide-own")
            if box.is_selected() != hide:
                before = console.loads("histogram")
                console.click_and_wait_results(box)
            else:
                before = console.loads("histogram")
                console.search()
            console.wait_stats(before)
            shown, table_total = _count(console.el("results-count").text)
            (stats_total,) = _count(console.el("stats-total").text)
            bars = sum(int(b.get_attribute("data-count")) for b in console.testid("histogram-bar"))
            assert table_total == stats_total == bars, "hide=%s: table %d, histogram %d, bars %d" % (hide, table_total, stats_total, bars)
            # The API gives the same number for the page's snapshot, and a larger one without it.
            params = _page_query(console)
            assert "Snapshot" in params
            assert ("ExcludeAttributes" in params) == hide
            pinned = admin.common().call_json("LookUpEvents", params)["Response"]
            assert pinned["TotalCount"] == table_total and pinned["Snapshot"] == params["Snapshot"]
            unpinned = dict(params)
            del unpinned["Snapshot"]
            later = support.poll(lambda: admin.common().call_json("LookUpEvents", unpinned)["Response"]["TotalCount"] > table_total, timeout=10)
            assert later, "events kept arriving, so the count without the snapshot grows"
            names = {r.find_element(By.CSS_SELECTOR, "td[data-col=eventName]").text for r in console.testid("event-row")}
            own_reads = {"LookUpEvents", "DescribeEventStats", "GetAttributeKey"}
            if hide:
                assert not names & own_reads, names
                assert names, "the other events are listed"
                hidden_total = table_total
            else:
                assert names & own_reads, "the page's own searches are listed when not hidden: %s" % names
                assert table_total > hidden_total
    finally:
        stop.set()
        thread.join(timeout=10)
    # Sign-ins are not hidden: the session's ConsoleLogin is found with the box on.
    console.click_and_wait_results(console.el("hide-own"))
    assert console.el("hide-own").is_selected()
    console.set_filters([("EventName", "ConsoleLogin")])
    assert console.search() == "ready"
    assert console.row_ids()


def test_refused_calls_and_failed_sign_ins_say_why(console, console_env):
    """Issue 13: a refused call showed "ErrorCode 0" in the detail and a failed ConsoleLogin a bare 4100."""
    admin = console_env.admin
    t0 = support.now()
    # A change refused by the API (no such tracking set), an event recorded with a CAM code only, and a
    # console sign-in with the right SecretId and a wrong SecretKey.
    error = support.expect_error("ResourceNotFound", admin.common().call_json, "DeleteAuditTrack", {"TrackId": 987654321})
    refused = {"Code": error.code, "Message": error.message}
    rname = support.uid("ins-denied")
    admin.put_ok([support.make_event("cvm.tencentcloudapi.com", name="StopInstances", resourceName=rname, errorCode=4102,
                                     errorMessage="not allowed to stop " + rname)])
    console.sign_in_key(support.Key(admin.server, admin.secret_id, "x" * 40, admin.account_id, admin.role), expect_ok=False)
    console.sign_in_key(admin)
    console.set_custom_range(t0 - 60, t0 + 600)

    console.set_filters([("EventName", "DeleteAuditTrack")])
    assert console.search() == "ready"
    row = console.testid("event-row")[0]
    assert row.find_element(By.CSS_SELECTOR, "td[data-col=result]").text == refused["Code"]
    console.open_row(0)
    fields = console.detail_fields()
    assert fields["Result"] == "%s: %s" % (refused["Code"], refused["Message"]), fields["Result"]
    assert fields["ApiErrorCode"] == refused["Code"] and fields["ErrorMessage"] == refused["Message"]
    assert "ErrorCode" not in fields, "no ErrorCode 0 for a call the API refused"
    console.el("detail-close").click()

    console.set_filters([("EventName", "ConsoleLogin")])
    assert console.search() == "ready"
    failed = [r for r in console.testid("event-row") if r.find_element(By.CSS_SELECTOR, "td[data-col=result]").text != "Success"]
    assert failed, "the failed sign-in is listed"
    cell = failed[0].find_element(By.CSS_SELECTOR, "td[data-col=result]")
    assert cell.text == "AuthFailure.SignatureFailure" and cell.get_attribute("title"), (cell.text, cell.get_attribute("title"))
    console.click(failed[0].find_element(By.CSS_SELECTOR, "td"))
    console.wait(lambda d: console.visible("detail"))
    fields = console.detail_fields()
    assert fields["Result"].startswith("AuthFailure.SignatureFailure (4100): "), fields["Result"]
    assert fields["ErrorCode"] == "4100" and fields["ErrorMessage"]
    console.el("detail-close").click()

    console.set_filters([("ResourceName", rname)])
    assert console.search() == "ready"
    assert console.testid("event-row")[0].find_element(By.CSS_SELECTOR, "td[data-col=result]").text == "4102 Not authorized"
    console.open_row(0)
    assert console.detail_fields()["Result"] == "4102 Not authorized: not allowed to stop " + rname
