"""Nodes of one deployment on a PostgreSQL store (docs/postgres.md): a node serves with no data directory
of its own, shares accounts, keys, events, page cursors and console sessions with the other nodes, takes
its keys from the operator (never makes its own), says when its store is down (`/readyz`, and a clear
error that a client may retry, within seconds) and serves again by itself when the store is back."""

import json
import os
import time

import pytest
import requests

from pgcluster import Cluster
import sse
import storage_backend
from support import (
    Key,
    Server,
    clean_env,
    console_sign_in,
    expect_error,
    lookup,
    make_event,
    parse_json_output,
    put_ok,
    run_cli,
    uid,
    window,
)


pytestmark = storage_backend.once("it starts its own PostgreSQL clusters")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("pg-nodes") / "cluster").start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The deployment's master and signing keys, made once by the operator (`cloudaudit keys init`)."""
    d = tmp_path_factory.mktemp("deployment-keys") / "keys"
    p = run_cli(["keys", "init", "--data-dir", str(d)])
    verifier = p.stdout_text.splitlines()[0]
    assert verifier.startswith("cloudaudit+"), p.stdout_text
    assert oct(os.stat(d / "master.key").st_mode & 0o777) == "0o600"
    assert oct(os.stat(d / "signing.key").st_mode & 0o777) == "0o600"
    again = run_cli(["keys", "init", "--data-dir", str(d)], check=False)
    assert again.returncode == 1 and "exists" in again.stderr_text, again.stderr_text
    return {"CLOUDAUDIT_MASTER_KEY": (d / "master.key").read_text().strip(), "CLOUDAUDIT_SIGNING_KEY_FILE": str(d / "signing.key"),
            "verifier": verifier}


def node_env(cluster, keys, **extra):
    env = {k: v for k, v in keys.items() if k.startswith("CLOUDAUDIT_")}
    env["CLOUDAUDIT_STORE"] = cluster.url
    env.update(extra)
    return env


def start_node(tmp_path, name, cluster, keys, **extra):
    # The node keeps nothing in the data directory it is given.
    srv = Server(tmp_path / name / "nodata", tmp_path / (name + ".log"), env=node_env(cluster, keys, **extra))
    os.makedirs(tmp_path / name, exist_ok=True)
    srv.start()
    return srv


def admin(cluster, keys, *args):
    env = clean_env(**node_env(cluster, keys))
    return parse_json_output(run_cli(list(args), env=env))


def admin_key(cluster, keys, srv, account, role="admin"):
    out = admin(cluster, keys, "keys", "create", "--account", str(account), "--role", role)
    return Key(srv, out["SecretId"], out["SecretKey"], int(out["AccountId"]), out["Role"])


def test_nodes_share_one_deployment_and_keep_no_data_of_their_own(tmp_path, cluster, keys):
    a = start_node(tmp_path, "a", cluster, keys)
    b = start_node(tmp_path, "b", cluster, keys)
    try:
        for srv in (a, b):
            # (the harness makes the directory it gives; the node leaves it empty)
            assert os.listdir(srv.data_dir) == [], "a node of a shared store wrote to its data directory: %s" % os.listdir(srv.data_dir)
            assert requests.get(srv.url + "/readyz", timeout=10).json() == {"status": "ready"}
            assert "store.location=%s?sslmode=disable" % cluster.url in srv.log_text()
            assert keys["verifier"] in srv.log_text(), "every node signs with the deployment's key"
        assert "created the database" in a.log_text() + b.log_text()
        # The admin CLI works on the store while the nodes run.
        acct = admin(cluster, keys, "accounts", "create", "--name", uid("shared"))["AccountId"]
        ka = admin_key(cluster, keys, a, acct)
        kb = Key(b, ka.secret_id, ka.secret_key, acct, "admin")  # the same key, on the other node
        events = [make_event("cvm.tencentcloudapi.com", "RunInstances", eventId=uid("ev")) for _ in range(30)]
        put_ok(ka, events[:15])
        put_ok(kb, events[15:])
        start, end = window()
        # Every node answers for every event, whichever node took it; a page cursor of one node works on the other.
        runs = [("EventName", "RunInstances")]
        first = lookup(ka, start, end, attrs=runs, max_results=10)
        assert first["TotalCount"] == 30 and not first["ListOver"], first
        rest = lookup(kb, start, end, attrs=runs, max_results=50, next_token=first["NextToken"])
        got = [e["EventId"] for e in first["Events"]] + [e["EventId"] for e in rest["Events"]]
        assert sorted(got) == sorted(e["eventId"] for e in events), "pages across nodes lost or repeated events"
        # A console session made on one node is known to the other.
        session, _ = console_sign_in(a, ka)
        r = session.get(b.url + "/console/api/session", timeout=10)
        assert r.status_code == 200 and r.json()["Session"]["AccountId"] == acct, (r.status_code, r.text[:300])
        # Sequences are one per account, without gaps, whichever node appended (the nodes' own records
        # of the reads above included).
        count, top = cluster.psql("SELECT count(*), max(seq) FROM events WHERE account_id = %d" % acct)[0].split("|")
        assert int(count) == int(top) >= 30, (count, top)
    finally:
        a.stop()
        b.stop()


def test_a_node_without_the_deployment_keys_refuses_to_start(tmp_path, cluster, keys):
    for missing, words in (("CLOUDAUDIT_MASTER_KEY", "CLOUDAUDIT_MASTER_KEY"), ("CLOUDAUDIT_SIGNING_KEY_FILE", "--signing-key-file")):
        env = node_env(cluster, keys)
        del env[missing]
        srv = Server(tmp_path / ("nokey-" + missing) / "nodata", tmp_path / ("nokey-%s.log" % missing), env=env)
        with pytest.raises(Exception) as failed:
            srv.start()
        assert words in str(failed.value), str(failed.value)[-800:]
        assert os.listdir(srv.data_dir) == [], "no key was made in the data directory"



def test_an_outage_is_answered_at_once_and_the_node_recovers_by_itself(tmp_path, keys):
    c = Cluster(tmp_path / "outage").start()
    srv = start_node(tmp_path, "n", c, keys)
    try:
        acct = admin(c, keys, "accounts", "create", "--name", uid("outage"))["AccountId"]
        key = admin_key(c, keys, srv, acct)
        before = make_event("cvm.tencentcloudapi.com", "RunInstances", eventId=uid("ev"))
        put_ok(key, [before])
        c.halt()
        r = requests.get(srv.url + "/readyz", timeout=10)
        assert r.status_code == 503 and r.json()["status"] == "not ready", r.text
        assert requests.get(srv.url + "/healthz", timeout=10).status_code == 200, "liveness does not depend on the store"
        during = make_event("cvm.tencentcloudapi.com", "RunInstances", eventId=uid("ev"))
        t = time.monotonic()
        err = expect_error("FailedOperation.StoreUnavailable", put_ok, key, [during])
        assert time.monotonic() - t < 15, "the request waited for the store instead of answering"
        assert "Retry" in err.message and "eventId" in err.message, err.message
        start, end = window()
        expect_error("FailedOperation.StoreUnavailable", lookup, key, start, end)
        c.restart()
        deadline = time.monotonic() + 60
        while requests.get(srv.url + "/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the node did not reconnect within 60 s:\n" + srv.log_tail()
            time.sleep(0.5)
        put_ok(key, [during])  # the retry the error invited
        page = lookup(key, start, end, attrs=[("EventName", "RunInstances")], max_results=50)
        ids = [e["EventId"] for e in page["Events"]]
        assert before["eventId"] in ids and ids.count(during["eventId"]) == 1, ids
    finally:
        srv.stop()
        c.stop()


def test_a_tail_on_one_node_hears_the_other_and_resumes_on_it(tmp_path, cluster, keys):
    a = start_node(tmp_path, "tail-a", cluster, keys)
    b = start_node(tmp_path, "tail-b", cluster, keys)
    try:
        acct = admin(cluster, keys, "accounts", "create", "--name", uid("tailnodes"))["AccountId"]
        ka = admin_key(cluster, keys, a, acct)
        kb = Key(b, ka.secret_id, ka.secret_key, acct, "admin")
        source = uid("tailnode")
        s = sse.open_tail(ka, [("EventSource", source)])
        try:
            sse.ready(s)
            # Events appended through node B reach a tail on node A (it reads the shared log, not its requests).
            on_b = put_ok(kb, [make_event(source, "OnB%d" % i) for i in range(10)])
            got = s.events(6)
            assert [json.loads(m.data)["eventId"] for m in got] == on_b[:6]
        finally:
            s.close()
        # The connection drops; more events arrive through A; the client resumes on node B with its cursor.
        on_a = put_ok(ka, [make_event(source, "OnA%d" % i) for i in range(10)])
        r = sse.open_tail(kb, [("EventSource", source)], last_event_id=got[-1].id)
        try:
            assert sse.ready(r) == int(got[-1].id)
            rest = [json.loads(m.data)["eventId"] for m in r.events(14)]
            assert rest == on_b[6:] + on_a, "resuming on another node gives every later event once"
        finally:
            r.close()
    finally:
        a.stop()
        b.stop()


def test_alerts_count_every_nodes_events_and_survive_a_killed_node(tmp_path, cluster, keys):
    import webhooks
    a = start_node(tmp_path, "alert-a", cluster, keys)
    b = start_node(tmp_path, "alert-b", cluster, keys)
    hook = webhooks.WebhookReceiver().start()
    try:
        acct = admin(cluster, keys, "accounts", "create", "--name", uid("alertnodes"))["AccountId"]
        ka = admin_key(cluster, keys, a, acct)
        kb = Key(b, ka.secret_id, ka.secret_key, acct, "admin")
        secret = "nodes-secret-0123456789"
        channel = ka.common().call_json("CreateAlertChannel", {"Name": "hook", "Type": "webhook",
                                                               "Config": {"Url": hook.url("/alerts"), "Secret": secret}})["Response"]["ChannelId"]

        def rule(**p):
            return kb.common().call_json("CreateAlertRule", dict(p, Severity="warning", ChannelIds=[channel]))["Response"]["RuleId"]

        def alerts(rid):
            return kb.common().call_json("DescribeAlerts", {"StartTime": int(time.time()) - 3600, "EndTime": int(time.time()) + 600,
                                                            "RuleId": rid, "Limit": 100})["Response"]

        def wait(fn, what, timeout=60):
            deadline = time.time() + timeout
            while not fn():
                assert time.time() < deadline, what
                time.sleep(0.3)

        burst = rule(Name="burst", Conditions=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}], ErrorOnly=1,
                     Threshold={"Count": 4, "WindowSeconds": 600, "GroupBy": "Username"})
        source = uid("nodes")

        def login(user):
            return make_event(source, "ConsoleLogin", errorCode=4102, userIdentity={"type": "CAMUser", "principalId": user, "userName": user})
        # Two failures through each node: the count of four includes both nodes' events.
        put_ok(ka, [login("alice"), login("alice")])
        put_ok(kb, [login("alice"), login("alice"), login("bob")])
        wait(lambda: alerts(burst)["TotalCount"] == 1, "one alert for alice's four failures across the nodes")
        assert alerts(burst)["Alerts"][0]["Group"] == "alice"

        each = rule(Name="each", Conditions=[{"AttributeKey": "EventName", "AttributeValue": "StopInstances"}])
        put_ok(ka, [make_event(source, "StopInstances") for _ in range(10)])
        put_ok(kb, [make_event(source, "StopInstances") for _ in range(5)])
        # Kill the node that evaluates this account (the holder of its lease) mid-way: its work passes to the
        # other within a lease's time (30 s), from the cursors it committed.
        holder = cluster.psql("SELECT holder FROM leases WHERE name = 'alerts:%d'" % acct)[0]
        evaluator, survivor, key = (a, b, kb) if "-%d-" % a.proc.pid in holder else (b, a, ka)
        assert "-%d-" % evaluator.proc.pid in holder, (holder, a.proc.pid, b.proc.pid)
        evaluator.kill9()
        put_ok(key, [make_event(source, "StopInstances") for _ in range(10)])
        kb = key
        wait(lambda: alerts(each)["TotalCount"] == 25, "an alert per event after the evaluating node died", timeout=120)
        time.sleep(2)
        listed = alerts(each)
        assert listed["TotalCount"] == 25 and len({x["AlertId"] for x in listed["Alerts"]}) == 25, "no alert lost or doubled"
        ids = {x["AlertId"] for x in listed["Alerts"]}

        def delivered():
            got = {json.loads(r.body)["AlertId"] for r in hook.acked("/alerts")}
            return ids <= got
        wait(delivered, "every alert at the receiver", timeout=120)
    finally:
        hook.stop()
        a.kill9()
        b.kill9()
