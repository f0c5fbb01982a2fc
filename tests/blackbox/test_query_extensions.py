"""The query extensions of LookUpEvents, DescribeEvents, the console's DescribeEventStats and export
(docs/contract.md, "Query extensions"), through the official SDK's CommonClient: `ExcludeAttributes`
leaves out the events those attributes would find; `NewSnapshot=1` binds a query to the log as it is and
answers `Snapshot`, which later calls give back to list and count the same events while others arrive.
Without them the answers are the official ones (no `Snapshot` field)."""

import json

from support import console_sign_in, expect_error, make_event, now, uid

OWN_READS = [{"AttributeKey": "EventSource", "AttributeValue": "cloudaudit.api"}, {"AttributeKey": "ReadOnly", "AttributeValue": "true"},
             {"AttributeKey": "CamErrorCode", "AttributeValue": "0"}]


def _call(key, action, params):
    return key.common().call_json(action, params)["Response"]


def _all_pages(key, params, page=7):
    """Every event of a query with the extensions, following NextToken; the first page's TotalCount."""
    out, token, total = [], None, None
    for _ in range(200):
        p = dict(params, MaxResults=page)
        if token:
            p["NextToken"] = token
        r = _call(key, "LookUpEvents", p)
        total = r["TotalCount"] if total is None else total
        assert r["TotalCount"] == total, "the count of a snapshot stays while paging"
        out += [e["EventId"] for e in r["Events"]]
        if r["ListOver"]:
            return out, total
        token = r["NextToken"]
    raise AssertionError("paging did not end")


def test_exclude_attributes_leaves_out_what_they_would_find(tenant):
    t = now()
    src = uid("exsrc")
    events = [make_event(src, name=["RunInstances", "StopInstances", "DescribeInstances"][i % 3], eventTime=t - 100 + i,
                         userIdentity={"type": "CAMUser", "principalId": "1", "userName": ["alice", "bob"][i % 2]},
                         actionType="Read" if i % 3 == 2 else "Write")
              for i in range(30)]
    tenant.admin.put_ok(events)
    base = {"StartTime": t - 200, "EndTime": t + 60, "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": src}]}
    newest_first = sorted(events, key=lambda e: (-e["eventTime"]))

    # One attribute, then two that must both match for an event to be left out.
    got, total = _all_pages(tenant.admin, dict(base, ExcludeAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StopInstances"}]))
    want = [e["eventId"] for e in newest_first if e["eventName"] != "StopInstances"]
    assert got == want and total == len(want) == 20
    both = [{"AttributeKey": "Username", "AttributeValue": "alice"}, {"AttributeKey": "ReadOnly", "AttributeValue": "false"}]
    got, total = _all_pages(tenant.admin, dict(base, ExcludeAttributes=both))
    want = [e["eventId"] for e in newest_first if not (e["userIdentity"]["userName"] == "alice" and e["actionType"] == "Write")]
    assert got == want and total == len(want)
    assert 0 < total < 30

    # The page's own reads: the LookUpEvents calls just made are listed without the exclusion, not with it.
    everything = {"StartTime": t - 200, "EndTime": now() + 60}
    plain, _ = _all_pages(tenant.admin, everything, page=50)
    hidden, _ = _all_pages(tenant.admin, dict(everything, ExcludeAttributes=OWN_READS), page=50)
    assert set(hidden) == {e["eventId"] for e in events} | (set(hidden) - set(plain)), "nothing appears only with the exclusion"
    assert {e["eventId"] for e in events} <= set(hidden)
    assert len(plain) > len(hidden), "the calls of this test are there without the exclusion"


def _console_call(server, key, action, params):
    """One call through the console's api/call (DescribeEventStats is the console's own action)."""
    session, info = console_sign_in(server, key)
    r = session.post(server.url + "/console/api/call", json={"Action": action, "Params": params},
                     headers={"X-CSRF-Token": info["CsrfToken"]}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()["Response"]


def test_snapshot_holds_pages_and_counts_while_events_arrive(server, tenant):
    t = now()
    src = uid("snapsrc")
    query = {"StartTime": t - 600, "EndTime": t + 600, "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": src}]}
    tenant.admin.put_ok([make_event(src, eventTime=t - 300 + i) for i in range(25)])
    first = _call(tenant.admin, "LookUpEvents", dict(query, MaxResults=10, NewSnapshot=1))
    snapshot = first["Snapshot"]
    assert isinstance(snapshot, int) and snapshot >= 25 and first["TotalCount"] == 25
    # Events arrive inside the range, some older than those listed, before the next pages.
    tenant.admin.put_ok([make_event(src, eventTime=t - 400 + i) for i in range(8)] + [make_event(src, eventTime=t - 10)])
    ids, total = _all_pages(tenant.admin, dict(query, Snapshot=snapshot))
    assert total == 25 and len(ids) == 25 == len(set(ids))
    assert ids[:10] == [e["EventId"] for e in first["Events"]]
    stats = _console_call(server, tenant.admin, "DescribeEventStats", dict(query, Snapshot=snapshot))
    assert stats["TotalCount"] == 25 and stats["Snapshot"] == snapshot
    assert _call(tenant.admin, "LookUpEvents", dict(query, MaxResults=1))["TotalCount"] == 34, "without it, every event"
    # DescribeEvents takes them too; a snapshot before every event finds none.
    d = _call(tenant.admin, "DescribeEvents", dict(query, MaxResults=50, Snapshot=snapshot))
    assert d["TotalCount"] == 25 and len(d["Events"]) == 25
    assert _call(tenant.admin, "LookUpEvents", dict(query, Snapshot=0))["TotalCount"] == 0


def test_without_the_extensions_the_answer_is_the_official_one(tenant):
    t = now()
    for action in ("LookUpEvents", "DescribeEvents"):
        r = _call(tenant.admin, action, {"StartTime": t - 60, "EndTime": t})
        assert "Snapshot" not in r and "TotalCount" in r, (action, sorted(r))


def test_a_cursor_belongs_to_its_snapshot_and_exclusion(tenant):
    t = now()
    src = uid("cursrc")
    tenant.admin.put_ok([make_event(src, eventTime=t - 50 + i) for i in range(6)])
    query = {"StartTime": t - 100, "EndTime": t + 60, "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": src}], "MaxResults": 2}
    first = _call(tenant.admin, "LookUpEvents", dict(query, NewSnapshot=1))
    token, snapshot = first["NextToken"], first["Snapshot"]
    assert _call(tenant.admin, "LookUpEvents", dict(query, NextToken=token, Snapshot=snapshot))["Events"]
    for changed in (dict(query, NextToken=token), dict(query, NextToken=token, Snapshot=snapshot + 1),
                    dict(query, NextToken=token, Snapshot=snapshot, ExcludeAttributes=[{"AttributeKey": "EventName", "AttributeValue": "x"}])):
        e = expect_error("InvalidParameterValue", tenant.admin.common().call_json, "LookUpEvents", changed)
        assert "NextToken" in e.message


def test_bad_extension_values_are_refused_clearly(tenant):
    t = now()
    q = {"StartTime": t - 60, "EndTime": t}
    cases = [
        (dict(q, Snapshot=-1), "InvalidParameterValue", "Snapshot"),
        (dict(q, Snapshot="soon"), "InvalidParameter", "Snapshot"),
        (dict(q, NewSnapshot=2), "InvalidParameterValue", "NewSnapshot"),
        (dict(q, NewSnapshot=1, Snapshot=3), "InvalidParameterValue", "not both"),
        (dict(q, ExcludeAttributes={"AttributeKey": "EventName"}), "InvalidParameter", "ExcludeAttributes"),
        (dict(q, ExcludeAttributes=[{"AttributeKey": "Nope", "AttributeValue": "x"}]), "InvalidParameterValue.attributeKey", "Nope"),
        (dict(q, ExcludeAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}]), "InvalidParameterValue", "ExcludeAttributes.0"),
        (dict(q, ExcludeAttributes=[{"AttributeKey": "EventName"}]), "MissingParameter", "ExcludeAttributes.0.AttributeValue"),
    ]
    for params, code, words in cases:
        for action in ("LookUpEvents", "DescribeEvents"):
            e = expect_error(code, tenant.admin.common().call_json, action, params)
            assert words in e.message, (action, params, e.message)


def test_console_export_follows_the_search(server, tenant):
    t = now()
    src = uid("expsrc")
    tenant.admin.put_ok([make_event(src, name="RunInstances" if i % 2 else "StopInstances", eventTime=t - 40 + i) for i in range(10)])
    session, _ = console_sign_in(server, tenant.admin)
    first = _call(tenant.admin, "LookUpEvents", {"StartTime": t - 100, "EndTime": t + 60, "NewSnapshot": 1,
                                                 "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": src}]})
    tenant.admin.put_ok([make_event(src, name="RunInstances", eventTime=t - 5)])
    r = session.get(server.url + "/console/api/export", params={
        "format": "jsonl", "StartTime": t - 100, "EndTime": t + 60, "Snapshot": first["Snapshot"],
        "LookupAttributes": json.dumps([{"AttributeKey": "EventSource", "AttributeValue": src}]),
        "ExcludeAttributes": json.dumps([{"AttributeKey": "EventName", "AttributeValue": "StopInstances"}])}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    lines = [json.loads(x) for x in r.text.splitlines() if x.strip()]
    assert len(lines) == 5 and {x["EventName"] for x in lines} == {"RunInstances"}, "the snapshot's RunInstances only"
