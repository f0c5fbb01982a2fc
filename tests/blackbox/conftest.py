"""Fixtures for the black-box suite.

* `server`: one `cloudaudit serve` for the whole session (free port, temporary data dir, random root
  credentials passed through CLOUDAUDIT_ROOT_SECRET_ID/KEY), ready once GET /healthz answers.
* `tenant`, `tenant2`: a fresh account with an admin key, created through the admin CLI on the running
  server's data dir, so every test owns its data.
* `spawn_server`: a factory for extra servers (restart, kill -9, rate limits, first-start behaviour),
  each stopped at the end of the test.

The binary is `.build/debug/cloudaudit`, or $CLOUDAUDIT_BIN.
"""

import time
from dataclasses import dataclass

import pytest

import support

from support import (
    BIN,
    Key,
    Server,
    ServerPool,
    binary_available,
    start_server,
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
    srv = start_server(base)
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
    pool = ServerPool(tmp_path)
    yield pool.make
    pool.kill_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        srv = item.funcargs.get("server") if hasattr(item, "funcargs") else None
        if srv is not None:
            rep.sections.append(("session server log (tail)", srv.log_tail(8)))


# ---- issue 3: tracking sets and delivery (moto S3 on loopback, webhook receivers, a server with regions)

import json  # noqa: E402
import uuid  # noqa: E402

import deliverysupport  # noqa: E402
import faultproxy  # noqa: E402
import s3server  # noqa: E402
import webhooks  # noqa: E402


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """moto's S3 server on a free loopback port, for the whole session."""
    base = tmp_path_factory.mktemp("moto")
    m = s3server.MotoServer(base / "moto.log")
    try:
        m.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield m
    m.stop()


@pytest.fixture(scope="session")
def s3(moto):
    """An independent S3 client (boto3) on the moto server."""
    return s3server.s3_client(moto.url)


@dataclass
class TrackEnv:
    server: Server
    moto: object
    s3: object
    hooks: object
    regions_path: str
    hook_secret: str
    nj_secret: str
    closed_port: int


@pytest.fixture(scope="session")
def track_env(tmp_path_factory, moto, s3):
    """A server started with --regions (ap-guangzhou, ap-shanghai and ap-nanjing on moto, ap-beijing on a
    closed port) and --delivery-interval 1. Channels: ap-guangzhou `gz-queue` -> /gz (secretEnv),
    ap-nanjing `nj-queue` -> /nj (secretFile) and `nj-other` -> /nj-other (secretEnv); ap-shanghai has
    none and reads its S3 credentials from a 0600 file."""
    base = tmp_path_factory.mktemp("track-server")
    hooks = webhooks.WebhookReceiver().start()
    nj_secret = "nj-" + uuid.uuid4().hex
    nj_file = deliverysupport.write_secret_file(base / "nj.secret", nj_secret)
    creds_file = deliverysupport.write_secret_file(base / "s3.json", json.dumps(
        {"AccessKeyId": s3server.S3_ACCESS_KEY, "SecretAccessKey": s3server.S3_SECRET_KEY}))
    closed = support.free_port()
    regions = [
        deliverysupport.s3_region("ap-guangzhou", moto.url, zh="华南地区（广州）", en="South China (Guangzhou)",
                                  notifications=[{"name": "gz-queue", "url": hooks.url("/gz"), "secretEnv": "HOOK_SECRET"}]),
        deliverysupport.s3_region("ap-shanghai", moto.url, zh="华东地区（上海）", en="East China (Shanghai)",
                                  creds_file=creds_file),
        deliverysupport.s3_region("ap-nanjing", moto.url, zh="华东地区（南京）", en="East China (Nanjing)",
                                  notifications=[
                                      {"name": "nj-queue", "url": hooks.url("/nj"), "secretFile": nj_file},
                                      {"name": "nj-other", "url": hooks.url("/nj-other"), "secretEnv": "HOOK_SECRET"}]),
        deliverysupport.s3_region("ap-beijing", "http://127.0.0.1:%d" % closed, zh="华北地区（北京）",
                                  en="North China (Beijing)"),
    ]
    path = deliverysupport.write_regions(base / "regions.json", regions)
    try:
        srv = start_server(base, extra_args=["--regions", path, "--delivery-interval", "1"],
                           env=deliverysupport.s3_env(HOOK_SECRET=webhooks.HOOK_SECRET, CLOUDAUDIT_METRICS_TOKEN=deliverysupport.METRICS_TOKEN))
    except BaseException:  # pytest.fail's outcome included
        hooks.stop()
        raise
    yield TrackEnv(srv, moto, s3, hooks, path, webhooks.HOOK_SECRET, nj_secret, closed)
    srv.stop()
    hooks.stop()


@pytest.fixture
def track_server(track_env):
    return track_env.server


@pytest.fixture
def track_tenant(track_env):
    return _new_tenant(track_env.server)


@pytest.fixture
def track_tenant2(track_env):
    return _new_tenant(track_env.server)


@pytest.fixture
def new_track_tenant(track_env):
    return lambda retention_days=None: _new_tenant(track_env.server, retention_days)


@pytest.fixture
def bucket(s3):
    """A fresh, empty bucket on moto (unique name)."""
    return s3server.create_bucket(s3, s3server.new_bucket_name())


@pytest.fixture
def make_proxy():
    """Factory of pausable TCP proxies (TCPProxy) in front of a port; stopped at the end of the test."""
    made = []

    def make(target_port, host="127.0.0.1"):
        p = faultproxy.TCPProxy(host, target_port).start()
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def make_hook():
    """Factory of webhook receivers; stopped at the end of the test."""
    made = []

    def make():
        h = webhooks.WebhookReceiver().start()
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()
