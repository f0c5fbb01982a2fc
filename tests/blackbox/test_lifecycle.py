"""The server process: durability across kill -9, graceful SIGTERM, first-start root credentials,
secrets never in the log."""

import json
import os
import secrets
import signal
import stat
import threading
import time

import pytest

import storage_backend
from support import (
    DEFAULT_ACCOUNT_ID,
    Key,
    ServerStartError,
    TencentCloudSDKException,
    get_attribute_key,
    ids_of,
    lookup,
    lookup_all,
    make_event,
    random_secret_key,
    uid,
)


def test_acknowledged_event_survives_kill_9(spawn_server):
    srv = spawn_server().start()
    root = srv.root()
    src = uid("dur")
    rec = make_event(src)
    assert root.put_ok([rec]) == [rec["eventId"]]
    srv.kill9()  # immediately after the acknowledgement
    srv.start(port=srv.port)
    r = lookup(root, attrs=[("EventId", rec["eventId"])])
    assert ids_of(r["Events"]) == [rec["eventId"]], "an acknowledged event was lost by kill -9"
    # a retry after the crash is still idempotent
    assert root.put_ok([rec]) == [rec["eventId"]]
    assert lookup(root, attrs=[("EventSource", src)])["TotalCount"] == 1


def test_acknowledged_batches_from_concurrent_clients_survive_kill_9(spawn_server):
    srv = spawn_server().start()
    root = srv.root()
    src = uid("dur")
    acked, errors = [], []

    def client(n):
        c = root.common()
        for i in range(5):
            batch = [make_event(src, "C%d" % n) for _ in range(100)]
            try:
                r = c.call_json("PutEvents", {"Events": batch})["Response"]
                assert not r.get("FailedEvents")
                acked.extend(r["EventIds"])
            except Exception as e:
                errors.append(e)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    srv.kill9()
    srv.start(port=srv.port)
    got = set(ids_of(lookup_all(root, [("EventSource", src)])))
    assert got == set(acked), "%d acknowledged events lost after kill -9" % len(set(acked) - got)


def test_sigterm_exits_zero_and_keeps_data(spawn_server):
    srv = spawn_server().start()
    root = srv.root()
    src = uid("term")
    rec = make_event(src)
    root.put_ok([rec])
    assert get_attribute_key(root)["AttributeKeyDetails"]
    rc = srv.stop(signal.SIGTERM, timeout=30)
    assert rc == 0, "SIGTERM must stop the server gracefully with status 0, got %r; log:\n%s" % (rc, srv.log_tail())
    srv.start(port=srv.port)
    assert ids_of(lookup(root, attrs=[("EventSource", src)])["Events"]) == [rec["eventId"]]
    assert srv.stop(signal.SIGTERM, timeout=30) == 0


def test_sigterm_finishes_in_flight_requests(spawn_server):
    srv = spawn_server().start()
    root = srv.root()
    src = uid("term")
    results = []
    stop = threading.Event()

    def writer():
        c = root.common()
        while not stop.is_set():
            batch = [make_event(src) for _ in range(200)]
            try:
                r = c.call_json("PutEvents", {"Events": batch})["Response"]
                results.append(("ok", r["EventIds"]))
            except TencentCloudSDKException as e:
                results.append((e.code, str(e.message)[:200]))
                if e.code == "ClientNetworkError":
                    return

    th = threading.Thread(target=writer)
    th.start()
    time.sleep(1.0)
    rc = srv.stop(signal.SIGTERM, timeout=30)
    stop.set()
    th.join(timeout=60)
    assert rc == 0, "exit status %r after SIGTERM under load" % rc
    acked = [i for code, ids in results if code == "ok" for i in ids]
    assert acked, "no request completed before SIGTERM"
    bad = [(c, m) for c, m in results if c not in ("ok", "ClientNetworkError")]
    assert not bad, "requests got errors during shutdown instead of completing or being refused: %r" % bad[:3]
    srv.start(port=srv.port)
    got = set(ids_of(lookup_all(root, [("EventSource", src)])))
    assert set(acked) <= got, "%d acknowledged events lost on SIGTERM" % len(set(acked) - got)


@storage_backend.only("sqlite", "a node of a shared store generates no root key (one node's file would be unknown to the others): docs/postgres.md")
def test_first_start_writes_root_credentials_0600(spawn_server):
    srv = spawn_server(root=False).start()
    path = os.path.join(srv.data_dir, "root-credentials.json")
    assert os.path.isfile(path), "no root env given: root-credentials.json must be written"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, "root-credentials.json has mode %o, want 600" % mode
    with open(path) as f:
        creds = json.load(f)
    assert creds.get("AccountId") == DEFAULT_ACCOUNT_ID
    assert creds.get("SecretId") and creds.get("SecretKey")
    log = srv.log_text()
    assert "root-credentials.json" in log, "the log must say where the root credentials were written"
    assert creds["SecretKey"] not in log, "the root secret appears in the log"
    root = Key(srv, creds["SecretId"], creds["SecretKey"], DEFAULT_ACCOUNT_ID, "admin")
    assert get_attribute_key(root)["AttributeKeyDetails"]
    src = uid("root")
    root.put_ok([make_event(src)])
    # a restart keeps the same credentials
    srv.stop()
    srv.start(port=srv.port)
    with open(path) as f:
        assert json.load(f) == creds
    assert len(lookup(root, attrs=[("EventSource", src)])["Events"]) == 1
    assert creds["SecretKey"] not in srv.log_text()


def test_master_key_file_is_owner_only(spawn_server):
    srv = spawn_server().start()
    path = os.path.join(srv.data_dir, "master.key")
    assert os.path.isfile(path), "without CLOUDAUDIT_MASTER_KEY, <data-dir>/master.key is created"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, "master.key has mode %o, want 600" % mode


def test_secrets_never_appear_in_the_log(spawn_server):
    master = secrets.token_hex(32)
    srv = spawn_server(env={"CLOUDAUDIT_MASTER_KEY": master}).start()
    root = srv.root()
    other = srv.create_key(DEFAULT_ACCOUNT_ID, "auditor")
    src = uid("log")
    root.put_ok([make_event(src)])
    lookup(root, attrs=[("EventSource", src)])
    lookup(other, attrs=[("EventSource", src)])
    for key in (root, other):
        wrong = Key(srv, key.secret_id, random_secret_key(), DEFAULT_ACCOUNT_ID, "admin")
        try:
            lookup(wrong)
        except TencentCloudSDKException:
            pass
    try:
        other.put([make_event(src)])
    except TencentCloudSDKException:
        pass
    time.sleep(1.5)  # self-audit is asynchronous
    assert srv.stop() == 0
    log = srv.log_text()
    assert log.strip(), "the server logs something"
    for name, secret in (("root SecretKey", root.secret_key), ("created SecretKey", other.secret_key),
                         ("master key", master)):
        assert secret not in log, "%s appears in the server log" % name


def test_server_refuses_a_bad_master_key(spawn_server):
    srv = spawn_server(env={"CLOUDAUDIT_MASTER_KEY": "not-hex"})
    with pytest.raises(ServerStartError):
        srv.start()


@storage_backend.only("sqlite", "the SQLite store's migrations; the PostgreSQL ones are in test_postgres_migrate.py")
def test_upgrades_say_what_they_migrated_and_a_newer_database_is_refused(spawn_server):
    """README, "Upgrades": the database is migrated on open and the log says so; a database written by a
    newer release is refused, naming the migration it does not know."""
    import re
    import sqlite3
    srv = spawn_server()
    srv.start()
    assert re.search(r"created the database \(\d+ migrations, schema v\d+-[a-z]+\)", srv.log_text()), srv.log_tail()
    root = srv.root()
    rec = make_event(uid("upgrade"))
    root.put_ok([rec])
    assert srv.stop() == 0
    mark = srv.log_size()
    srv.start(port=srv.port)
    assert "the database schema is current" in srv.log_since(mark) and "no migration was pending" in srv.log_since(mark)
    assert srv.stop() == 0

    # The database of a release before the console (issue 5): its last migration and tables gone.
    db = os.path.join(srv.data_dir, "cloudaudit.sqlite")
    with sqlite3.connect(db) as c:
        c.executescript("DROP TABLE console_sessions; DROP TABLE console_passwords;"
                        "DROP TABLE alert_channels; DROP TABLE alert_rules; DROP TABLE alerts; DROP TABLE alert_outbox;"
                        "DELETE FROM grdb_migrations WHERE identifier IN ('v5-console', 'v6-alerts');")
    mark = srv.log_size()
    srv.start(port=srv.port)
    assert "migrated the database from schema v4-kms to v6-alerts: applied v5-console, v6-alerts" in srv.log_since(mark), srv.log_tail()
    assert ids_of(lookup(root, attrs=[("EventId", rec["eventId"])])["Events"]) == [rec["eventId"]], "the events stay"
    assert srv.stop() == 0

    # A database a newer release migrated: refused at start, and left as it is.
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO grdb_migrations(identifier) VALUES ('v99-from-the-future')")
    mark = srv.log_size()
    with pytest.raises(ServerStartError):
        srv.start(port=srv.port)
    said = srv.log_since(mark)
    assert 'has migration "v99-from-the-future", which this cloudaudit does not know; use a newer version' in said, said
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*) FROM grdb_migrations WHERE identifier = 'v99-from-the-future'").fetchone() == (1,)
