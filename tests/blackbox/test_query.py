"""The three official query actions, through the official SDK: LookUpEvents, DescribeEvents,
GetAttributeKey; field mapping of Event; order; default page size; GET with query parameters."""

import json
import re

import pytest

from support import (
    describe,
    get_attribute_key,
    ids_of,
    lookup,
    make_event,
    now,
    record_of,
    uid,
)


def _rich_event(src):
    t = now() - 30
    return make_event(
        src,
        uid("RunInstances"),
        eventTime=t,
        actionType="Write",
        eventType="ConsoleCall",
        eventRegion="ap-shanghai",
        resourceType="cvm",
        resourceName="ins-abc123",
        resourceSet=["ins-abc123"],
        userIdentity={
            "type": "CAMUser",
            "principalId": "100000001234",
            "secretId": "AKIDblackbox" + uid("k")[-8:],
            "userName": "bob",
        },
        sourceIPAddress="203.0.113.7",
        requestID=uid("req"),
        errorCode=0,
        apiErrorCode="",
        sensitiveAction=True,
        requestParameters={"ImageId": "img-1", "Nested": {"a": [1, 2, {"b": None}]}},
        responseElements={"InstanceIdSet": ["ins-abc123"]},
    )


EVENT_FIELDS = ["EventId", "Username", "EventTime", "CloudAuditEvent", "ResourceTypeCn", "ErrorCode", "EventName",
                "SecretId", "EventSource", "RequestID", "ResourceRegion", "AccountID", "SourceIPAddress", "EventNameCn",
                "Resources", "EventRegion"]


def _check_event_fields(ev, rec, account_id):
    missing = [f for f in EVENT_FIELDS if ev.get(f) is None]
    assert not missing, "Event lacks %r" % missing
    assert ev["EventId"] == rec["eventId"]
    assert ev["EventName"] == rec["eventName"]
    assert ev["EventSource"] == rec["eventSource"]
    assert ev["EventTime"] == str(rec["eventTime"]), "EventTime is Unix seconds as a string"
    assert ev["Username"] == rec["userIdentity"]["userName"]
    assert ev["SecretId"] == rec["userIdentity"]["secretId"]
    assert ev["SourceIPAddress"] == rec["sourceIPAddress"]
    assert ev["RequestID"] == rec["requestID"]
    assert ev["EventRegion"] == rec["eventRegion"]
    assert ev["AccountID"] == account_id, "AccountID is the owning account (an integer)"
    assert ev["ErrorCode"] == rec["errorCode"]
    assert ev["Resources"] == {"ResourceType": rec["resourceType"], "ResourceName": rec["resourceName"]}
    # The record is kept exactly as accepted.
    stored = record_of(ev)
    for k, v in rec.items():
        assert k in stored, "CloudAuditEvent lost field %s" % k
        assert stored[k] == v, "CloudAuditEvent changed field %s: sent %r, got %r" % (k, v, stored[k])


def test_lookup_events_returns_put_event_with_all_fields(tenant):
    src = uid("src")
    rec = _rich_event(src)
    ids = tenant.admin.put_ok([rec])
    assert ids == [rec["eventId"]], "the given eventId is the event's id"
    r = lookup(tenant.admin, attrs=[("EventSource", src)])
    assert r["RequestId"]
    assert len(r["Events"]) == 1, r
    assert r["ListOver"] is True
    assert r["TotalCount"] == 1
    _check_event_fields(r["Events"][0], rec, tenant.account_id)


def test_describe_events_returns_put_event_with_all_fields(tenant):
    src = uid("src")
    rec = _rich_event(src)
    tenant.admin.put_ok([rec])
    r = describe(tenant.admin, attrs=[("EventSource", src)])
    assert r["RequestId"]
    assert len(r["Events"]) == 1, r
    assert r["ListOver"] is True
    assert r["TotalCount"] == 1
    _check_event_fields(r["Events"][0], rec, tenant.account_id)


def test_describe_events_is_return_location(tenant):
    src = uid("src")
    recs = [make_event(src, sourceIPAddress=ip) for ip in ("8.8.8.8", "203.0.113.9", "10.0.0.1")]
    tenant.admin.put_ok(recs)
    r = describe(tenant.admin, attrs=[("EventSource", src)], is_return_location=1)
    assert len(r["Events"]) == 3, r
    for ev in r["Events"]:
        # No GeoIP database is configured for the test server: API.md says "unknown".
        assert ev.get("Location") == "unknown", "IsReturnLocation=1 without GeoIP must give 'unknown': %r" % ev.get(
            "Location")


def test_describe_events_without_location_still_works(tenant):
    src = uid("src")
    tenant.admin.put_ok([make_event(src)])
    r = describe(tenant.admin, attrs=[("EventSource", src)], is_return_location=0)
    assert len(r["Events"]) == 1


EXPECTED_KEYS = {
    "RequestId", "EventName", "ActionType", "ReadOnly", "PrincipalId", "Username", "ResourceType",
    "ResourceId", "ResourceName", "AccessKeyId", "SensitiveAction", "ApiErrorCode", "CamErrorCode",
    "SourceIPAddress", "Tags", "EventSource", "EventId",
}
# the keys in the official example response of GetAttributeKey
OFFICIAL_EXAMPLE_KEYS = {"ReadOnly", "AccessKeyId", "RequestId", "EventName", "ResourceName", "ResourceType", "Username"}

CJK = re.compile(r"[\u4e00-\u9fff]")


def _details(r):
    d = r.get("AttributeKeyDetails")
    assert isinstance(d, list) and d, "AttributeKeyDetails must be a non-empty list: %r" % r
    for item in d:
        for f in ("LabelType", "Starter", "Order", "Value", "Label"):
            assert f in item and item[f] is not None, "AttributeKeyDetail lacks %s: %r" % (f, item)
        assert isinstance(item["Order"], int)
        assert item["LabelType"] in ("text", "select"), item
    values = [i["Value"] for i in d]
    assert len(values) == len(set(values)), "duplicate AttributeKey values: %r" % values
    return d


def test_get_attribute_key_zh(tenant):
    d = _details(get_attribute_key(tenant.admin, "zh"))
    values = {i["Value"] for i in d}
    assert OFFICIAL_EXAMPLE_KEYS <= values, "missing: %r" % (OFFICIAL_EXAMPLE_KEYS - values)
    assert values <= EXPECTED_KEYS, "GetAttributeKey offers keys LookUpEvents does not accept: %r" % (
        values - EXPECTED_KEYS)
    labels = {i["Value"]: i["Label"] for i in d}
    assert all(CJK.search(labels[k]) for k in OFFICIAL_EXAMPLE_KEYS), "zh labels are Chinese: %r" % labels
    assert labels["EventName"] == "事件名称" and labels["ReadOnly"] == "只读"
    orders = [i["Order"] for i in d]
    assert orders == sorted(orders)


def test_get_attribute_key_en(tenant):
    zh = {i["Value"]: i for i in _details(get_attribute_key(tenant.admin, "zh"))}
    en = {i["Value"]: i for i in _details(get_attribute_key(tenant.admin, "en"))}
    assert set(en) == set(zh), "the same keys in both languages"
    for k, item in en.items():
        assert not CJK.search(item["Label"]), "en label is not English: %r" % item
        assert not CJK.search(item["Starter"]), "en starter is not English: %r" % item
        assert item["Label"] != zh[k]["Label"]


def test_get_attribute_key_defaults_to_zh(tenant):
    default = _details(get_attribute_key(tenant.admin))
    zh = _details(get_attribute_key(tenant.admin, "zh"))
    assert [(i["Value"], i["Label"]) for i in default] == [(i["Value"], i["Label"]) for i in zh]


def test_results_are_newest_first(tenant):
    src = uid("src")
    t = now()
    offsets = [300, 100, 200, 50, 400, 250, 10]
    recs = [make_event(src, "E%d" % o, eventTime=t - o) for o in offsets]
    tenant.admin.put_ok(recs)
    for fn in (lookup, describe):
        r = fn(tenant.admin, attrs=[("EventSource", src)], max_results=50)
        times = [int(e["EventTime"]) for e in r["Events"]]
        assert times == sorted((t - o for o in offsets), reverse=True), "%s not newest first: %r" % (fn.__name__, times)


def test_lookup_default_max_results_is_10(tenant):
    src = uid("src")
    tenant.admin.put_ok([make_event(src, eventTime=now() - i) for i in range(12)])
    r = lookup(tenant.admin, attrs=[("EventSource", src)])
    assert len(r["Events"]) == 10, "contract: LookUpEvents MaxResults defaults to 10"
    assert r["ListOver"] is False
    assert r["TotalCount"] == 12


def test_time_window_bounds_results(tenant):
    src = uid("src")
    t = now()
    old = make_event(src, "Old", eventTime=t - 7200)
    mid = make_event(src, "Mid", eventTime=t - 3000)
    new = make_event(src, "New", eventTime=t - 60)
    tenant.admin.put_ok([old, mid, new])
    r = lookup(tenant.admin, start=t - 3600, end=t - 120, attrs=[("EventSource", src)])
    assert ids_of(r["Events"]) == [mid["eventId"]]
    r = lookup(tenant.admin, start=t - 7200, end=t, attrs=[("EventSource", src)])
    assert set(ids_of(r["Events"])) == {old["eventId"], mid["eventId"], new["eventId"]}, "bounds are inclusive"


# ---- GET with query parameters (valid API 3.0 usage: Action=...&LookupAttributes.0.AttributeKey=...)


def test_get_lookup_events_with_query_parameters(tenant):
    src = uid("src")
    name = uid("GetName")
    recs = [make_event(src, name), make_event(src, name), make_event(src, "Other")]
    tenant.admin.put_ok(recs)
    r = lookup(tenant.admin, attrs=[("EventSource", src), ("EventName", name)], max_results=5, method="GET")
    assert sorted(ids_of(r["Events"])) == sorted([recs[0]["eventId"], recs[1]["eventId"]])
    assert r["TotalCount"] == 2


def test_get_lookup_events_pagination_with_query_parameters(tenant):
    src = uid("src")
    recs = [make_event(src, eventTime=now() - i) for i in range(5)]
    tenant.admin.put_ok(recs)
    client = tenant.admin.client("GET")
    seen, token = [], None
    for _ in range(10):
        r = lookup(client, attrs=[("EventSource", src)], max_results=2, next_token=token)
        seen += ids_of(r["Events"])
        if r["ListOver"]:
            break
        token = r["NextToken"]
    assert seen == [r_["eventId"] for r_ in recs]


def test_get_describe_events_with_query_parameters(tenant):
    src = uid("src")
    rec = make_event(src)
    tenant.admin.put_ok([rec])
    r = describe(tenant.admin, attrs=[("EventSource", src)], is_return_location=1, method="GET")
    assert ids_of(r["Events"]) == [rec["eventId"]]


def test_get_get_attribute_key_with_query_parameters(tenant):
    d = _details(get_attribute_key(tenant.admin, "en", method="GET"))
    assert "EventName" in {i["Value"] for i in d}


def test_healthz(server):
    import requests

    r = requests.get(server.url + "/healthz", timeout=10)
    assert r.status_code == 200
    assert r.json().get("status") == "ok"


def test_responses_are_application_json(tenant):
    # The SDK parses errors only when Content-Type is exactly application/json (abstract_client._check_error).
    from support import raw_call

    r = raw_call(tenant.server, tenant.admin.secret_id, tenant.admin.secret_key, "GetAttributeKey", {})
    assert r.status_code == 200
    assert r.headers.get("Content-Type") == "application/json", r.headers.get("Content-Type")
    body = r.json()
    assert "RequestId" in body["Response"]
    json.dumps(body)


def test_any_region_and_language_are_accepted(tenant):
    from support import SERVICE, VERSION, CommonClient, ClientProfile, HttpProfile, credential

    src = uid("src")
    tenant.admin.put_ok([make_event(src)])
    for region, language in (("ap-shanghai", "en-US"), ("eu-nowhere-9", "zh-CN"), ("", "en-US")):
        hp = HttpProfile(endpoint=tenant.server.endpoint, protocol="http")
        client = CommonClient(SERVICE, VERSION, credential.Credential(tenant.admin.secret_id, tenant.admin.secret_key),
                              region, ClientProfile(httpProfile=hp, language=language))
        s = now() - 600
        r = client.call_json("LookUpEvents", {"StartTime": s, "EndTime": s + 1200, "LookupAttributes": [
            {"AttributeKey": "EventSource", "AttributeValue": src}]})["Response"]
        assert len(r["Events"]) == 1, (region, language)


@pytest.mark.parametrize("mode", ["standard", "quick"])
def test_lookup_events_mode_parameter_is_accepted(tenant, mode):
    # LookUpEventsRequest.Mode exists in the official SDK model (standard | quick)
    from tencentcloud.cloudaudit.v20190319 import models

    src = uid("src")
    rec = make_event(src)
    tenant.admin.put_ok([rec])
    s = now() - 600
    req = models.LookUpEventsRequest()
    req.from_json_string(json.dumps({"StartTime": s, "EndTime": s + 1200, "Mode": mode, "LookupAttributes": [
        {"AttributeKey": "EventSource", "AttributeValue": src}]}))
    resp = json.loads(tenant.admin.client().LookUpEvents(req).to_json_string())
    assert ids_of(resp["Events"]) == [rec["eventId"]]
