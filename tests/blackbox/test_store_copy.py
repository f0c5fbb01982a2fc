"""`cloudaudit store copy --from DATA_DIR --to postgres://...` (docs/postgres.md, "Moving an embedded
deployment"): an embedded deployment with events, a tracking set that delivered files and digests, a KMS
key and a console password, copied into an empty PostgreSQL store; a node on the copy answers
LookUpEvents, verify-event and verify exactly as the original did, goes on delivering the same digest
chain, and a second copy into the now full store is refused."""

import json
import time
from pathlib import Path

import pytest

import deliverysupport as D
import storage_backend
from pgcluster import Cluster
from s3server import new_bucket_name
from support import Key, Server, clean_env, lookup, lookup_all, make_event, parse_json_output, run_cli, uid, window

pytestmark = storage_backend.only("sqlite", "copies an embedded (SQLite) deployment into PostgreSQL")


def _password_file(tmp_path):
    f = tmp_path / "console-password"
    f.write_text("a long console password\n")
    f.chmod(0o600)
    return str(f)


def _verify(root, track, pub):
    return run_cli(["verify", "--folder", str(root), "--track", str(track), "--public-key", pub, "--digest-interval", "1"], check=False)


def _verified(root, track, pub, timeout=60):
    deadline = time.time() + timeout
    while True:
        p = _verify(root, track, pub)
        if p.returncode == 0:
            return p
        assert time.time() < deadline, "verify did not pass: %s %s" % (p.stdout_text[-1500:], p.stderr_text[-500:])
        time.sleep(0.5)


def _verify_event(srv, key, event_id, pub):
    env = clean_env(TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=key.secret_key)
    p = run_cli(["verify-event", event_id, "--public-key", pub, "--endpoint", srv.url, "--output", "json"], check=False, env=env)
    assert p.returncode == 0, p.stdout_text + p.stderr_text
    out = json.loads(p.stdout_text)
    return {k: out[k] for k in ("Verified", "LeafIndex", "AccountId")}


def test_a_copied_deployment_answers_as_the_original_and_delivers_on(tmp_path):
    data = tmp_path / "embedded" / "data"
    args = ["--delivery-interval", "1", "--digest-interval", "1", "--checkpoint-interval", "1"]
    src = Server(data, tmp_path / "embedded.log", extra_args=args).start()
    c = Cluster(tmp_path / "pg").start()
    node = None
    try:
        pub = src.cli("keys", "signing-public").stdout_text.splitlines()[0]
        acct = src.create_account(uid("copy"))["AccountId"]
        admin, ingest = src.create_key(acct, "admin"), src.create_key(acct, "ingest")
        kms = parse_json_output(src.cli("kms", "create-key", "--account", str(acct), "--region", "local", "--alias", "copy-key"))
        src.cli("accounts", "set-password", "--account", str(acct), "--role", "admin", "--password-file", _password_file(tmp_path))
        bucket = new_bucket_name()
        track = D.create_track(admin, region="local", bucket=bucket, prefix="moved")
        root = Path(src.data_dir) / "buckets" / bucket
        # An alert channel (its secret sealed under the master key) and a rule on it.
        channel = admin.common().call_json("CreateAlertChannel", {"Name": "copied", "Type": "webhook", "Config": {
            "Url": "http://127.0.0.1:1/hook", "Secret": "copied-secret-0123456789"}})["Response"]["ChannelId"]
        rule_id = admin.common().call_json("CreateAlertRule", {"Name": "copied-rule", "Severity": "critical", "ChannelIds": [channel],
                                                               "Conditions": [{"AttributeKey": "EventName", "AttributeValue": "Nope"}]})["Response"]["RuleId"]
        events = [make_event("cvm.tencentcloudapi.com", "RunInstances", eventId=uid("ev")) for _ in range(120)]
        for i in range(0, 120, 40):
            ingest.put_ok(events[i:i + 40])
        _verified(root, track, pub)
        start, end = window()
        runs = [("EventName", "RunInstances")]
        before = lookup_all(admin, runs, start, end)
        total_before = lookup(admin, start, end, attrs=runs, max_results=1)["TotalCount"]
        proof_before = _verify_event(src, admin, events[17]["eventId"], pub)
        assert src.stop() == 0

        p = run_cli(["store", "copy", "--from", str(data), "--to", c.url], check=False)
        assert p.returncode == 0, p.stdout_text + p.stderr_text
        lines = p.stdout_text.splitlines()
        assert lines[0].startswith("copied ") and "1 tracking sets" in lines[0] and "1 KMS keys" in lines[0] and "1 alert channels, 1 alert rules" in lines[0], lines
        account_lines = [ln for ln in lines if ln.startswith("account %d:" % acct)]
        assert len(account_lines) == 1 and account_lines[0].endswith("matches"), lines
        assert not any("DIFFERS" in ln for ln in lines), lines
        # a second copy into the same store is refused, and changes nothing
        again = run_cli(["store", "copy", "--from", str(data), "--to", c.url], check=False)
        assert again.returncode == 1 and "already holds a deployment" in again.stderr_text, again.stderr_text

        # A node on the copy: the same data directory gives it the keys and the local region's buckets.
        node = Server(data, tmp_path / "node.log", extra_args=args, env={"CLOUDAUDIT_STORE": c.url}).start()
        admin_on_node = Key(node, admin.secret_id, admin.secret_key, acct, "admin")
        after = lookup_all(admin_on_node, runs, start, end)
        strip = lambda evs: [(e["EventId"], e["EventTime"], e["CloudAuditEvent"]) for e in evs]
        assert strip(after) == strip(before) and len(after) == 120
        rules = admin_on_node.common().call_json("DescribeAlertRules", {})["Response"]["Rules"]
        assert [(r["RuleId"], r["Name"], r["ChannelIds"]) for r in rules] == [(rule_id, "copied-rule", [channel])]
        # The copied channel's sealed secret opens on the node: its test reaches for the (absent) receiver.
        tested = admin_on_node.common().call_json("TestAlertChannel", {"ChannelId": channel})["Response"]
        assert tested["Delivered"] is False and "127.0.0.1:1" in tested["Answer"] and "secret" not in tested["Answer"], tested
        assert lookup(admin_on_node, start, end, attrs=runs, max_results=1)["TotalCount"] == total_before == 120
        assert _verify_event(node, admin_on_node, events[17]["eventId"], pub) == proof_before
        # The node delivers too (the lookups above are events of the account): a file of its own may wait a
        # moment for the digest that lists it, which verify says with exit status 3.
        _verified(root, track, pub)
        listed = parse_json_output(run_cli(["kms", "list", "--account", str(acct), "--output", "json"],
                                           env=clean_env(CLOUDAUDIT_STORE=c.url, CLOUDAUDIT_DATA_DIR=str(data))))
        assert [k["KeyId"] for k in listed] == [kms["KeyId"]]
        # The node goes on with the same set, cursor and digest chain: the new events are delivered after
        # the old ones and the whole bucket (both nodes' files) still verifies.
        ingest_on_node = Key(node, ingest.secret_id, ingest.secret_key, acct, "ingest")
        more = [make_event("cvm.tencentcloudapi.com", "RunInstances", eventId=uid("ev")) for _ in range(30)]
        ingest_on_node.put_ok(more)
        deadline = time.time() + 60
        while True:
            files = D.read_local_files(data, bucket, "moved")
            got = D.delivered_ids(files)
            if {e["eventId"] for e in events + more} <= set(got):
                break
            assert time.time() < deadline, "the node on the copy did not deliver the new events:\n" + node.log_tail()
            time.sleep(0.5)
        assert D.duplicates(files) == {}, "an event was delivered twice across the move"
        _verified(root, track, pub)
    finally:
        if node:
            node.stop()
        src.kill9()
        c.stop()
