"""Tracking sets page: create (one product and several), edit, stop, start and delete, each step checked
with DescribeAuditTrack(s) through the SDK; the API's refusals shown verbatim. Storage is the built-in
`local` region (a folder)."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from deliverysupport import all_tracks, track_name, track_params
from support import expect_error


def _call(key, action, params):
    """The exact JSON given, through the SDK's CommonClient."""
    return key.common().call_json(action, params)["Response"]


def _find(key, name):
    found = [t for t in all_tracks(key) if t["Name"] == name]
    return found[0] if found else None


def _fill(console, id_, value):
    el = console.el(id_)
    el.clear()
    el.send_keys(value)


def _save(console):
    console.wait_tracks_reload(lambda: console.click(console.el("track-save")))
    console.wait(lambda d: not console.visible("track-form"))


def test_create_edit_stop_and_delete_a_tracking_set(console, console_env):
    admin = console_env.admin
    console.sign_in_key(admin)
    console.goto_tracks()
    console.click(console.el("track-new"))
    console.wait(lambda d: console.visible("track-form"))
    regions = [o.get_attribute("value") for o in console.all("#track-region option")]
    assert "local" in regions, regions
    Select(console.el("track-region")).select_by_value("local")

    # a name the API refuses: its message, verbatim
    bad = track_params(name="x!", region="local", bucket="console-e2e", prefix="consoletest", action_type="Write",
                       resource_type="cvm", event_names=["RunInstances"], compress=1)
    refusal = expect_error("InvalidParameterValue", _call, admin, "CreateAuditTrack", bad)
    api_message, api_code = refusal.message, refusal.code
    _fill(console, "track-name", "x!")
    _fill(console, "track-resource-type", "cvm")
    Select(console.el("track-action-type")).select_by_value("Write")
    _fill(console, "track-event-names", "RunInstances")
    _fill(console, "track-bucket", "console-e2e")
    _fill(console, "track-prefix", "consoletest")
    console.click(console.el("track-save"))
    console.wait(lambda d: console.visible("track-form-error"))
    assert console.el("track-form-error").find_element(By.CSS_SELECTOR, "[data-testid=track-form-error-message]").text == api_message
    assert api_code in console.el("track-form-error").text

    # create: one product
    name = track_name("console")
    _fill(console, "track-name", name)
    _fill(console, "track-event-names", "RunInstances, TerminateInstances")
    _save(console)
    t = _find(admin, name)
    assert t is not None, "CreateAuditTrack ran"
    assert (t["ActionType"], t["ResourceType"], t["EventNames"], t["Status"]) == ("Write", "cvm", ["RunInstances", "TerminateInstances"], 1), t
    st = t["Storage"]
    assert (st["StorageRegion"], st["StorageName"], st["StoragePrefix"], st["Compress"]) == ("local", "console-e2e", "consoletest", 1), st
    row = console.track_row(name)
    assert row is not None and row.get_attribute("data-status") == "1"
    assert "Delivering" in row.text
    assert "unavailable" not in row.find_element(By.CSS_SELECTOR, "[data-testid=track-delivery]").text
    loc = row.find_elements(By.CSS_SELECTOR, "[data-testid=track-location]")
    assert loc and loc[0].text == "local/console-e2e/consoletest", "the local region's Location names the bucket, not a server path"
    assert loc[0].get_attribute("href") is None and "file:" not in row.text and console_env.server.data_dir not in row.text

    # edit: read events instead, all of them, another prefix, no compression
    console.click(console.track_row(name).find_element(By.CSS_SELECTOR, "[data-testid=track-edit]"))
    console.wait(lambda d: console.visible("track-form"))
    assert not console.el("track-name").is_enabled(), "a tracking set cannot be renamed"
    assert console.el("track-resource-type").get_attribute("value") == "cvm"
    Select(console.el("track-action-type")).select_by_value("Read")
    _fill(console, "track-event-names", "*")
    _fill(console, "track-prefix", "consoletest2")
    Select(console.el("track-compress")).select_by_value("2")
    _save(console)
    t = _find(admin, name)
    assert (t["ActionType"], t["ResourceType"], t["EventNames"], t["Status"]) == ("Read", "cvm", ["*"], 1), t
    assert (t["Storage"]["StoragePrefix"], t["Storage"]["Compress"]) == ("consoletest2", 2), t["Storage"]

    # edit into several products
    console.click(console.track_row(name).find_element(By.CSS_SELECTOR, "[data-testid=track-edit]"))
    console.wait(lambda d: console.visible("track-form"))
    console.click(console.el("track-mode-multi"))
    console.click(console.el("track-field-add"))
    rows = console.testid("track-field-row")
    assert len(rows) == 2
    rows[1].find_element(By.CSS_SELECTOR, ".field-resource-type").clear()
    rows[1].find_element(By.CSS_SELECTOR, ".field-resource-type").send_keys("cos")
    Select(rows[1].find_element(By.CSS_SELECTOR, ".field-action-type")).select_by_value("Write")
    _save(console)
    t = _call(admin, "DescribeAuditTrack", {"TrackId": t["TrackId"]})
    assert t["Filters"]["ResourceFields"] == [
        {"ResourceType": "cvm", "ActionType": "Read", "EventNames": ["*"]},
        {"ResourceType": "cos", "ActionType": "Write", "EventNames": ["*"]}], t["Filters"]

    # stop, then start
    console.wait_tracks_reload(lambda: console.click(console.track_row(name).find_element(By.CSS_SELECTOR, "[data-testid=track-toggle]")))
    assert _find(admin, name)["Status"] == 0
    row = console.track_row(name)
    assert row.get_attribute("data-status") == "0" and "Stopped" in row.text
    toggle = row.find_element(By.CSS_SELECTOR, "[data-testid=track-toggle]")
    assert toggle.text == "Start"
    console.wait_tracks_reload(lambda: console.click(toggle))
    assert _find(admin, name)["Status"] == 1
    console.wait_tracks_reload(lambda: console.click(console.track_row(name).find_element(By.CSS_SELECTOR, "[data-testid=track-toggle]")))
    assert _find(admin, name)["Status"] == 0

    # delete: cancel first, then confirm
    console.click(console.track_row(name).find_element(By.CSS_SELECTOR, "[data-testid=track-delete]"))
    console.wait(lambda d: console.el("confirm").get_attribute("open") is not None)
    assert name in console.el("confirm-text").text
    console.click(console.el("confirm-cancel"))
    console.wait(lambda d: console.el("confirm").get_attribute("open") is None)
    assert _find(admin, name) is not None
    console.click(console.track_row(name).find_element(By.CSS_SELECTOR, "[data-testid=track-delete]"))
    console.wait(lambda d: console.el("confirm").get_attribute("open") is not None)
    console.wait_tracks_reload(lambda: console.click(console.el("confirm-ok")))
    assert _find(admin, name) is None
    assert console.track_row(name) is None


def test_create_a_multi_product_tracking_set(console, console_env):
    admin = console_env.admin
    console.sign_in_key(admin)
    console.goto_tracks()
    console.click(console.el("track-new"))
    console.wait(lambda d: console.visible("track-form"))
    name = track_name("multi")
    _fill(console, "track-name", name)
    console.click(console.el("track-status"))  # created stopped
    console.click(console.el("track-mode-multi"))
    rows = console.testid("track-field-row")
    assert len(rows) == 1
    rows[0].find_element(By.CSS_SELECTOR, ".field-resource-type").clear()
    rows[0].find_element(By.CSS_SELECTOR, ".field-resource-type").send_keys("cvm")
    Select(rows[0].find_element(By.CSS_SELECTOR, ".field-action-type")).select_by_value("Write")
    names = rows[0].find_element(By.CSS_SELECTOR, ".field-event-names")
    names.clear()
    names.send_keys("RunInstances,TerminateInstances")
    console.click(console.el("track-field-add"))
    rows = console.testid("track-field-row")
    rows[1].find_element(By.CSS_SELECTOR, ".field-resource-type").clear()
    rows[1].find_element(By.CSS_SELECTOR, ".field-resource-type").send_keys("*")
    Select(console.el("track-region")).select_by_value("local")
    _fill(console, "track-bucket", "console-multi")
    _save(console)
    t = _find(admin, name)
    assert t is not None and t["Status"] == 0, t
    d = _call(admin, "DescribeAuditTrack", {"TrackId": t["TrackId"]})
    assert d["Filters"]["ResourceFields"] == [
        {"ResourceType": "cvm", "ActionType": "Write", "EventNames": ["RunInstances", "TerminateInstances"]},
        {"ResourceType": "*", "ActionType": "*", "EventNames": ["*"]}], d["Filters"]
    # a refusal from the API on an edit is shown verbatim too: ResourceType * with named events
    console.click(console.track_row(name).find_element(By.CSS_SELECTOR, "[data-testid=track-edit]"))
    console.wait(lambda d: console.visible("track-form"))
    rows = console.testid("track-field-row")
    assert len(rows) == 2
    ev = rows[1].find_element(By.CSS_SELECTOR, ".field-event-names")
    ev.clear()
    ev.send_keys("RunInstances")
    console.click(console.el("track-save"))
    console.wait(lambda d: console.visible("track-form-error"))
    msg = console.el("track-form-error").find_element(By.CSS_SELECTOR, "[data-testid=track-form-error-message]").text
    assert "EventNames must be [\"*\"] when ResourceType is *" in msg, msg
    console.click(console.el("track-cancel"))
    _call(admin, "DeleteAuditTrack", {"TrackId": t["TrackId"]})
