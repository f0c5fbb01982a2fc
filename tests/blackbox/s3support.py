"""Helpers for the tracking-set and delivery tests (issue 3): an S3-compatible object store (moto's
server, started by the tests on loopback), a TCP proxy in front of it that can be "switched off"
without losing moto's in-memory buckets, a webhook receiver for notification channels, readers of
the delivered objects through an independent S3 client (boto3) or the `local` region's folders, the
checks on files and key layout, and SDK wrappers for the 19 official actions plus CreateAudit and
DeleteAudit.

Nothing here knows how the server is written: every expectation comes from ../shared/API.md,
../shared/DESIGN.md ("Delivery files") and docs/contract.md ("Tracking sets and delivery").
"""

import gzip
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from support import (
    TencentCloudSDKException,
    assert_clean_message,
    clean_env,
    free_port,
    models,
    parse_json_output,
    uid,
)

S3_ACCESS_KEY = "AKIAMOTOTESTKEY"
S3_SECRET_KEY = "motoTestSecretKeyDoNotUse0123456789"
HOOK_SECRET = "hook-secret-" + uuid.uuid4().hex
STORAGE_REGION = "ap-guangzhou"


# --------------------------------------------------------------------------------------------------
# moto's S3 server


class MotoServer:
    """`python -m moto.server -H 127.0.0.1 -p PORT` (in-memory S3), ready once GET / answers."""

    def __init__(self, log_path, port=None):
        self.port = port or free_port()
        self.log_path = str(log_path)
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=60):
        log = open(self.log_path, "ab")
        env = clean_env(AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY,
                        AWS_DEFAULT_REGION="us-east-1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("moto server exited with %s: %s" % (self.proc.returncode, self.log_tail()))
            try:
                r = requests.get(self.url + "/", timeout=2)
                if r.status_code < 500:
                    return self
                last = r.status_code
            except requests.RequestException as e:
                last = e
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server not ready after %ss (%s): %s" % (timeout, last, self.log_tail()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


def s3_client(url):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))


def new_bucket_name(prefix="ca"):
    """A valid StorageName (1-50 of [a-z0-9-], no dash at either end) no other test uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:16])


def create_bucket(s3, name):
    s3.create_bucket(Bucket=name)
    return name


def bucket_exists(s3, name):
    try:
        s3.head_bucket(Bucket=name)
        return True
    except Exception:
        return False


def empty_and_delete_bucket(s3, name):
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        for o in page.get("Contents") or []:
            s3.delete_object(Bucket=name, Key=o["Key"])
    s3.delete_bucket(Bucket=name)


# --------------------------------------------------------------------------------------------------
# a TCP proxy that can refuse, reset, answer 503, or slow down


class TCPProxy:
    """Forwards 127.0.0.1:<port> to a target. Modes:
    - "pass": forward;
    - "refuse": the listening socket is closed (connection refused), open connections are cut;
    - "reset": connections are accepted and closed at once;
    - "503": every request gets `HTTP/1.1 503` and the connection is closed.
    `delay` (seconds) is slept before forwarding each chunk the client sends (slow uploads)."""

    def __init__(self, target_host, target_port, port=None):
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.mode = "pass"
        self.delay = 0.0
        self._lock = threading.Lock()
        self._conns = set()
        self._listener = None
        self._stopped = False
        self._thread = None
        self.accepted = 0
        self.credentials_seen = []  # (access key id, date, signing region, service) of each signed request

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self._bind()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def _bind(self):
        deadline = time.time() + 10
        while True:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", self.port))
                break
            except OSError:
                s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        s.listen(128)
        s.settimeout(0.2)
        with self._lock:
            self._listener = s

    def _close_listener(self):
        with self._lock:
            s, self._listener = self._listener, None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    def cut_connections(self):
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass

    def set_mode(self, mode):
        assert mode in ("pass", "refuse", "reset", "503")
        old, self.mode = self.mode, mode
        if mode != "pass":
            self.cut_connections()
        if mode == "refuse" and old != "refuse":
            self._close_listener()
        elif mode != "refuse" and old == "refuse":
            self._bind()

    def stop(self):
        self._stopped = True
        self._close_listener()
        self.cut_connections()

    def _accept_loop(self):
        while not self._stopped:
            with self._lock:
                s = self._listener
            if s is None:
                time.sleep(0.05)
                continue
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                time.sleep(0.05)
                continue
            self.accepted += 1
            mode = self.mode
            if mode in ("reset", "refuse"):
                _hard_close(c)
                continue
            if mode == "503":
                threading.Thread(target=self._answer_503, args=(c,), daemon=True).start()
                continue
            try:
                u = socket.create_connection(self.target, timeout=10)
                u.settimeout(None)
            except OSError:
                _hard_close(c)
                continue
            c.settimeout(None)
            with self._lock:
                self._conns.add(c)
                self._conns.add(u)
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _answer_503(self, c):
        try:
            c.settimeout(5)
            buf = b""
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
            body = b"<Error><Code>ServiceUnavailable</Code><Message>proxy says no</Message></Error>"
            c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _pump(self, src, dst, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    for m in _SIGV4_CREDENTIAL.finditer(data):
                        self.credentials_seen.append(tuple(g.decode() for g in m.groups()))
                    if self.delay:
                        time.sleep(self.delay)
                if self.mode != "pass":
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)


_SIGV4_CREDENTIAL = re.compile(rb"AWS4-HMAC-SHA256 Credential=([^/\s]+)/(\d{8})/([^/\s]+)/([^/\s]+)/aws4_request")


def _hard_close(c):
    try:
        import struct

        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    except OSError:
        pass
    try:
        c.close()
    except OSError:
        pass


# --------------------------------------------------------------------------------------------------
# webhook receiver (notification channels)


@dataclass
class HookRequest:
    path: str
    headers: dict
    body: bytes
    status: int
    at: float

    def json(self):
        return json.loads(self.body)

    @property
    def acked(self):
        return 200 <= self.status < 300


class WebhookReceiver:
    """A threaded HTTP server that records every POST. `fail_next(n)` makes the next n requests get 500
    (`fail_status` to change the status); `fail_all = True` fails everything."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.fail_remaining = 0
        self.fail_all = False
        self.fail_status = 500
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with receiver.lock:
                    if receiver.fail_all:
                        status = receiver.fail_status
                    elif receiver.fail_remaining > 0:
                        receiver.fail_remaining -= 1
                        status = receiver.fail_status
                    else:
                        status = 200
                    receiver.requests.append(HookRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                         body, status, time.time()))
                out = b'{"ok": true}' if status < 300 else b'{"error": "try again"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def fail_next(self, n, status=500):
        with self.lock:
            self.fail_remaining = n
            self.fail_status = status

    def all(self, path=None, bucket=None):
        with self.lock:
            reqs = list(self.requests)
        out = []
        for r in reqs:
            if path is not None and r.path != path:
                continue
            if bucket is not None:
                try:
                    if r.json().get("bucket") != bucket:
                        continue
                except ValueError:
                    continue
            out.append(r)
        return out

    def acked(self, path=None, bucket=None):
        return [r for r in self.all(path, bucket) if r.acked]


def hook_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode() if isinstance(secret, str) else secret, body, hashlib.sha256).hexdigest()


def check_notification(req, secret, bucket, track_id, account_ids):
    """One notification POST: body fields, signature, message-id header. Returns the parsed body."""
    try:
        body = req.json()
    except ValueError:
        raise AssertionError("notification body is not JSON: %r" % req.body[:300])
    assert set(body) >= {"bucket", "objectKeys", "trackId", "accountId", "messageId"}, (
        "notification body lacks fields: %r" % body)
    assert body["bucket"] == bucket, body
    assert isinstance(body["objectKeys"], list) and len(body["objectKeys"]) == 1, (
        "one message per file, objectKeys = [key]: %r" % body)
    assert body["trackId"] == track_id, body
    assert body["accountId"] in account_ids, body
    assert isinstance(body["messageId"], str) and body["messageId"], body
    sig = req.headers.get("x-cloudaudit-signature")
    assert sig == hook_signature(secret, req.body), (
        "X-CloudAudit-Signature must be sha256=<hex HMAC-SHA256(secret, body)>; got %r" % sig)
    assert req.headers.get("x-cloudaudit-message-id") == body["messageId"], (
        "X-CloudAudit-Message-Id must equal the body's messageId: %r vs %r" % (
            req.headers.get("x-cloudaudit-message-id"), body["messageId"]))
    return body


def check_one_ack_per_file(receiver, path, files, secret, bucket, track_id, account_ids):
    """Every delivered file has exactly one acknowledged message on `path` (and no acknowledged
    message names a key that is not in the bucket); retries of one message keep its messageId."""
    keys = {f.key for f in files}
    acked = {}
    for r in receiver.acked(path, bucket):
        body = check_notification(r, secret, bucket, track_id, account_ids)
        acked.setdefault(body["objectKeys"][0], []).append(body["messageId"])
    missing = keys - set(acked)
    assert not missing, "files without an acknowledged notification: %s" % sorted(missing)[:5]
    unknown = set(acked) - keys
    assert not unknown, "notifications for keys that are not in the bucket: %s" % sorted(unknown)[:5]
    twice = {k: v for k, v in acked.items() if len(v) != 1}
    assert not twice, "files acknowledged more than once: %r" % dict(list(twice.items())[:5])
    # every attempt (acked or not) for one file carries the same message id
    ids = {}
    for r in receiver.all(path, bucket):
        b = r.json()
        ids.setdefault(b["objectKeys"][0], set()).add(b["messageId"])
    multi = {k: v for k, v in ids.items() if len(v) != 1}
    assert not multi, "retries of one file's notification changed the messageId: %r" % multi
    return acked


# --------------------------------------------------------------------------------------------------
# regions file


def write_regions(path, regions):
    Path(path).write_text(json.dumps({"regions": regions}, ensure_ascii=False, indent=1))
    return str(path)


def write_secret_file(path, content, mode=0o600):
    path = Path(path)
    path.write_text(content)
    os.chmod(path, mode)
    return str(path)


def s3_region(name, endpoint, zh=None, en=None, notifications=None, creds_env=("S3_ID", "S3_KEY"), creds_file=None,
              addressing="path", signing_region="us-east-1"):
    r = {
        "name": name,
        "zh": zh or ("地区-" + name),
        "en": en or ("Region " + name),
        "endpoint": endpoint,
        "addressing": addressing,
    }
    if signing_region is not None:
        r["signingRegion"] = signing_region
    if creds_file:
        r["credentials"] = {"file": creds_file}
    else:
        r["credentials"] = {"accessKeyIdEnv": creds_env[0], "secretAccessKeyEnv": creds_env[1]}
    if notifications:
        r["notifications"] = notifications
    return r


def s3_env(**extra):
    env = {"S3_ID": S3_ACCESS_KEY, "S3_KEY": S3_SECRET_KEY}
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------------
# SDK calls


LEGACY_COMMON_ONLY = ("CreateAudit", "DeleteAudit")


def call(key, action, params=None, common=False):
    """One action through the official SDK: the generated client method and request model for the
    19 official actions, CommonClient.call_json for CreateAudit/DeleteAudit (absent from the current
    SDK) or when `common` is set (to send exactly the JSON given). Returns the Response as a dict
    (RequestId included); raises TencentCloudSDKException on an error response."""
    params = dict(params or {})
    if common or action in LEGACY_COMMON_ONLY:
        r = key.common().call_json(action, params)
        return r["Response"]
    req = getattr(models, action + "Request")()
    req.from_json_string(json.dumps(params))
    resp = getattr(key.client(), action)(req)
    return json.loads(resp.to_json_string())


def expect_code(codes, fn, *args, **kwargs):
    """Like support.expect_error, but any of `codes` (a str or a tuple) is accepted; returns the error."""
    if isinstance(codes, str):
        codes = (codes,)
    try:
        result = fn(*args, **kwargs)
    except TencentCloudSDKException as e:
        assert e.code in codes, "expected error %s, got %s: %s" % (" or ".join(codes), e.code, e.message)
        assert e.message, "error %s has an empty Message" % e.code
        assert e.requestId, "error %s has no RequestId" % e.code
        assert_clean_message(e.message)
        return e
    raise AssertionError("expected error %s, but the call succeeded: %r" % (" or ".join(codes), result))


def storage(region, bucket, prefix="cloudaudit", compress=None, app_id=None, account_id=None, type_="cos"):
    s = {"StorageType": type_, "StorageRegion": region, "StorageName": bucket, "StoragePrefix": prefix}
    if compress is not None:
        s["Compress"] = compress
    if app_id is not None:
        s["StorageAppId"] = app_id
    if account_id is not None:
        s["StorageAccountId"] = account_id
    return s


def track_params(name=None, region=STORAGE_REGION, bucket=None, prefix="cloudaudit", action_type="*",
                 resource_type="*", event_names=("*",), status=1, compress=None, **extra):
    p = {
        "Name": name or track_name(),
        "Status": status,
        "Storage": storage(region, bucket, prefix, compress),
        "ActionType": action_type,
        "ResourceType": resource_type,
        "EventNames": list(event_names),
    }
    p.update(extra)
    return p


def events_track_params(fields, name=None, region=STORAGE_REGION, bucket=None, prefix="cloudaudit", status=1,
                        compress=None, **extra):
    p = {
        "Name": name or track_name(),
        "Status": status,
        "Storage": storage(region, bucket, prefix, compress),
        "Filters": {"ResourceFields": [
            {"ResourceType": rt, "ActionType": at, "EventNames": list(names)} for rt, at, names in fields]},
    }
    p.update(extra)
    return p


def track_name(prefix="set"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:12])


def create_track(key, **kw):
    r = call(key, "CreateAuditTrack", track_params(**kw))
    tid = r.get("TrackId")
    assert isinstance(tid, int) and tid > 0, "CreateAuditTrack must return an integer TrackId: %r" % r
    return tid


def create_events_track(key, fields, **kw):
    r = call(key, "CreateEventsAuditTrack", events_track_params(fields, **kw))
    tid = r.get("TrackId")
    assert isinstance(tid, int) and tid > 0, "CreateEventsAuditTrack must return an integer TrackId: %r" % r
    return tid


def describe_track(key, tid):
    return call(key, "DescribeAuditTrack", {"TrackId": tid})


def all_tracks(key, page_size=100):
    out, page = [], 1
    while True:
        r = call(key, "DescribeAuditTracks", {"PageNumber": page, "PageSize": page_size})
        tracks = r.get("Tracks") or []
        out.extend(tracks)
        if len(out) >= r.get("TotalCount", 0) or not tracks:
            return out
        page += 1


def audit_params(name=None, bucket=None, region=STORAGE_REGION, rw=3, new_bucket=0, cmq=0, **extra):
    p = {
        "AuditName": name or track_name("audit"),
        "CosBucketName": bucket,
        "CosRegion": region,
        "IsCreateNewBucket": new_bucket,
        "IsEnableCmqNotify": cmq,
        "ReadWriteAttribute": rw,
    }
    p.update(extra)
    return {k: v for k, v in p.items() if v is not None}


# --------------------------------------------------------------------------------------------------
# accounts with members, tracks status


def create_member_account(server, management_id, name=None):
    p = server.cli("accounts", "create", "--name", name or uid("member"), "--member-of", str(management_id))
    out = parse_json_output(p)
    assert isinstance(out.get("AccountId"), int), out
    return out


def list_accounts(server):
    return parse_json_output(server.cli("accounts", "list"))


def tracks_status(server, account=None):
    args = ["tracks", "status", "--output", "json"]
    if account is not None:
        args += ["--account", str(account)]
    out = parse_json_output(server.cli(*args))
    if isinstance(out, dict):
        lists = [v for v in out.values() if isinstance(v, list)]
        assert len(lists) == 1, "tracks status --output json: expected a list of rows: %r" % out
        out = lists[0]
    assert isinstance(out, list), out
    return out


def status_rows(server, track_id, account=None):
    return [r for r in tracks_status(server, account) if r.get("TrackId") == track_id]


# --------------------------------------------------------------------------------------------------
# delivered files


@dataclass
class DeliveredFile:
    key: str
    raw: bytes
    gz: bool
    lines: list
    records: list
    account_id: int = 0
    stamp: str = ""
    track_id: int = 0
    first_seq: int = 0
    hour: str = ""


def decode_file(key, raw):
    gz = key.endswith(".json.gz")
    assert gz or key.endswith(".json"), "object key must end in .json.gz or .json: %s" % key
    if gz:
        assert raw[:2] == b"\x1f\x8b", "%s: .json.gz but not gzip (starts %r)" % (key, raw[:8])
        try:
            text = gzip.decompress(raw)
        except Exception as e:  # noqa: BLE001
            raise AssertionError("%s: not a valid gzip file: %s" % (key, e))
    else:
        assert raw[:2] != b"\x1f\x8b", "%s: .json file is gzip-compressed" % key
        text = raw
    text = text.decode("utf-8")
    assert text, "%s: empty file" % key
    assert text.endswith("\n"), "%s: the last record must be \\n-terminated" % key
    lines = text[:-1].split("\n")
    records = []
    for i, line in enumerate(lines):
        assert line, "%s: empty line %d" % (key, i + 1)
        try:
            rec = json.loads(line)
        except ValueError:
            raise AssertionError("%s line %d is not JSON: %r" % (key, i + 1, line[:200]))
        assert isinstance(rec, dict), "%s line %d is not a JSON object" % (key, i + 1)
        records.append(rec)
    return DeliveredFile(key, raw, gz, lines, records)


def read_s3_files(s3, bucket, prefix=""):
    """Every log file under prefix (digests are not log files), decoded and checked as a JSON-lines
    (gzip or plain) file."""
    out = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents") or []:
            if "/CloudAudit-Digest/" in "/" + o["Key"]:
                continue
            raw = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            out.append(decode_file(o["Key"], raw))
    return out


def list_s3_keys(s3, bucket, prefix=""):
    keys = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents") or [])
    return keys


def read_local_files(data_dir, bucket, prefix=""):
    root = Path(data_dir) / "buckets" / bucket
    out = []
    if not root.is_dir():
        return out
    for p in sorted(root.rglob("*")):
        if p.is_file():
            key = p.relative_to(root).as_posix()
            if key.startswith(prefix):
                if p.name.startswith(".") or key.endswith((".tmp", ".part")):
                    continue  # a writer's temporary file, not an object
                if "/CloudAudit-Digest/" in "/" + key:
                    continue  # a digest, not a log file
                out.append(decode_file(key, p.read_bytes()))
    return out


KEY_RE_TEMPLATE = (r"^{prefix}/(?P<hour>\d{{10}})/(?P<account>\d+)_CloudAudit_{region}_(?P<stamp>\d{{8}}T\d{{6}}Z)_"
                   r"(?P<track>\d+)_(?P<seq>\d+)\.json(?P<gz>\.gz)?$")


def check_layout(files, prefix, region, track_id, compress=True, account_ids=None):
    """Key layout as documented; returns {account_id: [files in FirstSeq order]} after checking that,
    per account, FirstSeq strictly increases with the key's time (a set's files never restart or
    overlap their first event)."""
    rx = re.compile(KEY_RE_TEMPLATE.format(prefix=re.escape(prefix), region=re.escape(region)))
    by_account = {}
    for f in files:
        if "CloudAudit-Digest" in f.key:
            continue
        m = rx.match(f.key)
        assert m, "object key does not follow <Prefix>/<YYYYMMDDHH>/<AccountId>_CloudAudit_<Region>_" \
                  "<YYYYMMDDTHHmmssZ>_<TrackId>_<FirstSeq>.json[.gz] (prefix %r, region %r, track %s): %s" % (
                      prefix, region, track_id, f.key)
        f.hour, f.stamp = m.group("hour"), m.group("stamp")
        f.account_id, f.track_id, f.first_seq = int(m.group("account")), int(m.group("track")), int(m.group("seq"))
        assert f.hour == f.stamp[:8] + f.stamp[9:11], "%s: hour folder %s does not match the time %s" % (
            f.key, f.hour, f.stamp)
        assert time.strptime(f.stamp, "%Y%m%dT%H%M%SZ"), f.key
        assert f.track_id == track_id, "%s: TrackId %s, expected %s" % (f.key, f.track_id, track_id)
        assert f.gz == bool(compress), "%s: Compress %s expects %s" % (f.key, 1 if compress else 2,
                                                                        ".json.gz" if compress else ".json")
        if account_ids is not None:
            assert f.account_id in account_ids, "%s: account %s not one of %s" % (f.key, f.account_id, account_ids)
        by_account.setdefault(f.account_id, []).append(f)
    for acct, fs in by_account.items():
        fs.sort(key=lambda f: (f.stamp, f.first_seq))
        seqs = [f.first_seq for f in fs]
        assert all(a < b for a, b in zip(seqs, seqs[1:])), (
            "account %s: FirstSeq must strictly increase with the files' times: %s" % (
                acct, [(f.stamp, f.first_seq) for f in fs]))
        fs.sort(key=lambda f: f.first_seq)
    return by_account


def delivered_ids(files):
    return [r.get("eventId") for f in files for r in f.records]


def duplicates(files):
    seen, dup = {}, {}
    for f in files:
        for r in f.records:
            i = r.get("eventId")
            if i in seen:
                dup.setdefault(i, [seen[i]]).append(f.key)
            else:
                seen[i] = f.key
    return dup


def record_matches(rec, filters):
    """The contract's match rule: any filter (ActionType, ResourceType, EventNames) matches."""
    for f in filters:
        if f["ActionType"] not in ("*", rec.get("actionType")):
            continue
        if f["ResourceType"] not in ("*", rec.get("resourceType")):
            continue
        names = f["EventNames"]
        if names != ["*"] and rec.get("eventName") not in names:
            continue
        return True
    return False


def check_exactly_once(files, expected_ids, filters=None, source=None, forbidden_ids=()):
    """Every expected event present exactly once; no event twice at all; every delivered record matches
    the set's filters; of the events carrying `source` (the test's own eventSource) only the expected
    ones are there; none of `forbidden_ids`."""
    dup = duplicates(files)
    assert not dup, "events delivered more than once: %r" % dict(list(dup.items())[:5])
    ids = set(delivered_ids(files))
    missing = set(expected_ids) - ids
    assert not missing, "%d expected events missing (of %d), e.g. %s" % (len(missing), len(set(expected_ids)),
                                                                          sorted(missing)[:3])
    bad = ids & set(forbidden_ids)
    assert not bad, "events that must not be delivered were: %s" % sorted(bad)[:5]
    if source is not None:
        extra = {r.get("eventId") for f in files for r in f.records if r.get("eventSource") == source} - set(expected_ids)
        assert not extra, "non-matching events of this test were delivered: %s" % sorted(extra)[:5]
    if filters is not None:
        wrong = [(f.key, r.get("eventId"), r.get("actionType"), r.get("resourceType"), r.get("eventName"))
                 for f in files for r in f.records if not record_matches(r, filters)]
        assert not wrong, "delivered records that match no filter of the set: %r" % wrong[:5]


def wait_for_ids(read, expected_ids, timeout=90, settle=3.0, what="delivery", log=None):
    """Poll `read()` (-> files) until every expected id is present, then wait `settle` seconds and read
    once more (so late duplicates or extras show). Returns the final files."""
    expected = set(expected_ids)
    deadline = time.time() + timeout
    files = []
    while True:
        try:
            files = read()
        except Exception as e:  # noqa: BLE001 - e.g. the bucket is not there yet
            files = []
            last_err = e
        else:
            last_err = None
        have = set(delivered_ids(files))
        if expected <= have:
            break
        if time.time() >= deadline:
            raise AssertionError("%s: %d of %d events delivered after %ss (%d files)%s%s" % (
                what, len(expected & have), len(expected), timeout, len(files),
                "; last read error: %s" % last_err if last_err else "",
                "\nserver log tail:\n%s" % log() if log else ""))
        time.sleep(0.5)
    if settle:
        time.sleep(settle)
        files = read()
    return files


def assert_nothing_delivered(read, ids, wait=4.0):
    time.sleep(wait)
    try:
        files = read()
    except Exception:  # noqa: BLE001
        return []
    got = set(delivered_ids(files)) & set(ids)
    assert not got, "events delivered that should not be: %s" % sorted(got)[:5]
    return files


def put_batches(key, events, batch=1000):
    from support import put_ok

    ids = []
    for i in range(0, len(events), batch):
        ids.extend(put_ok(key, events[i:i + batch]))
    return ids


def wait_acks(receiver, path, files, secret, bucket, track_id, account_ids, timeout=60, settle=2.0):
    """Poll until every file has exactly one acknowledged notification on `path`; then wait `settle`
    seconds and check again (no late duplicates). Returns {key: [messageId]}."""
    deadline = time.time() + timeout
    while True:
        try:
            check_one_ack_per_file(receiver, path, files, secret, bucket, track_id, account_ids)
            break
        except AssertionError as e:
            if time.time() >= deadline:
                reqs = receiver.all(path, bucket)
                raise AssertionError("%s (after %ss; %d requests on %s, %d acknowledged)" % (
                    e, timeout, len(reqs), path, len([r for r in reqs if r.acked])))
            time.sleep(0.5)
    if settle:
        time.sleep(settle)
    return check_one_ack_per_file(receiver, path, files, secret, bucket, track_id, account_ids)


def wait_status(server, track_id, pred, account=None, timeout=60, what="tracks status"):
    """Poll `cloudaudit tracks status` until pred(rows of the set) is true; returns those rows."""
    deadline = time.time() + timeout
    rows = []
    while True:
        rows = status_rows(server, track_id, account)
        if rows and pred(rows):
            return rows
        if time.time() >= deadline:
            raise AssertionError("%s: condition not met after %ss; rows: %s" % (what, timeout, json.dumps(rows)[:2000]))
        time.sleep(0.5)


def track_id_by_name(key, name):
    found = [t["TrackId"] for t in all_tracks(key) if t["Name"] == name]
    assert len(found) == 1, "no single set named %s: %r" % (name, found)
    return found[0]


def batch_order_ok(files, batches):
    """Events of sequential PutEvents calls arrive in call order: in the files (by FirstSeq, records in
    file order) batch i's events all come before batch i+1's."""
    index = {}
    for i, b in enumerate(batches):
        for eid in b:
            index[eid] = i
    seq = [index[r.get("eventId")] for f in sorted(files, key=lambda f: (f.account_id, f.first_seq)) for r in f.records
           if r.get("eventId") in index]
    return all(a <= b for a, b in zip(seq, seq[1:]))
