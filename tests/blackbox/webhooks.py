"""A webhook receiver for the notification channels of tracking sets, and the checks on what it got: one
signed notification per delivered file, acknowledged once, retries keeping their message id.

Nothing here knows how the server is written: every expectation comes from ../shared/API.md,
../shared/DESIGN.md ("Delivery files") and docs/contract.md ("Tracking sets and delivery").
"""

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOOK_SECRET = "hook-secret-" + uuid.uuid4().hex


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
