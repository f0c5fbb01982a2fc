"""PutEvents (our action, through CommonClient): per-record validation with the contract's codes,
nothing of a rejected record stored and the rest stored; request-level errors; eventTime formats;
idempotent retries by eventId."""

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from support import (
    DAY,
    expect_error,
    ids_of,
    lookup,
    lookup_all,
    make_event,
    now,
    raw_call,
    raw_error,
    record_of,
    uid,
)


def _ui(**kw):
    base = {"type": "CAMUser", "principalId": "100000009001", "secretId": "AKIDexample0001", "userName": "alice"}
    base.update(kw)
    return base


def _without(rec, *fields):
    for f in fields:
        rec.pop(f, None)
    return rec


def s(n):
    return "a" * n


# (id, builder(src) -> record, expected code)
INVALID = [
    ("not-object-number", lambda src: 5, "InvalidParameter"),
    ("not-object-string", lambda src: "an event", "InvalidParameter"),
    ("not-object-array", lambda src: [make_event(src)], "InvalidParameter"),
    ("not-object-null", lambda src: None, "InvalidParameter"),
    ("eventName-number", lambda src: make_event(src, eventName=5), "InvalidParameter"),
    ("eventSource-bool", lambda src: make_event(src, eventSource=True), "InvalidParameter"),
    ("actionType-number", lambda src: make_event(src, actionType=1), "InvalidParameter"),
    ("userIdentity-string", lambda src: make_event(src, userIdentity="bob"), "InvalidParameter"),
    ("userName-boolean", lambda src: make_event(src, userIdentity=_ui(userName=True)), "InvalidParameter"),
    ("resourceName-object", lambda src: make_event(src, resourceName={"a": 1}), "InvalidParameter"),
    ("missing-eventName", lambda src: _without(make_event(src), "eventName"), "MissingParameter"),
    ("missing-eventSource", lambda src: _without(make_event(src), "eventSource"), "MissingParameter"),
    ("missing-actionType", lambda src: _without(make_event(src), "actionType"), "MissingParameter"),
    ("empty-eventName", lambda src: make_event(src, eventName=""), "InvalidParameterValue"),
    ("empty-eventSource", lambda src: make_event(src, eventSource=""), "InvalidParameterValue"),
    ("empty-actionType", lambda src: make_event(src, actionType=""), "InvalidParameterValue"),
    ("actionType-Delete", lambda src: make_event(src, actionType="Delete"), "InvalidParameterValue"),
    ("actionType-lowercase", lambda src: make_event(src, actionType="read"), "InvalidParameterValue"),
    ("eventType-bogus", lambda src: make_event(src, eventType="ShellCall"), "InvalidParameterValue"),
    ("eventName-129", lambda src: make_event(src, eventName=s(129)), "InvalidParameterValue"),
    ("eventSource-129", lambda src: make_event(src, eventSource=src + s(129 - len(src))), "InvalidParameterValue"),
    ("eventType-129", lambda src: make_event(src, eventType=s(129)), "InvalidParameterValue"),
    ("eventRegion-129", lambda src: make_event(src, eventRegion=s(129)), "InvalidParameterValue"),
    ("resourceType-129", lambda src: make_event(src, resourceType=s(129)), "InvalidParameterValue"),
    ("requestID-129", lambda src: make_event(src, requestID=s(129)), "InvalidParameterValue"),
    ("eventId-129", lambda src: make_event(src, eventId=s(129)), "InvalidParameterValue"),
    ("userIdentity.userName-257", lambda src: make_event(src, userIdentity=_ui(userName=s(257))), "InvalidParameterValue"),
    ("userIdentity.principalId-257", lambda src: make_event(src, userIdentity=_ui(principalId=s(257))),
     "InvalidParameterValue"),
    ("userIdentity.secretId-257", lambda src: make_event(src, userIdentity=_ui(secretId=s(257))), "InvalidParameterValue"),
    ("userIdentity.type-257", lambda src: make_event(src, userIdentity=_ui(type=s(257))), "InvalidParameterValue"),
    ("sourceIPAddress-257", lambda src: make_event(src, sourceIPAddress=s(257)), "InvalidParameterValue"),
    ("resourceName-2049", lambda src: make_event(src, resourceName=s(2049)), "InvalidParameterValue"),
    ("userAgent-2049", lambda src: make_event(src, userAgent=s(2049)), "InvalidParameterValue"),
    ("errorMessage-2049", lambda src: make_event(src, errorMessage=s(2049)), "InvalidParameterValue"),
    ("apiErrorMessage-2049", lambda src: make_event(src, apiErrorMessage=s(2049)), "InvalidParameterValue"),
    ("record-over-256KiB", lambda src: make_event(src, requestParameters={"blob": s(270 * 1024)}), "InvalidParameterValue"),
    ("eventTime-1h-future", lambda src: make_event(src, eventTime=now() + 3600), "InvalidParameterValue.Time"),
    ("eventTime-past-retention", lambda src: make_event(src, eventTime=now() - 40 * DAY), "InvalidParameterValue.Time"),
    ("eventTime-rfc3339-future", lambda src: make_event(
        src, eventTime=(datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")),
     "InvalidParameterValue.Time"),
]


@pytest.mark.parametrize("builder,code", [(b, c) for _, b, c in INVALID], ids=[i for i, _, _ in INVALID])
def test_rejected_record_is_not_stored_and_others_are(tenant, builder, code):
    src = uid("val")
    before, after = make_event(src, "Before"), make_event(src, "After")
    bad = builder(src)
    r = tenant.admin.put([before, bad, after])
    failed = r.get("FailedEvents") or []
    assert [(f.get("Index"), f.get("Code")) for f in failed] == [(1, code)], "FailedEvents: %r" % failed
    assert failed[0].get("Message"), "a rejection needs a message a person can act on"
    ids = r.get("EventIds")
    assert isinstance(ids, list) and len(ids) == 3, "EventIds lists every input record: %r" % ids
    assert ids[0] == before["eventId"] and ids[2] == after["eventId"]
    assert ids[1] == "", "a rejected record gets an empty id: %r" % ids[1]
    stored = ids_of(lookup_all(tenant.admin, [("EventSource", src)]))
    assert sorted(stored) == sorted([before["eventId"], after["eventId"]])
    if isinstance(bad, dict) and isinstance(bad.get("eventId"), str) and len(bad["eventId"]) <= 128:
        assert lookup(tenant.admin, attrs=[("EventId", bad["eventId"])])["Events"] in ([], None), "rejected record stored"


def test_mixed_batch_reports_each_rejection_by_index(tenant):
    src = uid("mix")
    batch, expected, valid = [], {}, []
    for i, (_, builder, code) in enumerate(INVALID):
        batch.append(make_event(src, "Valid%d" % i))
        valid.append(batch[-1]["eventId"])
        expected[len(batch)] = code
        batch.append(builder(src))
    r = tenant.admin.put(batch)
    got = {f["Index"]: f["Code"] for f in r.get("FailedEvents") or []}
    assert got == expected
    for i, eid in enumerate(r["EventIds"]):
        assert (eid == "") == (i in expected), (i, eid)
    stored = ids_of(lookup_all(tenant.admin, [("EventSource", src)]))
    assert sorted(stored) == sorted(valid)


def test_values_at_the_length_limits_are_accepted_and_kept(tenant):
    src = uid("lim")
    src128 = src + "s" * (128 - len(src))
    rec = make_event(
        src128, "N" * 128,
        eventId=uid("id") + "i" * (128 - len(uid("id"))),
        eventRegion="r" * 128, resourceType="t" * 128, requestID="q" * 128,
        userIdentity=_ui(userName="u" * 256, principalId="p" * 256, secretId="k" * 256, type="y" * 256),
        sourceIPAddress="9" * 256, resourceName="n" * 2048, userAgent="g" * 2048,
        errorMessage="e" * 2048, apiErrorMessage="m" * 2048,
    )
    assert tenant.admin.put_ok([rec]) == [rec["eventId"]]
    evs = lookup_all(tenant.admin, [("EventSource", src128)])
    assert ids_of(evs) == [rec["eventId"]]
    stored = record_of(evs[0])
    for k, v in rec.items():
        assert stored.get(k) == v, "field %s changed" % k


def test_event_type_values(tenant):
    src = uid("type")
    recs = [make_event(src, eventType=t) for t in ("ApiCall", "ConsoleCall", "MiniProgramCall")]
    recs.append(_without(make_event(src), "eventType"))
    tenant.admin.put_ok(recs)
    assert len(lookup_all(tenant.admin, [("EventSource", src)])) == 4


def test_minimal_record_gets_generated_id_and_current_time(tenant):
    src = uid("min")
    t0 = now()
    ids = tenant.admin.put_ok([{"eventName": "Ping", "eventSource": src, "actionType": "Read"},
                               {"eventName": "Ping", "eventSource": src, "actionType": "Write"}])
    assert ids[0] != ids[1], "generated ids are unique"
    evs = lookup_all(tenant.admin, [("EventSource", src)])
    assert sorted(ids_of(evs)) == sorted(ids)
    for ev in evs:
        assert abs(int(ev["EventTime"]) - t0) <= 10, "eventTime defaults to now: %r" % ev["EventTime"]
        assert ev["AccountID"] == tenant.account_id
    assert ids_of(lookup(tenant.admin, attrs=[("EventId", ids[0])])["Events"]) == [ids[0]]


def test_event_time_formats(tenant):
    src = uid("time")
    t = now() - 1234
    rfc_z = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rfc_8 = datetime.fromtimestamp(t - 1, tz=timezone(timedelta(hours=8))).isoformat()
    recs = [
        make_event(src, "AsNumber", eventTime=t - 2),
        make_event(src, "AsNumericString", eventTime=str(t - 3)),
        make_event(src, "AsRFC3339Z", eventTime=rfc_z),
        make_event(src, "AsRFC3339Offset", eventTime=rfc_8),
        make_event(src, "SlightlyFuture", eventTime=now() + 120),
    ]
    tenant.admin.put_ok(recs)
    got = {e["EventName"]: int(e["EventTime"]) for e in lookup_all(tenant.admin, [("EventSource", src)])}
    assert got["AsNumber"] == t - 2
    assert got["AsNumericString"] == t - 3
    assert got["AsRFC3339Z"] == t
    assert got["AsRFC3339Offset"] == t - 1
    assert "SlightlyFuture" in got, "eventTime up to 5 minutes ahead is accepted"


def test_session_context_as_object_or_string(tenant):
    # The official examples carry userIdentity.sessionContext both as an object and as a JSON string.
    src = uid("sess")
    recs = [make_event(src, userIdentity=_ui(sessionContext={"mfa": 1, "ua": "x"})),
            make_event(src, userIdentity=_ui(sessionContext='{"mfa": 1}'))]
    tenant.admin.put_ok(recs)
    assert len(lookup_all(tenant.admin, [("EventSource", src)])) == 2


# ---- request-level errors


def _call(key, params):
    return key.common().call_json("PutEvents", params)


def test_missing_events_is_missing_parameter(tenant):
    expect_error("MissingParameter", _call, tenant.admin, {})


@pytest.mark.parametrize("bad", ["x", {"eventName": "a"}, 5, None], ids=["string", "object", "number", "null"])
def test_events_not_an_array_is_invalid_parameter(tenant, bad):
    if bad is None:
        # an explicit null is "not an array" too, but some may call it missing
        try:
            _call(tenant.admin, {"Events": None})
        except Exception as e:
            assert getattr(e, "code", None) in ("InvalidParameter", "MissingParameter"), e
            return
        pytest.fail("Events: null was accepted")
    expect_error("InvalidParameter", _call, tenant.admin, {"Events": bad})


def test_empty_events_is_invalid_parameter_value(tenant):
    expect_error("InvalidParameterValue", _call, tenant.admin, {"Events": []})


def test_more_than_1000_events_is_limit_exceeded_and_nothing_stored(tenant):
    src = uid("many")
    batch = [{"eventName": "E", "eventSource": src, "actionType": "Read"} for _ in range(1001)]
    expect_error("LimitExceeded", tenant.admin.put, batch)
    assert lookup(tenant.admin, attrs=[("EventSource", src)])["TotalCount"] == 0


def test_1000_events_are_accepted(tenant):
    src = uid("many")
    batch = [{"eventName": "E%d" % (i % 10), "eventSource": src, "actionType": "Read"} for i in range(1000)]
    ids = tenant.admin.put_ok(batch)
    assert len(set(ids)) == 1000
    assert lookup(tenant.admin, attrs=[("EventSource", src)])["TotalCount"] == 1000


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1,2", b"\xff\xfe{}", b'{"Events": [}'],
                         ids=["garbage", "empty", "truncated", "not-utf8", "broken-array"])
def test_body_not_json_is_invalid_parameter(tenant, body):
    r = raw_call(tenant.server, tenant.admin.secret_id, tenant.admin.secret_key, "PutEvents", body=body)
    raw_error(r, "InvalidParameter")


def test_body_just_under_5_mib_is_accepted(tenant):
    src = uid("near")
    recs = [make_event(src, requestParameters={"blob": "z" * (240 * 1024)}) for _ in range(20)]
    size = len(json.dumps({"Events": recs}))
    assert 4.5 * 1024 * 1024 < size < 5 * 1024 * 1024
    tenant.admin.put_ok(recs)
    assert lookup(tenant.admin, attrs=[("EventSource", src)])["TotalCount"] == 20


# ---- idempotency by eventId


def test_retry_with_same_event_id_is_stored_once(tenant):
    src = uid("idem")
    rec = make_event(src)
    assert tenant.admin.put_ok([rec]) == [rec["eventId"]]
    assert tenant.admin.put_ok([rec]) == [rec["eventId"]], "a retry is not a failure and gets the same id"
    assert tenant.admin.put_ok([dict(rec, eventName="ChangedOnRetry")]) == [rec["eventId"]]
    r = lookup(tenant.admin, attrs=[("EventId", rec["eventId"])])
    assert ids_of(r["Events"]) == [rec["eventId"]]
    assert r["TotalCount"] == 1
    assert lookup(tenant.admin, attrs=[("EventSource", src)])["TotalCount"] == 1


def test_retried_batch_is_stored_once(tenant):
    src = uid("idem")
    batch = [make_event(src, eventTime=now() - i) for i in range(50)]
    first = tenant.admin.put_ok(batch)
    for _ in range(2):
        assert tenant.admin.put_ok(batch) == first
    # and a retry that overlaps a new batch
    extra = [make_event(src) for _ in range(5)]
    tenant.admin.put_ok(batch[:10] + extra)
    got = ids_of(lookup_all(tenant.admin, [("EventSource", src)]))
    assert sorted(got) == sorted(first + [e["eventId"] for e in extra])


def test_duplicate_event_id_within_one_batch_is_stored_once(tenant):
    src = uid("idem")
    rec = make_event(src)
    ids = tenant.admin.put_ok([rec, make_event(src), rec])
    assert ids[0] == ids[2] == rec["eventId"]
    assert lookup(tenant.admin, attrs=[("EventSource", src)])["TotalCount"] == 2


def test_concurrent_retries_are_stored_once(tenant):
    src = uid("idem")
    recs = [make_event(src) for _ in range(20)]
    results, errors = [], []

    def send():
        try:
            results.append(tenant.admin.put_ok(recs))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(r == [e["eventId"] for e in recs] for r in results)
    assert lookup(tenant.admin, attrs=[("EventSource", src)])["TotalCount"] == 20


def test_event_ids_are_per_account(tenant, tenant2):
    # The same eventId in two accounts is two events: idempotency never crosses accounts.
    src = uid("idem")
    rec = make_event(src)
    tenant.admin.put_ok([rec])
    tenant2.admin.put_ok([rec])
    for t in (tenant, tenant2):
        evs = lookup(t.admin, attrs=[("EventId", rec["eventId"])])["Events"]
        assert len(evs) == 1 and evs[0]["AccountID"] == t.account_id


def test_accepted_events_visible_to_the_next_query(tenant):
    src = uid("vis")
    for i in range(10):
        rec = make_event(src, "N%d" % i)
        tenant.admin.put_ok([rec])
        r = lookup(tenant.admin, attrs=[("EventId", rec["eventId"])])
        assert ids_of(r["Events"]) == [rec["eventId"]], "an acknowledged event must be visible at once"


def test_official_example_record_is_accepted(tenant):
    """The CloudAuditEvent of tccli's official DescribeEvents example (examples.json), with only its time,
    source and account made ours, is a record the official tooling produces: PutEvents accepts it and
    keeps it as sent."""
    import os

    import tccli

    path = os.path.join(os.path.dirname(tccli.__file__), "services", "cloudaudit", "v20190319", "examples.json")
    with open(path, encoding="utf-8") as f:
        example = json.load(f)["actions"]["DescribeEvents"][0]["output"]
    rec = json.loads(json.loads(example)["Response"]["Events"][0]["CloudAuditEvent"])
    src = uid("official")
    rec["eventSource"] = src
    rec["eventTime"] = now() - 30
    rec["userIdentity"]["accountId"] = str(tenant.account_id)
    r = tenant.admin.put([rec])
    assert not r.get("FailedEvents"), "the official example record was rejected: %r" % r.get("FailedEvents")
    evs = lookup_all(tenant.admin, [("EventSource", src)])
    assert len(evs) == 1
    assert evs[0]["EventName"] == "CreateAuditTrack"
    stored = record_of(evs[0])
    for k, v in rec.items():
        assert stored.get(k) == v, "field %s changed" % k


def test_event_version_as_number_or_string(tenant):
    # Both official example records carry "eventVersion": 2 (a number).
    src = uid("ver")
    recs = [make_event(src, eventVersion=2), make_event(src, eventVersion="2.0")]
    tenant.admin.put_ok(recs)
    assert len(lookup_all(tenant.admin, [("EventSource", src)])) == 2
