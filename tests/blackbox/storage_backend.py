"""The server's storage backend, for the few black-box checks that must look at what the server stored
rather than at what it answers (everything else reads stored data through the API or the CLI):

* `stored_bytes(server)`: every byte the backend persisted, for "this secret is not stored in clear";
* `sealed_kms_key(server, key_id)`: a managed key's sealed material (at-rest format: docs/contract.md
  "KMS keys"), for kmssupport's independent envelope reader;
* `copy_store(server, data_dir)`: a consistent copy of the stored data into another data directory
  (without its master key), for "the same key store under another master key";
* `alter_event_record(server, account_id, event_id, old, new)` and
  `rewrite_event_leaf(server, account_id, seq, record)`: what an attacker with the data directory can
  do to the stored log (the server stopped), for the tampering tests;
* `internal_words()`: words naming a backend's internals, which no answer or error message may carry.

The backend is chosen by $CLOUDAUDIT_TEST_BACKEND (default "sqlite"), naming one of `BACKENDS`. Each
backend is a class with the methods above (taking the `support.Server`) and an `internal_words` tuple,
and `store_env(data_dir, env)`: what a server or admin command of that data directory needs in its
environment to reach its store (nothing for SQLite; for PostgreSQL, a database of its own on the cluster
of $CLOUDAUDIT_TEST_POSTGRES_URL, and the deployment keys in the data directory: `cloudaudit keys init`).
`only(name, why)` marks a test that makes sense for one backend only, saying why.
"""

import glob
import hashlib
import os
import sqlite3
import subprocess
from urllib.parse import urlsplit

import pytest

from merkle_ref import CompactRange, leaf_hash

BACKEND_ENV = "CLOUDAUDIT_TEST_BACKEND"
DEFAULT_BACKEND = "sqlite"


class SQLiteBackend:
    """The embedded default store: one SQLite file (WAL mode) in the server's data directory."""

    name = "sqlite"

    def store_env(self, data_dir, env):
        return {}
    # its name, its library's, and the wording of its errors
    internal_words = ("sqlite", "grdb", "no such table", "constraint failed")
    FILE = "cloudaudit.sqlite"
    # the database file and the side files that may hold committed data not yet in it
    SIDE_FILES = ("", "-wal", "-journal")

    def _path(self, data_dir):
        return os.path.join(str(data_dir), self.FILE)

    def _connect(self, server):
        return sqlite3.connect(self._path(server.data_dir))

    def _connect_read_only(self, server):
        return sqlite3.connect("file:%s?mode=ro" % self._path(server.data_dir), uri=True, timeout=30)

    def stored_bytes(self, server):
        out = []
        for suffix in self.SIDE_FILES:
            try:
                with open(self._path(server.data_dir) + suffix, "rb") as f:
                    out.append(f.read())
            except FileNotFoundError:
                if not suffix:
                    raise
        return b"".join(out)

    def sealed_kms_key(self, server, key_id):
        db = self._connect_read_only(server)
        try:
            row = db.execute("SELECT sealed_key FROM kms_keys WHERE key_id = ?", (key_id,)).fetchone()
        finally:
            db.close()
        return None if row is None else bytes(row[0])

    def copy_store(self, server, data_dir):
        src_db = self._connect_read_only(server)
        dst_db = sqlite3.connect(self._path(data_dir))
        try:
            src_db.backup(dst_db)
        finally:
            dst_db.close()
            src_db.close()

    def alter_event_record(self, server, account_id, event_id, old, new):
        con = self._connect(server)
        try:
            con.execute("DROP TRIGGER IF EXISTS events_append_only")
            seq, rec = con.execute("SELECT seq, record FROM events WHERE account_id = ? AND event_id = ?",
                                   (account_id, event_id)).fetchone()
            rec = bytes(rec)
            assert old in rec, rec[:200]
            altered = rec.replace(old, new)
            cur = con.execute("UPDATE events SET record = ? WHERE account_id = ? AND event_id = ?",
                              (altered, account_id, event_id))
            assert cur.rowcount == 1
            con.commit()
        finally:
            con.close()
        return seq, altered

    def rewrite_event_leaf(self, server, account_id, seq, record):
        con = self._connect(server)
        try:
            for t in ("merkle_nodes_append_only", "merkle_nodes_no_delete"):
                con.execute("DROP TRIGGER IF EXISTS %s" % t)
            assert con.execute("SELECT COUNT(*) FROM merkle_nodes WHERE account_id = ? AND level > 0",
                               (account_id,)).fetchone()[0] == 0, "the test keeps the log under 64 events"
            con.execute("UPDATE merkle_nodes SET hash = ? WHERE account_id = ? AND level = 0 AND idx = ?",
                        (leaf_hash(record), account_id, seq - 1))
            rng = CompactRange()
            for (h,) in con.execute("SELECT hash FROM merkle_nodes WHERE account_id = ? AND level = 0 ORDER BY idx",
                                    (account_id,)):
                rng.append(bytes(h))
            con.execute("UPDATE accounts SET merkle_range = ? WHERE id = ?", (rng.serialized(), account_id))
            con.execute("DELETE FROM checkpoints WHERE account_id = ?", (account_id,))
            con.commit()
        finally:
            con.close()


class PostgresBackend:
    """A PostgreSQL store (docs/postgres.md): each data directory gets a database of its own on the test
    cluster ($CLOUDAUDIT_TEST_POSTGRES_URL, made by scripts/pg-cluster), named after the directory's path,
    and the deployment's keys in the directory (a node of a shared store makes none)."""

    name = "postgres"
    internal_words = ("postgres", "psqlerror", "sqlstate", "violates", "relation \"")
    created = set()

    def __init__(self):
        url = os.environ.get("CLOUDAUDIT_TEST_POSTGRES_URL")
        if not url:
            raise RuntimeError("CLOUDAUDIT_TEST_BACKEND=postgres needs CLOUDAUDIT_TEST_POSTGRES_URL (scripts/pg-cluster start DIR prints one)")
        self.base = urlsplit(url)

    def database(self, data_dir):
        return "bb_" + hashlib.sha1(os.path.abspath(str(data_dir)).encode()).hexdigest()[:24]

    def url(self, data_dir):
        return "postgres://cloudaudit@%s:%d/%s" % (self.base.hostname, self.base.port, self.database(data_dir))

    def psql(self, sql, database="postgres", binary=False):
        p = subprocess.run(["psql", "-h", self.base.hostname, "-p", str(self.base.port), "-U", "postgres", "-d", database,
                            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
        return p.stdout if binary else [line for line in p.stdout.decode().splitlines() if line]

    def ensure_database(self, data_dir):
        name = self.database(data_dir)
        if name in self.created:
            return
        if not self.psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % name):
            self.psql("CREATE DATABASE %s OWNER cloudaudit" % name)
        self.created.add(name)

    def store_env(self, data_dir, env):
        import support  # (support imports this module)
        self.ensure_database(data_dir)
        # The deployment's keys, which a node of a shared store never makes: those the test does not give,
        # made once by `keys init` and put in the data directory, where the node reads them.
        d = str(data_dir)
        wanted = [f for f, given in (("master.key", "CLOUDAUDIT_MASTER_KEY"), ("signing.key", "CLOUDAUDIT_SIGNING_KEY_FILE"))
                  if not env.get(given) and not os.path.exists(os.path.join(d, f))]
        if wanted:
            made = os.path.join(d + ".keys")
            if not os.path.exists(os.path.join(made, "master.key")):
                support.run_cli(["keys", "init", "--data-dir", made], env=support.clean_env())
            os.makedirs(d, mode=0o700, exist_ok=True)
            for f in wanted:
                with open(os.path.join(made, f), "rb") as src:
                    fd = os.open(os.path.join(d, f), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as dst:
                        dst.write(src.read())
        return {"CLOUDAUDIT_STORE": self.url(data_dir)}

    def _database_files(self, database):
        self.psql("CHECKPOINT")
        oid = self.psql("SELECT oid FROM pg_database WHERE datname = '%s'" % database)[0]
        root = self.psql("SHOW data_directory")[0]
        return sorted(glob.glob(os.path.join(root, "base", oid, "*"))) + sorted(glob.glob(os.path.join(root, "pg_wal", "0*")))

    def stored_bytes(self, server):
        out = []
        for f in self._database_files(self.database(server.data_dir)):
            with open(f, "rb") as fh:
                out.append(fh.read())
        return b"".join(out)

    def sealed_kms_key(self, server, key_id):
        rows = self.psql("SELECT encode(sealed_key, 'hex') FROM kms_keys WHERE key_id = '%s'" % key_id.replace("'", "''"),
                         database=self.database(server.data_dir))
        return bytes.fromhex(rows[0]) if rows else None

    def copy_store(self, server, data_dir):
        self.ensure_database(data_dir)
        source, target = self.database(server.data_dir), self.database(data_dir)
        dump = subprocess.run(["pg_dump", "-h", self.base.hostname, "-p", str(self.base.port), "-U", "postgres", "--no-owner", source],
                              capture_output=True, timeout=300, check=True).stdout
        p = subprocess.run(["psql", "-h", self.base.hostname, "-p", str(self.base.port), "-U", "cloudaudit", "-d", target, "-v",
                            "ON_ERROR_STOP=1", "-q"], input=dump, capture_output=True, timeout=300)
        assert p.returncode == 0, p.stderr.decode("utf-8", "replace")

    def _tamper(self, server, sql):
        return self.psql("SET session_replication_role = replica; " + sql, database=self.database(server.data_dir))

    def alter_event_record(self, server, account_id, event_id, old, new):
        db = self.database(server.data_dir)
        seq, rec = self.psql("SELECT seq, encode(record, 'hex') FROM events WHERE account_id = %d AND event_id = '%s'"
                             % (account_id, event_id.replace("'", "''")), database=db)[0].split("|")
        rec = bytes.fromhex(rec)
        assert old in rec, rec[:200]
        altered = rec.replace(old, new)
        self._tamper(server, "UPDATE events SET record = '\\x%s' WHERE account_id = %d AND seq = %s" % (altered.hex(), account_id, seq))
        return int(seq), altered

    def rewrite_event_leaf(self, server, account_id, seq, record):
        db = self.database(server.data_dir)
        assert self.psql("SELECT count(*) FROM merkle_nodes WHERE account_id = %d AND level > 0" % account_id, database=db) == ["0"], \
            "the test keeps the log under 64 events"
        self._tamper(server, "UPDATE merkle_nodes SET hash = '\\x%s' WHERE account_id = %d AND level = 0 AND idx = %d"
                     % (leaf_hash(record).hex(), account_id, seq - 1))
        rng = CompactRange()
        for h in self.psql("SELECT encode(hash, 'hex') FROM merkle_nodes WHERE account_id = %d AND level = 0 ORDER BY idx" % account_id,
                           database=db):
            rng.append(bytes.fromhex(h))
        self._tamper(server, "UPDATE accounts SET merkle_range = '\\x%s' WHERE id = %d; DELETE FROM checkpoints WHERE account_id = %d"
                     % (rng.serialized().hex(), account_id, account_id))


BACKENDS = {cls.name: cls for cls in (SQLiteBackend, PostgresBackend)}
_current = None


def current():
    """The backend named by $CLOUDAUDIT_TEST_BACKEND (default sqlite)."""
    global _current
    name = os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    if _current is None or _current.name != name:
        try:
            _current = BACKENDS[name]()
        except KeyError:
            raise RuntimeError("%s=%r: the black-box suite knows the backends %s" % (BACKEND_ENV, name, ", ".join(BACKENDS)))
    return _current


def store_env(data_dir, env):
    """What a server or admin command of `data_dir` needs in its environment to reach its store."""
    return current().store_env(data_dir, env)


def once(why):
    """Skips a test in the extra pass on another backend: it does not depend on the backend under test
    (it starts what it needs itself), so the default pass runs it."""
    return pytest.mark.skipif((os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND) != DEFAULT_BACKEND, reason="runs in the default pass only: %s" % why)


def only(name, why):
    """Skips a test unless the backend under test is `name`, saying why it makes sense for that one only."""
    return pytest.mark.skipif((os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND) != name, reason="%s only: %s" % (name, why))


def stored_bytes(server):
    """Every byte the backend persisted for `server` (for checks that a secret is not stored in clear)."""
    return current().stored_bytes(server)


def sealed_kms_key(server, key_id):
    """The sealed material of managed key `key_id` as stored (nonce || ciphertext || tag), or None."""
    return current().sealed_kms_key(server, key_id)


def copy_store(server, data_dir):
    """A consistent copy of everything `server` stored (it may be running) into the data directory
    `data_dir`, which must exist; the master key and other files of the data directory are not copied."""
    current().copy_store(server, data_dir)


def alter_event_record(server, account_id, event_id, old, new):
    """What an attacker with the data directory does (the server stopped): drops the append-only guard
    and rewrites one stored event's record, replacing `old` (which must be in it) by `new`. Returns
    (seq, the new record)."""
    return current().alter_event_record(server, account_id, event_id, old, new)


def rewrite_event_leaf(server, account_id, seq, record):
    """Goes further (the server stopped): rewrites the leaf hash of event `seq` to that of `record`, the
    account's compact range, and drops its kept checkpoints, so that the server signs the rewritten log
    as if it were the original one."""
    current().rewrite_event_leaf(server, account_id, seq, record)


def internal_words():
    """Lower-case words that name a storage backend's internals (of every known backend: none may leak,
    whichever the server runs on)."""
    out = []
    for cls in BACKENDS.values():
        out.extend(w for w in cls.internal_words if w not in out)
    return tuple(out)
