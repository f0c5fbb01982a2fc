"""The `cloudaudit events` client commands: put (JSON lines, JSON array, stdin), lookup (json and
table), generate; they sign like the SDK and read TENCENTCLOUD_SECRET_ID/KEY."""

import json
from datetime import datetime, timezone

from support import (
    DAY,
    clean_env,
    ids_of,
    lookup,
    lookup_all,
    make_event,
    now,
    parse_json_output,
    random_secret_key,
    run_cli,
    uid,
)


def _env(key, secret=None):
    return clean_env(TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=secret or key.secret_key)


def events(key, *args, check=True, input=None, secret=None):
    return run_cli(["events"] + list(args) + ["--endpoint", key.server.url], check=check, env=_env(key, secret),
                   input=input)


def test_events_put_json_lines_file(tenant, tmp_path):
    src = uid("cli")
    recs = [make_event(src, "L%d" % i) for i in range(5)]
    f = tmp_path / "events.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    p = events(tenant.admin, "put", str(f), "--output", "json")
    assert p.returncode == 0
    out = parse_json_output(p)
    assert out["Stored"] == 5 and out["Rejected"] == 0 and out.get("Failures", []) == []
    assert sorted(ids_of(lookup_all(tenant.admin, [("EventSource", src)]))) == sorted(r["eventId"] for r in recs)


def test_events_put_json_array_file(tenant, tmp_path):
    src = uid("cli")
    recs = [make_event(src, "A%d" % i) for i in range(7)]
    f = tmp_path / "events.json"
    f.write_text(json.dumps(recs, indent=2))
    out = parse_json_output(events(tenant.admin, "put", str(f), "--output", "json"))
    assert out["Stored"] == 7 and out["Rejected"] == 0
    assert sorted(ids_of(lookup_all(tenant.admin, [("EventSource", src)]))) == sorted(r["eventId"] for r in recs)


def test_events_put_from_stdin(tenant):
    src = uid("cli")
    recs = [make_event(src) for _ in range(3)]
    data = ("\n".join(json.dumps(r) for r in recs) + "\n").encode()
    out = parse_json_output(events(tenant.admin, "put", "-", "--output", "json", input=data))
    assert out["Stored"] == 3
    assert len(lookup_all(tenant.admin, [("EventSource", src)])) == 3


def test_events_put_in_several_batches(tenant, tmp_path):
    src = uid("cli")
    recs = [{"eventName": "B%d" % (i % 3), "eventSource": src, "actionType": "Write"} for i in range(2500)]
    f = tmp_path / "many.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in recs))
    out = parse_json_output(events(tenant.admin, "put", str(f), "--output", "json", "--batch-size", "700"))
    assert out["Stored"] == 2500 and out["Rejected"] == 0
    assert lookup(tenant.admin, attrs=[("EventSource", src)])["TotalCount"] == 2500


def test_events_put_reports_rejected_lines(tenant, tmp_path):
    src = uid("cli")
    good = [make_event(src) for _ in range(4)]
    bad = make_event(src)
    del bad["actionType"]
    lines = [good[0], good[1], bad, good[2], good[3]]
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    p = events(tenant.admin, "put", str(f), "--output", "json", check=False)
    assert p.returncode == 1, "exit 1 when some records were rejected (got %s): %s" % (p.returncode, p.stderr_text)
    out = parse_json_output(p)
    assert out["Stored"] == 4 and out["Rejected"] == 1
    assert len(out["Failures"]) == 1
    assert out["Failures"][0]["Line"] == 3, "Line is the 1-based line of the JSON-lines file: %r" % out["Failures"]
    assert out["Failures"][0]["Code"] == "MissingParameter"
    assert out["Failures"][0]["Message"]
    assert sorted(ids_of(lookup_all(tenant.admin, [("EventSource", src)]))) == sorted(r["eventId"] for r in good)


def test_events_put_with_wrong_secret_exits_2(tenant, tmp_path):
    f = tmp_path / "one.jsonl"
    f.write_text(json.dumps(make_event(uid("cli"))) + "\n")
    p = events(tenant.admin, "put", str(f), check=False, secret=random_secret_key())
    assert p.returncode == 2, "request-level error exits 2, got %s" % p.returncode
    assert "AuthFailure.SignatureFailure" in (p.stdout_text + p.stderr_text)


def test_events_lookup_json(tenant):
    src = uid("cli")
    t = now()
    recs = [make_event(src, "Q%d" % i, eventTime=t - 10 * i) for i in range(4)]
    tenant.admin.put_ok(recs)
    p = events(tenant.admin, "lookup", "--start=-1h", "--attr", "EventSource=%s" % src, "--output", "json")
    got = parse_json_output(p)
    assert isinstance(got, list)
    assert ids_of(got) == [r["eventId"] for r in recs], "newest first, the API's Event objects"
    for ev in got:
        assert ev["EventSource"] == src and "CloudAuditEvent" in ev and ev["AccountID"] == tenant.account_id


def test_events_lookup_time_formats_attrs_and_max(tenant):
    src = uid("cli")
    t = now()
    recs = [make_event(src, "W" if i % 2 else "R", actionType="Write" if i % 2 else "Read", eventTime=t - 60 - i)
            for i in range(70)]
    tenant.admin.put_ok(recs)
    writes = [r["eventId"] for r in recs if r["actionType"] == "Write"]
    # unix seconds, two ANDed attributes
    got = parse_json_output(events(tenant.admin, "lookup", "--start", str(t - 3600), "--end", str(t),
                                   "--attr", "EventSource=%s" % src, "--attr", "ActionType=Write",
                                   "--max", "100", "--output", "json"))
    assert ids_of(got) == writes
    # RFC 3339 and paging past one API page: --max 60 gives 60 distinct events
    start = datetime.fromtimestamp(t - 3600, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    got = parse_json_output(events(tenant.admin, "lookup", "--start", start, "--attr", "EventSource=%s" % src,
                                   "--max", "60", "--output", "json"))
    assert len(got) == 60 and len(set(ids_of(got))) == 60
    assert ids_of(got) == [r["eventId"] for r in recs][:60]
    # default --max is 50
    got = parse_json_output(events(tenant.admin, "lookup", "--start=-2h", "--attr", "EventSource=%s" % src,
                                   "--output", "json"))
    assert len(got) == 50
    # relative end
    got = parse_json_output(events(tenant.admin, "lookup", "--start=-1d", "--end", "now",
                                   "--attr", "EventSource=%s" % src, "--max", "3", "--output", "json"))
    assert len(got) == 3


def test_events_lookup_table(tenant):
    src = uid("cli")
    name = "TableRow" + uid("n")[-6:]
    tenant.admin.put_ok([make_event(src, name)])
    p = events(tenant.admin, "lookup", "--start=-30m", "--attr", "EventSource=%s" % src)
    assert name in p.stdout_text


def test_events_lookup_bad_attribute_fails(tenant):
    p = events(tenant.admin, "lookup", "--start=-1h", "--attr", "Bogus=1", "--output", "json", check=False)
    assert p.returncode != 0
    assert "InvalidParameterValue.attributeKey" in (p.stdout_text + p.stderr_text)


def test_events_generate_200(tenant):
    p = events(tenant.admin, "generate", "--count", "200", "--seed", "7")
    assert p.returncode == 0
    t = now()
    evs = lookup_all(tenant.admin, [], start=t - 30 * DAY + 60, end=t + 300)
    generated = [e for e in evs if e["EventSource"] != "cloudaudit.api"]
    assert len(generated) == 200, "generate --count 200 stored %d events" % len(generated)
    recs = [json.loads(e["CloudAuditEvent"]) for e in generated]
    assert len({r["eventName"] for r in recs}) >= 5, "many actions"
    assert len({r["eventSource"] for r in recs}) >= 3, "many products"
    assert len({(r.get("userIdentity") or {}).get("userName") for r in recs}) >= 3, "many users"
    assert {r["actionType"] for r in recs} == {"Read", "Write"}, "a read/write mix"
    assert any(r.get("sensitiveAction") in (True, "true", 1) for r in recs), "some sensitive actions"
    assert any((r.get("errorCode") not in (None, 0, "0", "")) or r.get("apiErrorCode") not in (None, "", 0, "0")
               for r in recs), "some errors"


def test_events_lookup_relative_start_as_separate_argument(tenant):
    # docs: `--start -2h`; a value that starts with "-" must still be taken as the value
    src = uid("cli")
    tenant.admin.put_ok([make_event(src)])
    got = parse_json_output(events(tenant.admin, "lookup", "--start", "-2h", "--attr", "EventSource=%s" % src,
                                   "--output", "json"))
    assert len(got) == 1
