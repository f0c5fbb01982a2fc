"""`cloudaudit migrate --store postgres://...` against a throwaway PostgreSQL cluster (docs/postgres.md,
"Schema"): it creates the schema, says so, finds it current the next time, applies once when several nodes
run it together, refuses a database at a newer version naming both, and refuses a URL that holds a password
or an unreachable store with a message an operator can act on."""

import concurrent.futures
import os

import pytest

from pgcluster import Cluster
import storage_backend
from support import clean_env, free_port, run_cli


pytestmark = storage_backend.once("it starts its own PostgreSQL clusters")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("pg") / "cluster").start()
    yield c
    c.stop()


def _migrate(url, check=True, **env):
    return run_cli(["migrate", "--store", url], check=check, env=clean_env(**env))


def test_migrate_creates_then_finds_the_schema_current(cluster):
    p = _migrate(cluster.url)
    assert p.stdout_text.strip() == "created the schema of %s?sslmode=disable: applied 1-core, 2-alerts" % cluster.url, p.stdout_text
    assert cluster.psql("SELECT version, name FROM schema_migrations ORDER BY version") == ["1|core", "2|alerts"]
    tables = set(cluster.psql("SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace"))
    assert {"accounts", "events", "postings", "event_ids", "merkle_nodes", "leases", "schema_migrations"} <= tables, tables
    assert cluster.psql("SELECT relkind FROM pg_class WHERE relname = 'events'") == ["p"], "events is partitioned"
    p = _migrate(cluster.url)
    assert "is current (2-alerts); nothing to apply" in p.stdout_text, p.stdout_text
    # the same from CLOUDAUDIT_STORE
    p = run_cli(["migrate"], env=clean_env(CLOUDAUDIT_STORE=cluster.url))
    assert "is current" in p.stdout_text


def test_nodes_migrating_together_apply_once(tmp_path):
    c = Cluster(tmp_path / "together").start()
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: _migrate(c.url), range(4)))
        created = [r for r in results if "created the schema" in r.stdout_text]
        current = [r for r in results if "is current" in r.stdout_text]
        assert len(created) == 1 and len(current) == 3, [r.stdout_text for r in results]
        assert c.psql("SELECT count(*) FROM schema_migrations") == ["2"]
    finally:
        c.stop()


def test_a_newer_database_is_refused_naming_both_versions(tmp_path):
    c = Cluster(tmp_path / "newer").start()
    try:
        _migrate(c.url)
        c.psql("INSERT INTO schema_migrations (version, name) VALUES (99, 'from-the-future')")
        p = _migrate(c.url, check=False)
        assert p.returncode == 1, (p.returncode, p.stderr_text)
        assert "the database is at schema version 99, and this cloudaudit knows versions up to 2; use a newer version" in p.stderr_text
        assert c.psql("SELECT count(*) FROM schema_migrations") == ["3"], "nothing changed"
    finally:
        c.stop()


def test_bad_store_settings_are_refused_clearly(cluster, tmp_path):
    p = _migrate(cluster.url.replace("cloudaudit@", "cloudaudit:hunter2@"), check=False)
    assert p.returncode == 64 and "PGPASSWORD" in p.stderr_text and "hunter2" not in p.stderr_text, p.stderr_text
    port = free_port()
    p = _migrate("postgres://cloudaudit@127.0.0.1:%d/cloudaudit_test" % port, check=False)
    assert p.returncode == 1 and "cannot reach the PostgreSQL store at postgres://cloudaudit@127.0.0.1:%d/cloudaudit_test" % port in p.stderr_text, \
        p.stderr_text
    assert "PSQLError" not in p.stderr_text
    p = _migrate(cluster.url.replace("/cloudaudit_test", "/no_such_db"), check=False)
    assert p.returncode == 1 and "has no database no_such_db" in p.stderr_text, p.stderr_text
    p = run_cli(["migrate"], check=False, env=clean_env())
    assert p.returncode == 64 and "--store postgres://" in p.stderr_text, p.stderr_text
    loose = tmp_path / "pw"
    loose.write_text("secret\n")
    os.chmod(loose, 0o644)
    p = run_cli(["migrate", "--store", cluster.url, "--store-password-file", str(loose)], check=False, env=clean_env())
    assert p.returncode != 0 and "readable by others" in p.stderr_text, p.stderr_text
