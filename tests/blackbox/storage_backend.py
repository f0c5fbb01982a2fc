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
backend is a class with the methods above (taking the `support.Server`) and an `internal_words` tuple;
another one (e.g. PostgreSQL) is a second class registered in `BACKENDS`.
"""

import os
import sqlite3

from merkle_ref import CompactRange, leaf_hash

BACKEND_ENV = "CLOUDAUDIT_TEST_BACKEND"
DEFAULT_BACKEND = "sqlite"


class SQLiteBackend:
    """The embedded default store: one SQLite file (WAL mode) in the server's data directory."""

    name = "sqlite"
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


BACKENDS = {cls.name: cls for cls in (SQLiteBackend,)}


def current():
    """The backend named by $CLOUDAUDIT_TEST_BACKEND (default sqlite)."""
    name = os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    try:
        return BACKENDS[name]()
    except KeyError:
        raise RuntimeError("%s=%r: the black-box suite knows the backends %s" % (BACKEND_ENV, name, ", ".join(BACKENDS)))


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
