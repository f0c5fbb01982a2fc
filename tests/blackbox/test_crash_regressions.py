"""Requests that once killed or hung the server. Each one must be answered within a few seconds with
the documented error envelope (HTTP 200 `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`)
or a documented success, and the process must still answer GET /healthz afterwards.

These tests run against a server of their own (module-scoped): a regression kills the process, and the
session's shared server must not go down with it. Before each test the server is restarted if an
earlier test left it dead or stuck, so that every reproduction is judged on its own.
"""

import json
import time

import pytest
import requests

from support import (
    assert_clean_message,
    console_sign_in,
    lookup,
    now,
    raw_call,
    raw_error,
    start_server,
    uid,
)

# A request that needs longer than this has hung (a debug build on a loaded 2-core machine answers
# these in well under a second when it works).
TIMEOUT = 10

I64_MAX = 2 ** 63 - 1
I64_MIN = -(2 ** 63)


@pytest.fixture(scope="module")
def crash_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash-server")
    srv = start_server(base)
    acct = srv.create_account(uid("crash"))
    admin = srv.create_key(acct["AccountId"], "admin")
    yield srv, admin
    srv.stop()


@pytest.fixture
def crash_server(crash_env):
    """The module's server, alive and healthy (restarted when an earlier reproduction left it dead or
    stuck); its admin key."""
    srv, admin = crash_env
    srv.ensure_healthy()
    return srv, admin


def send(srv, fn, what):
    """Run one request. No answer within TIMEOUT is a hang (the server is then killed, so that its runaway
    work does not slow the next test), unless the log shows the runtime writing a crash's backtrace; a
    dropped connection with a dying process is a crash. Both fail with the evidence from the log."""
    t0 = time.time()
    mark = srv.log_size()
    try:
        return fn()
    except requests.Timeout:
        failure = "no answer within %ss" % TIMEOUT
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
        timed_out = isinstance(e, requests.ConnectionError) and "timed out" in str(e).lower()  # inside a body
        failure = ("the answer stopped coming within %ss" % TIMEOUT if timed_out else
                   "the connection was dropped after %.1fs (%s)" % (time.time() - t0, type(e).__name__))
    # A crashing process writes its backtrace first (seconds, in a debug build): wait for it to end.
    deadline = time.time() + 60
    while srv.alive() and time.time() < deadline and (srv.crashing(mark) or not srv.healthy(timeout=1)):
        time.sleep(0.2)
    if not srv.alive():
        failure += "; the server CRASHED (%s): %s" % (srv.exit_description(), srv.crash_report(mark) or "no reason in its log")
    elif "no answer" in failure or "stopped coming" in failure:
        failure += "; the server HUNG (it was killed)"
        srv.kill9()
    elif srv.healthy(timeout=1):
        failure += "; the process is still up and healthy"
    else:
        failure += "; the process is up but no longer answers /healthz (it was killed)"
        srv.kill9()
    if not srv.alive():
        srv.kill9()  # a crashed server's helpers (its backtracer) go too
    pytest.fail("%s: %s" % (what, failure), pytrace=False)


def error_code(resp):
    """The error code of an API envelope, or None for a success; checks the envelope's shape."""
    assert resp.status_code == 200, "API answers are HTTP 200; got %s: %s" % (resp.status_code, resp.text[:300])
    assert resp.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", resp.headers
    body = resp.json()
    r = body.get("Response")
    assert isinstance(r, dict) and isinstance(r.get("RequestId"), str) and r["RequestId"], body
    err = r.get("Error")
    if err is None:
        return None
    assert isinstance(err.get("Code"), str) and err["Code"], body
    assert isinstance(err.get("Message"), str) and err["Message"], body
    assert_clean_message(err["Message"])
    return err["Code"]


def get_query(srv, key, action, params, timeout=TIMEOUT):
    """A signed GET in the API 3.0 query form (the query string signed exactly as sent)."""
    query = "&".join("%s=%s" % (k, requests.utils.quote(str(v), safe="")) for k, v in params)
    return raw_call(srv, key.secret_id, key.secret_key, action, method="GET", query=query, timeout=timeout)


# ---- 1. query strings that nest too deep or hold too many parameters


@pytest.mark.parametrize("action", ["LookUpEvents", "DescribeAuditTracks"])
def test_unauthenticated_query_key_of_ten_thousand_parts_is_invalid_parameter(crash_server, action):
    srv, _ = crash_server
    deep = ".".join(["a"] * 10000)
    url = "%s/?Action=%s&%s=1" % (srv.url, action, deep)
    r = send(srv, lambda: requests.get(url, timeout=TIMEOUT), "GET /?Action=%s&a.a.a...(10000 parts)=1" % action)
    raw_error(r, "InvalidParameter")
    srv.assert_up(after="a query key of 10000 parts")


def test_signed_query_key_of_ten_thousand_parts_is_invalid_parameter(crash_server):
    srv, admin = crash_server
    deep = ".".join(["a"] * 10000)
    query = "%s=1&EndTime=%d&StartTime=%d" % (deep, now(), now() - 60)
    r = send(srv, lambda: raw_call(srv, admin.secret_id, admin.secret_key, "LookUpEvents", method="GET", query=query,
                                   timeout=TIMEOUT), "signed GET LookUpEvents with a key of 10000 parts")
    raw_error(r, "InvalidParameter")
    srv.assert_up(after="a signed query key of 10000 parts")


def test_query_of_a_hundred_thousand_parameters_is_refused_quickly(crash_server):
    """100,000 parameters (an 890 KB URL): InvalidParameter, or refused by the HTTP layer itself (a URL
    this long is over any request-head limit: 400, 414 or 431 are acceptable there), quickly either way."""
    srv, _ = crash_server
    query = "Action=LookUpEvents&" + "&".join("p%d=1" % i for i in range(100000))
    url = "%s/?%s" % (srv.url, query)
    assert len(url) < 1024 * 1024, "the test's URL must stay under 1 MB: %d bytes" % len(url)
    r = send(srv, lambda: requests.get(url, timeout=TIMEOUT), "GET /?Action=LookUpEvents&p0=1&...&p99999=1")
    if r.status_code != 200:
        assert r.status_code in (400, 414, 431), "HTTP %s %r" % (r.status_code, r.text[:300])
    else:
        raw_error(r, "InvalidParameter")
    srv.assert_up(after="100000 query parameters")


@pytest.mark.parametrize("signed", [False, True], ids=["unauthenticated", "signed"])
def test_query_of_five_thousand_parameters_is_invalid_parameter(crash_server, signed):
    """Too many parameters in a URL that the HTTP layer passes on (about 40 KB)."""
    srv, admin = crash_server
    params = "&".join("p%d=1" % i for i in range(5000))
    if signed:
        query = "EndTime=%d&StartTime=%d&%s" % (now(), now() - 60, params)
        fn = lambda: raw_call(srv, admin.secret_id, admin.secret_key, "LookUpEvents", method="GET", query=query, timeout=TIMEOUT)  # noqa: E731
    else:
        fn = lambda: requests.get("%s/?Action=LookUpEvents&%s" % (srv.url, params), timeout=TIMEOUT)  # noqa: E731
    r = send(srv, fn, "GET /?Action=LookUpEvents&p0=1&...&p4999=1 (%s)" % ("signed" if signed else "unauthenticated"))
    raw_error(r, "InvalidParameter")
    srv.assert_up(after="5000 query parameters")


# ---- 2. X-TC-Timestamp at the ends of the 64-bit range


@pytest.mark.parametrize("timestamp", [I64_MIN, I64_MIN + 1, I64_MAX], ids=["int64-min", "int64-min+1", "int64-max"])
def test_extreme_timestamp_is_signature_expire(crash_server, timestamp):
    srv, admin = crash_server
    # Any signature: the timestamp is judged before it (no date can be derived from these values).
    auth = "TC3-HMAC-SHA256 Credential=%s/2024-01-01/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=%s" % (
        admin.secret_id, "0" * 64)
    r = send(srv, lambda: raw_call(srv, None, None, "LookUpEvents", {"StartTime": now() - 60, "EndTime": now()},
                                   timestamp=timestamp, authorization=auth, timeout=TIMEOUT),
             "POST with X-TC-Timestamp: %d" % timestamp)
    raw_error(r, "AuthFailure.SignatureExpire")
    srv.assert_up(after="X-TC-Timestamp %d" % timestamp)


# ---- 3. query times far in the future or before the epoch


END_TIMES = [I64_MAX, I64_MAX - 1, 2 ** 62, 10 ** 12]


@pytest.mark.parametrize("end", END_TIMES, ids=["int64-max", "int64-max-1", "2^62", "1e12"])
@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("action", ["LookUpEvents", "DescribeEvents"])
def test_query_end_time_far_in_the_future_is_answered_quickly(crash_server, action, method, end):
    srv, admin = crash_server
    start = now() - 3600
    what = "%s %s StartTime=%d EndTime=%d" % (method, action, start, end)
    if method == "POST":
        fn = lambda: raw_call(srv, admin.secret_id, admin.secret_key, action, {"StartTime": start, "EndTime": end},  # noqa: E731
                              timeout=TIMEOUT)
    else:
        fn = lambda: get_query(srv, admin, action, [("EndTime", end), ("StartTime", start)])  # noqa: E731
    r = send(srv, fn, what)
    code = error_code(r)
    assert code in (None, "InvalidParameterValue.Time"), "%s: expected a success or InvalidParameterValue.Time, got %s: %s" % (
        what, code, r.text[:300])
    if code is None:
        assert isinstance(r.json()["Response"].get("Events"), list), r.text[:300]
    srv.assert_up(after=what)


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("action", ["LookUpEvents", "DescribeEvents"])
def test_query_start_time_int64_min_is_refused(crash_server, action, method):
    srv, admin = crash_server
    end = now()
    what = "%s %s StartTime=%d EndTime=%d" % (method, action, I64_MIN, end)
    if method == "POST":
        fn = lambda: raw_call(srv, admin.secret_id, admin.secret_key, action, {"StartTime": I64_MIN, "EndTime": end},  # noqa: E731
                              timeout=TIMEOUT)
    else:
        fn = lambda: get_query(srv, admin, action, [("EndTime", end), ("StartTime", I64_MIN)])  # noqa: E731
    r = send(srv, fn, what)
    code = error_code(r)
    assert code in ("LimitExceeded.OverTime", "InvalidParameterValue.Time"), "%s: got %s: %s" % (what, code, r.text[:300])
    srv.assert_up(after=what)


# ---- 4. PutEvents in the GET form


@pytest.mark.parametrize("with_id_and_time", [False, True], ids=["bare", "with-eventId-and-eventTime"])
def test_put_events_in_get_form_is_refused_and_stores_nothing(crash_server, with_id_and_time):
    srv, admin = crash_server
    name, source, event_id = uid("x"), uid("y"), uid("ev")
    params = [("Events.0.actionType", "Write"), ("Events.0.eventName", name), ("Events.0.eventSource", source)]
    if with_id_and_time:
        params += [("Events.0.eventId", event_id), ("Events.0.eventTime", now() - 5)]
    what = "GET /?Action=PutEvents&" + "&".join("%s=%s" % p for p in params)
    r = send(srv, lambda: get_query(srv, admin, "PutEvents", params), what)
    body = raw_error(r, "UnsupportedOperation")
    assert "POST" in body["Response"]["Error"]["Message"], "the message should say to POST a JSON body: %r" % body
    srv.assert_up(after=what)
    # Nothing was stored: PutEvents answers only once its events are committed, so a lookup now is final.
    start, end = now() - 3600, now() + 600
    for attr in [("EventName", name), ("EventSource", source)] + ([("EventId", event_id)] if with_id_and_time else []):
        found = lookup(admin, start=start, end=end, attrs=[attr])
        assert not found.get("Events"), "the refused GET PutEvents stored an event (%s=%s): %r" % (
            attr[0], attr[1], found["Events"])


# ---- 5. the console's export with an end of time


@pytest.mark.parametrize("start", ["0", "recent"])
def test_console_export_to_end_of_time_answers_and_server_stays_up(crash_server, start):
    srv, admin = crash_server
    session, _ = console_sign_in(srv, admin)
    start_time = 0 if start == "0" else now() - 3600
    url = "%s/console/api/export?format=jsonl&StartTime=%d&EndTime=%d" % (srv.url, start_time, I64_MAX)
    what = "GET /console/api/export?format=jsonl&StartTime=%d&EndTime=%d" % (start_time, I64_MAX)

    def fetch():
        deadline = time.time() + TIMEOUT
        with session.get(url, timeout=TIMEOUT, stream=True) as r:
            chunks = []
            for chunk in r.iter_content(65536):
                chunks.append(chunk)
                if time.time() > deadline:
                    raise requests.Timeout("the export kept streaming past %ss" % TIMEOUT)
            return r.status_code, r.headers, b"".join(chunks)

    status, headers, body = send(srv, fetch, what)
    assert status != 500 and status < 500, "%s: HTTP %s %r" % (what, status, body[:300])
    if status == 200:
        assert headers.get("Content-Type", "").startswith("application/x-ndjson"), headers
        for line in body.decode("utf-8").split("\n"):
            if not line:
                continue
            ev = json.loads(line)
            assert ev.get("EventId") and ev.get("CloudAuditEvent"), line[:300]
    else:
        assert status == 400, "%s: errors before the first byte are 400; got %s %r" % (what, status, body[:300])
        err = json.loads(body)["Error"]
        assert err["Code"] and err["Code"] != "InternalError", err
        assert err["Message"]
        assert_clean_message(err["Message"])
    srv.assert_up(after=what)
    # the session still works
    again = session.get(srv.url + "/console/api/session", timeout=TIMEOUT)
    assert again.status_code == 200, again.text[:300]
