"""The live tail (TailEvents): server-sent events of an account's log as it grows (docs/contract.md, "Live tail").

Every stream here is a real TC3-signed GET to a real server (or the console's session route), read as a
browser reads an EventSource. Events are put with the official SDK's CommonClient."""

import json
import signal
import subprocess
import time

import requests

import sse
import support
from support import expect_error, make_event, now, uid


def _put(key, events):
    return support.put_ok(key, events)


def _records_by_id(key, ids, source):
    """The stored records (CloudAuditEvent, byte-exact) of these events, through LookUpEvents."""
    found = {e["EventId"]: e["CloudAuditEvent"] for e in key.lookup_all([("EventSource", source)], start=now() - 3600, end=now() + 60)}
    return {i: found[i] for i in ids}


def test_new_events_arrive_in_order_with_their_exact_records(tenant):
    admin = tenant.admin
    source = uid("tailsrc")
    s = sse.open_tail(admin, [("EventSource", source)])
    try:
        assert s.status == 200 and s.headers["Content-Type"].startswith("text/event-stream")
        start = sse.ready(s)
        ids = []
        for batch in range(3):
            ids += _put(admin, [make_event(source, "Op%d" % i) for i in range(batch * 10, batch * 10 + 10)])
        got = s.events(30)
        assert [json.loads(m.data)["eventId"] for m in got] == ids, "the stream gives the events in the order they were stored"
        cursors = [int(m.id) for m in got]
        assert cursors == sorted(cursors) and len(set(cursors)) == 30 and cursors[0] > start, "each message's id is a growing cursor"
        records = _records_by_id(admin, ids, source)
        assert [m.data for m in got] == [records[i] for i in ids], "data is the stored record, byte for byte"
    finally:
        s.close()


def test_conditions_mean_what_they_mean_in_lookupevents(tenant):
    admin = tenant.admin
    source = uid("tailf")
    attrs = [("EventSource", source), ("EventName", "Alpha"), ("EventName", "Beta"), ("ActionType", "Write")]
    s = sse.open_tail(admin, attrs)
    try:
        sse.ready(s)
        evs = []
        for name in ("Alpha", "Beta", "Gamma"):
            for action in ("Read", "Write"):
                evs.append(make_event(source, name, actionType=action))
        evs.append(make_event(uid("elsewhere"), "Alpha", actionType="Write"))
        ids = _put(admin, evs)
        expected = [e["EventId"] for e in reversed(admin.lookup_all(attrs, start=now() - 3600, end=now() + 60))]
        assert len(expected) == 2
        marker = _put(admin, [make_event(source, "Alpha", actionType="Write")])[0]
        got = [json.loads(m.data)["eventId"] for m in s.events(3)]
        assert got == expected + [marker], "the tail passes exactly what LookUpEvents finds with the same conditions"
        assert set(got) <= set(ids) | {marker}
    finally:
        s.close()


def test_a_dropped_connection_resumes_with_no_gap_and_no_repeat(tenant):
    admin = tenant.admin
    source = uid("tailr")
    s = sse.open_tail(admin, [("EventSource", source)])
    first = _put(admin, [make_event(source, "Op%d" % i) for i in range(20)])
    got = s.events(8)
    s.close()
    last = got[-1].id
    # appended while nobody listens
    more = _put(admin, [make_event(source, "Late%d" % i) for i in range(15)])
    # An EventSource reconnects with Last-Event-ID; a client may pass Cursor= instead.
    for how in ("header", "param"):
        r = sse.open_tail(admin, [("EventSource", source)], last_event_id=last) if how == "header" \
            else sse.open_tail(admin, [("EventSource", source)], Cursor=last)
        try:
            assert sse.ready(r) == int(last)
            rest = [json.loads(m.data)["eventId"] for m in r.events(27)]
            assert rest == first[8:] + more, "resuming after %s (%s) gives every later event once" % (last, how)
        finally:
            r.close()


def test_heartbeats_keep_an_idle_stream_alive_and_move_its_cursor(tenant):
    admin = tenant.admin
    source = uid("tailh")
    s = sse.open_tail(admin, [("EventSource", source)], Heartbeat=1, read_timeout=10)
    try:
        start = sse.ready(s)
        m = s.next(timeout=5)
        assert m.event == ":" and m.data == "heartbeat", m
        # Events the filter skips move the cursor too, with the next heartbeat: a reconnect reads them no more.
        _put(admin, [make_event(uid("other"), "Skipped") for _ in range(3)])
        deadline = time.time() + 10
        while time.time() < deadline:
            m = s.next(timeout=5)
            if m.event == ":id" and int(m.id) >= start + 3:
                break
        else:
            raise AssertionError("no heartbeat moved the cursor past the skipped events")
    finally:
        s.close()


def test_a_consumer_that_does_not_read_holds_back_no_append(tenant):
    admin = tenant.admin
    source = uid("tails")
    # A consumer that never reads its socket while 3,000 events of about 4 KB are stored: 12 MB, more than
    # the loopback socket buffers hold, so the server's writes to it block.
    slow = sse.open_tail(admin, [("EventSource", source)], read_timeout=120, start=False)
    try:
        assert slow.status == 200
        ids = []
        for _ in range(6):
            # Each call returns (within the client's timeout): an append never waits on a consumer.
            ids += _put(admin, [make_event(source, "Bulk", requestParameters={"pad": "x" * 4000}) for _ in range(500)])
        assert len(ids) == 3000
        # Now it reads: it hears it fell behind, then gets every event in order, out of the store.
        slow.start()
        sse.ready(slow)
        got, behind = [], None
        while len(got) < 3000:
            m = slow.next(timeout=60)
            if m.event == "behind":
                behind = json.loads(m.data)
            elif m.event == "message":
                got.append(json.loads(m.data)["eventId"])
        assert got == ids
        assert behind is not None and behind["Behind"] >= 1000, "a consumer far behind is told so: %r" % behind
    finally:
        slow.close()


def test_another_accounts_events_never_reach_a_tail(tenant, tenant2):
    source = uid("tailx")
    s = sse.open_tail(tenant.admin)
    try:
        sse.ready(s)
        _put(tenant2.admin, [make_event(source, "TheirOp") for _ in range(5)])
        mine = _put(tenant.admin, [make_event(source, "MyOp")])[0]
        seen = []
        while True:
            m = s.next(timeout=15)
            if m.event != "message":
                continue
            rec = json.loads(m.data)
            seen.append(rec)
            if rec["eventId"] == mine:
                break
        assert all(r.get("eventName") != "TheirOp" for r in seen), "another account's event reached this tail"
    finally:
        s.close()


def test_refusals_are_the_documented_errors(tenant):
    admin = tenant.admin
    # The stream needs a GET: the SDK's POST is refused, saying so.
    expect_error("UnsupportedOperation", lambda: admin.common().call_json("TailEvents", {}))
    cases = [
        ({"Cursor": "-4"}, "InvalidParameterValue"),
        ({"Cursor": "abc"}, "InvalidParameterValue"),
        ({"Cursor": "99999999999999999999999"}, "InvalidParameterValue"),
        ({"Heartbeat": "99"}, "InvalidParameterValue"),
        ({"Heartbeat": "x"}, "InvalidParameterValue"),
    ]
    for params, code in cases:
        r = sse.open_tail(admin, **params)
        assert not isinstance(r, sse.Stream), "%r must be refused" % params
        support.raw_error(r, code)
    r = sse.open_tail(admin, [("NoSuchKey", "x")])
    support.raw_error(r, "InvalidParameterValue.attributeKey")
    r = sse.open_tail(admin, last_event_id="not-a-cursor")
    support.raw_error(r, "InvalidParameterValue")
    # An ingest key records events; it does not read them.
    r = sse.open_tail(tenant.key("ingest"))
    support.raw_error(r, "AuthFailure.UnauthorizedOperation")
    # An auditor reads.
    s = sse.open_tail(tenant.key("auditor"))
    try:
        sse.ready(s)
    finally:
        s.close()


def test_the_console_tails_with_its_session(tenant):
    source = uid("tailc")
    session, _ = support.console_sign_in(tenant.server, tenant.admin)
    url = tenant.server.url + "/console/api/tail?" + sse.query_of([("EventSource", source)])
    s = sse.Stream(session.get(url, stream=True, timeout=(10, 30)))
    try:
        assert s.status == 200
        sse.ready(s)
        ids = _put(tenant.admin, [make_event(source, "Seen") for _ in range(3)])
        assert [json.loads(m.data)["eventId"] for m in s.events(3)] == ids
    finally:
        s.close()
    # No session: the console's 401; a bad parameter: its 400 with the API's code.
    r = requests.get(url, timeout=10)
    assert r.status_code == 401 and r.json()["Error"]["Code"] == "NotSignedIn"
    r = session.get(tenant.server.url + "/console/api/tail?Cursor=x", timeout=10)
    assert r.status_code == 400 and r.json()["Error"]["Code"] == "InvalidParameterValue"
    # A page of another site may not open it (the browser sends its Origin).
    r = session.get(url, headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 403 and r.json()["Error"]["Code"] == "OriginNotAllowed"


def test_cli_tail_prints_events_as_they_come(tenant):
    source = uid("tailcli")
    key = tenant.admin
    env = support.clean_env(TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=key.secret_key)
    p = subprocess.Popen([support.BIN, "events", "tail", "--endpoint", tenant.server.url, "--attr", "EventSource=" + source,
                          "--output", "json", "--max", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        # It starts at the newest event: what is put once it listens reaches it.
        ids = []
        deadline = time.time() + 30
        while p.poll() is None and time.time() < deadline:
            ids += _put(key, [make_event(source, "CliSeen")])
            time.sleep(0.5)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert len(lines) == 4
    got = [line["Event"]["eventId"] for line in lines]
    assert got == ids[ids.index(got[0]):][:4], "the CLI prints consecutive events in order"
    assert all(int(line["Cursor"]) > 0 for line in lines)
    # A refused tail is exit 2 with the server's message.
    p = subprocess.run([support.BIN, "events", "tail", "--endpoint", tenant.server.url, "--attr", "NoSuchKey=1"],
                       capture_output=True, env=env, timeout=60)
    assert p.returncode == 2 and b"NoSuchKey" in p.stderr, p.stderr.decode()


def test_sigterm_ends_open_tails_and_the_server_stops(spawn_server):
    srv = spawn_server().start()
    acct = srv.create_account(uid("tailstop"))["AccountId"]
    admin = srv.create_key(acct, "admin")
    streams = [sse.open_tail(admin) for _ in range(3)]
    for s in streams:
        sse.ready(s)
    srv.proc.send_signal(signal.SIGTERM)
    for s in streams:
        while True:
            m = s.next(timeout=20)
            if m.event == "end":
                assert json.loads(m.data)["Reason"] == "shutdown"
                break
    # Within the bound of srv.stop; an open tail holding the drain would be killed there and give None.
    assert srv.stop(signal.SIGTERM, timeout=30) == 0


def test_tails_of_one_account_are_limited(tenant):
    # TailSlots: 32 per account by default; the 33rd is refused with LimitExceeded.Tails, and a slot is
    # free again once its stream closes (the server sees that at its next write: a heartbeat at the latest).
    admin = tenant.admin
    streams = []
    try:
        for _ in range(32):
            s = sse.open_tail(admin, Heartbeat=1)
            assert isinstance(s, sse.Stream)
            sse.ready(s)
            streams.append(s)
        r = sse.open_tail(admin)
        support.raw_error(r, "LimitExceeded.Tails")
        streams.pop().close()
        s = support.poll(lambda: (lambda t: t if isinstance(t, sse.Stream) else None)(sse.open_tail(admin)), timeout=10)
        assert s, "a closed tail frees its slot"
        streams.append(s)
    finally:
        for s in streams:
            s.close()


def test_a_consumer_resuming_1100_events_back_hears_it_is_behind(tenant):
    admin = tenant.admin
    source = uid("tailb")
    s = sse.open_tail(admin, [("EventSource", source)])
    start = sse.ready(s)
    s.close()
    ids = []
    for n in (500, 500, 100):
        ids += _put(admin, [make_event(source, "Back") for _ in range(n)])
    r = sse.open_tail(admin, [("EventSource", source)], Cursor=start)
    try:
        sse.ready(r)
        got, behind = [], None
        while len(got) < 1100:
            m = r.next(timeout=60)
            if m.event == "behind":
                behind = json.loads(m.data)
            elif m.event == "message":
                got.append(json.loads(m.data)["eventId"])
        assert got == ids
        assert behind is not None and behind["Behind"] >= 1100, "1,100 events back is behind the 1,000 of the contract: %r" % behind
    finally:
        r.close()
