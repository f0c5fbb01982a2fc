"""A black-box barrage of hostile requests (deterministic: every choice comes from a seeded
random.Random) against a server of its own: every action of the API (signed with a tenant's admin key,
some with its auditor and ingest keys), the console's API (signed in, with and without the CSRF token,
and signed out) and GET /healthz.

Every answer is judged against the documented contract:
* the API (`/`): HTTP 200, `Content-Type: application/json`, `{"Response": {..., "RequestId"}}`, an error
  being `{"Error": {"Code", "Message"}}` with a documented code, never `InternalError` for bad input;
* the console (`/console/...`): the statuses and `{"Error": {"Code", "Message"}}` shapes of docs/console.md;
* requests that are malformed or oversized at the HTTP level (huge or countless headers, broken request
  lines) may instead be refused by the transport: 400, 413, 414 or 431, or a closed connection with the
  process still healthy. These are counted separately in the summary;
* never a 5xx, never a hang (a request gets 10 s), never a dead process; no message names a source file,
  a stack trace, SQL, "Fatal error" or a path of the deployment; and no answer to this account ever holds
  the marker string that only the other tenant's events, tracking set and audit contain.

Before the barrage the tenant stores 50 events; afterwards they must read back byte-identical, and the
other tenant's tracking set, audit and events must be unchanged. The server is polled every 50 requests.
A crash or hang is recorded with its request, the server restarted (same data) and the barrage goes on,
so that one run lists every misbehaviour; the test then fails with that list.

The count of answers (HTTP status + error code) is printed at the end (visible with -s) and appended to
tests/blackbox/hostile-summary.txt (git-ignored).
"""

import collections
import copy
import http.client
import json
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote

import pytest
import requests
from requests.utils import requote_uri

import storage_backend
from support import (
    REPO,
    VERSION,
    console_sign_in,
    lookup,
    lookup_all,
    make_event,
    now,
    raw_call,
    record_of,
    start_server,
    tc3_authorization,
    uid,
)

SEED = 0x5EED_CA
TIMEOUT = 10            # seconds a request may take; more is a hang
HEALTH_EVERY = 50       # poll /healthz every this many requests
MAX_RESTARTS = 25       # after this many crashes/hangs the barrage stops (the server is not fit to go on)
SUMMARY_FILE = Path(__file__).with_name("hostile-summary.txt")

I64_MAX = 2 ** 63 - 1
I64_MIN = -(2 ** 63)

# The actions of ActionTable.swift (name -> kind: read, write, ingest), and the console's own two.
API_ACTIONS = {
    "PutEvents": "ingest",
    "LookUpEvents": "read", "DescribeEvents": "read", "GetAttributeKey": "read",
    "CreateAuditTrack": "write", "CreateEventsAuditTrack": "write", "DescribeAuditTrack": "read",
    "DescribeAuditTracks": "read", "ModifyAuditTrack": "write", "ModifyEventsAuditTrack": "write",
    "DeleteAuditTrack": "write", "InquireAuditCredit": "read",
    "CreateAudit": "write", "UpdateAudit": "write", "DeleteAudit": "write", "DescribeAudit": "read",
    "ListAudits": "read", "StartLogging": "write", "StopLogging": "write",
    "ListCosEnableRegion": "read", "ListCmqEnableRegion": "read", "ListKeyAliasByRegion": "read",
    "GetCheckpoint": "read", "GetInclusionProof": "read", "GetConsistencyProof": "read",
    "TailEvents": "read",
    "CreateAlertChannel": "write", "DescribeAlertChannels": "read", "ModifyAlertChannel": "write", "DeleteAlertChannel": "write",
    "TestAlertChannel": "write", "CreateAlertRule": "write", "DescribeAlertRules": "read", "ModifyAlertRule": "write",
    "DeleteAlertRule": "write", "DescribeAlerts": "read", "DescribeAlertRuleTemplates": "read",
}
CONSOLE_ACTIONS = {"DescribeEventStats": "read", "DescribeDeliveryStatus": "read"}

# Error codes an answer may carry: the ones API.md, docs/contract.md and docs/console.md document, the
# official SDK's errorcodes.py for cloudaudit, and Tencent Cloud's common codes.
DOCUMENTED_CODES = {
    "AuthFailure.InvalidAuthorization", "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure",
    "AuthFailure.SignatureExpire", "AuthFailure.UnauthorizedOperation", "AuthFailure.SignInFailed",
    "InvalidAction", "NoSuchVersion", "RequestLimitExceeded", "RequestSizeLimitExceeded",
    "InvalidParameter", "InvalidParameter.Time", "InvalidParameterValue", "InvalidParameterValue.Time",
    "InvalidParameterValue.MaxResult", "InvalidParameterValue.attributeKey", "InvalidParameterValue.TreeSize",
    "InvalidParameterValue.AuditTrackNameNotSupportModify", "InvalidParameterValue.CmqRegionError",
    "InvalidParameterValue.CosNameError", "InvalidParameterValue.CosRegionError",
    "InvalidParameterValue.KmsRegionError", "InvalidParameterValue.LogFilePrefixError",
    "InvalidParameterValue.QueueNameError", "InvalidParameterValue.ReadWriteAttributeError",
    "InvalidParameterValue.AliasAlreadyExists",
    "LimitExceeded", "LimitExceeded.OverTime", "LimitExceeded.OverAmount",
    "MissingParameter", "MissingParameter.cmq",
    "ResourceNotFound", "ResourceNotFound.AuditNotExist", "ResourceNotFound.CosNotExist",
    "ResourceNotFound.EventNotExist", "ResourceNotFound.RoleNotExist", "ResourceInUse.CosBucketExists",
    "FailedOperation", "FailedOperation.CheckCosBucketIsExistFailed", "UnauthorizedOperation",
    # common codes of the API 3.0
    "UnsupportedOperation", "UnknownParameter", "InvalidRequest", "ResourceInUse", "ResourceUnavailable",
    "ResourceInsufficient", "ServiceUnavailable", "UnsupportedProtocol", "UnsupportedRegion",
    "ResponseSizeLimitExceeded", "NoSuchProduct",
    # ours (docs/contract.md)
    "LimitExceeded.Tails", "InvalidParameterValue.NameExists",
    # the console's own
    "NotSignedIn", "SessionExpired", "CsrfTokenInvalid", "OriginNotAllowed", "NotFound",
}

# What an answer must never contain (lower-cased; the barrage never sends any of these itself, so an echo
# of the input cannot match).
LEAK_PATTERNS = ((".swift", "fatal error", "traceback", "stack trace", "backtrace") + storage_backend.internal_words()
                 + ("select ", "insert into", "where account_id", "/sources/",
                    "/work/", "/home/", "/root/", "/opt/", "/usr/", ".build/", "decodingerror", "swift runtime",
                    "thread "))

# HTTP statuses a transport-level refusal may use (oversized/malformed at the HTTP layer).
TRANSPORT_STATUSES = {400, 413, 414, 431}


# --------------------------------------------------------------------------------------------------
# the environment: a server, two tenants, seeded data


@dataclass
class Env:
    server: object
    admin: object
    auditor: object
    ingest: object
    account_id: int
    other: object
    other_account_id: int
    marker: str
    start: int
    end: int
    seeded_source: str
    seeded: dict            # EventId -> CloudAuditEvent (string, as read back)
    track_id: int
    track_name: str
    audit_name: str
    other_track_id: int
    other_audit_name: str
    other_event_ids: list
    other_next_token: Optional[int]
    other_lookup_token: Optional[str]
    other_snapshot: dict
    other_source: str = ""
    channel_id: int = 0
    rule_id: int = 0
    session: requests.Session = None
    csrf: str = ""


def _call(key, action, params):
    r = raw_call(key.server, key.secret_id, key.secret_key, action, params, timeout=60)
    assert r.status_code == 200, r.text[:300]
    body = r.json()["Response"]
    assert "Error" not in body, "%s %r: %r" % (action, params, body["Error"])
    return body


def _storage(name, prefix):
    return {"StorageType": "cos", "StorageRegion": "local", "StorageName": name, "StoragePrefix": prefix,
            "Compress": 1, "StorageAccountId": "", "StorageAppId": ""}


def _other_snapshot(env_other, track_id, audit_name, source, start, end):
    strip = lambda r: {k: v for k, v in r.items() if k != "RequestId"}  # noqa: E731
    return {
        "track": strip(_call(env_other, "DescribeAuditTrack", {"TrackId": track_id})),
        "audit": strip(_call(env_other, "DescribeAudit", {"AuditName": audit_name})),
        "events": {e["EventId"]: e["CloudAuditEvent"] for e in lookup_all(env_other, [("EventSource", source)], start=start, end=end)},
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-server")
    # The per-key rate limit (default 5000/s, burst 10000) is far above what one sequential client sends;
    # raised anyway so that RequestLimitExceeded can never stand in for a real answer.
    srv = start_server(base, extra_args=["--rate-limit", "1000000"])
    try:
        yield _make_env(srv)
    finally:
        srv.stop()


def _make_env(srv):
    t = now()
    start, end = t - 3600, t + 600
    acct = srv.create_account(uid("hostile"))["AccountId"]
    admin, auditor, ingest = (srv.create_key(acct, r) for r in ("admin", "auditor", "ingest"))
    other_acct = srv.create_account(uid("other"))["AccountId"]
    other = srv.create_key(other_acct, "admin")

    # The other tenant: its events, tracking set and audit carry the marker; nothing of it may ever reach
    # the first tenant.
    marker = "zqmk" + uuid.uuid4().hex[:16]
    other_source = uid("other-src")
    other_events = [make_event(other_source, name="Op" + marker, resourceName="res-" + marker,
                               userIdentity={"type": "CAMUser", "principalId": marker, "secretId": "AKID" + marker,
                                             "userName": "user-" + marker},
                               requestParameters={"secret": marker}, eventId=uid("oev"), eventTime=t - 30 - i)
                    for i in range(5)]
    other_ids = other.put_ok(other_events)
    other_track = _call(other, "CreateAuditTrack", {
        "Name": "t" + marker, "Status": 1, "Storage": _storage("b" + marker, marker),
        "ActionType": "*", "ResourceType": "*", "EventNames": ["*"]})["TrackId"]
    other_audit = "other-audit-" + uuid.uuid4().hex[:8]
    _call(other, "CreateAudit", {"AuditName": other_audit, "CosBucketName": "c" + marker, "CosRegion": "local",
                                 "IsCreateNewBucket": 1, "IsEnableCmqNotify": 0, "ReadWriteAttribute": 3,
                                 "LogFilePrefix": marker})
    # the marker really is readable by its owner (so its absence elsewhere means something)
    own = lookup(other, start=start, end=end, attrs=[("EventSource", other_source)])
    assert marker in json.dumps(own), "the other tenant cannot read its own marker events: %r" % own
    d1 = _call(other, "DescribeEvents", {"StartTime": start, "EndTime": end, "MaxResults": 1,
                                         "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": other_source}]})
    l1 = _call(other, "LookUpEvents", {"StartTime": start, "EndTime": end, "MaxResults": 1,
                                       "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": other_source}]})

    # This tenant: 50 events read back before the barrage, a tracking set and an audit to aim at.
    seeded_source = uid("seeded")
    events = [make_event(seeded_source, name="Seed%02d" % i, eventId=uid("sev"), eventTime=t - 60 - i,
                         requestParameters={"i": i, "s": "é\u00e9\u4e2d\ud83d\ude00", "n": None, "f": 1.5})
              for i in range(50)]
    ids = admin.put_ok(events)
    seeded = {e["EventId"]: e["CloudAuditEvent"] for e in lookup_all(admin, [("EventSource", seeded_source)], start=start, end=end)}
    assert sorted(seeded) == sorted(ids), "the 50 seeded events do not read back: %d of 50" % len(seeded)
    track_name = "hostile-track"
    track_id = _call(admin, "CreateAuditTrack", {"Name": track_name, "Status": 1, "Storage": _storage("hostile-bucket", "hostile"),
                                                 "ActionType": "*", "ResourceType": "*", "EventNames": ["*"]})["TrackId"]
    audit_name = "hostile-audit"
    _call(admin, "CreateAudit", {"AuditName": audit_name, "CosBucketName": "hostile-audit-bucket", "CosRegion": "local",
                                 "IsCreateNewBucket": 1, "IsEnableCmqNotify": 0, "ReadWriteAttribute": 3})

    e = Env(server=srv, admin=admin, auditor=auditor, ingest=ingest, account_id=acct, other=other, other_account_id=other_acct,
            marker=marker, start=start, end=end, seeded_source=seeded_source, seeded=seeded, track_id=track_id,
            track_name=track_name, audit_name=audit_name, other_track_id=other_track, other_audit_name=other_audit,
            other_event_ids=other_ids, other_next_token=d1.get("NextToken"), other_lookup_token=l1.get("NextToken"),
            other_snapshot=_other_snapshot(other, other_track, other_audit, other_source, start, end), other_source=other_source)
    # An alert channel (a webhook nobody listens at: a test of it is refused at once) and a rule to aim at.
    e.channel_id = _call(admin, "CreateAlertChannel", {"Name": "hostile-hook", "Type": "webhook",
                                                        "Config": {"Url": "http://127.0.0.1:1/hook", "Secret": "hostile-secret-0123456789"}})["ChannelId"]
    e.rule_id = _call(admin, "CreateAlertRule", {"Name": "hostile-rule", "Severity": "info", "ChannelIds": [e.channel_id],
                                                  "Conditions": [{"AttributeKey": "EventName", "AttributeValue": "Seed01"}]})["RuleId"]
    e.session, session = console_sign_in(srv, admin)
    e.csrf = session["CsrfToken"]
    return e


# --------------------------------------------------------------------------------------------------
# sending, judging, counting


@dataclass
class Answer:
    status: int
    headers: dict           # lower-case names
    body: bytes


@dataclass
class Case:
    label: str                          # what was sent, short (for the report)
    send: Callable[[], Answer]
    kind: str                           # api | call | session-post | session-get | session-delete | export | asset | health | other
    transport: bool = False             # HTTP-level refusals (400/413/414/431, closed connection) are acceptable
    expect: Optional[set] = None        # error codes accepted (None: any documented code)
    allow_success: bool = True
    check: Optional[Callable] = None    # extra judgement of a parsed API Response: returns a problem or None


def _answer(r):
    return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


def _first_message(r):
    """A live tail's answer: its bytes up to the end of its first message (within TIMEOUT), then closed."""
    deadline = time.time() + TIMEOUT
    data = b""
    try:
        for chunk in r.iter_content(chunk_size=None):
            data += chunk
            if b"\n\n" in data or len(data) > 65536:
                break
            if time.time() > deadline:
                raise requests.Timeout("no first message within %ss" % TIMEOUT)
    finally:
        r.close()
    return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, data)


def _stream(session_or_module, url, **kw):
    """GET that reads a streamed body with a deadline (an export that never ends is a hang)."""
    deadline = time.time() + TIMEOUT
    with session_or_module.get(url, timeout=TIMEOUT, stream=True, **kw) as r:
        chunks = []
        try:
            for chunk in r.iter_content(65536):
                chunks.append(chunk)
                if time.time() > deadline:
                    raise requests.Timeout("the body kept streaming past %ss" % TIMEOUT)
        except requests.ConnectionError as e:
            if "timed out" in str(e).lower():  # requests reports a read timeout inside a body so
                raise requests.Timeout(str(e))
            raise
        return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"".join(chunks))


def raw_http(server, data, half_close=False):
    """Send `data` as-is on a new connection and read one HTTP response."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    try:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        resp = http.client.HTTPResponse(sock, method="GET")
        resp.begin()
        body = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        sock.close()


class Stop(Exception):
    pass


class Barrage:
    """Runs cases one by one, judges each answer, counts them, and keeps the server alive for the next."""

    def __init__(self, env):
        self.env = env
        self.tally = collections.Counter()          # "HTTP 200 InvalidParameter" -> n
        self.by_category = collections.defaultdict(collections.Counter)
        self.transport = collections.Counter()      # transport-level refusals: "HTTP 431 (60 KB header)" -> n
        self.problems = []                          # (category, label, what)
        self.sent = 0
        self.restarts = 0
        self.crashes = []
        self.seconds = collections.Counter()
        self.previous = "-"                         # the label of the request before the current one
        self.log_mark = env.server.log_size()       # where the current process's log starts

    # -- server upkeep

    def _settle(self, timeout=15.0):
        """After a dropped connection: wait until the process is dead or healthy again."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.env.server.alive():
                return "dead"
            if self.env.server.healthy(timeout=1):
                return "healthy"
            time.sleep(0.2)
        return "stuck"

    def _restart(self, category, why):
        self.restarts += 1
        srv = self.env.server
        srv.kill9()
        srv.start(port=srv.port)
        self.log_mark = srv.log_size()
        if self.restarts > MAX_RESTARTS:
            self.problems.append((category, "-", "the barrage stopped after %d restarts (%s)" % (self.restarts, why)))
            raise Stop()

    def health(self, category, after):
        srv = self.env.server
        if srv.healthy(timeout=TIMEOUT):
            return
        state = srv.exit_description()
        tail = "; log: " + (srv.crash_report(self.log_mark) or "no crash report")
        self.problems.append((category, after, "GET /healthz failed afterwards (process: %s)%s" % (state, tail)))
        self._restart(category, "unhealthy")

    # -- one case

    def run(self, category, case):
        srv = self.env.server
        t0 = time.time()
        self.sent += 1
        previous, self.previous = self.previous, case.label
        mark = srv.log_size()
        try:
            ans = case.send()
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, UnicodeError) as e:
            # the client could not even send it: a mistake of this test, reported as such
            self._count(category, "NOT SENT (test error)")
            self.problems.append((category, case.label, "test error: the request could not be sent (%s: %s)" % (type(e).__name__, str(e)[:200])))
            return
        except (requests.Timeout, socket.timeout, TimeoutError, requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                http.client.HTTPException, ConnectionError, OSError) as e:
            timed_out = isinstance(e, (requests.Timeout, socket.timeout, TimeoutError)) or "timed out" in str(e).lower()
            self._failed(category, case, previous, e, timed_out, mark)
            return
        except ValueError as e:
            self._count(category, "NOT SENT (test error)")
            self.problems.append((category, case.label, "test error: the request could not be sent (%s: %s)" % (type(e).__name__, str(e)[:200])))
            return
        finally:
            self.seconds[category] += time.time() - t0
        key, problems = judge(self.env, case, ans)
        self._count(category, key)
        if case.transport and ans.status in TRANSPORT_STATUSES and not key.startswith("HTTP 200"):
            self.transport["HTTP %d: %s" % (ans.status, _shape(case.label))] += 1
        for p in problems:
            self.problems.append((category, case.label, p))
        if self.sent % HEALTH_EVERY == 0:
            self.health(category, case.label)

    def _failed(self, category, case, previous, error, timed_out, mark):
        """No answer: a crash (the process dies, maybe after seconds of writing its backtrace), a hang, or a
        connection the server closed while staying up."""
        srv = self.env.server
        deadline = time.time() + 60
        state = "stuck"
        while time.time() < deadline:
            if not srv.alive():
                state = "dead"
                break
            if srv.crashing(mark):
                time.sleep(0.2)
                continue
            if timed_out:
                state = "hung"
                break
            if srv.healthy(timeout=1):
                state = "healthy"
                break
            time.sleep(0.2)
        if state == "dead":
            self._count(category, "CRASH")
            self.crashes.append(case.label)
            self.problems.append((category, case.label, "CRASH: the process died (%s); log: %s [the request before it: %s]" % (
                srv.exit_description(), srv.crash_report(mark) or srv.crash_report(self.log_mark) or "no crash report", previous[:120])))
            self._restart(category, "crash")
        elif state in ("hung", "stuck"):
            self._count(category, "HANG (no answer in %ss)" % TIMEOUT)
            self.problems.append((category, case.label, "HANG: %s; the server was killed and restarted" % (
                "no answer within %ss" % TIMEOUT if timed_out else "the connection dropped and /healthz stopped answering")))
            self._restart(category, "hang")
        elif case.transport:
            self._count(category, "CLOSED (transport refusal)")
            self.transport["connection closed without an answer: " + _shape(case.label)] += 1
        else:
            self._count(category, "CLOSED")
            self.problems.append((category, case.label, "the connection was dropped without an answer (%s: %s)" % (
                type(error).__name__, str(error)[:120])))

    def run_all(self, category, cases):
        try:
            for c in cases:
                self.run(category, c)
            self.health(category, "the end of " + category)
        except Stop:
            pass

    def _count(self, category, key):
        self.tally[key] += 1
        self.by_category[category][key] += 1

    # -- reporting

    def failures(self, category):
        mine = [(label, what) for c, label, what in self.problems if c == category]
        if not mine:
            return None
        grouped = collections.OrderedDict()
        for label, what in mine:
            grouped.setdefault(_problem_kind(what), []).append((label, what))
        lines = ["%d problem(s) in %s (%d kinds):" % (len(mine), category, len(grouped))]
        for kind, items in grouped.items():
            lines.append("* %s x%d" % (kind, len(items)))
            for label, what in items[:4]:
                lines.append("    - %s\n      -> %s" % (label[:300], what[:400]))
        return "\n".join(lines)

    def summary(self):
        lines = ["", "==== hostile requests: %s, seed %#x ====" % (datetime.now().isoformat(timespec="seconds"), SEED),
                 "requests sent: %d (plus /healthz polls); server restarts: %d" % (self.sent, self.restarts)]
        for cat, counter in self.by_category.items():
            lines.append("  %-28s %5d requests, %6.1f s" % (cat, sum(counter.values()), self.seconds[cat]))
        lines.append("answers (HTTP status + error code):")
        for key, n in sorted(self.tally.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append("  %6d  %s" % (n, key))
        if self.transport:
            lines.append("transport-level refusals (accepted):")
            for key, n in sorted(self.transport.items()):
                lines.append("  %6d  %s" % (n, key))
        lines.append("problems: %d" % len(self.problems))
        for kind, n in collections.Counter(_problem_kind(w) for _, _, w in self.problems).most_common():
            lines.append("  %6d  %s" % (n, kind))
        return "\n".join(lines) + "\n"


def _shape(label):
    return label.split(" | ")[0][:80]


def _problem_kind(what):
    for prefix in ("CRASH", "HANG", "InternalError", "HTTP 5", "leaks", "marker", "undocumented", "succeeded",
                   "expected", "not JSON", "connection was dropped"):
        if what.startswith(prefix):
            return what.split(":")[0][:120] if prefix not in ("CRASH", "HANG") else prefix
    return what.split(":")[0][:120]


def _leak(text):
    low = text.lower()
    for p in LEAK_PATTERNS:
        if p in low:
            return p
    return None


def _json(ans):
    try:
        return json.loads(ans.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def judge(env, case, ans):
    """(tally key, [problems]) for one answer."""
    problems = []
    text = ans.body.decode("utf-8", "replace")
    if env.marker in text:
        problems.append("marker: the answer holds another account's data (%s)" % text[max(0, text.find(env.marker) - 80):][:200])
    if ans.status >= 500:
        problems.append("HTTP %d: %s" % (ans.status, text[:200]))
    if case.transport and ans.status in TRANSPORT_STATUSES:
        return "HTTP %d (transport refusal)" % ans.status, problems

    kind = case.kind
    if kind in ("api", "call") and ans.status == 200:
        return _judge_envelope(env, case, ans, problems)
    if kind == "health":
        body = _json(ans)
        if ans.status != 200 or body != {"status": "ok"}:
            problems.append("expected /healthz to answer 200 {\"status\": \"ok\"}: HTTP %d %r" % (ans.status, text[:200]))
        return "HTTP %d healthz" % ans.status, problems
    if kind == "other":
        if ans.status not in (200, 204, 400, 404, 405):
            problems.append("expected 404/405 (or an answer) for a route that is not the API's: HTTP %d" % ans.status)
        return "HTTP %d (other route)" % ans.status, problems
    if kind not in ("api", "call") and ans.status == 200 and case.expect is not None:
        problems.append("succeeded: expected %s: HTTP 200 %r" % (sorted(case.expect), text[:200]))
    if kind == "export" and ans.status == 200:
        return _judge_export(ans, problems)
    if kind == "session-post" and ans.status == 200:
        body = _json(ans)
        if not (isinstance(body, dict) and isinstance(body.get("Session"), dict)):
            problems.append("not JSON: a sign-in's 200 must be {\"Session\": {...}}: %r" % text[:200])
        return "HTTP 200 Session", problems
    if kind in ("session-get", "session-delete") and ans.status == 200:
        return "HTTP 200 (%s)" % kind, problems

    # a console error: {"Error": {"Code", "Message"}} with a documented status
    allowed = {
        "api": {},
        "call": {401: {"NotSignedIn", "SessionExpired"}, 403: {"CsrfTokenInvalid", "OriginNotAllowed"}},
        "session-post": {400: {"InvalidParameter"}, 401: {"AuthFailure.SignInFailed"},
                         403: {"AuthFailure.UnauthorizedOperation", "OriginNotAllowed"}},
        "session-get": {401: {"NotSignedIn", "SessionExpired"}, 403: {"OriginNotAllowed"}},
        "session-delete": {401: {"NotSignedIn", "SessionExpired"}, 403: {"CsrfTokenInvalid", "OriginNotAllowed"}},
        "export": {400: DOCUMENTED_CODES - {"InternalError"}, 401: {"NotSignedIn", "SessionExpired"}, 403: {"OriginNotAllowed"}},
        "asset": {404: {"NotFound"}},
    }.get(kind, {})
    body = _json(ans)
    err = body.get("Error") if isinstance(body, dict) else None
    code = err.get("Code") if isinstance(err, dict) else None
    key = "HTTP %d %s" % (ans.status, code or "(no error code)")
    if ans.status not in allowed:
        if not problems:
            problems.append("expected HTTP %s for %s; got HTTP %d %r" % (
                "200" if kind in ("api", "call") else "/".join(map(str, sorted(allowed))), kind, ans.status, text[:200]))
        return key, problems
    if not (isinstance(err, dict) and isinstance(code, str) and isinstance(err.get("Message"), str) and err["Message"]):
        problems.append("not JSON: a console error must be {\"Error\": {\"Code\", \"Message\"}}: %r" % text[:200])
        return key, problems
    if code not in allowed[ans.status]:
        problems.append("expected one of %s with HTTP %d; got %s: %s" % (sorted(allowed[ans.status])[:6], ans.status, code, err["Message"][:200]))
    if case.expect is not None and code not in case.expect:
        problems.append("expected %s; got %s: %s" % (sorted(case.expect), code, err["Message"][:200]))
    leak = _leak(err["Message"])
    if leak:
        problems.append("leaks an internal detail (%r): %s" % (leak, err["Message"][:300]))
    return key, problems


def _judge_envelope(env, case, ans, problems):
    text = ans.body.decode("utf-8", "replace")
    ctype = ans.headers.get("content-type", "").split(";")[0].strip()
    if ctype == "text/event-stream" and " TailEvents " in case.label:
        # a live tail that was accepted: its first message says where it starts
        if not (text.startswith("retry: ") and "\nevent: ready\n" in text and text.endswith("\n\n")):
            problems.append("a tail's stream must start with its ready message: %r" % text[:200])
        if not case.allow_success or (case.expect is not None and "OK" not in case.expect):
            problems.append("succeeded: expected %s: %r" % (sorted(case.expect or {"an error"}), text[:200]))
        return "HTTP 200 event-stream", problems
    if ctype != "application/json":
        problems.append("not JSON: Content-Type %r (the SDKs need application/json)" % ctype)
    body = _json(ans)
    r = body.get("Response") if isinstance(body, dict) else None
    if not isinstance(r, dict) or not isinstance(r.get("RequestId"), str) or not r["RequestId"]:
        problems.append("not JSON: no {\"Response\": {..., \"RequestId\"}} envelope: %r" % text[:200])
        return "HTTP 200 (no envelope)", problems
    err = r.get("Error")
    if err is None:
        if not case.allow_success or (case.expect is not None and "OK" not in case.expect):
            problems.append("succeeded: expected %s: %r" % (sorted(case.expect or {"an error"}), text[:200]))
        if case.check:
            p = case.check(r)
            if p:
                problems.append(p)
        return "HTTP 200 OK", problems
    code, msg = (err.get("Code"), err.get("Message")) if isinstance(err, dict) else (None, None)
    if not (isinstance(code, str) and code and isinstance(msg, str) and msg):
        problems.append("not JSON: an error needs a Code and a Message: %r" % text[:200])
        return "HTTP 200 (malformed error)", problems
    if code == "InternalError":
        problems.append("InternalError: %s" % msg[:200])
    elif code not in DOCUMENTED_CODES:
        problems.append("undocumented error code %s: %s" % (code, msg[:200]))
    if case.expect is not None and code not in case.expect:
        problems.append("expected %s; got %s: %s" % (sorted(case.expect), code, msg[:200]))
    leak = _leak(msg)
    if leak:
        problems.append("leaks an internal detail (%r): %s" % (leak, msg[:300]))
    return "HTTP 200 %s" % code, problems


def _judge_export(ans, problems):
    ctype = ans.headers.get("content-type", "")
    text = ans.body.decode("utf-8", "replace")
    if ctype.startswith("application/x-ndjson"):
        lines = text.split("\n")  # JSON lines end in \n; U+2028 and friends may stand unescaped inside a string
        if lines[-1] == "":
            lines.pop()
        for line in lines:
            try:
                ev = json.loads(line)
                assert ev.get("EventId")
            except (ValueError, AssertionError, AttributeError):
                problems.append("not JSON: an export line is not an Event: %r" % line[:200])
                break
    elif ctype.startswith("text/csv"):
        if not text.startswith("EventTime,EventId,"):
            problems.append("not JSON: a CSV export must start with its header row: %r" % text[:200])
    else:
        problems.append("not JSON: an export's Content-Type must be CSV or JSON lines: %r" % ctype)
    return "HTTP 200 export", problems


@pytest.fixture(scope="module")
def barrage(env):
    b = Barrage(env)
    yield b
    s = b.summary()
    print(s)
    with open(SUMMARY_FILE, "a", encoding="utf-8") as f:
        f.write(s)


def finish(barrage, category):
    report = barrage.failures(category)
    if report:
        pytest.fail(report, pytrace=False)


# --------------------------------------------------------------------------------------------------
# hostile values


def _deep_list(n):
    v = []
    for _ in range(n):
        v = [v]
    return v


NUMBERS = [2 ** 63, -(2 ** 63), 2 ** 63 - 1, -(2 ** 63) + 1, 2 ** 64, 10 ** 40, -1, 0, 1, 2 ** 62, 10 ** 12, 1e308, -1e308, 0.5,
           -0.0, 5e-324, 2 ** 31, -(2 ** 31) - 1]
STRINGS = ["", " ", "NaN", "Infinity", "-Infinity", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
           "1e999", "0x1F", " 12", "12 ", "+1", "\u0663", "\u0000", "\u202eevil", "\u00e9\u4e2d", "\U0001F600" * 40,
           "%ff%fe", "a" * 10000, "../../etc/passwd", "' OR '1'='1", "<script>alert(1)</script>", "${jndi:ldap://x}",
           "\\", "\"", "\n\r\t", "null", "true", "[]", "{}", "\ud800", "\udfff\ud800", "\u2028\u2029", "*", "-", ",,,,"]
STRUCTURES = [None, True, False, [], {}, [None], {"": None}, [[[[1]]]], {"a": {"b": {"c": 1}}}, list(range(1000)),
              ["x"] * 200, _deep_list(40), [{"AttributeKey": "EventName", "AttributeValue": "x"}] * 60]
POOL = NUMBERS + STRINGS + STRUCTURES
TIME_VALUES = [I64_MAX, I64_MAX - 1, I64_MIN, I64_MIN + 1, 2 ** 62, 10 ** 12, -1, 0, "9223372036854775807", 1e308]
RAW_TOKENS = [b"NaN", b"Infinity", b"-Infinity", b"-0", b"1e999", b"-1e999", b"01", b".5", b"+1", b"0x10", b"1.", b"1e",
              b"--1", b"True", b"nul", b"undefined", b"'single'", b"\"unterminated", b"1" * 400, b"-" + b"9" * 30]
BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"a\x00b",
            b"\xf8\x88\x80\x80\x80"]
DEEP_BODIES = [b"[" * 1000 + b"]" * 1000, b"{\"a\":" * 1000 + b"1" + b"}" * 1000, b"[" * 1000, b"{\"a\":" * 1000,
               b"[{" * 500 + b"}]" * 500]
HOLE = "@@HOLE@@"


def _paths(v, prefix=()):
    """Every place in a parameter object (containers included), as key/index tuples."""
    if prefix:
        yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _paths(x, prefix + (i,))


def _set(obj, path, value):
    o = copy.deepcopy(obj)
    cur = o
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return o


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def _delete(obj, path):
    o = copy.deepcopy(obj)
    cur = o
    for p in path[:-1]:
        cur = cur[p]
    del cur[path[-1]]
    return o


def _mismatches(v):
    if isinstance(v, bool):
        return ["true", 1]
    if isinstance(v, int):
        return ["abc", [v], {"v": v}, str(v) + "x"]
    if isinstance(v, str):
        return [123, [v], {"v": v}, True]
    if isinstance(v, list):
        return ["x", {}, 7]
    if isinstance(v, dict):
        return [[], "x", 0]
    return ["x"]


def _dotted(path):
    return ".".join(str(p) for p in path)


def _short(v, n=60):
    s = json.dumps(v) if not isinstance(v, bytes) else repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def templates(env):
    """A valid-looking parameter object for every action (the barrage mutates them)."""
    t = now()
    q = {"StartTime": t - 3600, "EndTime": t + 60, "MaxResults": 10,
         "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Seed01"}]}
    storage = _storage("hostile-bucket-2", "hostile2")
    seeded_id = sorted(env.seeded)[0]
    return {
        "PutEvents": {"Events": [make_event(uid("fuzzsrc"), eventId=uid("fev"))]},
        # With the query extensions (docs/contract.md, "Query extensions"), so that they are mutated too.
        "LookUpEvents": dict(q, NextToken="", ExcludeAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "cloudaudit.api"}], Snapshot=40),
        "DescribeEvents": dict(q, NextToken=0, IsReturnLocation=1, NewSnapshot=1),
        "GetAttributeKey": {"WebsiteType": "en"},
        # A stream: its GET form answers text/event-stream (judged by its first message); a JSON body is refused.
        "TailEvents": {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Seed01"}], "Cursor": "3", "Heartbeat": 5},
        "CreateAlertChannel": {"Name": "fuzz-hook", "Type": "webhook", "Config": {"Url": "http://127.0.0.1:1/x", "Secret": "fuzz-secret-0123456789"}},
        "DescribeAlertChannels": {},
        "ModifyAlertChannel": {"ChannelId": env.channel_id, "Name": "hostile-hook", "Config": {"Url": "http://127.0.0.1:1/hook"}},
        "DeleteAlertChannel": {"ChannelId": 987654321},
        "TestAlertChannel": {"ChannelId": env.channel_id},
        "CreateAlertRule": {"Name": "fuzz-rule", "Severity": "warning", "ErrorOnly": 1, "ChannelIds": [env.channel_id], "Template": "sign-in-failures",
                            "Conditions": [{"AttributeKey": "Username", "AttributeValue": "x"}],
                            "Threshold": {"Count": 3, "WindowSeconds": 60, "GroupBy": "SourceIPAddress"}, "Status": "enabled"},
        "DescribeAlertRules": {},
        "DescribeAlertRuleTemplates": {},
        "ModifyAlertRule": {"RuleId": env.rule_id, "Severity": "critical", "Status": "disabled"},
        "DeleteAlertRule": {"RuleId": 987654321},
        "DescribeAlerts": {"StartTime": t - 3600, "EndTime": t + 60, "RuleId": env.rule_id, "Severity": "info", "Offset": 0, "Limit": 10},
        "CreateAuditTrack": {"Name": "fuzz-track", "Status": 1, "Storage": storage, "ActionType": "*", "ResourceType": "*",
                             "EventNames": ["*"], "TrackForAllMembers": 0},
        "CreateEventsAuditTrack": {"Name": "fuzz-etrack", "Status": 0, "Storage": storage,
                                   "Filters": {"ResourceFields": [{"ResourceType": "cvm", "ActionType": "Read", "EventNames": ["*"]}]}},
        "DescribeAuditTrack": {"TrackId": env.track_id},
        "DescribeAuditTracks": {"PageNumber": 1, "PageSize": 10},
        "ModifyAuditTrack": {"TrackId": env.track_id, "Name": env.track_name, "Status": 1, "Storage": _storage("hostile-bucket", "hostile"),
                             "ActionType": "Write", "ResourceType": "*", "EventNames": ["*"], "IsEnableKmsEncry": 0},
        "ModifyEventsAuditTrack": {"TrackId": env.track_id, "Status": 1,
                                   "Filters": {"ResourceFields": [{"ResourceType": "cvm", "ActionType": "*", "EventNames": ["RunInstances"]}]}},
        "DeleteAuditTrack": {"TrackId": 987654321},
        "InquireAuditCredit": {},
        "CreateAudit": {"AuditName": "fuzz-audit", "CosBucketName": "fuzz-audit-bucket", "CosRegion": "local", "IsCreateNewBucket": 0,
                        "IsEnableCmqNotify": 0, "ReadWriteAttribute": 3, "LogFilePrefix": "fuzzlog", "IsEnableKmsEncry": 0},
        "UpdateAudit": {"AuditName": env.audit_name, "ReadWriteAttribute": 1, "IsEnableCmqNotify": 0, "LogFilePrefix": "hostilelog",
                        "CosRegion": "local", "CosBucketName": "hostile-audit-bucket", "IsCreateNewBucket": 0},
        "DeleteAudit": {"AuditName": "no-such-audit"},
        "DescribeAudit": {"AuditName": env.audit_name},
        "ListAudits": {},
        "StartLogging": {"AuditName": env.audit_name},
        "StopLogging": {"AuditName": env.audit_name},
        "ListCosEnableRegion": {"WebsiteType": "zh"},
        "ListCmqEnableRegion": {"WebsiteType": "en"},
        "ListKeyAliasByRegion": {"KmsRegion": "local", "Limit": 10, "Offset": 0},
        "GetCheckpoint": {"TreeSize": 1},
        "GetInclusionProof": {"EventId": seeded_id, "TreeSize": 50},
        "GetConsistencyProof": {"FirstTreeSize": 1, "SecondTreeSize": 2},
        "DescribeEventStats": dict(q, Buckets=60, ExcludeAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "true"}], Snapshot=45),
        "DescribeDeliveryStatus": {},
    }


def _body_with(params, path, raw):
    """The JSON body of `params` with the value at `path` replaced by raw bytes (not JSON-encoded)."""
    body = json.dumps(_set(params, path, HOLE)).encode()
    return body.replace(json.dumps(HOLE).encode(), raw, 1)


def _string_paths(tpl):
    return [p for p in _paths(tpl) if isinstance(_get(tpl, p), str)]


def body_mutations(rng, action, tpl):
    """(label, body bytes) pairs: hostile JSON bodies for one action."""
    out = []
    paths = list(_paths(tpl))
    for path in paths:
        cur = _get(tpl, path)
        name = _dotted(path)
        values = rng.sample(POOL, 5) + _mismatches(cur)[:2] + [None]
        if "Time" in name and not name.startswith("Events"):
            values += TIME_VALUES
        for v in values:
            out.append(("%s=%s" % (name, _short(v)), json.dumps(_set(tpl, path, v)).encode()))
        if isinstance(cur, (int, float)) and not isinstance(cur, bool):
            for tok in rng.sample(RAW_TOKENS, 3):
                out.append(("%s=<raw %s>" % (name, tok[:20].decode("latin-1")), _body_with(tpl, path, tok)))
        out.append(("%s removed" % name, json.dumps(_delete(tpl, path)).encode()))
    strs = _string_paths(tpl)
    for path in rng.sample(strs, min(2, len(strs))):
        for bad in rng.sample(BAD_UTF8, 2):
            out.append(("%s=<invalid UTF-8 %r>" % (_dotted(path), bad), _body_with(tpl, path, b'"x' + bad + b'y"')))
    if strs:
        path = rng.choice(strs)
        out.append(("%s=<1 MB string>" % _dotted(path), json.dumps(_set(tpl, path, "h" * (1 << 20))).encode()))
    if paths:
        path = rng.choice(paths)
        out.append(("%s=<1000 nested [ and {>" % _dotted(path), _body_with(tpl, path, rng.choice(DEEP_BODIES))))
    # the body as a whole
    full = json.dumps(tpl).encode()
    nulls = {k: None for k in tpl}
    out += [
        ("every parameter null", json.dumps(nulls).encode()),
        ("null everywhere", json.dumps(_null_everywhere(tpl)).encode()),
        ("empty body", b""), ("whitespace body", b" \n\t "), ("body null", b"null"), ("body []", b"[]"), ("body 1", b"1"),
        ("body string", b'"{}"'), ("body with BOM", b"\xef\xbb\xbf" + full), ("two documents", full + b" " + full),
        ("trailing garbage", full + b"}"), ("NUL after the body", full + b"\x00"),
        ("deep body [", DEEP_BODIES[0]), ("deep body {", DEEP_BODIES[1]),
        ("unknown fields", json.dumps(dict(tpl, Unknown=1, startTime=0, Action="DeleteAuditTrack", AccountId=12345,
                                           Region="x", RequestId="forged", Response={"Error": None}, **{"": 1, "\u0000": 2})).encode()),
    ]
    if action in ("PutEvents", "LookUpEvents", "CreateAuditTrack"):
        out.append(("6 MB body", json.dumps(dict(tpl, Padding="p" * (6 * 1024 * 1024))).encode()))
    for k in list(tpl)[:3]:
        for v in rng.sample(POOL, 2):
            out.append(("duplicate %s=%s" % (k, _short(v)), b'{"%s": %s, ' % (k.encode(), json.dumps(v).encode()) + full[1:]
                        if full != b"{}" else b'{"%s": %s}' % (k.encode(), json.dumps(v).encode())))
    for cut in sorted(rng.sample(range(1, max(2, len(full))), min(3, max(1, len(full) - 1)))):
        out.append(("truncated at %d/%d" % (cut, len(full)), full[:cut]))
    return out


def _null_everywhere(v):
    if isinstance(v, dict):
        return {k: _null_everywhere(x) if isinstance(x, (dict, list)) else None for k, x in v.items()}
    if isinstance(v, list):
        return [_null_everywhere(x) if isinstance(x, (dict, list)) else None for x in v]
    return None


def _flatten(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            _flatten("%s.%s" % (prefix, k) if prefix else k, x, out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _flatten("%s.%d" % (prefix, i), x, out)
    elif isinstance(v, bool):
        out.append((prefix, "true" if v else "false"))
    elif v is None:
        out.append((prefix, ""))
    else:
        out.append((prefix, str(v)))
    return out


def _query(pairs):
    return "&".join("%s=%s" % (quote(k, safe=".-_~", errors="surrogatepass"), quote(v, safe="-_.~", errors="surrogatepass"))
                    for k, v in pairs)


def query_mutations(rng, action, tpl):
    """(label, query string) pairs: the GET form of one action, valid and hostile."""
    pairs = _flatten("", tpl, [])
    out = [("GET form", _query(pairs))]
    if pairs:
        for _ in range(3):
            i = rng.randrange(len(pairs))
            v = rng.choice(STRINGS + [str(n) for n in NUMBERS])
            out.append(("GET %s=%s" % (pairs[i][0], _short(v)), _query(pairs[:i] + [(pairs[i][0], v)] + pairs[i + 1:])))
        i = rng.randrange(len(pairs))
        bad = rng.choice(["%FF%FE", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%E2%82", "a%00b", "%", "%G1", "%%", "%0"])
        out.append(("GET %s=<%s>" % (pairs[i][0], bad), _query(pairs[:i]) + ("&" if i else "") + "%s=%s" % (pairs[i][0], bad)
                    + ("&" + _query(pairs[i + 1:]) if pairs[i + 1:] else "")))
        k = rng.choice(pairs)[0]
        out.append(("GET duplicate %s" % k, _query(pairs + [(k, "9223372036854775808"), (k, "")])))
    weird = [
        ("GET empty keys", "&&&=&=1&" + _query(pairs)),
        ("GET dotted keys", "a..b=1&.a=2&a.=3&...=4&" + _query(pairs)),
        ("GET value and children on one key", "LookupAttributes=1&LookupAttributes.0.AttributeKey=EventName&LookupAttributes.0=x&" + _query(pairs)),
        ("GET index 20 digits", "LookupAttributes.99999999999999999999.AttributeKey=EventName&" + _query(pairs)),
        ("GET index int64 max", "LookupAttributes.9223372036854775807.AttributeKey=EventName&LookupAttributes.9223372036854775807.AttributeValue=x&" + _query(pairs)),
        ("GET negative index", "LookupAttributes.-1.AttributeKey=EventName&LookupAttributes.-1.AttributeValue=x&" + _query(pairs)),
        ("GET key 200 deep", ".".join(["k"] * 200) + "=1&" + _query(pairs)),
        ("GET 2000 parameters", "&".join("q%d=%d" % (i, i) for i in range(2000)) + "&" + _query(pairs)),
        ("GET plus and NUL", "x=%00%00+++&" + _query(pairs)),
        ("GET Action/Version in the query", "Action=DeleteAuditTrack&Version=2017-03-12&" + _query(pairs)),
    ]
    out += rng.sample(weird, 4)
    return out


# --------------------------------------------------------------------------------------------------
# case builders


def api_case(env, action, *, body=None, label="", key=None, method="POST", query=None, content_type="application/json",
             extra_headers=None, authorization=None, timestamp=None, version=VERSION, expect=None, allow_success=True,
             transport=False, check=None, signed_headers=("content-type", "host")):
    key = key or env.admin

    def send():
        q = _as_sent(env, query) if query is not None else None  # sign exactly what requests will send
        ts = now() if timestamp is None else timestamp
        auth = authorization(ts) if callable(authorization) else authorization
        tail = method == "GET" and action == "TailEvents"
        r = raw_call(env.server, key.secret_id, key.secret_key, action, body=body, method=method, query=q,
                     content_type=content_type, extra_headers=extra_headers, authorization=auth,
                     timestamp=ts, version=version, timeout=TIMEOUT, signed_headers=signed_headers, stream=tail)
        if tail and r.headers.get("Content-Type", "").startswith("text/event-stream"):
            return _first_message(r)
        return _answer(r)

    return Case("%s %s | %s" % (method, action, label), send, "api", transport=transport, expect=expect,
                allow_success=allow_success, check=check)


def _as_sent(env, query):
    """The query string as requests (and urllib3 under it) will put it on the wire: escapes upper-cased,
    stray characters and lone `%` escaped. The signature must cover exactly that."""
    url = requests.Request("GET", env.server.url + "/?" + query).prepare().url
    return url.split("?", 1)[1] if "?" in url else ""


def call_case(env, body, label, *, csrf=True, session=True, headers=None, expect=None, allow_success=True, transport=False,
              kind="call"):
    def send():
        h = {"Content-Type": "application/json"}
        if csrf is True:
            h["X-CSRF-Token"] = env.csrf
        elif csrf:
            h["X-CSRF-Token"] = csrf
        h.update(headers or {})
        client = env.session if session else requests
        return _answer(client.post(env.server.url + "/console/api/call", data=body, headers=h, timeout=TIMEOUT))

    return Case("console call | %s" % label, send, kind, transport=transport, expect=expect, allow_success=allow_success)


# --------------------------------------------------------------------------------------------------
# the barrage, category by category


def _order(actions):
    # the destructive ones last, so that the others meet the tenant's tracking set and audit
    return sorted(actions, key=lambda a: (a.startswith("Delete") or a == "StopLogging", a))


def test_hostile_json_bodies_for_every_action(env, barrage):
    rng = random.Random("%s-bodies" % SEED)
    tpls = templates(env)
    cases = []
    for action in _order(API_ACTIONS):
        for label, body in body_mutations(rng, action, tpls[action]):
            cases.append(api_case(env, action, body=body, label=label))
    barrage.run_all("api-json-bodies", cases)
    finish(barrage, "api-json-bodies")


def test_get_forms_of_every_action(env, barrage):
    rng = random.Random("%s-get" % SEED)
    tpls = templates(env)
    cases = []
    for action in _order(API_ACTIONS):
        muts = query_mutations(rng, action, tpls[action])
        if action == "PutEvents":
            # PutEvents is a POST of a JSON body; its GET form must be refused without storing anything
            muts = muts[:4]
        for label, q in muts:
            cases.append(api_case(env, action, method="GET", query=q, label=label,
                                  expect={"UnsupportedOperation", "InvalidParameter", "MissingParameter"} if action == "PutEvents" else None,
                                  allow_success=action != "PutEvents"))
    # PutEvents' GET form without the fields the server would fill in, and keys nested beyond any reason
    bare = _query([("Events.0.actionType", "Write"), ("Events.0.eventName", "x"), ("Events.0.eventSource", uid("fuzzsrc"))])
    cases.append(api_case(env, "PutEvents", method="GET", query=bare, label="GET form without eventId and eventTime",
                          expect={"UnsupportedOperation", "InvalidParameter", "MissingParameter"}, allow_success=False))
    deep = ".".join(["a"] * 10000) + "=1"
    cases.append(api_case(env, "LookUpEvents", method="GET", query=deep + "&EndTime=%d&StartTime=%d" % (now(), now() - 60),
                          label="GET key of 10000 parts", expect={"InvalidParameter"}, allow_success=False))
    for action in ("LookUpEvents", "PutEvents"):
        cases.append(Case("GET /?Action=%s&a.a...(10000 parts)=1 | unsigned" % action, lambda a=action: _answer(requests.get(
            "%s/?Action=%s&%s" % (env.server.url, a, deep), timeout=TIMEOUT)), "api", expect={"InvalidParameter"}, allow_success=False))
    cases.append(Case("GET /?Action=LookUpEvents&p0=1...&p4999=1 | unsigned", lambda: _answer(requests.get(
        "%s/?Action=LookUpEvents&%s" % (env.server.url, "&".join("p%d=1" % i for i in range(5000))), timeout=TIMEOUT)), "api",
        expect={"InvalidParameter", "AuthFailure.InvalidAuthorization"}, allow_success=False))
    # a 1 MB query value, and the query string as the only place of Action/Version
    big = "StartTime=%d&EndTime=%d&NextToken=%s" % (now() - 60, now(), "n" * (1 << 20))
    cases.append(api_case(env, "LookUpEvents", method="GET", query=big, label="1 MB NextToken in the query", transport=True))
    barrage.run_all("api-get-forms", cases)
    finish(barrage, "api-get-forms")


def _auth_cases(env, rng):
    """Garbled Authorization headers, timestamps, actions and versions. Each header is made at send time
    from a good signature of that moment, so that the barrage's length cannot turn them into expired ones."""
    k = env.admin
    body = json.dumps({"WebsiteType": "en"}).encode()

    def good(ts):
        return tc3_authorization(k.secret_id, k.secret_key, ts, "POST", "", {"content-type": "application/json", "host": env.server.endpoint},
                                 ["content-type", "host"], body)

    def scope(ts):
        return "%s/cloudaudit/tc3_request" % datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")

    def sig(ts):
        return good(ts).split("Signature=")[1]

    def with_sig(fmt):
        return lambda ts: fmt % {"id": k.secret_id, "scope": scope(ts), "sig": sig(ts)}

    sample = len(good(now()))
    variants = []
    for n in sorted(set([1, 5, 16, 17, 30, sample // 2, sample - 65, sample - 1] + rng.sample(range(1, sample), 8))):
        variants.append(("truncated to %d chars" % n, lambda ts, n=n: good(ts)[:n]))
    variants += [
        ("empty", lambda ts: ""), ("algorithm only", lambda ts: "TC3-HMAC-SHA256"),
        ("algorithm and space", lambda ts: "TC3-HMAC-SHA256 "),
        ("lower-case algorithm", lambda ts: good(ts).replace("TC3-HMAC-SHA256", "tc3-hmac-sha256", 1)),
        ("no Credential", lambda ts: good(ts).replace("Credential=", "Cred=", 1)),
        ("no SignedHeaders", lambda ts: good(ts).replace(" SignedHeaders=content-type;host,", "", 1)),
        ("no Signature", lambda ts: good(ts).split(", Signature=")[0]),
        ("empty parts", lambda ts: "TC3-HMAC-SHA256 Credential=, SignedHeaders=, Signature="),
        ("Credential without scope", with_sig("TC3-HMAC-SHA256 Credential=%(id)s, SignedHeaders=content-type;host, Signature=%(sig)s")),
        ("Credential of slashes", with_sig("TC3-HMAC-SHA256 Credential=%(id)s" + "/" * 3000 + ", SignedHeaders=content-type;host, Signature=%(sig)s")),
        ("Credential date 9999-99-99", lambda ts: good(ts).replace(scope(ts), "9999-99-99/cloudaudit/tc3_request")),
        ("Credential other service", lambda ts: good(ts).replace("/cloudaudit/", "/cvm/")),
        ("Credential scope doubled", lambda ts: good(ts).replace(scope(ts), scope(ts) + "/" + scope(ts))),
        ("SignedHeaders 5000 entries", lambda ts: good(ts).replace("SignedHeaders=content-type;host", "SignedHeaders=" + ";".join(["host"] * 5000))),
        ("SignedHeaders empty names", lambda ts: good(ts).replace("SignedHeaders=content-type;host", "SignedHeaders=;;;;")),
        ("SignedHeaders authorization", lambda ts: good(ts).replace("SignedHeaders=content-type;host", "SignedHeaders=authorization;host")),
        ("SignedHeaders absent header", lambda ts: good(ts).replace("SignedHeaders=content-type;host", "SignedHeaders=content-type;host;x-nothing")),
        ("SignedHeaders odd names", lambda ts: good(ts).replace("SignedHeaders=content-type;host", "SignedHeaders=Host;CONTENT-TYPE;\u00e9;a b").encode("utf-8")),
        ("Signature not hex", lambda ts: good(ts).replace(sig(ts), "z" * 64)),
        ("Signature 63 chars", lambda ts: good(ts).replace(sig(ts), sig(ts)[:63])),
        ("Signature 100 KB", lambda ts: good(ts).replace(sig(ts), "a" * 100000)),
        ("5000 commas", lambda ts: "TC3-HMAC-SHA256 " + "," * 5000),
        ("equals everywhere", lambda ts: "TC3-HMAC-SHA256 " + "=" * 3000),
        ("Bearer", lambda ts: "Bearer " + sig(ts)), ("Basic", lambda ts: "Basic dXNlcjpwYXNz"),
        ("NUL inside", lambda ts: good(ts).replace(", ", ",\x00 ", 1)),
        ("non-ASCII bytes", with_sig("TC3-HMAC-SHA256 Credential=\u4e2d\u6587/%(scope)s, SignedHeaders=content-type;host, Signature=%(sig)s")),
        ("latin-1 bytes", lambda ts: b"TC3-HMAC-SHA256 Credential=\xe9\xff/" + scope(ts).encode() + b", SignedHeaders=content-type;host, Signature=" + sig(ts).encode()),
        ("other tenant's SecretId", lambda ts: good(ts).replace(k.secret_id, env.other.secret_id)),
        ("unknown SecretId", lambda ts: good(ts).replace(k.secret_id, "AKID" + "0" * 32)),
        ("SecretId 10 KB", lambda ts: good(ts).replace(k.secret_id, "A" * 10000)),
    ]
    # Variants a lenient parser may reasonably accept (the signature in them is still the right one).
    tolerable = [
        ("commas between parts", lambda ts: good(ts).replace(", ", "," * 3000)),
        ("parts repeated", lambda ts: good(ts) + ", " + good(ts)[len("TC3-HMAC-SHA256 "):]),
        ("Signature upper-case", lambda ts: good(ts).replace(sig(ts), sig(ts).upper())),
    ]
    cases = []
    for label, fn in variants + tolerable:
        action = rng.choice(sorted(API_ACTIONS))
        auth = (lambda ts, fn=fn: fn(ts).encode("utf-8") if isinstance(fn(ts), str) and not fn(ts).isascii() else fn(ts))
        cases.append(api_case(env, action, body=body, label="Authorization: " + label, authorization=auth,
                              allow_success=(label, fn) in tolerable, transport=label in ("Signature 100 KB", "NUL inside")))
    # timestamps: a good signature over the moment's time, another value in the header
    for stamp in ["", "abc", "1.5", "1e9", "0x10", "99999999999999999999", "-99999999999999999999", "-0", "\u0663\u0663",
                  str(I64_MAX), str(I64_MIN), str(I64_MIN + 1), "-1", "0", str(2 ** 63), "1" * 400]:
        cases.append(api_case(env, "GetAttributeKey", body=body, label="X-TC-Timestamp %r" % stamp,
                              extra_headers={"X-TC-Timestamp": stamp.encode("utf-8")}, allow_success=False))
    # a correct signature over odd action and version values
    for action in ["", "lookupevents", "LookUpEvents\u0000", "A" * 5000, "\u4e2d\u6587", "../PutEvents", "LookUpEvents;DeleteAudit"]:
        cases.append(api_case(env, action, body=b"{}", label="X-TC-Action %s" % _short(action), allow_success=False,
                              extra_headers={"X-TC-Action": action.encode("utf-8")}, transport="\u0000" in action))
    for version in ["", "2019-03-20", "9" * 3000, "\u4e2d", "2019-03-19\u0000"]:
        cases.append(api_case(env, "GetAttributeKey", body=b"{}", label="X-TC-Version %s" % _short(version), allow_success=False,
                              extra_headers={"X-TC-Version": version.encode("utf-8")}, transport="\u0000" in version))

    def two_authorizations():
        ts = now()
        return raw_http(env.server, (
            "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-TC-Action: GetAttributeKey\r\nX-TC-Version: %s\r\n"
            "X-TC-Timestamp: %d\r\nAuthorization: %s\r\nAuthorization: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
                env.server.endpoint, VERSION, ts, good(ts), "garbage", len(body))).encode() + body)

    cases.append(Case("POST GetAttributeKey | two Authorization headers", two_authorizations, "api"))
    cases.append(Case("POST LookUpEvents | no Authorization", lambda: _answer(requests.post(
        env.server.url + "/", data=b'{"StartTime": 0, "EndTime": 1}', timeout=TIMEOUT,
        headers={"X-TC-Action": "LookUpEvents", "X-TC-Version": VERSION, "X-TC-Timestamp": str(now()),
                 "Content-Type": "application/json"})), "api", expect={"AuthFailure.InvalidAuthorization"}, allow_success=False))
    return cases


def _role_cases(env):
    tpls = templates(env)
    cases = []
    for action, kind in sorted(API_ACTIONS.items()):
        body = json.dumps(tpls[action]).encode()
        if kind != "read":
            cases.append(api_case(env, action, body=body, key=env.auditor, label="auditor key on a %s action" % kind,
                                  expect={"AuthFailure.UnauthorizedOperation"}, allow_success=False))
        else:
            cases.append(api_case(env, action, body=body, key=env.auditor, label="auditor key on a read action"))
        if kind != "ingest":
            cases.append(api_case(env, action, body=body, key=env.ingest, label="ingest key on a %s action" % kind,
                                  expect={"AuthFailure.UnauthorizedOperation"}, allow_success=False))
    # an ingest key may record its own account's events only
    foreign = make_event(uid("fuzzsrc"), userIdentity={"type": "CAMUser", "principalId": "1", "accountId": str(env.other_account_id)})
    cases.append(api_case(env, "PutEvents", body=json.dumps({"Events": [foreign]}).encode(), key=env.ingest,
                          label="ingest key, an event of the other account", check=_rejected("UnauthorizedOperation")))
    cases.append(api_case(env, "PutEvents", body=json.dumps({"Events": [foreign]}).encode(), key=env.auditor,
                          label="auditor key PutEvents", expect={"AuthFailure.UnauthorizedOperation"}, allow_success=False))
    return cases


def _rejected(code):
    def check(r):
        failed = r.get("FailedEvents") or []
        ids = r.get("EventIds") or []
        if not (len(failed) == 1 and failed[0].get("Code") == code and ids == [""]):
            return "expected the record to be rejected with %s: %r" % (code, {k: r.get(k) for k in ("EventIds", "FailedEvents")})
        return None
    return check


def test_hostile_alert_channel_configurations(env, barrage):
    """The configurations of email and syslog channels a tenant controls (addresses an SMTP server and a
    syslog socket will see), and tests of channels whose addresses pass the checks but lead nowhere."""
    def create(type_, config, label):
        body = json.dumps({"Name": uid("ch"), "Type": type_, "Config": config}).encode()
        return api_case(env, "CreateAlertChannel", body=body, label=label,
                        expect={"OK", "InvalidParameterValue", "MissingParameter", "InvalidParameter", "LimitExceeded"})
    cases = []
    for to in (["a@b.c\r\nBcc: x@y.z"], ["a@b.c\nRCPT TO:<x@y.z>"], ["x" * 300 + "@b.c"], ["\u4e2d@b.c"], ["a@b.c"] * 21, [],
               ["<a@b.c>"], ["a@@b.c"], ["a@b.c\u0000"], [7], "a@b.c"):
        cases.append(create("email", {"To": to}, "email To %s" % _short(to)))
    for addr in ("[::1]:0", "127.0.0.1:99999", "a:b:c:514", "\u0000:514", "h" * 400 + ":514", "[::1:514", "host:-1", ":514",
                 "127.0.0.1:514/x", "user@127.0.0.1:514", "%00:514", "[fe80::1%25eth0]:514"):
        cases.append(create("syslog", {"Address": addr, "Protocol": "tcp"}, "syslog Address %s" % _short(addr)))
    for proto in ("TLS", "udp", "", None, 1):
        cases.append(create("syslog", {"Address": "127.0.0.1:1", "Protocol": proto}, "syslog Protocol %s" % _short(proto)))
    # Addresses that pass the checks but lead nowhere (or to a refusing port): a test answers at once.
    for type_, config in (("syslog", {"Address": "[::1]:1", "Protocol": "tls"}), ("syslog", {"Address": "localhost:1", "Protocol": "tcp"}),
                          ("email", {"To": ["ops@example.com"]})):
        cid = _call(env.admin, "CreateAlertChannel", {"Name": uid("odd"), "Type": type_, "Config": config})["ChannelId"]
        cases.append(api_case(env, "TestAlertChannel", body=json.dumps({"ChannelId": cid}).encode(), label="test of %s %s" % (type_, _short(config)),
                              check=lambda r: None if r.get("Delivered") is False and r.get("Answer") else "expected Delivered false with an answer: %r" % r))
    barrage.run_all("alert-channels", cases)
    finish(barrage, "alert-channels")


def test_hostile_authentication_and_roles(env, barrage):
    rng = random.Random("%s-auth" % SEED)
    barrage.run_all("authentication-and-roles", _auth_cases(env, rng) + _role_cases(env))
    finish(barrage, "authentication-and-roles")


def test_cross_account_requests_reach_nothing(env, barrage):
    """With the tenant's own admin key, everything that names the other account's objects: it must read as
    not found (or reach the tenant's own data only) and never change them."""
    t = now()
    o_track, o_audit = env.other_track_id, env.other_audit_name
    cases = []
    for action in ("DescribeAuditTrack", "DeleteAuditTrack", "ModifyAuditTrack", "ModifyEventsAuditTrack"):
        for params in ({"TrackId": o_track}, {"TrackId": str(o_track)}, {"TrackId": o_track, "Status": 0},
                       {"TrackId": o_track, "Name": "renamed", "Status": 0}):
            cases.append(api_case(env, action, body=json.dumps(params).encode(), label="other tenant's TrackId %s" % _short(params),
                                  expect={"ResourceNotFound", "InvalidParameterValue.AuditTrackNameNotSupportModify"}, allow_success=False))
    for action in ("DescribeAudit", "UpdateAudit", "StartLogging", "StopLogging", "DeleteAudit"):
        params = {"AuditName": o_audit}
        if action == "UpdateAudit":
            params["ReadWriteAttribute"] = 1
        cases.append(api_case(env, action, body=json.dumps(params).encode(), label="other tenant's AuditName",
                              expect={"ResourceNotFound.AuditNotExist"}, allow_success=False))
    for eid in env.other_event_ids[:3]:
        cases.append(api_case(env, "GetInclusionProof", body=json.dumps({"EventId": eid}).encode(), label="other tenant's EventId",
                              expect={"ResourceNotFound.EventNotExist"}, allow_success=False))
        cases.append(api_case(env, "LookUpEvents", label="LookupAttributes EventId of the other tenant",
                              body=json.dumps({"StartTime": env.start, "EndTime": env.end, "LookupAttributes": [
                                  {"AttributeKey": "EventId", "AttributeValue": eid}]}).encode(), check=_no_events))
    q = {"StartTime": env.start, "EndTime": env.end, "MaxResults": 1,
         "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": env.other_source}]}
    if env.other_lookup_token:
        cases.append(api_case(env, "LookUpEvents", body=json.dumps(dict(q, NextToken=env.other_lookup_token)).encode(),
                              label="the other tenant's LookUpEvents NextToken", expect={"InvalidParameterValue"}, allow_success=False))
    if env.other_next_token:
        cases.append(api_case(env, "DescribeEvents", body=json.dumps(dict(q, NextToken=env.other_next_token)).encode(),
                              label="the other tenant's DescribeEvents NextToken", expect={"InvalidParameterValue"}, allow_success=False))
    cases.append(api_case(env, "LookUpEvents", body=json.dumps(dict(q, MaxResults=50)).encode(), label="the other tenant's EventSource",
                          check=_no_events))
    for field in ("AccountId", "accountId", "AccountID", "Uin", "OwnerUin", "SubAccountUin"):
        cases.append(api_case(env, "DescribeEvents", label="%s of the other tenant in the body" % field, check=_own_events(env),
                              body=json.dumps({"StartTime": t - 3600, "EndTime": t + 60, "MaxResults": 50, field: env.other_account_id}).encode()))
    foreign = make_event(uid("fuzzsrc"), userIdentity={"type": "CAMUser", "principalId": "1", "accountId": str(env.other_account_id)})
    cases.append(api_case(env, "PutEvents", body=json.dumps({"Events": [foreign]}).encode(), label="admin key, an event of the other account",
                          check=_rejected("UnauthorizedOperation")))
    # the tenant's own seeded events, sent again with other contents: stored once, never rewritten
    for eid in sorted(env.seeded)[:5]:
        rec = make_event(uid("fuzzsrc"), name="Rewritten", eventId=eid, resourceName="rewritten")
        cases.append(api_case(env, "PutEvents", body=json.dumps({"Events": [rec]}).encode(), label="a seeded eventId with new contents"))
    # and through the console
    for params in ({"TrackId": o_track}, {"TrackId": o_track, "Status": 0}):
        cases.append(call_case(env, json.dumps({"Action": "ModifyAuditTrack", "Params": params}).encode(),
                               "ModifyAuditTrack on the other tenant's TrackId", expect={"ResourceNotFound"}, allow_success=False))
    barrage.run_all("cross-account", cases)
    finish(barrage, "cross-account")


def _no_events(r):
    return None if not r.get("Events") else "expected no events, got %d" % len(r["Events"])


def _own_events(env):
    def check(r):
        for e in r.get("Events") or []:
            if e.get("AccountID") != env.account_id:
                return "an event of account %s reached account %s" % (e.get("AccountID"), env.account_id)
        return None
    return check


def test_hostile_transport(env, barrage):
    rng = random.Random("%s-transport" % SEED)
    k = env.admin
    body = json.dumps({"WebsiteType": "en"}).encode()
    cases = [
        api_case(env, "GetAttributeKey", body=body, label="one 60 KB header", extra_headers={"X-Junk": "j" * 60000}, transport=True),
        api_case(env, "GetAttributeKey", body=body, label="500 headers", extra_headers={"X-H-%d" % i: "v" * 20 for i in range(500)}, transport=True),
        api_case(env, "GetAttributeKey", body=body, label="2000 headers", extra_headers={"X-H-%d" % i: "v" for i in range(2000)}, transport=True),
        api_case(env, "GetAttributeKey", body=body, label="header of non-ASCII bytes", extra_headers={"X-Junk": b"\xff\xfe\xc0\xaf"}),
        api_case(env, "GetAttributeKey", body=body, label="X-TC-Region 10 KB", extra_headers={"X-TC-Region": "r" * 10000}),
        api_case(env, "GetAttributeKey", body=body, label="X-TC-Region non-ASCII", extra_headers={"X-TC-Region": "\u4e2d\u6587".encode()}),
        api_case(env, "GetAttributeKey", body=body, label="X-TC-Language junk", extra_headers={"X-TC-Language": "x" * 3000}),
        api_case(env, "GetAttributeKey", body=body, label="X-TC-Token junk", extra_headers={"X-TC-Token": "t" * 3000}),
        api_case(env, "GetAttributeKey", body=body, label="User-Agent 8 KB", extra_headers={"User-Agent": "u" * 8000}),
        api_case(env, "GetAttributeKey", body=body, label="X-TC-Content-SHA256 UNSIGNED-PAYLOAD unsigned",
                 extra_headers={"X-TC-Content-SHA256": "UNSIGNED-PAYLOAD"}, allow_success=False),
        api_case(env, "GetAttributeKey", body=body, label="Host of another site", extra_headers={"Host": "evil.example"}),
    ]
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz", "", "application/json; charset=utf-16",
               "application/xml", "*/*", "application/json, text/plain", "application/" + "j" * 1000, "application/json; charset=\u00e9"]:
        cases.append(api_case(env, "GetAttributeKey", body=body, label="Content-Type %s" % _short(ct), content_type=ct))
    cases.append(api_case(env, "GetAttributeKey", body="WebsiteType=en".encode(), label="form-encoded body",
                          content_type="application/x-www-form-urlencoded"))
    cases.append(api_case(env, "GetAttributeKey", body='{"WebsiteType": "en"}'.encode("utf-16"), label="UTF-16 body",
                          content_type="application/json; charset=utf-16"))
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"]:
        cases.append(Case("%s / | unrouted method" % method, lambda m=method: _answer(requests.request(m, env.server.url + "/", data=body, timeout=TIMEOUT)), "other"))
    for path in ["//", "/index.html", "/%2e%2e/%2e%2e/etc/passwd", "/" + "p" * 8000, "/%ff%fe", "/console/api/", "/console/api/nothing"]:
        cases.append(Case("GET %s | unrouted path" % _short(path), lambda p=path: _answer(requests.get(env.server.url + p, timeout=TIMEOUT)),
                          "other", transport=True))
    ts = now()
    sig_line = "Authorization: TC3-HMAC-SHA256 Credential=%s/2024-01-01/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=%s\r\n" % (
        k.secret_id, "0" * 64)
    head = "Host: %s\r\nContent-Type: application/json\r\nX-TC-Action: GetAttributeKey\r\nX-TC-Version: %s\r\nX-TC-Timestamp: %d\r\n%s" % (
        env.server.endpoint, VERSION, ts, sig_line)
    raw = [
        ("raw invalid UTF-8 in the query", b"GET /?Action=LookUpEvents&StartTime=\xff\xfe&EndTime=\xc0\xaf HTTP/1.1\r\n" + head.encode() + b"Connection: close\r\n\r\n", False),
        ("raw invalid UTF-8 in the path", b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False),
        ("raw bad chunk size", b"POST / HTTP/1.1\r\n" + head.encode() + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", False),
        ("raw chunk size 2^64", b"POST / HTTP/1.1\r\n" + head.encode() + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n", True),
        ("raw Content-Length and Transfer-Encoding", b"POST / HTTP/1.1\r\n" + head.encode() + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n", False),
        ("raw Content-Length negative", b"POST / HTTP/1.1\r\n" + head.encode() + b"Content-Length: -5\r\nConnection: close\r\n\r\n{}", True),
        ("raw Content-Length 2^64", b"POST / HTTP/1.1\r\n" + head.encode() + b"Content-Length: 18446744073709551616\r\nConnection: close\r\n\r\n{}", True),
        ("raw Content-Length longer than the body", b"POST / HTTP/1.1\r\n" + head.encode() + b"Content-Length: 100\r\nConnection: close\r\n\r\n{}", True),
        ("raw HTTP/1.0 without Host", b"POST / HTTP/1.0\r\nContent-Type: application/json\r\nX-TC-Action: GetAttributeKey\r\nContent-Length: 2\r\n\r\n{}", False),
        ("raw absolute-form target", b"GET http://evil.example/?Action=GetAttributeKey HTTP/1.1\r\n" + head.encode() + b"Connection: close\r\n\r\n", False),
        ("raw header without colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: close\r\n\r\n", False),
        ("raw obs-fold header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\nConnection: close\r\n\r\n", False),
        ("raw request line of garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(rng.randrange(256) for _ in range(300)), True),
        ("raw HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", True),
    ]
    for label, data, half in raw:
        cases.append(Case("%s | transport" % label, lambda d=data, h=half: raw_http(env.server, d, half_close=h), "api", transport=True))
    # /healthz, hostile and plain
    for path in ["/healthz?%ff%fe", "/healthz?" + "a=1&" * 2000, "/healthz?x=" + "y" * 100000]:
        cases.append(Case("GET %s | healthz" % _short(path), lambda p=path: _answer(requests.get(env.server.url + p, timeout=TIMEOUT)),
                          "health", transport=True))
    for method in ["POST", "DELETE"]:
        cases.append(Case("%s /healthz" % method, lambda m=method: _answer(requests.request(m, env.server.url + "/healthz", data=b"x" * 1000, timeout=TIMEOUT)), "other"))
    cases.append(Case("GET /healthz with a 60 KB header", lambda: _answer(requests.get(env.server.url + "/healthz", headers={"X-Junk": "j" * 60000}, timeout=TIMEOUT)),
                      "health", transport=True))
    barrage.run_all("transport", cases)
    finish(barrage, "transport")


def test_hostile_console(env, barrage):
    rng = random.Random("%s-console" % SEED)
    srv = env.server
    url = srv.url
    cases = []

    def sign_in_case(label, data, headers=None, expect=None, transport=False):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return Case("console sign-in | %s" % label, lambda: _answer(requests.post(url + "/console/api/session", data=data, headers=h, timeout=TIMEOUT)),
                    "session-post", expect=expect, transport=transport)

    # sign-in bodies refused before any credential check (no throttling delay)
    bodies = [b"", b"null", b"[]", b"1", b'"x"', b"{", b"{\"SecretId\":\xff}", DEEP_BODIES[0], DEEP_BODIES[1],
              b"{\"SecretId\": \"\xff\xfe\", \"SecretKey\": \"x\"}", json.dumps({"x": "y" * (1 << 20)}).encode()]
    objs = [{"SecretId": 1}, {"SecretId": None}, {"SecretId": [], "SecretKey": "x"}, {"SecretId": "", "SecretKey": ""},
            {"SecretId": "A" * 129, "SecretKey": "x"}, {"SecretId": "x", "SecretKey": "y" * 257}, {"SecretId": "x", "SecretKey": None},
            {"AccountId": None}, {"AccountId": 1.5, "Password": "p"}, {"AccountId": "abc", "Password": "p"}, {"AccountId": [], "Password": "p"},
            {"AccountId": I64_MAX, "Role": "root", "Password": "p"}, {"AccountId": env.account_id, "Role": None, "Password": ""},
            {"AccountId": env.account_id, "Password": 5}, {"AccountId": str(2 ** 64), "Password": "p"}, {"AccountId": "-0", "Role": "service", "Password": "p"},
            {"AccountId": env.account_id, "Role": "ingest", "Password": "p" * 20}, {"AccountId": env.account_id, "Role": "\u0000", "Password": "p"}]
    for b in bodies:
        cases.append(sign_in_case(_short(b.decode("latin-1"), 40), b, expect={"InvalidParameter"}))
    for o in objs:
        cases.append(sign_in_case(_short(o, 60), json.dumps(o).encode(), expect={"InvalidParameter"}))
    cases.append(sign_in_case("an ingest key", json.dumps({"SecretId": env.ingest.secret_id, "SecretKey": env.ingest.secret_key}).encode(),
                              expect={"AuthFailure.UnauthorizedOperation"}))
    for origin in ["https://evil.example", "null", "http://[::1", "javascript:alert(1)", "o" * 10000, "http://127.0.0.1:1"]:
        cases.append(sign_in_case("Origin %s" % _short(origin, 40), json.dumps({"SecretId": env.admin.secret_id, "SecretKey": env.admin.secret_key}).encode(),
                                  headers={"Origin": origin}, expect={"OriginNotAllowed"}))
    # credentials that fail (each costs the throttle's delay; a good sign-in in between resets it)
    for label, o in [("unknown key", {"SecretId": "AKID" + "1" * 32, "SecretKey": "x"}),
                     ("the other tenant's key, wrong secret", {"SecretId": env.other.secret_id, "SecretKey": "wrong"}),
                     ("password of an account without one", {"AccountId": env.account_id, "Role": "admin", "Password": "p" * 20})]:
        cases.append(sign_in_case(label, json.dumps(o).encode(), expect={"AuthFailure.SignInFailed"}))
        cases.append(Case("console sign-in | a good one (resets the throttle)", lambda: _answer(requests.post(
            url + "/console/api/session", json={"SecretId": env.auditor.secret_id, "SecretKey": env.auditor.secret_key}, timeout=TIMEOUT)),
            "session-post"))

    # api/call with the session and its CSRF token: every action, hostile Params
    tpls = templates(env)
    actions = sorted(API_ACTIONS) + sorted(CONSOLE_ACTIONS)
    for action in _order(actions):
        muts = body_mutations(rng, action, tpls[action])
        for label, params in rng.sample(muts, min(8, len(muts))):
            body = b'{"Action": "%s", "Params": ' % action.encode() + (params if params.strip() else b"null") + b"}"
            cases.append(call_case(env, body, "%s Params %s" % (action, label),
                                   expect={"InvalidAction", "InvalidParameter"} if action == "PutEvents" else None,
                                   allow_success=action != "PutEvents"))
        cases.append(call_case(env, json.dumps({"Action": action, "Params": tpls[action]}).encode(), "%s as the page sends it" % action,
                               expect={"InvalidAction"} if action == "PutEvents" else None, allow_success=action != "PutEvents"))
    # the query actions' times at the ends of the range, through the console (its summaries included)
    t = now()
    for action in ("DescribeEventStats", "LookUpEvents", "DescribeEvents"):
        for end in TIME_VALUES[:6]:
            params = {"StartTime": t - 3600, "EndTime": end}
            cases.append(call_case(env, json.dumps({"Action": action, "Params": params}).encode(), "%s EndTime=%s" % (action, _short(end))))
        cases.append(call_case(env, json.dumps({"Action": action, "Params": {"StartTime": I64_MIN, "EndTime": t}}).encode(),
                               "%s StartTime=%d" % (action, I64_MIN)))
    cases.append(call_case(env, json.dumps({"Action": "DescribeEventStats", "Params": {"StartTime": t - 3600, "EndTime": t, "Buckets": I64_MAX}}).encode(),
                           "DescribeEventStats Buckets=%d" % I64_MAX))
    for label, body in [("empty", b""), ("null", b"null"), ("[]", b"[]"), ("no Action", b"{}"), ("Action 1", b'{"Action": 1}'),
                        ("Action null", b'{"Action": null}'), ("Action 10 KB", json.dumps({"Action": "A" * 10000}).encode()),
                        ("Action NUL", json.dumps({"Action": "LookUpEvents\u0000"}).encode()), ("Params []", b'{"Action": "ListAudits", "Params": []}'),
                        ("Params string", b'{"Action": "ListAudits", "Params": "x"}'), ("Params 1000 deep", b'{"Action": "ListAudits", "Params": ' + DEEP_BODIES[1] + b"}"),
                        ("invalid UTF-8", b'{"Action": "List\xffAudits"}'), ("1 MB body", json.dumps({"Action": "ListAudits", "Params": {"x": "y" * (1 << 20)}}).encode()),
                        ("2 MB body", json.dumps({"Action": "ListAudits", "Params": {"x": "y" * (2 << 20)}}).encode()),
                        ("truncated", b'{"Action": "ListAudits", "Par'), ("duplicate Action", b'{"Action": "ListAudits", "Action": "DeleteAuditTrack", "Params": {"TrackId": 987654321}}')]:
        cases.append(call_case(env, body, "body " + label))
    # without the CSRF token, with a wrong one, without the session, with forged cookies
    call_body = json.dumps({"Action": "ListAudits", "Params": {}}).encode()
    for label, token in [("no X-CSRF-Token", None), ("empty X-CSRF-Token", ""), ("truncated X-CSRF-Token", env.csrf[:-1]),
                         ("another X-CSRF-Token", "A" * len(env.csrf)), ("X-CSRF-Token 8 KB", "c" * 8000),
                         ("X-CSRF-Token bytes", b"\xff\xfe" + env.csrf.encode())]:
        if token is None:
            cases.append(call_case(env, call_body, label, csrf=False, expect={"CsrfTokenInvalid"}))
        elif token == "":
            cases.append(call_case(env, call_body, label, csrf=False, headers={"X-CSRF-Token": ""}, expect={"CsrfTokenInvalid"}))
        else:
            cases.append(call_case(env, call_body, label, csrf=token, expect={"CsrfTokenInvalid"}))
    cases.append(call_case(env, call_body, "Origin of another site", headers={"Origin": "https://evil.example"}, expect={"OriginNotAllowed"}))
    cookie = env.session.cookies.get("cloudaudit_session") or ""
    forged = ["", "x", cookie[:-1], cookie + "x", "A" * 10000, "%ff%fe", cookie.upper(), "\u00e9".encode("utf-8").decode("latin-1"),
              ";;;;", "=====", "cloudaudit_session=" + cookie]
    for c in forged:
        cases.append(Case("console call | forged cookie %s" % _short(c, 40), lambda c=c: _answer(requests.post(
            url + "/console/api/call", data=call_body, timeout=TIMEOUT,
            headers={"Content-Type": "application/json", "X-CSRF-Token": env.csrf, "Cookie": ("cloudaudit_session=" + c).encode("latin-1")})),
            "call", expect={"NotSignedIn", "SessionExpired"}))
        cases.append(Case("console session | forged cookie %s" % _short(c, 40), lambda c=c: _answer(requests.get(
            url + "/console/api/session", timeout=TIMEOUT, headers={"Cookie": ("cloudaudit_session=" + c).encode("latin-1")})),
            "session-get", expect={"NotSignedIn", "SessionExpired"}))
    cases.append(Case("console call | 60 KB cookie", lambda: _answer(requests.post(url + "/console/api/call", data=call_body, timeout=TIMEOUT,
                      headers={"Content-Type": "application/json", "X-CSRF-Token": env.csrf, "Cookie": "a=" + "b" * 60000})), "call", transport=True))
    cases.append(Case("console call | 300 cookies", lambda: _answer(requests.post(url + "/console/api/call", data=call_body, timeout=TIMEOUT,
                      headers={"Content-Type": "application/json", "X-CSRF-Token": env.csrf,
                               "Cookie": "; ".join("c%d=%d" % (i, i) for i in range(300)) + "; cloudaudit_session=" + cookie})), "call", transport=True))
    cases.append(call_case(env, call_body, "signed out", session=False, csrf=False, expect={"NotSignedIn"}))
    for label, headers, expect in [("no X-CSRF-Token", {}, {"CsrfTokenInvalid"}), ("wrong X-CSRF-Token", {"X-CSRF-Token": "x"}, {"CsrfTokenInvalid"}),
                                   ("Origin of another site", {"X-CSRF-Token": env.csrf, "Origin": "https://evil.example"}, {"OriginNotAllowed"})]:
        cases.append(Case("console sign-out | %s" % label, lambda h=headers: _answer(env.session.delete(url + "/console/api/session", headers=h, timeout=TIMEOUT)),
                          "session-delete", expect=expect))
    cases.append(Case("console sign-out | signed out", lambda: _answer(requests.delete(url + "/console/api/session", headers={"X-CSRF-Token": "x"}, timeout=TIMEOUT)),
                      "session-delete", expect={"NotSignedIn"}))

    # the export
    t = now()
    la = lambda v: quote(json.dumps(v), safe="")  # noqa: E731
    exports = [
        "format=jsonl&StartTime=%d&EndTime=%d" % (t - 60, t), "format=csv&StartTime=%d&EndTime=%d" % (t - 60, t),
        "StartTime=%d&EndTime=%d" % (t - 60, t), "format=&StartTime=%d&EndTime=%d" % (t - 60, t),
        "format=xml&StartTime=%d&EndTime=%d" % (t - 60, t), "format=CSV&StartTime=%d&EndTime=%d" % (t - 60, t),
        "format=%%ff%%fe&StartTime=%d&EndTime=%d" % (t - 60, t), "format=" + "j" * 2000, "format=jsonl", "",
        "format=jsonl&StartTime=%d&EndTime=%d&LookupAttributes=" % (t - 60, t),
        "format=jsonl&StartTime=%d&EndTime=%d&LookupAttributes=%s" % (t - 3600, t, la([{"AttributeKey": "EventSource", "AttributeValue": env.seeded_source}])),
        "format=jsonl&StartTime=%d&EndTime=%d&LookupAttributes=%s" % (t - 3600, t, la([{"AttributeKey": "EventSource", "AttributeValue": env.other_source}])),
        "format=csv&StartTime=%d&EndTime=%d&LookupAttributes=%s" % (t - 3600, t, la([{"AttributeKey": "Nope", "AttributeValue": "x"}])),
        "format=csv&StartTime=%d&EndTime=%d&LookupAttributes=%s" % (t - 60, t, la({"AttributeKey": "EventName"})),
        "format=csv&StartTime=%d&EndTime=%d&LookupAttributes=%%5B" % (t - 60, t),
        "format=csv&StartTime=%d&EndTime=%d&LookupAttributes=%s" % (t - 60, t, quote("[" * 1000 + "]" * 1000, safe="")),
        "format=csv&StartTime=%d&EndTime=%d&LookupAttributes=%%ff%%fe" % (t - 60, t),
        "format=csv&StartTime=%d&EndTime=%d&LookupAttributes.0.AttributeKey=EventName&LookupAttributes.0.AttributeValue=x" % (t - 60, t),
        "format=csv&StartTime=%d&EndTime=%d&MaxResults=100000" % (t - 60, t),
        "format=jsonl&StartTime=%d&EndTime=%d&AccountId=%d" % (t - 60, t, env.other_account_id),
        "format=csv&" + ".".join(["k"] * 200) + "=1&StartTime=%d&EndTime=%d" % (t - 60, t),
    ]
    for start, end in [(t - 60, I64_MAX), (t - 60, I64_MAX - 1), (t - 60, 2 ** 62), (t - 60, 10 ** 12), (I64_MIN, t), (I64_MIN, I64_MAX),
                       (t, t - 1), (-1, t), ("x", t), (t - 60, "9223372036854775808"), (t - 60, "1e3")]:
        exports.append("format=jsonl&StartTime=%s&EndTime=%s" % (start, end))
    for qs in exports:
        cases.append(Case("console export | %s" % _short(qs, 100), lambda qs=qs: _stream(env.session, url + "/console/api/export?" + requote_uri(qs)), "export"))
    cases.append(Case("console export | signed out", lambda: _stream(requests, url + "/console/api/export?format=csv&StartTime=%d&EndTime=%d" % (t - 60, t)),
                      "export", expect={"NotSignedIn"}))
    cases.append(Case("console export | Origin of another site", lambda: _stream(env.session, url + "/console/api/export?format=csv&StartTime=%d&EndTime=%d" % (t - 60, t),
                      headers={"Origin": "https://evil.example"}), "export", expect={"OriginNotAllowed"}))
    # the page's files
    for name in ["..%2f..%2fetc%2fpasswd", "%00", "a" * 5000, "%ff%fe", "%2e%2e", "app.js%00.png", "index.html"]:
        cases.append(Case("console asset | %s" % _short(name, 40), lambda n=name: _answer(requests.get(url + "/console/assets/" + n, timeout=TIMEOUT)),
                          "asset"))
    barrage.run_all("console", cases)
    finish(barrage, "console")


def test_hostile_headers_do_not_keep_a_call_out_of_the_self_audit(env, barrage):
    """Every call but PutEvents is recorded in the caller's account, refused ones included (API.md,
    Self-audit): whatever a client puts in the headers that the record copies (X-TC-Region, User-Agent,
    X-TC-Action) or in its parameters, the call must still show up under its RequestId. An audit trail that
    a caller can step out of by sending a long region is no audit trail."""
    t = now()
    q = json.dumps({"StartTime": t - 60, "EndTime": t, "MaxResults": 1}).encode()
    calls = [
        ("LookUpEvents", q, {"X-TC-Region": "r" * 200}, "a successful read with a 200-character X-TC-Region"),
        ("DescribeAuditTracks", json.dumps({"PageNumber": 1, "PageSize": 10}).encode(), {"X-TC-Region": "r" * 5000},
         "a successful read with a 5000-character X-TC-Region"),
        ("DeleteAuditTrack", json.dumps({"TrackId": 987654321}).encode(), {"X-TC-Region": "r" * 300}, "a refused write with a long X-TC-Region"),
        ("StopLogging", json.dumps({"AuditName": env.audit_name}).encode(), {"X-TC-Region": "r" * 129}, "StopLogging with a 129-character X-TC-Region"),
        ("StartLogging", json.dumps({"AuditName": env.audit_name}).encode(), {"X-TC-Region": "r" * 129}, "StartLogging with a 129-character X-TC-Region"),
        ("LookUpEvents", q, {"X-TC-Region": ("ap-\u4e2d\u6587" * 30).encode("utf-8")}, "X-TC-Region of 60 non-ASCII characters"),
        ("LookUpEvents", q, {"User-Agent": "u" * 30000}, "a 30 KB User-Agent"),
        ("LookUpEvents", q, {"User-Agent": ("ua \u00e9\u4e2d" * 300).encode("utf-8")}, "a User-Agent of 1500 non-ASCII characters"),
        ("GetAttributeKey", json.dumps({"WebsiteType": "en", "Pad": "p" * 300000}).encode(), {}, "300 KB of parameters"),
        # one user-perceived character: a letter and 150000 combining accents (300 KB of UTF-8)
        ("GetAttributeKey", json.dumps({"WebsiteType": "en", "Pad": "a" + "\u0301" * 150000}, ensure_ascii=False).encode(), {},
         "300 KB of parameters in one character (a letter and 150000 combining marks)"),
        ("GetAttributeKey", b"{}", {"User-Agent": ("a" + "\u0301" * 20000).encode("utf-8")}, "a User-Agent of one character (20000 combining marks)"),
        ("A" * 5000, b"{}", {}, "an unknown action of 5000 characters"),
        ("\u4e2d" * 100, b"{}", {"X-TC-Action": ("\u4e2d" * 100).encode("utf-8")}, "an unknown action of 100 non-ASCII characters"),
    ]
    missing = []
    for action, body, headers, label in calls:
        r = raw_call(env.server, env.admin.secret_id, env.admin.secret_key, action, body=body, extra_headers=headers, timeout=TIMEOUT)
        assert r.status_code == 200, "%s: HTTP %s %r" % (label, r.status_code, r.text[:200])
        rid = r.json()["Response"]["RequestId"]
        deadline = time.time() + 3  # the self-audit is written asynchronously, visible within about a second
        while True:
            found = lookup(env.admin, start=t - 60, end=now() + 60, attrs=[("RequestId", rid)])["Events"]
            if found or time.time() > deadline:
                break
            time.sleep(0.2)
        if not found:
            missing.append("%s (%s, answered %s)" % (label, _short(action, 30), (r.json()["Response"].get("Error") or {}).get("Code", "OK")))
    # the console records its calls the same way
    for label, params in [("console: 300 KB of Params in one character", {"WebsiteType": "en", "Pad": "a" + "\u0301" * 150000}),
                          ("console: 300 KB of Params", {"WebsiteType": "en", "Pad": "p" * 300000})]:
        r = env.session.post(env.server.url + "/console/api/call", data=json.dumps({"Action": "GetAttributeKey", "Params": params}, ensure_ascii=False).encode(),
                             headers={"X-CSRF-Token": env.csrf, "Content-Type": "application/json"}, timeout=TIMEOUT)
        assert r.status_code == 200, "%s: HTTP %s %r" % (label, r.status_code, r.text[:200])
        rid = r.json()["Response"]["RequestId"]
        deadline = time.time() + 3
        while True:
            found = lookup(env.admin, start=t - 60, end=now() + 60, attrs=[("RequestId", rid)])["Events"]
            if found or time.time() > deadline:
                break
            time.sleep(0.2)
        if not found:
            missing.append("%s (answered %s)" % (label, (r.json()["Response"].get("Error") or {}).get("Code", "OK")))
    assert not missing, "calls missing from the caller's self-audit trail:\n  " + "\n  ".join(missing)


# docs/contract.md, "Limits on what a client sends" (keep in step with it)
MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024
MAX_HEAD_BYTES = 80 * 1024
MAX_AUTHORIZATION_BYTES = 4 * 1024


def test_documented_transport_limits(env, barrage):
    """docs/contract.md, "Limits on what a client sends": at most MAX_HEADERS headers, MAX_HEADER_BYTES per
    header and MAX_HEAD_BYTES for the request line and headers together (past these the HTTP layer answers
    400); the Authorization header at most MAX_AUTHORIZATION_BYTES (AuthFailure.InvalidAuthorization). Within
    them, the request is answered as usual (here: an unsigned request, so InvalidAuthorization)."""
    url = env.server.url + "/"
    base = {"X-TC-Action": "GetAttributeKey", "X-TC-Version": VERSION, "X-TC-Timestamp": str(now()), "Content-Type": "application/json"}
    problems = []

    def post(headers):
        return requests.post(url, data=b"{}", headers=dict(base, **headers), timeout=TIMEOUT)

    def expect(label, r, status, code=None):
        got_code = None
        if r.status_code == 200:
            got_code = ((r.json().get("Response") or {}).get("Error") or {}).get("Code")
        if r.status_code != status or (code and got_code != code):
            problems.append("%s: expected HTTP %s%s, got HTTP %s %s" % (label, status, " " + code if code else "", r.status_code, got_code or r.text[:80]))

    unsigned = "AuthFailure.InvalidAuthorization"
    big, over = MAX_HEADER_BYTES - 2048, MAX_HEADER_BYTES + 2048
    expect("one header of %d bytes" % big, post({"X-Junk": "j" * big}), 200, unsigned)
    expect("one header of %d bytes (over the per-header limit)" % over, post({"X-Junk": "j" * over}), 400)
    n_in, n_out = (MAX_HEAD_BYTES - 8192) // 10000, (MAX_HEAD_BYTES + 8192) // 10000 + 1
    expect("%d headers of 10 KB" % n_in, post({"X-Junk-%d" % i: "j" * 10000 for i in range(n_in)}), 200, unsigned)
    expect("%d headers of 10 KB (over the total)" % n_out, post({"X-Junk-%d" % i: "j" * 10000 for i in range(n_out)}), 400)
    # requests adds Host, User-Agent, Accept-Encoding, Accept, Connection and Content-Length to the 4 above
    expect("%d headers in all" % MAX_HEADERS, post({"X-H-%d" % i: "v" for i in range(MAX_HEADERS - 10)}), 200, unsigned)
    expect("%d headers in all" % (MAX_HEADERS + 50), post({"X-H-%d" % i: "v" for i in range(MAX_HEADERS + 40)}), 400)
    auth = "TC3-HMAC-SHA256 Credential=%s/2024-01-01/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=" % env.admin.secret_id
    for size in (MAX_AUTHORIZATION_BYTES + 1, 3 * MAX_AUTHORIZATION_BYTES):
        expect("an Authorization header of %d bytes" % size, post({"Authorization": auth + "a" * (size - len(auth))}), 200, unsigned)
    assert env.server.healthy(TIMEOUT), "the server stopped answering /healthz"
    assert not problems, "limits not as documented:\n  " + "\n  ".join(problems)


def test_state_intact_and_server_alive_after_the_barrage(env, barrage):
    """Runs last: the 50 seeded events read back byte-identical, the other tenant's tracking set, audit and
    events are as they were, and the process that took the barrage is alive (restarts are failures of
    the categories that caused them)."""
    srv = env.server
    srv.assert_up(after="the barrage")
    assert srv.alive()
    after = {e["EventId"]: e["CloudAuditEvent"] for e in lookup_all(env.admin, [("EventSource", env.seeded_source)], start=env.start, end=env.end)}
    assert sorted(after) == sorted(env.seeded), "the seeded events changed: %d before, %d after; missing %s, new %s" % (
        len(env.seeded), len(after), sorted(set(env.seeded) - set(after))[:5], sorted(set(after) - set(env.seeded))[:5])
    changed = [eid for eid in env.seeded if after[eid] != env.seeded[eid]]
    assert not changed, "seeded records were rewritten: %s, e.g. %r -> %r" % (changed[:5], env.seeded[changed[0]][:200], after[changed[0]][:200])
    for eid in sorted(env.seeded)[:3]:
        r = lookup(env.admin, start=env.start, end=env.end, attrs=[("EventId", eid)])
        assert [e["EventId"] for e in r["Events"]] == [eid] and record_of(r["Events"][0]) == json.loads(env.seeded[eid])
    now_other = _other_snapshot(env.other, env.other_track_id, env.other_audit_name, env.other_source, env.start, env.end)
    assert now_other == env.other_snapshot, "the other tenant's data changed: %r -> %r" % (env.other_snapshot, now_other)
    print("hostile suite: %d requests sent so far, %d restarts" % (barrage.sent, barrage.restarts))
    assert barrage.restarts == 0, "the server had to be restarted %d times during the barrage (crashes/hangs: see the other tests)" % barrage.restarts


def test_every_action_of_the_action_table_is_covered():
    """Keeps API_ACTIONS in step with the server's action table (read from the source when it is here)."""
    import re

    src = REPO / "Sources"
    if not src.is_dir():
        pytest.skip("no Sources/ next to the tests")
    names = set()
    for p in list((src / "AuditAPI").rglob("*.swift")) + list((src / "AuditConsole").rglob("*.swift")):
        names |= set(re.findall(r'ActionDefinition\(name: "(\w+)"', p.read_text(encoding="utf-8")))
    missing = names - set(API_ACTIONS) - set(CONSOLE_ACTIONS)
    assert not missing, "actions the barrage does not cover: %s" % sorted(missing)
