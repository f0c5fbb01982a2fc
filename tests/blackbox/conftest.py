"""Fixtures for the black-box suite.

* `server`: one `cloudaudit serve` for the whole session (free port, temporary data dir, random root
  credentials passed through CLOUDAUDIT_ROOT_SECRET_ID/KEY), ready once GET /healthz answers.
* `tenant`, `tenant2`: a fresh account with an admin key, created through the admin CLI on the running
  server's data dir, so every test owns its data.
* `spawn_server`: a factory for extra servers (restart, kill -9, rate limits, first-start behaviour),
  each stopped at the end of the test.

The binary is `.build/debug/cloudaudit`, or $CLOUDAUDIT_BIN.
"""

import os
import time
from dataclasses import dataclass

import pytest

import support

from support import (
    BIN,
    Key,
    Server,
    ServerStartError,
    binary_available,
    random_secret_id,
    random_secret_key,
    uid,
)


def pytest_report_header(config):
    return "cloudaudit binary: %s (%s)" % (BIN, "present" if binary_available() else "MISSING")


@pytest.fixture(autouse=True)
def _fixed_query_window():
    support.WINDOW_ANCHOR = int(time.time())
    yield
    support.WINDOW_ANCHOR = None


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("session-server")
    srv = Server(base / "data", base / "server.log", root_id=random_secret_id(), root_key=random_secret_key())
    try:
        srv.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    srv.stop()


@dataclass
class Tenant:
    server: Server
    account_id: int
    name: str
    admin: Key

    def key(self, role):
        return self.server.create_key(self.account_id, role)


def _new_tenant(server, retention_days=None):
    acct = server.create_account(uid("tenant"), retention_days=retention_days)
    admin = server.create_key(acct["AccountId"], "admin")
    return Tenant(server, acct["AccountId"], acct["Name"], admin)


@pytest.fixture
def tenant(server):
    return _new_tenant(server)


@pytest.fixture
def tenant2(server):
    return _new_tenant(server)


@pytest.fixture
def new_tenant(server):
    """Factory for more tenants, optionally with a retention."""
    return lambda retention_days=None: _new_tenant(server, retention_days)


@pytest.fixture
def spawn_server(tmp_path):
    started = []

    def make(root=True, extra_args=(), env=None, data_dir=None, name=None):
        name = name or "srv%d" % len(started)
        kw = {}
        if root:
            kw = dict(root_id=random_secret_id(), root_key=random_secret_key())
        srv = Server(data_dir or (tmp_path / name / "data"), tmp_path / (name + ".log"), extra_args=extra_args,
                     env=env, **kw)
        os.makedirs(tmp_path / name, exist_ok=True)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.kill9()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        srv = item.funcargs.get("server") if hasattr(item, "funcargs") else None
        if srv is not None:
            rep.sections.append(("session server log (tail)", srv.log_tail(8)))
