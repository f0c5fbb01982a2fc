"""Every lookup key of the contract: put events that match and events that nearly match, then the key
returns exactly the matching ones (through LookUpEvents and DescribeEvents). AND across keys, OR within
EventName, exact case-sensitive matching."""

import json
import random
import uuid

import pytest

from support import describe, ids_of, lookup, lookup_all, make_event, uid


def _ui(**kw):
    base = {"type": "CAMUser", "principalId": "100000009001", "secretId": "AKIDexample0001", "userName": "alice"}
    base.update(kw)
    return base


def _hex():
    return uuid.uuid4().hex[:10]


# Each builder returns (attrs, matching records, non-matching records, value_is_unique).
# value_is_unique: the value occurs nowhere else in the account, so the key alone must also give
# exactly the matching records (self-audit events included in the account).


def k_request_id(src):
    v = uid("req")
    return [("RequestId", v)], [make_event(src, requestID=v)], [
        make_event(src, requestID=v + "x"), make_event(src, requestID=v.upper()), make_event(src)], True


def k_event_name(src):
    v = "RunInstances" + _hex()
    return [("EventName", v)], [make_event(src, v), make_event(src, v)], [
        make_event(src, v.upper()), make_event(src, v[:-1]), make_event(src, v + "s")], True


def k_action_type_write(src):
    return [("ActionType", "Write")], [make_event(src, actionType="Write"), make_event(src, actionType="Write")], [
        make_event(src, actionType="Read"), make_event(src, actionType="Read")], False


def k_action_type_read(src):
    return [("ActionType", "Read")], [make_event(src, actionType="Read")], [
        make_event(src, actionType="Write"), make_event(src, actionType="Write")], False


def k_read_only_true(src):
    return [("ReadOnly", "true")], [make_event(src, actionType="Read"), make_event(src, actionType="Read")], [
        make_event(src, actionType="Write")], False


def k_read_only_false(src):
    return [("ReadOnly", "false")], [make_event(src, actionType="Write")], [
        make_event(src, actionType="Read"), make_event(src, actionType="Read")], False


def k_principal_id(src):
    v = str(random.randint(10 ** 11, 10 ** 12 - 1))
    return [("PrincipalId", v)], [make_event(src, userIdentity=_ui(principalId=v))], [
        make_event(src, userIdentity=_ui(principalId=v + "0")), make_event(src, userIdentity=_ui(principalId=v[:-1]))], True


def k_username(src):
    v = "user-" + _hex()
    return [("Username", v)], [make_event(src, userIdentity=_ui(userName=v)), make_event(src, userIdentity=_ui(userName=v))], [
        make_event(src, userIdentity=_ui(userName=v.upper())), make_event(src, userIdentity=_ui(userName=v + "x"))], True


def k_resource_type(src):
    v = "rt" + _hex()
    return [("ResourceType", v)], [make_event(src, resourceType=v)], [
        make_event(src, resourceType=v + "x"), make_event(src, resourceType=v.upper())], True


def k_resource_name_whole(src):
    a, b = "ins-" + _hex(), "ins-" + _hex()
    v = "%s,%s" % (a, b)
    return [("ResourceName", v)], [make_event(src, resourceName=v)], [
        make_event(src, resourceName="%s,%s" % (b, a)), make_event(src, resourceName=v + "x")], True


def k_resource_name_part(src):
    a, b = "ins-" + _hex(), "ins-" + _hex()
    return [("ResourceName", b)], [make_event(src, resourceName="%s,%s" % (a, b)), make_event(src, resourceName=b)], [
        make_event(src, resourceName=a), make_event(src, resourceName=b + "x"), make_event(src, resourceName="x" + b),
        make_event(src, resourceName="%s,%sx" % (a, b))], True


def k_resource_id_string(src):
    v = "ins-" + _hex()
    return [("ResourceId", v)], [make_event(src, resourceSet=["ins-other", v]), make_event(src, resourceSet=[v])], [
        make_event(src, resourceSet=[v + "x"]), make_event(src, resourceSet=[]),
        make_event(src, resourceSet=["ins-other"], resourceName=v)], True


def k_resource_id_object(src):
    v = "disk-" + _hex()
    return [("ResourceId", v)], [make_event(src, resourceSet=[{"resourceId": v, "resourceName": "data disk"}])], [
        make_event(src, resourceSet=[{"resourceId": v + "x"}]), make_event(src, resourceSet=[{"resourceName": v}])], True


def k_access_key_id(src):
    v = "AKID" + _hex() + _hex()
    return [("AccessKeyId", v)], [make_event(src, userIdentity=_ui(secretId=v))], [
        make_event(src, userIdentity=_ui(secretId=v[:-1])), make_event(src, userIdentity=_ui(secretId=v.lower()))], True


def k_sensitive_true(src):
    return [("SensitiveAction", "true")], [make_event(src, sensitiveAction=True)], [
        make_event(src, sensitiveAction=False), make_event(src, sensitiveAction=None)], False


def k_sensitive_false(src):
    return [("SensitiveAction", "false")], [make_event(src, sensitiveAction=False), make_event(src, sensitiveAction=False)], [
        make_event(src, sensitiveAction=True)], False


def k_api_error_code(src):
    v = "ResourceNotFound.Instance" + _hex()
    return [("ApiErrorCode", v)], [make_event(src, apiErrorCode=v, apiErrorMessage="no such instance")], [
        make_event(src, apiErrorCode=""), make_event(src, apiErrorCode=v + "x")], True


def k_cam_error_code(src):
    v = random.randint(100000, 999999)
    return [("CamErrorCode", str(v))], [make_event(src, errorCode=v, errorMessage="permission denied")], [
        make_event(src, errorCode=0), make_event(src, errorCode=v + 1)], True


def k_source_ip(src):
    v = "198.51.%d.%d" % (random.randint(0, 255), random.randint(1, 25))
    return [("SourceIPAddress", v)], [make_event(src, sourceIPAddress=v), make_event(src, sourceIPAddress=v)], [
        make_event(src, sourceIPAddress=v + "0"), make_event(src, sourceIPAddress="10.0.0.1")], True


def k_tags_exact(src):
    tk = "team" + _hex()
    q = json.dumps([{"key": tk, "value": "prod"}])
    return [("Tags", q)], [make_event(src, tags=[{"key": tk, "value": "prod"}, {"key": "other", "value": "x"}])], [
        make_event(src, tags=[{"key": tk, "value": "dev"}]), make_event(src, tags=[{"key": tk + "x", "value": "prod"}]),
        make_event(src, tags=[])], True


def k_tags_any_value(src):
    tk = "team" + _hex()
    q = json.dumps([{"key": tk, "value": "*"}])
    return [("Tags", q)], [make_event(src, tags=[{"key": tk, "value": "prod"}]), make_event(src, tags=[{"key": tk, "value": "dev"}])], [
        make_event(src, tags=[{"key": tk + "x", "value": "prod"}]), make_event(src, tags=[])], True


def k_tags_or(src):
    t1, t2 = "a" + _hex(), "b" + _hex()
    q = json.dumps([{"key": t1, "value": "1"}, {"key": t2, "value": "2"}])
    return [("Tags", q)], [make_event(src, tags=[{"key": t1, "value": "1"}]), make_event(src, tags=[{"key": t2, "value": "2"}])], [
        make_event(src, tags=[{"key": t1, "value": "2"}]), make_event(src, tags=[{"key": t2, "value": "1"}])], True


def k_event_source(src):
    return [("EventSource", src)], [make_event(src), make_event(src)], [
        make_event(src + "x"), make_event(src.upper()), make_event(src[:-1])], True


def k_event_id(src):
    m = make_event(src)
    return [("EventId", m["eventId"])], [m], [make_event(src), make_event(src, eventId=m["eventId"] + "x")], True


CASES = [
    k_request_id, k_event_name, k_action_type_write, k_action_type_read, k_read_only_true, k_read_only_false,
    k_principal_id, k_username, k_resource_type, k_resource_name_whole, k_resource_name_part, k_resource_id_string,
    k_resource_id_object, k_access_key_id, k_sensitive_true, k_sensitive_false, k_api_error_code, k_cam_error_code,
    k_source_ip, k_tags_exact, k_tags_any_value, k_tags_or, k_event_source, k_event_id,
]


@pytest.mark.parametrize("builder", CASES, ids=[c.__name__[2:] for c in CASES])
def test_lookup_key_returns_exactly_matching(tenant, builder):
    src = uid("src")
    attrs, match, nomatch, unique = builder(src)
    tenant.admin.put_ok(match + nomatch)
    want = sorted(e["eventId"] for e in match)
    queries = [attrs + [("EventSource", src)]] if attrs[0][0] != "EventSource" else []
    if unique:
        queries.append(attrs)
    for q in queries:
        for action in ("LookUpEvents", "DescribeEvents"):
            got = ids_of(lookup_all(tenant.admin, q, action=action))
            assert sorted(got) == want, "%s %r: want %d matching events, got %d (%d of them not matching)" % (
                action, q, len(want), len(got), len(set(got) - set(want)))
        r = lookup(tenant.admin, attrs=q, max_results=50)
        assert r["TotalCount"] == len(want), "TotalCount for %r" % (q,)


def test_and_across_keys_or_within_event_name(tenant):
    src = uid("src")
    n1, n2, n3 = ("Op" + _hex() for _ in range(3))
    recs = {
        (n1, "Read"): make_event(src, n1, actionType="Read"),
        (n1, "Write"): make_event(src, n1, actionType="Write"),
        (n2, "Read"): make_event(src, n2, actionType="Read"),
        (n2, "Write"): make_event(src, n2, actionType="Write"),
        (n3, "Write"): make_event(src, n3, actionType="Write"),
    }
    tenant.admin.put_ok(list(recs.values()))

    def q(attrs):
        return sorted(ids_of(lookup_all(tenant.admin, attrs + [("EventSource", src)])))

    def want(*keys):
        return sorted(recs[k]["eventId"] for k in keys)

    assert q([("EventName", n1), ("EventName", n2)]) == want((n1, "Read"), (n1, "Write"), (n2, "Read"), (n2, "Write"))
    assert q([("EventName", n1), ("EventName", n2), ("ActionType", "Write")]) == want((n1, "Write"), (n2, "Write"))
    assert q([("ActionType", "Write"), ("EventName", n3), ("EventName", n2)]) == want((n2, "Write"), (n3, "Write"))
    assert q([("EventName", n1), ("EventName", n3), ("ReadOnly", "true")]) == want((n1, "Read"))
    assert q([("EventName", n3), ("ActionType", "Read")]) == []
    assert q([("EventName", n1.upper())]) == [], "matching is case-sensitive"
    # the same through DescribeEvents
    got = sorted(ids_of(lookup_all(tenant.admin, [("EventName", n1), ("EventName", n2), ("ActionType", "Write"),
                                                   ("EventSource", src)], action="DescribeEvents")))
    assert got == want((n1, "Write"), (n2, "Write"))


def test_and_of_two_unrelated_keys(tenant):
    src = uid("src")
    user = "u-" + _hex()
    ip = "192.0.2.%d" % random.randint(1, 254)
    both = make_event(src, userIdentity=_ui(userName=user), sourceIPAddress=ip)
    only_user = make_event(src, userIdentity=_ui(userName=user), sourceIPAddress="192.0.2.255")
    only_ip = make_event(src, userIdentity=_ui(userName="someone"), sourceIPAddress=ip)
    tenant.admin.put_ok([both, only_user, only_ip])
    r = lookup(tenant.admin, attrs=[("Username", user), ("SourceIPAddress", ip)])
    assert ids_of(r["Events"]) == [both["eventId"]]
    r = describe(tenant.admin, attrs=[("SourceIPAddress", ip), ("Username", user)])
    assert ids_of(r["Events"]) == [both["eventId"]]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_unicode_and_special_characters_in_values(tenant, method):
    src = uid("src")
    name = "创建实例-" + _hex()
    user = "张三 & co/+=?" + _hex()
    rname = "ins-a,数据盘 #1," + _hex()
    tk = "环境" + _hex()
    rec = make_event(src, name, userIdentity=_ui(userName=user), resourceName=rname,
                     tags=[{"key": tk, "value": "生产 \"quoted\""}])
    other = make_event(src, "创建实例-" + _hex(), userIdentity=_ui(userName="李四"))
    tenant.admin.put_ok([rec, other])
    client = tenant.admin.client(method)
    for attrs in ([("EventName", name)], [("Username", user)], [("ResourceName", rname)],
                  [("ResourceName", "数据盘 #1")],
                  [("Tags", json.dumps([{"key": tk, "value": "生产 \"quoted\""}], ensure_ascii=False))],
                  [("Tags", json.dumps([{"key": tk, "value": "*"}]))]):
        r = lookup(client, attrs=attrs + [("EventSource", src)])
        assert ids_of(r["Events"]) == [rec["eventId"]], "%s %r" % (method, attrs)
    ev = lookup(client, attrs=[("EventName", name)])["Events"][0]
    assert ev["EventName"] == name and ev["Username"] == user
    assert json.loads(ev["CloudAuditEvent"])["userIdentity"]["userName"] == user
