"""`serve` as a service: a port already in use and a data directory already served are refused with a
message that names them, before any background service has run."""

import re
import socket
import time

import storage_backend
from support import Server, clean_env, random_secret_id, random_secret_key, run_cli


def _serve(args, env=None, timeout=60):
    return run_cli(["serve", "--host", "127.0.0.1"] + list(args), check=False, env=env or clean_env(), timeout=timeout)


def _serve_beside_a_listener(tmp_path, flags):
    """`serve` with `flags(port)` while another socket listens on `port`; returns (port, process)."""
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        return port, _serve(flags(port) + ["--data-dir", str(tmp_path / "data")])
    finally:
        taken.close()


def test_a_port_in_use_is_named_with_what_to_do(tmp_path):
    port, p = _serve_beside_a_listener(tmp_path, lambda port: ["--port", str(port)])
    assert p.returncode == 1, (p.returncode, p.stderr_text)
    lines = p.stderr_text.strip().splitlines()
    assert lines[-1] == ("Error: cannot listen on 127.0.0.1:%d: the address is already in use (another cloudaudit, or another "
                         "program, listens there); stop it, or choose another port with --port (or CLOUDAUDIT_PORT)" % port), lines[-1]
    # nothing else went wrong: no background pass began and none was cancelled
    assert "pass failed" not in p.stderr_text and "CancellationError" not in p.stderr_text, p.stderr_text
    assert "errno" not in p.stderr_text and "bind(" not in p.stderr_text


@storage_backend.only("sqlite", "the serve lock guards the embedded store; the nodes of a shared store share their store by design")
def test_a_second_serve_on_the_same_data_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    first = Server(data, tmp_path / "first.log", root_id=random_secret_id(), root_key=random_secret_key())
    first.start()
    try:
        p = _serve(["--port", "0", "--data-dir", str(data)])
        assert p.returncode == 1, (p.returncode, p.stderr_text)
        last = p.stderr_text.strip().splitlines()[-1]
        assert last.startswith("Error: the data directory %s is in use by another cloudaudit serve (pid %d, started "
                               % (data, first.proc.pid)), last
        assert last.endswith("stop that one first, or give this one another --data-dir"), last
        # the first one is unharmed
        assert first.proc.poll() is None
        assert run_cli(["accounts", "list", "--data-dir", str(data)], env=first.cli_env()).returncode == 0, \
            "the admin commands still work beside the running server"
    finally:
        first.kill9()
    # killed hard, the lock goes with the process: a new server starts on the same directory
    second = Server(data, tmp_path / "second.log", root_id=random_secret_id(), root_key=random_secret_key())
    second.start()
    second.stop()


# --------------------------------------------------------------------------------------------------
# logs as JSON lines


def test_json_log_lines_parse_and_carry_the_request_id(spawn_server):
    import json

    from support import raw_call

    srv = spawn_server(extra_args=["--log-format", "json", "--log-level", "debug"])
    srv.start()
    # a refused call (logged "request refused" at info) and an accepted one (debug "ok")
    refused = raw_call(srv, srv.root_id, srv.root_key, "LookUpEvents", {"StartTime": 10, "EndTime": 5}).json()["Response"]
    ok = raw_call(srv, srv.root_id, srv.root_key, "GetAttributeKey", {"WebsiteType": "en"}).json()["Response"]
    srv.stop()
    lines = [l for l in srv.log_text().splitlines() if l.strip() and not l.startswith("==== ")]
    entries = [json.loads(l) for l in lines]  # every line is one JSON object
    assert entries, "no log lines"
    for e in entries:
        assert {"time", "level", "logger", "message"} <= set(e), e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["time"]), e["time"]
    by_request = {e.get("request.id"): e for e in entries if "request.id" in e}
    assert refused["RequestId"] in by_request, "the refused call's line carries its RequestId"
    assert by_request[refused["RequestId"]]["message"] == "request refused"
    assert by_request[refused["RequestId"]]["error.code"] == refused["Error"]["Code"]
    assert ok["RequestId"] in by_request, "each request's lines carry its id (debug: the accepted call too)"
    assert srv.root_key not in srv.log_text(), "no secret in the logs"


# --------------------------------------------------------------------------------------------------
# trusted proxies


def _self_audit_ip(srv, calls, marker_action="GetAttributeKey"):
    """The source IPs of the first `calls` marker calls' records (self-audit is written after the answer:
    waits until all of them are stored)."""
    from support import Key, lookup_all, poll

    root = Key(srv, srv.root_id, srv.root_key, 100000000001, "admin")

    def found():
        evs = lookup_all(root, [("EventSource", "cloudaudit.api"), ("EventName", marker_action)])
        return evs if len(evs) >= calls else None
    evs = poll(found, timeout=10)
    assert evs, "the call is self-audited"
    return [e.get("SourceIPAddress") for e in evs]


def _call_with(srv, headers):
    from support import raw_call, raw_ok

    return raw_ok(raw_call(srv, srv.root_id, srv.root_key, "GetAttributeKey", {"WebsiteType": "en"}, extra_headers=headers))


def test_forwarded_addresses_are_taken_only_from_trusted_proxies(spawn_server):
    from support import console_sign_in, Key, lookup_all, poll

    # No trusted proxy: the header is the client's word, ignored.
    plain = spawn_server()
    plain.start()
    _call_with(plain, {"X-Forwarded-For": "203.0.113.9"})
    assert _self_audit_ip(plain, 1) == ["127.0.0.1"]

    # The loopback peer is a trusted proxy: the rightmost address it did not vouch for is the client.
    behind = spawn_server(extra_args=["--trusted-proxies", "127.0.0.1/32, 10.0.0.0/8"])
    behind.start()
    _call_with(behind, {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.1.2.3"})
    assert _self_audit_ip(behind, 1) == ["203.0.113.9"], "a client-written left part is not taken over the proxy's"
    _call_with(behind, {"Forwarded": 'for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"'})
    assert "2001:db8:cafe::17" in _self_audit_ip(behind, 2)
    _call_with(behind, {"X-Forwarded-For": "not-an-address, 10.9.9.9"})
    assert "10.9.9.9" in _self_audit_ip(behind, 3), "a hop that is not an address: the last vouched one"
    # the console sees the same address (its sign-in is recorded as ConsoleLogin)
    root = Key(behind, behind.root_id, behind.root_key, 100000000001, "admin")
    import requests
    r = requests.post(behind.url + "/console/api/session", json={"SecretId": root.secret_id, "SecretKey": root.secret_key},
                      headers={"X-Forwarded-For": "203.0.113.77"}, timeout=30)
    assert r.status_code == 200, r.text
    logins = poll(lambda: lookup_all(root, [("EventName", "ConsoleLogin")]), timeout=10)
    assert logins and logins[0].get("SourceIPAddress") == "203.0.113.77", logins


def test_hostile_forwarding_headers_to_a_server_that_trusts_every_peer(spawn_server):
    """The forwarding headers are the client's text: with every peer trusted (the widest exposure), no
    value crashes or hangs the server, each call is answered, and what is recorded as the source IP is
    always an address (or the peer), never the header's text."""
    import ipaddress
    import random
    from support import Key, lookup_all, raw_call

    srv = spawn_server(extra_args=["--trusted-proxies", "0.0.0.0/0, ::/0"])
    srv.start()
    rng = random.Random(0x13F0)
    pieces = ["for=", "for=\"", "\"", "[", "]", ":", "::", "%eth0", ";", ",", "=", "unknown", "_hidden", "1.2.3.4", "::ffff:1.2.3.4",
              "2001:db8::1", "[2001:db8::1]:80", "255.255.255.255", "999.1.1.1", "1.2.3.4:99999", "by=", "proto=https", " ", "\t", "é", "𝔘"]
    values = [
        ("X-Forwarded-For", ", ".join("10.0.%d.%d" % (i // 250, i % 250) for i in range(3000))),   # thousands of hops
        ("X-Forwarded-For", "1" * 60000),                                                         # one huge token
        ("Forwarded", "for=" + "\"" * 5000),                                                     # unbalanced quotes
        ("Forwarded", ";".join(["for=1.2.3.4"] * 2000)),
        ("Forwarded", 'for="[fe80::1%25eth0]:8080", for=unknown, for=_secret'),
        ("X-Forwarded-For", "::ffff:203.0.113.5"),
        ("X-Forwarded-For", "[2001:db8::7]:443"),
        ("X-Forwarded-For", ",,,,"),
        ("Forwarded", ""),
    ]
    for _ in range(150):
        # (HTTP trims a value's surrounding whitespace, and requests refuses to send it)
        values.append((rng.choice(["Forwarded", "X-Forwarded-For"]), "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))).strip() or "x"))
    answered = 0
    for name, value in values:
        r = raw_call(srv, srv.root_id, srv.root_key, "GetAttributeKey", {"WebsiteType": "en"}, extra_headers={name: value.encode("utf-8")})
        assert r.status_code in (200, 400, 431), (name, value[:80], r.status_code)
        answered += r.status_code == 200
        assert srv.alive(), "the server died on %s: %r" % (name, value[:200])
    assert answered >= len(values) - 3, "nearly every call is answered (only oversized headers may be refused by HTTP)"
    srv.assert_up(after="hostile forwarding headers")
    root = Key(srv, srv.root_id, srv.root_key, 100000000001, "admin")
    recorded = {e.get("SourceIPAddress") for e in lookup_all(root, [("EventName", "GetAttributeKey")])}
    assert len(recorded) > 3, recorded
    for ip in recorded:
        assert len(ip) <= 45 and ipaddress.ip_address(ip), "a recorded source IP that is not an address: %r" % ip[:200]


def test_a_bad_trusted_proxies_value_is_refused_naming_it():
    from support import clean_env, run_cli

    p = run_cli(["serve", "--print-config", "--trusted-proxies", "10.0.0.0/8, 300.1.2.3"], check=False, env=clean_env())
    assert p.returncode == 64
    assert ('--trusted-proxies (on the command line): must be IP networks such as 10.0.0.0/8 or fd00::/8, separated by '
            'commas; "300.1.2.3" is not one') in p.stderr_text, p.stderr_text
    p = run_cli(["serve", "--print-config"], check=False, env=clean_env(CLOUDAUDIT_TRUSTED_PROXIES="10.0.0.0/33"))
    assert p.returncode == 64 and "CLOUDAUDIT_TRUSTED_PROXIES" in p.stderr_text and '"10.0.0.0/33" is not one' in p.stderr_text
    p = run_cli(["serve", "--print-config", "--trusted-proxies", "10.0.0.1/8,::1"], env=clean_env())
    assert re.search(r"^trusted-proxies\s+10\.0\.0\.1/8, ::1/128\s+\[flag\]$", p.stdout_text, re.M), p.stdout_text


# --------------------------------------------------------------------------------------------------
# metrics: never open on the public port


def _metrics(url, token=None):
    import requests

    return requests.get(url, headers={"Authorization": "Bearer " + token} if token else {}, timeout=10)


def _series(text):
    """{name: [(labels text, value)]} of Prometheus text."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$", line)
        if m:
            out.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
    return out


def test_metrics_are_behind_a_token_or_on_their_own_listener(spawn_server):
    import deliverysupport as D
    from support import Key, free_port, make_event, raw_call, uid

    # By default /metrics is not served on the public port.
    plain = spawn_server()
    plain.start()
    assert _metrics(plain.url + "/metrics").status_code == 404

    token = "metrics-" + random_secret_key()
    port = free_port()
    srv = spawn_server(extra_args=["--metrics-port", str(port), "--checkpoint-interval", "1", "--delivery-interval", "1"],
                       env={"CLOUDAUDIT_METRICS_TOKEN": token})
    srv.start()
    assert _metrics(srv.url + "/metrics").status_code == 401, "no token"
    assert _metrics(srv.url + "/metrics", "wrong").status_code == 401, "a wrong token"
    import requests
    for hostile in ["Bearer", "Bearer ", "bearer " + token, "Basic " + token, "Bearer " + token + "x", "Bearer " + token[:-1],
                    "Bearer " + "A" * 60000, "Bearer " + token + "\u00e9"]:
        try:
            r = requests.get(srv.url + "/metrics", headers={"Authorization": hostile.encode("utf-8")}, timeout=10)
            assert r.status_code in (400, 401), (hostile[:40], r.status_code)
        except requests.ConnectionError:
            pass  # a header past the HTTP layer's limits closes the connection
    assert requests.get(srv.url + "/healthz", timeout=10).status_code == 200, "the server is unharmed"
    root = Key(srv, srv.root_id, srv.root_key, 100000000001, "admin")
    # some traffic: an accepted call, a refused one, a failed signature, events appended, a tracking set
    raw_call(srv, srv.root_id, srv.root_key, "GetAttributeKey", {"WebsiteType": "en"})
    raw_call(srv, srv.root_id, srv.root_key, "LookUpEvents", {"StartTime": 10, "EndTime": 5})
    raw_call(srv, srv.root_id, "not-the-key", "GetAttributeKey", {})
    D.create_track(root, region="local", bucket="metrics-" + uid("b").lower(), prefix="metricpfx")
    root.put_ok([make_event(uid("m")) for _ in range(5)])

    want = {
        "cloudaudit_requests_total": lambda s: any('action="GetAttributeKey"' in l and 'code="OK"' in l for l, _ in s)
        and any('action="LookUpEvents"' in l and 'code="InvalidParameterValue.Time"' in l for l, _ in s),
        "cloudaudit_request_duration_seconds_bucket": lambda s: any('action="PutEvents"' in l for l, _ in s),
        "cloudaudit_authentication_failures_total": lambda s: any('via="api"' in l and 'code="AuthFailure.SignatureFailure"' in l for l, _ in s),
        "cloudaudit_events_appended_total": lambda s: any('source="api"' in l and v >= 5 for l, v in s)
        and any('source="self_audit"' in l for l, _ in s),
        "cloudaudit_group_commit_size_count": lambda s: sum(v for _, v in s) >= 1,
        "cloudaudit_group_commit_seconds_bucket": lambda s: len(s) > 0,
        "cloudaudit_store_bytes": lambda s: s[0][1] > 0,
        "cloudaudit_checkpoint_pass_age_seconds": lambda s: 0 <= s[0][1] < 60,
        "cloudaudit_digest_age_seconds": lambda s: all(0 <= v < 3600 for _, v in s),
        "cloudaudit_delivery_lag_events": lambda s: len(s) > 0,
    }
    deadline = time.time() + 40
    while True:
        own = _metrics("http://127.0.0.1:%d/metrics" % port)
        public = _metrics(srv.url + "/metrics", token)
        assert own.status_code == 200 and public.status_code == 200
        series = _series(own.text)
        missing = [n for n, ok in want.items() if n not in series or not ok(series[n])]
        if not missing:
            break
        assert time.time() < deadline, "metrics missing or not as expected after 40 s: %s" % missing
        time.sleep(0.5)
    assert srv.root_key not in own.text and token not in own.text


def test_a_metrics_port_in_use_is_named(tmp_path):
    port, p = _serve_beside_a_listener(tmp_path, lambda port: ["--port", "0", "--metrics-port", str(port)])
    assert p.returncode == 1, p.stderr_text
    assert p.stderr_text.strip().splitlines()[-1] == (
        "Error: cannot listen on 127.0.0.1:%d: the address is already in use (another cloudaudit, or another program, listens "
        "there); stop it, or choose another port with --metrics-port (or CLOUDAUDIT_METRICS_PORT)" % port), p.stderr_text
