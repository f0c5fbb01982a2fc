"""Helpers for the black-box suite: start the real `cloudaudit` binary, create accounts and keys
through its admin CLI, and talk to it only through the official Tencent Cloud Python SDK, tccli,
the `cloudaudit` client commands, or hand-signed TC3 requests (for the cases the SDK cannot produce,
such as an expired timestamp).

Nothing here knows how the server is written: every expectation comes from ../shared/API.md and
docs/contract.md.
"""

import hashlib
import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from tencentcloud.cloudaudit.v20190319 import cloudaudit_client, models
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.sign import Sign

import storage_backend

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("CLOUDAUDIT_BIN") or str(REPO / ".build" / "debug" / "cloudaudit")
SERVICE = "cloudaudit"
VERSION = "2019-03-19"
REGION = "ap-guangzhou"
DEFAULT_ACCOUNT_ID = 100000000001
DAY = 86400

# Generous: a debug build on a loaded 2-core machine.
START_TIMEOUT = float(os.environ.get("CLOUDAUDIT_START_TIMEOUT", "90"))
CLI_TIMEOUT = 120
REQ_TIMEOUT = 60


# --------------------------------------------------------------------------------------------------
# small utilities


def uid(prefix="t"):
    """A value no other test (or earlier run) uses: tests filter on these to stay independent."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:16])


def now():
    return int(time.time())


# Set per test by conftest (autouse fixture): the default query window is fixed for the whole test, so
# that consecutive pages are the same query (a NextToken belongs to one query, its times included).
WINDOW_ANCHOR = None


def window(back=3600, ahead=600):
    """A (StartTime, EndTime) pair around the test's start, wide enough for the events a test puts."""
    t = WINDOW_ANCHOR or now()
    return t - back, t + ahead


def random_secret_id():
    return "AKID" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


def random_secret_key():
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    """The caller's environment without anything that could change which credentials or keys a child
    process uses; tests add exactly what they mean."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CLOUDAUDIT_") and not k.startswith("TENCENTCLOUD_") and not k.startswith("TCCLI_")
    }
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def binary_available():
    return os.path.isfile(BIN) and os.access(BIN, os.X_OK)


# --------------------------------------------------------------------------------------------------
# the server process


class ServerStartError(RuntimeError):
    pass


class Server:
    """One `cloudaudit serve` process on a loopback port with its own data directory."""

    def __init__(self, data_dir, log_path, root_id=None, root_key=None, extra_args=(), env=None, ca_file=None):
        """`ca_file`: the server speaks HTTPS (its --tls-cert and --tls-key in `extra_args`) with a
        certificate that this CA file verifies; every request and SDK client of this server then uses it."""
        self.ca_file = str(ca_file) if ca_file else None
        self.data_dir = str(data_dir)
        self.log_path = str(log_path)
        self.root_id = root_id
        self.root_key = root_key
        self.extra_args = list(extra_args)
        self.env_extra = dict(env or {})
        self.port = None
        self.proc = None

    # -- lifecycle

    def env(self):
        extra = dict(self.env_extra)
        if self.root_id is not None:
            extra["CLOUDAUDIT_ROOT_SECRET_ID"] = self.root_id
            extra["CLOUDAUDIT_ROOT_SECRET_KEY"] = self.root_key
        if "CLOUDAUDIT_STORE" not in extra:
            extra.update(storage_backend.store_env(self.data_dir, extra))
        return clean_env(**extra)

    def start(self, port=None):
        if not binary_available():
            raise ServerStartError(
                "server binary not found or not executable: %s (build it with `swift build`, or set "
                "CLOUDAUDIT_BIN)" % BIN
            )
        self.port = port or self.port or free_port()
        os.makedirs(self.data_dir, exist_ok=True)
        cmd = [
            BIN, "serve",
            "--data-dir", self.data_dir,
            "--host", "127.0.0.1",
            "--port", str(self.port),
        ] + self.extra_args
        log = open(self.log_path, "ab")
        log.write(("\n==== %s $ %s\n" % (datetime.now().isoformat(), " ".join(cmd))).encode())
        log.flush()
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env(), start_new_session=True
        )
        log.close()
        deadline = time.time() + START_TIMEOUT
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    "server exited with %s during start-up; log tail:\n%s" % (self.proc.returncode, self.log_tail())
                )
            try:
                r = requests.get(self.url + "/healthz", timeout=2, verify=self.verify)
                if r.status_code == 200:
                    return self
                last = "HTTP %s %r" % (r.status_code, r.text[:200])
            except requests.RequestException as e:
                last = str(e)
            time.sleep(0.1)
        self.kill9()
        raise ServerStartError("server not healthy after %ss (%s); log tail:\n%s" % (START_TIMEOUT, last, self.log_tail()))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal the server and wait; returns its exit status (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL
            self.proc.wait(timeout=10)
        if self.proc is not None:
            # The server runs in a session of its own (start_new_session): a helper it forked, such as the
            # Swift runtime's backtracer after a crash, would keep the listening port; end that group too.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def restart(self):
        self.stop()
        return self.start(port=self.port)

    def alive(self):
        """The process is running (it has not exited, crashed or been killed)."""
        return self.proc is not None and self.proc.poll() is None

    def exit_description(self):
        """How the process ended, for failure messages: `exit 1`, `signal SIGTRAP`, or `running`."""
        if self.proc is None:
            return "never started"
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return "signal %s" % signal.Signals(-rc).name
            except ValueError:
                return "signal %d" % -rc
        return "exit %d" % rc

    def healthy(self, timeout=5.0):
        """Alive and answering GET /healthz with 200 {"status": "ok"} within `timeout` seconds."""
        if not self.alive():
            return False
        try:
            r = requests.get(self.url + "/healthz", timeout=timeout, verify=self.verify)
            return r.status_code == 200 and r.json() == {"status": "ok"}
        except (requests.RequestException, ValueError):
            return False

    def assert_up(self, after="", timeout=10.0):
        """Fail (with the log's tail) unless the process is alive and /healthz answers."""
        what = (" after " + after) if after else ""
        if not self.alive():
            raise AssertionError("the server died%s (%s); log tail:\n%s" % (what, self.exit_description(), self.log_tail(25)))
        try:
            r = requests.get(self.url + "/healthz", timeout=timeout)
        except requests.RequestException as e:
            raise AssertionError("GET /healthz failed%s (%s: %s); the process is %s" % (
                what, type(e).__name__, e, self.exit_description()))
        assert r.status_code == 200 and r.json() == {"status": "ok"}, "GET /healthz%s answered %s %r" % (
            what, r.status_code, r.text[:200])

    def log_size(self):
        """A mark in the log (its size in bytes now): `log_since(mark)`, `crashing(mark)` and
        `crash_report(mark)` read only what came after it."""
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_since(self, mark=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def crashing(self, since=0):
        """The log since the mark `since` shows the Swift runtime handling a crash (it may still be writing
        its backtrace, which takes seconds, before the process exits)."""
        text = self.log_since(since)
        return any(m in text for m in ("*** Signal ", "Fatal error", "crashed:", "Program crashed"))

    def crash_report(self, since=0):
        """One line from the log since the mark `since` saying why the process crashed and where: the
        runtime's message and the first frames of the crashed thread (`Thread N crashed:`), or ""."""
        lines = self.log_since(since).splitlines()
        fatal = [ln.strip() for ln in lines if "Fatal error" in ln][:1]
        for i, ln in enumerate(lines):
            if ln.rstrip().endswith("crashed:"):
                frames = []
                for f in lines[i + 1:i + 12]:
                    f = f.strip()
                    if not f or not f[0].isdigit():
                        if frames:
                            break
                        continue
                    # "1  0x... static Foo.bar(_:) + 757 in cloudaudit at /path/File.swift:96:32"
                    what = f.split(" in ", 1)[0]
                    what = what.split("0x", 1)[-1].split(" ", 1)[-1] if "0x" in what else what
                    where = f.rsplit("/", 1)[-1] if " at /" in f else ""
                    frames.append("%s (%s)" % (what.strip(), where) if where else what.strip())
                    if len(frames) == 3:
                        break
                return "; ".join(fatal + frames)
        return "; ".join(fatal)

    def ensure_healthy(self, timeout=5.0):
        """Restart the server (same port and data) unless it is alive and healthy; True if it was."""
        if self.healthy(timeout):
            return True
        self.kill9()
        self.start(port=self.port)
        return False

    # -- addresses

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.ca_file else "http", self.port)

    @property
    def verify(self):
        """What `requests` checks this server's certificate with (`verify=`)."""
        return self.ca_file or True

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    # -- admin CLI on this server's data dir

    def cli(self, *args, check=True, env=None, input=None, timeout=CLI_TIMEOUT):
        return run_cli(list(args) + ["--data-dir", self.data_dir], check=check, env=env or self.cli_env(),
                       input=input, timeout=timeout)

    def cli_env(self):
        # The admin CLI must find the same master key as the server: pass CLOUDAUDIT_MASTER_KEY when
        # the server was given one; otherwise both read <data-dir>/master.key.
        extra = {}
        if "CLOUDAUDIT_MASTER_KEY" in self.env_extra:
            extra["CLOUDAUDIT_MASTER_KEY"] = self.env_extra["CLOUDAUDIT_MASTER_KEY"]
        return clean_env(**extra)

    def create_account(self, name=None, retention_days=None):
        args = ["accounts", "create", "--name", name or uid("acct")]
        if retention_days is not None:
            args += ["--retention-days", str(retention_days)]
        out = parse_json_output(self.cli(*args))
        assert isinstance(out.get("AccountId"), int), "accounts create must print a numeric AccountId: %r" % out
        return out

    def create_key(self, account_id, role):
        out = parse_json_output(self.cli("keys", "create", "--account", str(account_id), "--role", role))
        for f in ("SecretId", "SecretKey", "AccountId", "Role"):
            assert f in out, "keys create output lacks %s: %r" % (f, out)
        return Key(self, out["SecretId"], out["SecretKey"], int(out["AccountId"]), out["Role"])

    def root(self):
        return Key(self, self.root_id, self.root_key, DEFAULT_ACCOUNT_ID, "admin")


def start_server(base, extra_args=(), env=None):
    """A server in `base` (data/ and server.log) with random root credentials, started; when it cannot
    start, the test fails with its log's tail."""
    base = Path(base)
    srv = Server(base / "data", base / "server.log", root_id=random_secret_id(), root_key=random_secret_key(), extra_args=extra_args, env=env)
    try:
        srv.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    return srv


class ServerPool:
    """The extra servers of one test (`spawn_server`): made on demand, each killed at the test's end."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.started = []

    def make(self, root=True, extra_args=(), env=None, data_dir=None, name=None):
        name = name or "srv%d" % len(self.started)
        kw = dict(root_id=random_secret_id(), root_key=random_secret_key()) if root else {}
        srv = Server(data_dir or (self.tmp_path / name / "data"), self.tmp_path / (name + ".log"), extra_args=extra_args, env=env, **kw)
        os.makedirs(self.tmp_path / name, exist_ok=True)
        self.started.append(srv)
        return srv

    def kill_all(self):
        for srv in self.started:
            srv.kill9()


class CLIError(AssertionError):
    pass


def run_cli(args, check=True, env=None, input=None, timeout=CLI_TIMEOUT):
    cmd = [BIN] + [str(a) for a in args]
    env = dict(env if env is not None else clean_env())
    # A command on a data directory reaches that directory's store (another backend than the embedded
    # one: see storage_backend.py); `keys init` makes the keys and needs none, `--print-config` opens nothing.
    if "--data-dir" in cmd and "CLOUDAUDIT_STORE" not in env and cmd[1:3] != ["keys", "init"] and "--print-config" not in cmd:
        env.update(storage_backend.store_env(cmd[cmd.index("--data-dir") + 1], env))
    p = subprocess.run(
        cmd, input=input, capture_output=True, env=env, timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    p.stdout_text = p.stdout.decode("utf-8", "replace")
    p.stderr_text = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise CLIError("%s exited %s\nstdout: %s\nstderr: %s" % (" ".join(cmd), p.returncode, p.stdout_text[-2000:],
                                                              p.stderr_text[-2000:]))
    return p


def parse_json_output(p):
    try:
        return json.loads(p.stdout_text)
    except ValueError:
        raise AssertionError("expected JSON on stdout, got:\n%s\nstderr:\n%s" % (p.stdout_text[-2000:], p.stderr_text[-2000:]))


# --------------------------------------------------------------------------------------------------
# SDK access


def profile_for(server, method="POST", timeout=REQ_TIMEOUT):
    ca_file = getattr(server, "ca_file", None)
    scheme = "https" if ca_file else "http"
    hp = HttpProfile(endpoint=server.endpoint, protocol=scheme, reqMethod=method, reqTimeout=timeout, certification=ca_file)
    hp.scheme = scheme  # older SDKs read `scheme`
    return ClientProfile(httpProfile=hp)


@dataclass
class Key:
    server: Server
    secret_id: str
    secret_key: str
    account_id: int
    role: str

    def cred(self):
        return credential.Credential(self.secret_id, self.secret_key)

    def client(self, method="POST"):
        """The official CloudauditClient (the 19 official actions)."""
        return cloudaudit_client.CloudauditClient(self.cred(), REGION, profile_for(self.server, method))

    def common(self, version=VERSION, method="POST"):
        """CommonClient: any action (PutEvents is ours), same signing code."""
        return CommonClient(SERVICE, version, self.cred(), REGION, profile_for(self.server, method))

    # convenience wrappers -------------------------------------------------------------------------

    def put(self, events):
        return put_events(self, events)

    def put_ok(self, events):
        return put_ok(self, events)

    def lookup(self, **kw):
        return lookup(self, **kw)

    def describe(self, **kw):
        return describe(self, **kw)

    def lookup_all(self, attrs, **kw):
        return lookup_all(self, attrs, **kw)


def _client_of(who, method="POST"):
    return who.client(method) if isinstance(who, Key) else who


def _common_of(who):
    return who.common() if isinstance(who, Key) else who


def attrs_param(attrs):
    return [{"AttributeKey": k, "AttributeValue": v} for k, v in attrs]


def _request_model(cls, params):
    req = cls()
    req.from_json_string(json.dumps(params))
    return req


def lookup(who, start=None, end=None, attrs=(), max_results=None, next_token=None, method="POST"):
    """LookUpEvents through the official client; returns the response as a dict."""
    s, e = window()
    params = {"StartTime": s if start is None else start, "EndTime": e if end is None else end}
    if attrs:
        params["LookupAttributes"] = attrs_param(attrs)
    if max_results is not None:
        params["MaxResults"] = max_results
    if next_token is not None:
        params["NextToken"] = next_token
    resp = _client_of(who, method).LookUpEvents(_request_model(models.LookUpEventsRequest, params))
    return json.loads(resp.to_json_string())


def describe(who, start=None, end=None, attrs=(), max_results=None, next_token=None, is_return_location=None,
             method="POST"):
    """DescribeEvents through the official client; returns the response as a dict."""
    s, e = window()
    params = {"StartTime": s if start is None else start, "EndTime": e if end is None else end}
    if attrs:
        params["LookupAttributes"] = attrs_param(attrs)
    if max_results is not None:
        params["MaxResults"] = max_results
    if next_token is not None:
        params["NextToken"] = next_token
    if is_return_location is not None:
        params["IsReturnLocation"] = is_return_location
    resp = _client_of(who, method).DescribeEvents(_request_model(models.DescribeEventsRequest, params))
    return json.loads(resp.to_json_string())


def get_attribute_key(who, website_type=None, method="POST"):
    params = {}
    if website_type is not None:
        params["WebsiteType"] = website_type
    resp = _client_of(who, method).GetAttributeKey(_request_model(models.GetAttributeKeyRequest, params))
    return json.loads(resp.to_json_string())


def lookup_all(who, attrs, start=None, end=None, page=50, action="LookUpEvents", max_pages=2000, pages_out=None):
    """Every matching event, following NextToken until ListOver. Checks page sizes on the way."""
    fn = lookup if action == "LookUpEvents" else describe
    client = _client_of(who)
    if start is None or end is None:
        # fixed once: a NextToken belongs to one query, times included
        s, e = window()
        start = s if start is None else start
        end = e if end is None else end
    out, token = [], None
    for _ in range(max_pages):
        r = fn(client, start=start, end=end, attrs=attrs, max_results=page, next_token=token)
        evs = r.get("Events") or []
        assert len(evs) <= page, "%s returned %d events for MaxResults=%d" % (action, len(evs), page)
        if pages_out is not None:
            pages_out.append(r)
        out.extend(evs)
        if r.get("ListOver"):
            return out
        token = r.get("NextToken")
        assert token is not None and token != "", (
            "ListOver is false but no NextToken was given: %r" % {k: v for k, v in r.items() if k != "Events"})
    raise AssertionError("pagination did not end after %d pages" % max_pages)


def put_events(who, events):
    """PutEvents through CommonClient; returns the Response object (dict)."""
    r = _common_of(who).call_json("PutEvents", {"Events": events})
    return r["Response"]


def put_ok(who, events):
    """PutEvents that must accept every record; returns EventIds."""
    r = put_events(who, events)
    assert not r.get("FailedEvents"), "records rejected: %r" % r.get("FailedEvents")
    ids = r.get("EventIds")
    assert isinstance(ids, list) and len(ids) == len(events), "EventIds must list every input record: %r" % r
    assert all(isinstance(i, str) and i for i in ids), "every accepted record needs an id: %r" % ids
    return ids


def make_event(source, name="DescribeInstances", **fields):
    """A complete, valid event record; keyword arguments replace top-level fields (pass a whole dict
    for nested ones). Fields set to None are removed."""
    rec = {
        "eventId": uid("ev"),
        "eventTime": now() - 5,
        "eventName": name,
        "eventSource": source,
        "eventType": "ApiCall",
        "eventRegion": "ap-guangzhou",
        "actionType": "Read",
        "sensitiveAction": False,
        "resourceType": "cvm",
        "resourceName": "ins-" + uuid.uuid4().hex[:8],
        "resourceSet": [],
        "userIdentity": {
            "type": "CAMUser",
            "principalId": "100000009001",
            "secretId": "AKIDexample0001",
            "userName": "alice",
        },
        "sourceIPAddress": "10.1.2.3",
        "userAgent": "blackbox-tests/1.0",
        "httpMethod": "POST",
        "apiVersion": "2017-03-12",
        "requestID": str(uuid.uuid4()),
        "requestParameters": {"InstanceIds": ["ins-1"]},
        "responseElements": {"TotalCount": 1},
        "errorCode": 0,
        "errorMessage": "",
        "apiErrorCode": "",
        "apiErrorMessage": "",
        "tags": [],
    }
    for k, v in fields.items():
        if v is None:
            rec.pop(k, None)
        else:
            rec[k] = v
    return rec


def record_of(event):
    """The CloudAuditEvent JSON string of an API Event, parsed."""
    raw = event.get("CloudAuditEvent")
    assert isinstance(raw, str) and raw, "CloudAuditEvent must be the record as a JSON string: %r" % raw
    return json.loads(raw)


def ids_of(events):
    return [e.get("EventId") for e in events]


class NoErrorRaised(AssertionError):
    pass


def expect_error(code, fn, *args, **kwargs):
    """Call fn (an SDK call) and require a TencentCloudSDKException with exactly `code`.

    The SDK only turns a response into an exception when the HTTP status is 200 and the Content-Type
    is exactly `application/json` (or `text/plain`), so a server that gets either wrong fails here."""
    try:
        result = fn(*args, **kwargs)
    except TencentCloudSDKException as e:
        assert e.code == code, "expected error %s, got %s: %s" % (code, e.code, e.message)
        assert e.message, "error %s has an empty Message" % code
        if not (isinstance(e.code, str) and e.code.startswith("Client")):
            assert e.requestId, "error %s has no RequestId" % code
        assert_clean_message(e.message)
        return e
    raise NoErrorRaised("expected error %s, but the call succeeded: %r" % (code, result))


def assert_clean_message(message):
    low = (message or "").lower()
    for bad in ("traceback", ".swift:", "fatal error") + storage_backend.internal_words() + ("swift runtime", "decodingerror("):
        assert bad not in low, "error message leaks an internal detail (%r): %s" % (bad, message)


# --------------------------------------------------------------------------------------------------
# hand-signed TC3 requests


def sha256_hex(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return hashlib.sha256(b).hexdigest()


def tc3_authorization(secret_id, secret_key, timestamp, method, query, headers, signed_headers, payload,
                      service=SERVICE):
    """Build the Authorization header value the way the SDKs and Tencent's signature v3 document do:
    canonical headers are `lowercase(key):lowercase(trim(value))`, in the order given by
    `signed_headers`."""
    date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    lower = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join("%s:%s\n" % (h, str(lower[h]).strip().lower()) for h in signed_headers)
    signed = ";".join(signed_headers)
    canonical_request = "\n".join([method, "/", query, canonical_headers, signed, sha256_hex(payload)])
    scope = "%s/%s/tc3_request" % (date, service)
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, sha256_hex(canonical_request)])
    signature = Sign.sign_tc3(secret_key, date, service, string_to_sign)
    return "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (secret_id, scope, signed, signature)


def raw_call(server, secret_id, secret_key, action, params=None, *, body=None, timestamp=None, version=VERSION,
             content_type="application/json", signed_headers=("content-type", "host"), authorization=None,
             extra_headers=None, tamper_body=None, method="POST", query=None, timeout=REQ_TIMEOUT, stream=False):
    """Send one TC3-signed request with full control over every part. Returns the requests.Response."""
    ts = now() if timestamp is None else timestamp
    if method == "GET":
        payload = b""
        q = query or ""
    else:
        payload = body if body is not None else json.dumps(params or {}).encode()
        q = ""
    headers = {
        "Content-Type": content_type,
        "Host": server.endpoint,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(ts),
        "X-TC-Region": REGION,
    }
    if extra_headers:
        headers.update(extra_headers)
    if authorization is None:
        authorization = tc3_authorization(secret_id, secret_key, ts, method, q, headers, list(signed_headers), payload)
    headers["Authorization"] = authorization
    if tamper_body is not None:
        payload = tamper_body
    url = server.url + "/" + ("?" + q if q else "")
    return requests.request(method, url, data=payload if method != "GET" else None, headers=headers, timeout=timeout, stream=stream)


def raw_error(resp, code):
    """Assert that a raw response is the documented error envelope with `code`."""
    assert resp.status_code == 200, "errors must be HTTP 200 (SDKs treat others as network failures); got %s: %s" % (
        resp.status_code, resp.text[:300])
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError("error response is not JSON: %r" % resp.text[:300])
    r = body.get("Response") or {}
    err = r.get("Error") or {}
    assert err.get("Code") == code, "expected %s, got %r" % (code, body)
    assert err.get("Message"), "error %s without a Message: %r" % (code, body)
    assert r.get("RequestId"), "error %s without a RequestId: %r" % (code, body)
    assert_clean_message(err.get("Message"))
    return body


def raw_ok(resp):
    assert resp.status_code == 200, resp.text[:300]
    body = resp.json()
    r = body.get("Response") or {}
    assert "Error" not in r, "unexpected error: %r" % r.get("Error")
    assert r.get("RequestId")
    return r


def poll(fn, timeout=5.0, interval=0.2):
    """Call fn until it returns a truthy value or timeout passes; returns the last value."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


# --------------------------------------------------------------------------------------------------
# the console's HTTP side


def console_sign_in(server, key, timeout=REQ_TIMEOUT):
    """Signs in to the console with an admin or auditor key; returns (requests.Session holding the
    session cookie, the answer's Session object with its CsrfToken)."""
    s = requests.Session()
    r = s.post(server.url + "/console/api/session", json={"SecretId": key.secret_id, "SecretKey": key.secret_key},
               timeout=timeout)
    assert r.status_code == 200, "console sign-in failed: %s %s" % (r.status_code, r.text[:300])
    return s, r.json()["Session"]


# --------------------------------------------------------------------------------------------------
# tccli


def tccli_path():
    cand = Path(sys.executable).parent / "tccli"
    if cand.exists():
        return str(cand)
    import shutil

    found = shutil.which("tccli")
    if not found:
        raise AssertionError("tccli is not installed in this Python environment")
    return found


def run_tccli(server, key, home, args, timeout=120):
    """tccli always speaks https unless the endpoint carries a scheme: the SDK under it sends to
    `--endpoint` unchanged when it parses as a URL (`http://127.0.0.1:PORT`). A temporary HOME keeps it
    away from any real ~/.tccli configuration."""
    env = clean_env(HOME=str(home), TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=key.secret_key)
    cmd = [tccli_path(), "cloudaudit"] + list(args) + [
        "--endpoint", server.url, "--region", REGION, "--output", "json"]
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    return p
