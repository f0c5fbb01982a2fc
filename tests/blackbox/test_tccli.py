"""tccli (the official CLI) against the local server: `--endpoint http://127.0.0.1:PORT` (tccli has no
protocol switch; the SDK under it uses an endpoint that parses as a URL unchanged), credentials from
TENCENTCLOUD_SECRET_ID/KEY, and a temporary HOME so no real ~/.tccli is read or written."""

import json

from support import ids_of, make_event, now, run_tccli, uid


def _json(p):
    assert p.returncode == 0, "tccli exited %s\nstdout: %s\nstderr: %s" % (
        p.returncode, p.stdout.decode(errors="replace")[-2000:], p.stderr.decode(errors="replace")[-2000:])
    return json.loads(p.stdout)


def test_tccli_lookup_events(tenant, tmp_path):
    src = uid("tccli")
    t = now()
    recs = [make_event(src, "T%d" % i, eventTime=t - 10 - i) for i in range(3)]
    tenant.admin.put_ok(recs)
    attrs = json.dumps([{"AttributeKey": "EventSource", "AttributeValue": src}])
    out = _json(run_tccli(tenant.server, tenant.admin, tmp_path, [
        "LookUpEvents", "--StartTime", str(t - 3600), "--EndTime", str(t + 60), "--LookupAttributes", attrs,
        "--MaxResults", "50"]))
    assert ids_of(out["Events"]) == [r["eventId"] for r in recs]
    assert out["ListOver"] is True and out["TotalCount"] == 3
    assert json.loads(out["Events"][0]["CloudAuditEvent"])["eventSource"] == src


def test_tccli_lookup_events_paging(tenant, tmp_path):
    src = uid("tccli")
    t = now()
    recs = [make_event(src, eventTime=t - 10 - i) for i in range(3)]
    tenant.admin.put_ok(recs)
    attrs = json.dumps([{"AttributeKey": "EventSource", "AttributeValue": src}])
    base = ["LookUpEvents", "--StartTime", str(t - 3600), "--EndTime", str(t + 60), "--LookupAttributes", attrs,
            "--MaxResults", "2"]
    p1 = _json(run_tccli(tenant.server, tenant.admin, tmp_path, base))
    assert len(p1["Events"]) == 2 and p1["ListOver"] is False
    p2 = _json(run_tccli(tenant.server, tenant.admin, tmp_path, base + ["--NextToken", p1["NextToken"]]))
    assert ids_of(p1["Events"] + p2["Events"]) == [r["eventId"] for r in recs] and p2["ListOver"] is True


def test_tccli_describe_events(tenant, tmp_path):
    src = uid("tccli")
    t = now()
    rec = make_event(src, eventTime=t - 5)
    tenant.admin.put_ok([rec])
    attrs = json.dumps([{"AttributeKey": "EventSource", "AttributeValue": src}])
    out = _json(run_tccli(tenant.server, tenant.admin, tmp_path, [
        "DescribeEvents", "--StartTime", str(t - 3600), "--EndTime", str(t + 60), "--LookupAttributes", attrs,
        "--IsReturnLocation", "1"]))
    assert ids_of(out["Events"]) == [rec["eventId"]]
    assert out["Events"][0]["Location"] == "unknown"


def test_tccli_get_attribute_key(tenant, tmp_path):
    zh = _json(run_tccli(tenant.server, tenant.admin, tmp_path, ["GetAttributeKey"]))
    en = _json(run_tccli(tenant.server, tenant.admin, tmp_path, ["GetAttributeKey", "--WebsiteType", "en"]))
    assert {d["Value"] for d in zh["AttributeKeyDetails"]} == {d["Value"] for d in en["AttributeKeyDetails"]}
    assert "EventName" in {d["Value"] for d in en["AttributeKeyDetails"]}


def test_tccli_reports_server_errors(tenant, tmp_path):
    t = now()
    p = run_tccli(tenant.server, tenant.admin, tmp_path, [
        "LookUpEvents", "--StartTime", str(t), "--EndTime", str(t - 60)])
    assert p.returncode != 0
    assert b"InvalidParameterValue.Time" in p.stdout + p.stderr
