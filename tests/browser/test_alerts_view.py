"""The Alerts view (docs/console.md, "The Alerts view"): an admin makes a webhook channel (a receiver on
loopback), tests it, makes a rule from the "sensitive-actions" template, and follows the alert that an event
put through the SDK fires to that event in the Operation Record; an auditor reads the lists and finds no
control that changes them; a refused rule shows the API's own message. Each test uses a new account, so
its lists hold only what it made."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

import support
import webhooks
from support import expect_error, make_event, uid

SECRET = "console-alert-secret-" + "y" * 8


@pytest.fixture
def tenant(console_env):
    """A new account on the session's server, with its admin key."""
    srv = console_env.server
    acct = srv.create_account(uid("alerts"))
    return srv.create_key(acct["AccountId"], "admin")


@pytest.fixture
def hook():
    h = webhooks.WebhookReceiver().start()
    yield h
    h.stop()


def _call(key, action, params=None):
    return key.common().call_json(action, params or {})["Response"]


def _fill(console, id_, value):
    el = console.el(id_)
    el.clear()
    el.send_keys(value)


def _alerts_of(key, rule_id):
    return _call(key, "DescribeAlerts", {"StartTime": support.now() - 3600, "EndTime": support.now() + 600, "RuleId": rule_id, "Limit": 100})["Alerts"]


def _wait_for(fn, what, timeout=30):
    import time
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.time() < deadline, "%s did not happen within %ss" % (what, timeout)
        time.sleep(0.2)


def test_an_admin_makes_a_channel_and_a_rule_and_follows_an_alert_to_its_event(console, tenant, hook):
    console.sign_in_key(tenant)
    states = console.goto_alerts()
    assert states == {"fired-panel": "empty", "rules-panel": "empty", "channels-panel": "empty"}, states
    assert not console.visible("alerts-readonly")

    # a webhook channel, its secret never shown again
    console.click(console.el("channel-new"))
    console.wait(lambda d: console.visible("channel-form"))
    assert Select(console.el("channel-type")).first_selected_option.get_attribute("value") == "webhook"
    name = uid("hook")
    _fill(console, "channel-name", name)
    _fill(console, "channel-url", hook.url("/alerts"))
    _fill(console, "channel-secret", SECRET)
    console.click(console.el("channel-save"))
    console.wait(lambda d: console.row_named("channel-row", name) is not None, message="the new channel's row")
    assert not console.visible("channel-form")
    channel = _call(tenant, "DescribeAlertChannels")["Channels"][0]
    assert (channel["Name"], channel["Type"], channel["Config"]["Url"]) == (name, "webhook", hook.url("/alerts"))
    row = console.row_named("channel-row", name)
    config = row.find_element(By.CSS_SELECTOR, "[data-testid=channel-config]").text
    assert hook.url("/alerts") in config and "******" in config and SECRET not in console.el("view-alerts").text

    # test it: the receiver gets a signed test alert, the page says Delivered with the receiver's answer
    console.click(row.find_element(By.CSS_SELECTOR, "[data-testid=channel-test]"))
    result = lambda: console.row_named("channel-row", name).find_element(By.CSS_SELECTOR, "[data-testid=channel-test-result]")
    console.wait(lambda d: result().get_attribute("data-state") in ("delivered", "failed", "error"), message="the test's answer")
    assert result().get_attribute("data-state") == "delivered", result().text
    assert result().text.startswith("Delivered"), result().text
    got = hook.acked("/alerts")
    assert len(got) == 1 and got[0].headers.get("x-cloudaudit-signature") == webhooks.hook_signature(SECRET, got[0].body)
    assert got[0].headers.get("x-cloudaudit-alert-id") == got[0].json()["AlertId"]

    # a rule from the "sensitive-actions" template, sent to that channel
    Select(console.el("rule-template")).select_by_value("sensitive-actions")
    console.wait(lambda d: console.visible("rule-form"))
    template = next(t for t in _call(tenant, "DescribeAlertRuleTemplates")["Templates"] if t["Template"] == "sensitive-actions")
    assert console.el("rule-name").get_attribute("value") == template["Name"]
    assert Select(console.el("rule-severity")).first_selected_option.get_attribute("value") == template["Severity"]
    rows = console.testid("rule-filter-row")
    assert len(rows) == 1
    assert Select(rows[0].find_element(By.CSS_SELECTOR, ".filter-key")).first_selected_option.get_attribute("value") == "SensitiveAction"
    assert rows[0].find_element(By.CSS_SELECTOR, ".filter-value").get_attribute("value") == "1"
    boxes = [b for b in console.testid("rule-channel") if b.get_attribute("data-name") == name]
    assert len(boxes) == 1
    console.click(boxes[0])
    console.click(console.el("rule-save"))
    console.wait(lambda d: console.row_named("rule-row", template["Name"]) is not None, message="the new rule's row")
    rules = _call(tenant, "DescribeAlertRules")["Rules"]
    assert len(rules) == 1, rules
    r = rules[0]
    assert (r["Template"], r["Conditions"], r["ChannelIds"], r["Status"], r["Severity"]) == (
        "sensitive-actions", [{"AttributeKey": "SensitiveAction", "AttributeValue": "1"}], [channel["ChannelId"]], "enabled", "warning"), r
    rrow = console.row_named("rule-row", template["Name"])
    assert rrow.find_element(By.CSS_SELECTOR, "[data-testid=rule-conditions]").text == "SensitiveAction = 1"
    assert rrow.find_element(By.CSS_SELECTOR, "[data-testid=rule-channels-cell]").text == name
    assert rrow.get_attribute("data-status") == "enabled"

    # a sensitive event fires it; the alert is listed, its link opens the event
    [event_id] = tenant.put_ok([make_event(uid("alertsrc"), "DeleteUser", sensitiveAction=True)])
    fired = _wait_for(lambda: [a for a in _alerts_of(tenant, r["RuleId"]) if event_id in a["EventIds"]], "the alert")
    _wait_for(lambda: any(req.json().get("AlertId") == fired[0]["AlertId"] for req in hook.acked("/alerts")), "the alert at the webhook")
    console.refresh_alerts()
    frows = [x for x in console.testid("fired-row") if x.get_attribute("data-alert-id") == fired[0]["AlertId"]]
    assert len(frows) == 1, [x.get_attribute("data-alert-id") for x in console.testid("fired-row")]
    cells = frows[0].find_elements(By.CSS_SELECTOR, "td")
    assert cells[1].find_element(By.CSS_SELECTOR, ".badge").get_attribute("data-severity") == "warning"
    assert template["Name"] in cells[2].text and cells[4].text == "1"
    links = frows[0].find_elements(By.CSS_SELECTOR, "[data-testid=fired-event]")
    assert [a.get_attribute("data-event-id") for a in links] == [event_id]
    console.click(links[0])
    console.wait(lambda d: console.visible("view-events") and console.visible("detail"), message="the event's detail in the Operation Record")
    assert console.detail_raw()["eventId"] == event_id
    assert console.row_ids() == [event_id]


def test_an_auditor_reads_the_lists_and_cannot_change_them(console, console_env, tenant, hook):
    cid = _call(tenant, "CreateAlertChannel", {"Name": "ops-hook", "Type": "webhook", "Config": {"Url": hook.url("/alerts"), "Secret": SECRET}})["ChannelId"]
    _call(tenant, "CreateAlertRule", {"Template": "sensitive-actions", "ChannelIds": [cid]})
    auditor = console_env.server.create_key(tenant.account_id, "auditor")
    console.sign_in_key(auditor)
    states = console.goto_alerts()
    assert states["rules-panel"] == "ready" and states["channels-panel"] == "ready", states
    assert console.visible("alerts-readonly")
    assert console.row_named("channel-row", "ops-hook") is not None and console.row_named("rule-row", "Sensitive operations") is not None
    assert "******" in console.row_named("channel-row", "ops-hook").text and SECRET not in console.el("view-alerts").text
    for control in ("channel-new", "rule-new", "rule-template"):
        assert not console.visible(control), control
    for testid in ("rule-toggle", "rule-delete", "channel-test", "channel-delete"):
        assert console.testid(testid) == [], testid
    # its labels in Chinese too
    Select(console.el("lang")).select_by_value("zh")
    console.wait(lambda d: console.el("nav-alerts").text == "告警" and console.el("fired-title").text == "已触发的告警")


def test_a_refused_rule_shows_the_servers_message(console, tenant):
    console.sign_in_key(tenant)
    console.goto_alerts()
    console.click(console.el("rule-new"))
    console.wait(lambda d: console.visible("rule-form"))
    _fill(console, "rule-name", "nothing-to-match")
    console.click(console.el("rule-save"))
    console.wait(lambda d: console.visible("rule-form-error"), message="the refusal")
    refusal = expect_error("InvalidParameterValue", _call, tenant, "CreateAlertRule",
                           {"Name": "nothing-to-match", "Severity": "warning", "Conditions": [], "ErrorOnly": 0, "ChannelIds": [], "Status": "enabled"})
    err = console.el("rule-form-error")
    assert err.find_element(By.CSS_SELECTOR, "[data-testid=rule-form-error-message]").text == refusal.message
    assert refusal.code in err.text
    assert console.visible("rule-form") and console.testid("rule-row") == []
    assert _call(tenant, "DescribeAlertRules")["Rules"] == []
