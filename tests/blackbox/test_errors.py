"""Each documented error code, through the official SDK where it can produce the request and by
hand-signed TC3 requests where it cannot (expired timestamps, malformed headers, tampered bodies)."""

import threading
import time

import pytest

from support import (
    DAY,
    TencentCloudSDKException,
    CommonClient,
    Key,
    REGION,
    SERVICE,
    expect_error,
    get_attribute_key,
    lookup,
    make_event,
    now,
    profile_for,
    random_secret_id,
    random_secret_key,
    raw_call,
    raw_error,
    raw_ok,
    tc3_authorization,
    uid,
)

QUERY_ACTIONS = ["LookUpEvents", "DescribeEvents"]


def call(key, action, params):
    return key.common().call_json(action, params)["Response"]


# ---- times


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_missing_start_time_is_invalid_parameter_time(tenant, action):
    expect_error("InvalidParameter.Time", call, tenant.admin, action, {"EndTime": now()})


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_missing_end_time_is_invalid_parameter_time(tenant, action):
    expect_error("InvalidParameter.Time", call, tenant.admin, action, {"StartTime": now() - 60})


@pytest.mark.parametrize("action", QUERY_ACTIONS)
@pytest.mark.parametrize("bad", ["yesterday", "", [1], {"t": 1}], ids=["word", "empty", "list", "object"])
def test_non_integer_time_is_invalid_parameter_time(tenant, action, bad):
    expect_error("InvalidParameter.Time", call, tenant.admin, action, {"StartTime": bad, "EndTime": now()})
    expect_error("InvalidParameter.Time", call, tenant.admin, action, {"StartTime": now() - 60, "EndTime": bad})


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_start_after_end_is_invalid_parameter_value_time(tenant, action):
    t = now()
    expect_error("InvalidParameterValue.Time", call, tenant.admin, action, {"StartTime": t, "EndTime": t - 60})


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_start_before_retention_is_limit_exceeded_over_time(tenant, action):
    t = now()
    expect_error("LimitExceeded.OverTime", call, tenant.admin, action, {"StartTime": t - 31 * DAY, "EndTime": t})
    expect_error("LimitExceeded.OverTime", call, tenant.admin, action,
                 {"StartTime": t - 60 * DAY, "EndTime": t - 45 * DAY})


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_start_within_retention_is_accepted(tenant, action):
    t = now()
    r = call(tenant.admin, action, {"StartTime": t - 29 * DAY, "EndTime": t})
    assert "Events" in r


def test_account_retention_limits_queries(new_tenant):
    short = new_tenant(retention_days=7)
    t = now()
    expect_error("LimitExceeded.OverTime", call, short.admin, "LookUpEvents", {"StartTime": t - 8 * DAY, "EndTime": t})
    expect_error("LimitExceeded.OverTime", call, short.admin, "DescribeEvents", {"StartTime": t - 8 * DAY, "EndTime": t})
    assert "Events" in call(short.admin, "LookUpEvents", {"StartTime": t - 6 * DAY, "EndTime": t})


# ---- MaxResults, attribute keys


@pytest.mark.parametrize("action", QUERY_ACTIONS)
@pytest.mark.parametrize("n", [51, 1000])
def test_max_results_over_50_is_invalid_parameter_value_max_result(tenant, action, n):
    s = now() - 60
    expect_error("InvalidParameterValue.MaxResult", call, tenant.admin, action,
                 {"StartTime": s, "EndTime": s + 120, "MaxResults": n})


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_max_results_50_is_accepted(tenant, action):
    src = uid("src")
    tenant.admin.put_ok([make_event(src) for _ in range(3)])
    s = now() - 600
    r = call(tenant.admin, action, {"StartTime": s, "EndTime": s + 900, "MaxResults": 50,
                                    "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": src}]})
    assert len(r["Events"]) == 3


@pytest.mark.parametrize("action", QUERY_ACTIONS)
@pytest.mark.parametrize("bad_key", ["Bogus", "eventname", "EventTime", ""])
def test_unknown_attribute_key_is_invalid_parameter_value_attribute_key(tenant, action, bad_key):
    s = now() - 60
    expect_error("InvalidParameterValue.attributeKey", call, tenant.admin, action,
                 {"StartTime": s, "EndTime": s + 120,
                  "LookupAttributes": [{"AttributeKey": bad_key, "AttributeValue": "x"}]})


# ---- authentication


def test_secret_id_not_found(server):
    ghost = Key(server, random_secret_id(), random_secret_key(), 0, "admin")
    expect_error("AuthFailure.SecretIdNotFound", get_attribute_key, ghost)
    expect_error("AuthFailure.SecretIdNotFound", lookup, ghost)


def test_wrong_secret_is_signature_failure(tenant):
    wrong = Key(tenant.server, tenant.admin.secret_id, random_secret_key(), tenant.account_id, "admin")
    expect_error("AuthFailure.SignatureFailure", lookup, wrong)
    expect_error("AuthFailure.SignatureFailure", wrong.put, [make_event(uid("src"))])


def test_body_changed_after_signing_is_signature_failure(tenant):
    s = now() - 60
    params = {"StartTime": s, "EndTime": s + 120}
    r = raw_call(tenant.server, tenant.admin.secret_id, tenant.admin.secret_key, "LookUpEvents", params,
                 tamper_body=b'{"StartTime": %d, "EndTime": %d, "MaxResults": 2}' % (s, s + 120))
    raw_error(r, "AuthFailure.SignatureFailure")


def test_action_header_changed_after_signing_with_signed_action_is_signature_failure(tenant):
    s = now() - 60
    params = {"StartTime": s, "EndTime": s + 120}
    ts = now()
    headers = {"Content-Type": "application/json", "Host": tenant.server.endpoint, "X-TC-Action": "DescribeEvents"}
    auth = tc3_authorization(tenant.admin.secret_id, tenant.admin.secret_key, ts, "POST", "", headers,
                             ["content-type", "host", "x-tc-action"], __import__("json").dumps(params).encode())
    r = raw_call(tenant.server, None, None, "LookUpEvents", params, timestamp=ts, authorization=auth)
    raw_error(r, "AuthFailure.SignatureFailure")


@pytest.mark.parametrize("skew", [-600, 600, -301, 3600 * 24])
def test_timestamp_off_is_signature_expire(tenant, skew):
    s = now() - 60
    r = raw_call(tenant.server, tenant.admin.secret_id, tenant.admin.secret_key, "LookUpEvents",
                 {"StartTime": s, "EndTime": s + 120}, timestamp=now() + skew)
    raw_error(r, "AuthFailure.SignatureExpire")


@pytest.mark.parametrize("skew", [-200, 200, 0])
def test_timestamp_within_300s_is_accepted(tenant, skew):
    s = now() - 60
    r = raw_call(tenant.server, tenant.admin.secret_id, tenant.admin.secret_key, "LookUpEvents",
                 {"StartTime": s, "EndTime": s + 120}, timestamp=now() + skew)
    raw_ok(r)


def _auth_variants(key, server):
    ts = now()
    good = tc3_authorization(key.secret_id, key.secret_key, ts, "POST", "",
                             {"content-type": "application/json", "host": server.endpoint},
                             ["content-type", "host"], b"{}")
    return {
        "garbage": "garbage",
        "bearer": "Bearer abcdef",
        "no-signature": good.split(", Signature=")[0],
        "no-signed-headers": good.replace(" SignedHeaders=content-type;host,", ""),
        "no-credential": "TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature=" + "0" * 64,
        "short-credential": "TC3-HMAC-SHA256 Credential=%s, SignedHeaders=content-type;host, Signature=%s" % (
            key.secret_id, "0" * 64),
        "other-algorithm": good.replace("TC3-HMAC-SHA256", "TC3-HMAC-SHA1", 1),
    }


@pytest.mark.parametrize("variant", ["garbage", "bearer", "no-signature", "no-signed-headers", "no-credential",
                                     "short-credential", "other-algorithm"])
def test_malformed_authorization_is_invalid_authorization(tenant, variant):
    auth = _auth_variants(tenant.admin, tenant.server)[variant]
    r = raw_call(tenant.server, None, None, "GetAttributeKey", {}, authorization=auth)
    raw_error(r, "AuthFailure.InvalidAuthorization")


def test_content_type_with_charset_is_accepted(tenant):
    ts = now()
    body = b'{"WebsiteType": "en"}'
    r = raw_call(tenant.server, tenant.admin.secret_id, tenant.admin.secret_key, "GetAttributeKey", body=body,
                 timestamp=ts, content_type="application/json; charset=utf-8")
    assert raw_ok(r)["AttributeKeyDetails"]


def test_signed_headers_listed_by_client_are_honoured(tenant):
    # Tencent's signature v3 document signs x-tc-action too, with the value lower-cased
    # ("x-tc-action:describeinstances"); see test_signer_helper_matches_documented_extra_header_example.
    ts = now()
    body = b'{"WebsiteType": "en"}'
    headers = {"Content-Type": "application/json", "Host": tenant.server.endpoint, "X-TC-Action": "GetAttributeKey"}
    auth = tc3_authorization(tenant.admin.secret_id, tenant.admin.secret_key, ts, "POST", "", headers,
                             ["content-type", "host", "x-tc-action"], body)
    r = raw_call(tenant.server, None, None, "GetAttributeKey", body=body, timestamp=ts, authorization=auth)
    out = raw_ok(r)
    assert out["AttributeKeyDetails"]


def test_signed_headers_with_lowercase_action_value(tenant):
    # the same with a header whose value is already lower case: isolates header-set handling from case
    ts = now()
    body = b'{"WebsiteType": "en"}'
    headers = {"Content-Type": "application/json", "Host": tenant.server.endpoint, "X-TC-Region": "ap-guangzhou"}
    auth = tc3_authorization(tenant.admin.secret_id, tenant.admin.secret_key, ts, "POST", "", headers,
                             ["content-type", "host", "x-tc-region"], body)
    r = raw_call(tenant.server, None, None, "GetAttributeKey", body=body, timestamp=ts, authorization=auth)
    assert raw_ok(r)["AttributeKeyDetails"]


def test_signer_helper_matches_documented_extra_header_example():
    """Tencent's signature v3 document (its example with x-tc-action signed): the canonical request
    `content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n`
    hashes to 7019a55b...; checks that our helper lower-cases values the same way (no server involved)."""
    import hashlib

    body = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com",
               "x-tc-action": "DescribeInstances"}
    canonical_headers = "".join("%s:%s\n" % (h, headers[h].strip().lower()) for h in ["content-type", "host", "x-tc-action"])
    cr = "\n".join(["POST", "/", "", canonical_headers, "content-type;host;x-tc-action",
                    hashlib.sha256(body.encode()).hexdigest()])
    assert hashlib.sha256(body.encode()).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    assert hashlib.sha256(cr.encode()).hexdigest() == "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"


def test_signer_helper_matches_published_vector():
    """Guards the hand signer used above: API.md's published TC3 vector (no server involved)."""
    body = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    auth = tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", 1551113065,
                             "POST", "", {"content-type": "application/json; charset=utf-8",
                                          "host": "cvm.tencentcloudapi.com"},
                             ["content-type", "host"], body.encode(), service="cvm")
    assert auth.endswith("Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"), auth


# ---- action, version, size, rate


def test_unknown_action_is_invalid_action(tenant):
    expect_error("InvalidAction", call, tenant.admin, "FrobnicateEvents", {})
    expect_error("InvalidAction", call, tenant.admin, "LookUpEventz", {"StartTime": now() - 60, "EndTime": now()})


def test_wrong_version_is_no_such_version(tenant):
    for version in ("2017-03-12", "2019-03-20"):
        client = CommonClient(SERVICE, version, tenant.admin.cred(), REGION, profile_for(tenant.server))
        expect_error("NoSuchVersion", client.call_json, "LookUpEvents", {"StartTime": now() - 60, "EndTime": now()})


def test_six_megabyte_body_is_request_size_limit_exceeded(tenant):
    src = uid("big")
    big = make_event(src, requestParameters={"blob": "x" * (6 * 1024 * 1024)})
    expect_error("RequestSizeLimitExceeded", tenant.admin.put, [big])
    # nothing stored, and the server is still fine
    r = lookup(tenant.admin, attrs=[("EventSource", src)])
    assert r["Events"] == [] or r["Events"] is None
    assert get_attribute_key(tenant.admin)["AttributeKeyDetails"]


def test_six_megabyte_body_on_a_query_action_is_request_size_limit_exceeded(tenant):
    s = now() - 60
    params = {"StartTime": s, "EndTime": s + 120, "Padding": "y" * (6 * 1024 * 1024)}
    expect_error("RequestSizeLimitExceeded", call, tenant.admin, "LookUpEvents", params)


def test_rate_limit_is_per_key(spawn_server):
    """--rate-limit 2 (burst 4): one key flooding gets RequestLimitExceeded; another key calling at a
    modest pace during the flood is neither refused nor slowed."""
    srv = spawn_server(extra_args=["--rate-limit", "2"]).start()
    flooder = srv.root()
    other = srv.create_key(100000000001, "admin")
    codes, other_results = [], []
    stop = threading.Event()

    def flood():
        client = flooder.common()
        while not stop.is_set():
            try:
                client.call_json("GetAttributeKey", {})
                codes.append("ok")
            except TencentCloudSDKException as e:
                codes.append(e.code)

    th = threading.Thread(target=flood)
    th.start()
    try:
        time.sleep(0.3)
        oc = other.common()
        for _ in range(4):
            t0 = time.time()
            try:
                oc.call_json("GetAttributeKey", {})
                other_results.append(("ok", round(time.time() - t0, 3)))
            except TencentCloudSDKException as e:
                other_results.append((e.code, round(time.time() - t0, 3)))
            time.sleep(0.25)
    finally:
        stop.set()
        th.join(timeout=60)
    assert "RequestLimitExceeded" in codes, "a flood at --rate-limit 2 was never limited: %d calls" % len(codes)
    assert set(codes) <= {"ok", "RequestLimitExceeded"}, set(codes)
    assert codes.count("ok") <= 4 + 2 * 3, "far more calls got through than burst + rate allow: %d" % codes.count("ok")
    assert [c for c, _ in other_results] == ["ok"] * 4, "another key was limited too: %r" % other_results
    assert max(d for _, d in other_results) < 2.0, "another key was slowed: %r" % other_results
    # the flooded key recovers once it slows down
    time.sleep(2.5)
    assert flooder.common().call_json("GetAttributeKey", {})["Response"]["AttributeKeyDetails"]
