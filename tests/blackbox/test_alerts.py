"""Alert rules and notification channels (docs/contract.md, "Alerts"), through the official SDK's
CommonClient, with real receivers on loopback: an HTTP webhook receiver, an SMTP server (aiosmtpd) and a
TCP syslog listener."""

import json
import socket
import threading
import time

import aiosmtpd.controller

import support
import webhooks
from support import expect_error, make_event, now, uid

SECRET = "alert-hook-secret-" + "x" * 8


def call(key, action, params=None):
    return key.common().call_json(action, params or {})["Response"]


def webhook_channel(key, hook, name=None, secret=SECRET):
    return call(key, "CreateAlertChannel", {"Name": name or uid("hook"), "Type": "webhook",
                                            "Config": {"Url": hook.url("/alerts"), "Secret": secret}})["ChannelId"]


def rule(key, name=None, conditions=(("EventName", "DeleteBucket"),), channels=(), **extra):
    params = {"Name": name or uid("rule"), "Severity": extra.pop("Severity", "warning"),
              "Conditions": [{"AttributeKey": k, "AttributeValue": v} for k, v in conditions], "ChannelIds": list(channels)}
    params.update(extra)
    return call(key, "CreateAlertRule", params)["RuleId"]


def alerts_of(key, rule_id=None, start=None, end=None):
    p = {"StartTime": start or now() - 3600, "EndTime": end or now() + 600, "Limit": 100}
    if rule_id is not None:
        p["RuleId"] = rule_id
    return call(key, "DescribeAlerts", p)["Alerts"]


def wait_for(fn, timeout=30, what="the condition"):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.time() < deadline, "%s did not hold within %ss" % (what, timeout)
        time.sleep(0.2)


def hook_alerts(hook):
    """The alerts the receiver acknowledged, by alert id (each checked: signed, with its id header)."""
    out = {}
    for r in hook.acked("/alerts"):
        assert r.headers.get("x-cloudaudit-signature") == webhooks.hook_signature(SECRET, r.body), "a signed body"
        body = r.json()
        assert r.headers.get("x-cloudaudit-alert-id") == body["AlertId"]
        out.setdefault(body["AlertId"], []).append(body)
    return out


def test_a_rule_alerts_each_matching_event_to_a_webhook_once(tenant, make_hook):
    admin = tenant.admin
    hook = make_hook()
    channel = webhook_channel(admin, hook)
    rid = rule(admin, channels=[channel])
    source = uid("alertsrc")
    put = support.put_ok(admin, [make_event(source, "DeleteBucket"), make_event(source, "ListBuckets"), make_event(source, "DeleteBucket")])
    got = wait_for(lambda: len(hook_alerts(hook)) >= 2 and hook_alerts(hook), what="two alerts at the webhook")
    listed = wait_for(lambda: alerts_of(admin, rid) if len(alerts_of(admin, rid)) == 2 else None, what="DescribeAlerts")
    assert sorted(a["EventIds"][0] for a in listed) == sorted([put[0], put[2]])
    assert set(got) == {a["AlertId"] for a in listed}
    for a in listed:
        assert a["RuleId"] == rid and a["Severity"] == "warning" and a["Count"] == 1
        # Each alert is an event of the account: searchable like any other.
        found = admin.lookup_all([("EventId", a["AlertEventId"])])
        assert len(found) == 1 and json.loads(found[0]["CloudAuditEvent"])["eventType"] == "CloudAuditAlert"
    time.sleep(2)  # (a pass or more later: still once each)
    assert all(len(v) == 1 for v in hook_alerts(hook).values()) and len(hook_alerts(hook)) == 2


def test_a_threshold_fires_once_per_group_on_a_replayed_stream(tenant):
    admin = tenant.admin
    rid = rule(admin, conditions=[("EventName", "ConsoleLogin")], ErrorOnly=1,
               Threshold={"Count": 3, "WindowSeconds": 60, "GroupBy": "Username"})
    source = uid("signin")
    t = now() - 200
    # Known answer: alice fails 4 times in 30 s (one alert), bob 2 times (none), carol 3 times spread over
    # 3 minutes (none), dave 3 times out of time order within 20 s (one alert), erin succeeds 5 times (none).
    def ev(user, at, failed=True):
        return make_event(source, "ConsoleLogin", eventTime=at, userIdentity={"type": "CAMUser", "principalId": user, "userName": user},
                          errorCode=4102 if failed else 0)
    stream = [ev("alice", t), ev("bob", t + 1), ev("alice", t + 10), ev("carol", t), ev("alice", t + 20), ev("alice", t + 30),
              ev("carol", t + 90), ev("dave", t + 50), ev("dave", t + 40), ev("carol", t + 180), ev("dave", t + 45), ev("bob", t + 100)]
    stream += [ev("erin", t + i, failed=False) for i in range(5)]
    support.put_ok(admin, stream[:7])
    support.put_ok(admin, stream[7:])
    fired = wait_for(lambda: alerts_of(admin, rid) if len(alerts_of(admin, rid)) >= 2 else None, what="two threshold alerts")
    time.sleep(1.5)
    fired = alerts_of(admin, rid)
    assert sorted(a["Group"] for a in fired) == ["alice", "dave"], fired
    alice = next(a for a in fired if a["Group"] == "alice")
    assert alice["Count"] == 3


def test_another_accounts_events_fire_nothing(tenant, tenant2):
    rid = rule(tenant.admin, conditions=[("EventName", "DropDatabase")])
    support.put_ok(tenant2.admin, [make_event(uid("other"), "DropDatabase") for _ in range(3)])
    marker = rule(tenant.admin, conditions=[("EventName", "Marker")])
    support.put_ok(tenant.admin, [make_event(uid("mine"), "Marker")])
    wait_for(lambda: alerts_of(tenant.admin, marker), what="the marker's alert")
    assert alerts_of(tenant.admin, rid) == [], "another account's events fired a rule"


def test_a_receiver_down_then_back_gets_every_alert_once(tenant, make_hook):
    admin = tenant.admin
    hook = make_hook()
    hook.fail_all = True
    channel = webhook_channel(admin, hook)
    rid = rule(admin, conditions=[("EventName", "StopInstances")], channels=[channel], Severity="critical")
    support.put_ok(admin, [make_event(uid("down"), "StopInstances") for _ in range(4)])
    ids = {a["AlertId"] for a in wait_for(lambda: alerts_of(admin, rid) if len(alerts_of(admin, rid)) == 4 else None, what="four alerts")}
    wait_for(lambda: len(hook.all("/alerts")) >= 8, timeout=60, what="retries while the receiver is down")
    hook.fail_all = False
    got = wait_for(lambda: hook_alerts(hook) if set(hook_alerts(hook)) == ids else None, timeout=90, what="every alert after the receiver is back")
    time.sleep(3)
    assert {k: len(v) for k, v in hook_alerts(hook).items()} == {i: 1 for i in ids}, "each alert acknowledged once"
    assert all(b[0]["Severity"] == "critical" for b in got.values())


def test_channels_and_rules_are_managed_and_checked(tenant, make_hook):
    admin = tenant.admin
    hook = make_hook()
    channel = webhook_channel(admin, hook, name="ops-hook")
    listed = call(admin, "DescribeAlertChannels")["Channels"]
    assert [c["Name"] for c in listed] == ["ops-hook"]
    assert listed[0]["Config"] == {"Url": hook.url("/alerts"), "Secret": "******"}, "the secret is never shown"
    # The call that set it is recorded without it.
    rec = wait_for(lambda: admin.lookup_all([("EventName", "CreateAlertChannel")]), what="the self-audit record")
    assert SECRET not in rec[0]["CloudAuditEvent"]
    # Test: the receiver's answer; a dead receiver's refusal is an answer too.
    r = call(admin, "TestAlertChannel", {"ChannelId": channel})
    assert r["Delivered"] is True and "2xx" in r["Answer"], r
    assert any(req.json()["AlertId"] == r["AlertId"] for req in hook.acked("/alerts"))
    dead = call(admin, "CreateAlertChannel", {"Name": "dead", "Type": "webhook",
                                              "Config": {"Url": "http://127.0.0.1:%d/x" % support.free_port(), "Secret": SECRET}})["ChannelId"]
    r = call(admin, "TestAlertChannel", {"ChannelId": dead})
    assert r["Delivered"] is False and r["Answer"], r
    # Modify keeps the secret when none is given; names are unique; others cannot touch them.
    call(admin, "ModifyAlertChannel", {"ChannelId": channel, "Name": "ops-hook-2"})
    assert call(admin, "TestAlertChannel", {"ChannelId": channel})["Delivered"] is True
    expect_error("InvalidParameterValue.NameExists", lambda: call(admin, "ModifyAlertChannel", {"ChannelId": dead, "Name": "ops-hook-2"}))
    rid = rule(admin, name="deletes", channels=[channel])
    rules = call(admin, "DescribeAlertRules")["Rules"]
    assert rules[0]["RuleId"] == rid and rules[0]["Conditions"] == [{"AttributeKey": "EventName", "AttributeValue": "DeleteBucket"}]
    assert rules[0]["Status"] == "enabled" and rules[0]["ChannelIds"] == [channel]
    call(admin, "ModifyAlertRule", {"RuleId": rid, "Status": "disabled", "Severity": "info"})
    r0 = call(admin, "DescribeAlertRules")["Rules"][0]
    assert (r0["Status"], r0["Severity"], r0["Name"]) == ("disabled", "info", "deletes")
    for params, code in [
        ({"Name": "x", "Severity": "loud", "Conditions": [{"AttributeKey": "EventName", "AttributeValue": "A"}]}, "InvalidParameterValue"),
        ({"Name": "x", "Severity": "info", "Conditions": [{"AttributeKey": "NoSuchKey", "AttributeValue": "A"}]}, "InvalidParameterValue.attributeKey"),
        ({"Name": "x", "Severity": "info", "Conditions": []}, "InvalidParameterValue"),
        ({"Name": "x", "Severity": "info", "Conditions": [{"AttributeKey": "EventName", "AttributeValue": "A"}], "ChannelIds": [123]}, "ResourceNotFound"),
        ({"Name": "x", "Severity": "info", "Conditions": [{"AttributeKey": "EventName", "AttributeValue": "A"}],
          "Threshold": {"Count": 1000000, "WindowSeconds": 60}}, "InvalidParameterValue"),
        ({"Name": "x", "Severity": "info", "Conditions": [{"AttributeKey": "EventName", "AttributeValue": "A"}],
          "Threshold": {"Count": 3, "WindowSeconds": 60, "GroupBy": "ResourceName"}}, "InvalidParameterValue"),
        ({"Name": "deletes", "Severity": "info", "Conditions": [{"AttributeKey": "EventName", "AttributeValue": "A"}]}, "InvalidParameterValue.NameExists"),
    ]:
        expect_error(code, lambda: call(admin, "CreateAlertRule", params))
    for params, code in [
        ({"Name": "h", "Type": "pager", "Config": {}}, "InvalidParameterValue"),
        ({"Name": "h", "Type": "webhook", "Config": {"Url": "ftp://x/y", "Secret": SECRET}}, "InvalidParameterValue"),
        ({"Name": "h", "Type": "webhook", "Config": {"Url": "http://x/y", "Secret": "short"}}, "InvalidParameterValue"),
        ({"Name": "h", "Type": "email", "Config": {"To": ["not-an-address"]}}, "InvalidParameterValue"),
        ({"Name": "h", "Type": "syslog", "Config": {"Address": "no-port", "Protocol": "tcp"}}, "InvalidParameterValue"),
        ({"Name": "h", "Type": "syslog", "Config": {"Address": "127.0.0.1:514", "Protocol": "udp"}}, "InvalidParameterValue"),
    ]:
        expect_error(code, lambda: call(admin, "CreateAlertChannel", params))
    # An auditor reads them; it changes nothing.
    auditor = tenant.key("auditor")
    assert len(call(auditor, "DescribeAlertRules")["Rules"]) == 1
    expect_error("AuthFailure.UnauthorizedOperation", lambda: call(auditor, "DeleteAlertRule", {"RuleId": rid}))
    call(admin, "DeleteAlertRule", {"RuleId": rid})
    call(admin, "DeleteAlertChannel", {"ChannelId": dead})
    assert call(admin, "DescribeAlertRules")["Rules"] == []
    expect_error("ResourceNotFound", lambda: call(admin, "DeleteAlertChannel", {"ChannelId": dead}))


def test_another_account_cannot_see_or_use_channels_and_rules(tenant, tenant2, make_hook):
    hook = make_hook()
    channel = webhook_channel(tenant.admin, hook)
    rid = rule(tenant.admin, channels=[channel])
    other = tenant2.admin
    assert call(other, "DescribeAlertChannels")["Channels"] == []
    assert call(other, "DescribeAlertRules")["Rules"] == []
    expect_error("ResourceNotFound", lambda: call(other, "TestAlertChannel", {"ChannelId": channel}))
    expect_error("ResourceNotFound", lambda: call(other, "DeleteAlertRule", {"RuleId": rid}))
    expect_error("ResourceNotFound", lambda: rule(other, channels=[channel]))


class SyslogListener:
    """A TCP listener that keeps the octet-counted frames it receives (RFC 6587)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.frames = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            with conn:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            while data:
                length, _, rest = data.partition(b" ")
                n = int(length)
                self.frames.append(rest[:n].decode("utf-8"))
                data = rest[n:]

    def close(self):
        self.sock.close()


def test_syslog_and_email_channels_reach_real_receivers(tenant, spawn_server):
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 2.0.0 Ok: queued"

    smtp_port = support.free_port()
    controller = aiosmtpd.controller.Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    listener = SyslogListener()
    srv = spawn_server(extra_args=["--smtp-url", "smtp://127.0.0.1:%d" % smtp_port, "--smtp-from", "alerts@cloudaudit.example"]).start()
    try:
        acct = srv.create_account(uid("channels"))["AccountId"]
        admin = srv.create_key(acct, "admin")
        mail = call(admin, "CreateAlertChannel", {"Name": "mail", "Type": "email", "Config": {"To": ["ops@example.com", "sec@example.com"]}})["ChannelId"]
        log = call(admin, "CreateAlertChannel", {"Name": "log", "Type": "syslog",
                                                 "Config": {"Address": "127.0.0.1:%d" % listener.port, "Protocol": "tcp"}})["ChannelId"]
        r = call(admin, "TestAlertChannel", {"ChannelId": mail})
        assert r["Delivered"] is True and r["Answer"].startswith("250"), r
        rid = rule(admin, conditions=[("EventName", "DeleteUser")], channels=[mail, log], Severity="critical")
        support.put_ok(admin, [make_event(uid("ch"), "DeleteUser")])
        alert = wait_for(lambda: alerts_of(admin, rid), what="the alert")[0]
        wait_for(lambda: any(alert["AlertId"].encode() in e.content for e in received), what="the alert email")
        mailed = next(e for e in received if alert["AlertId"].encode() in e.content)
        assert sorted(mailed.rcpt_tos) == ["ops@example.com", "sec@example.com"] and mailed.mail_from == "alerts@cloudaudit.example"
        assert b"X-CloudAudit-Alert-Id: " + alert["AlertId"].encode() in mailed.content
        frame = wait_for(lambda: next((f for f in listener.frames if alert["AlertId"] in f), None), what="the syslog frame")
        assert frame.startswith("<130>1 "), frame  # local0 (16) * 8 + critical (2)
        assert "ALERT" in frame and '[alert@32473 id="%s"' % alert["AlertId"] in frame
    finally:
        controller.stop()
        listener.close()


def test_the_sensitive_action_catalogue_marks_what_producers_leave_unsaid(spawn_server, tmp_path):
    extra = tmp_path / "sensitive.txt"
    extra.write_text("# ours\nRotateMasterSecret\nbilling.example.com:CloseAccount\n-PutBucketCors\n")
    srv = spawn_server(extra_args=["--sensitive-actions", str(extra)]).start()
    acct = srv.create_account(uid("sens"))["AccountId"]
    admin = srv.create_key(acct, "admin")
    source = uid("sens")

    def ev(name, src=source, **kw):
        rec = make_event(src, name, **kw)
        rec.pop("sensitiveAction", None)
        return rec

    evs = [ev("DeleteBucket"), ev("RotateMasterSecret"), ev("CloseAccount", src="billing.example.com"), ev("CloseAccount"),
           ev("PutBucketCors"), ev("DescribeInstances"), make_event(source, "DeleteUser", sensitiveAction=False)]
    ids = support.put_ok(admin, evs[:5] + evs[5:6]) + support.put_ok(admin, evs[6:])
    stored = {e["EventId"]: json.loads(e["CloudAuditEvent"]) for e in admin.lookup_all([("SensitiveAction", "1")], start=now() - 3600, end=now() + 60)}
    assert sorted(stored) == sorted([ids[0], ids[1], ids[2]]), "catalogued: built-in, the operator's, a source-qualified one"
    assert all(r["sensitiveAction"] is True for r in stored.values()), "the stored record says so"
    plain = admin.lookup_all([("EventId", ids[6])])
    assert json.loads(plain[0]["CloudAuditEvent"])["sensitiveAction"] is False, "a producer's own false is kept"
    # A file with a line that is not an operation refuses the start, naming the line.
    bad = tmp_path / "bad.txt"
    bad.write_text("Fine\nnot an event name\n")
    p = support.run_cli(["serve", "--data-dir", str(tmp_path / "bad-data"), "--port", "0", "--sensitive-actions", str(bad)], check=False, timeout=60)
    assert p.returncode != 0 and "line 2" in p.stderr_text, p.stderr_text


def test_templates_make_rules_in_one_call(tenant, make_hook):
    admin = tenant.admin
    templates = {t["Template"]: t for t in call(admin, "DescribeAlertRuleTemplates")["Templates"]}
    assert set(templates) == {"sign-in-failures", "root-used", "sensitive-actions", "access-denied-burst", "trail-stopped"}
    assert templates["root-used"]["Conditions"] == [{"AttributeKey": "PrincipalId", "AttributeValue": str(tenant.account_id)}]
    assert templates["sign-in-failures"]["Threshold"] == {"Count": 5, "WindowSeconds": 300, "GroupBy": "Username"}
    expect_error("InvalidParameterValue", lambda: call(admin, "CreateAlertRule", {"Template": "no-such-template"}))
    hook = make_hook()
    channel = webhook_channel(admin, hook)
    rid = call(admin, "CreateAlertRule", {"Template": "trail-stopped", "ChannelIds": [channel]})["RuleId"]
    signin = call(admin, "CreateAlertRule", {"Template": "sign-in-failures", "Name": "my sign-ins"})["RuleId"]
    rules = {r["RuleId"]: r for r in call(admin, "DescribeAlertRules")["Rules"]}
    assert rules[rid]["Template"] == "trail-stopped" and rules[rid]["Severity"] == "critical" and rules[rid]["ChannelIds"] == [channel]
    assert rules[signin]["Name"] == "my sign-ins" and rules[signin]["ErrorOnly"] is True and rules[signin]["Threshold"]["Count"] == 5
    # Deleting a tracking set through the API is itself recorded, and the template's rule alerts on it.
    track = call(admin, "CreateAuditTrack", {"Name": uid("t"), "Status": 1, "ActionType": "*", "ResourceType": "*", "EventNames": ["*"],
                                             "Storage": {"StorageType": "cos", "StorageRegion": "local", "StorageName": uid("b"),
                                                         "StoragePrefix": "alerts1"}})["TrackId"]
    call(admin, "DeleteAuditTrack", {"TrackId": track})
    fired = wait_for(lambda: alerts_of(admin, rid), what="the trail-stopped alert")
    assert fired[0]["Severity"] == "critical"
    wait_for(lambda: fired[0]["AlertId"] in hook_alerts(hook), what="the alert at the webhook")


def test_a_rule_enabled_again_watches_from_then_on(tenant):
    admin = tenant.admin
    rid = rule(admin, conditions=[("EventName", "PauseTest")])
    call(admin, "ModifyAlertRule", {"RuleId": rid, "Status": "disabled"})
    support.put_ok(admin, [make_event(uid("pause"), "PauseTest") for _ in range(3)])
    time.sleep(1.5)  # (several evaluation passes while it is off)
    call(admin, "ModifyAlertRule", {"RuleId": rid, "Status": "enabled"})
    after = support.put_ok(admin, [make_event(uid("pause"), "PauseTest")])[0]
    fired = wait_for(lambda: alerts_of(admin, rid), what="the alert after re-enabling")
    time.sleep(1.5)
    fired = alerts_of(admin, rid)
    assert [a["EventIds"] for a in fired] == [[after]], "only the event after it was enabled again: %r" % fired
