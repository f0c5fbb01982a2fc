"""Fixtures for the browser suite: the web console (docs/console.md) driven in Debian's headless
Chromium (Selenium with chromium-driver) and headless Firefox ESR (Marionette, see firefox.py), against a
live `cloudaudit serve`. Every test runs in each browser of $CONSOLE_BROWSERS (default
"chromium,firefox"), as test_x[chromium] and test_x[firefox].

* `console_env` (session): one server with one tenant seeded by `cloudaudit events generate`
  (SEED_COUNT events over 24 h) plus a few events on one resource (HISTORY_RESOURCE), then a quiet
  second so that ranges ending at `seeded_at` hold exactly the seeded events.
* `browser`: a fresh browser per test (1280x800 of page); at teardown it saves
  tests/browser/screenshots/<test>_<browser>_.png, whatever the outcome.
* `console`: a `ConsolePage` on the session server for that browser.
* `spawn_server`: extra servers (short idle timeout, a server to stop), killed at the end of the test.

Server helpers (Server, keys, the SDK wrappers) come from tests/blackbox/support.py. The binary is
`.build/debug/cloudaudit` or $CLOUDAUDIT_BIN; Chromium is /usr/bin/chromium with /usr/bin/chromedriver
(or $CHROMIUM_BIN / $CHROMEDRIVER_BIN), Firefox /usr/bin/firefox-esr (or $FIREFOX_BIN).
"""

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "blackbox"))
sys.path.insert(0, str(HERE))

import support  # noqa: E402
from support import BIN, Server, ServerPool, binary_available, clean_env, make_event, run_cli, start_server, uid  # noqa: E402

from console_page import ConsolePage  # noqa: E402

SCREENSHOTS = HERE / "screenshots"
# Where the browser saves downloads (the export links), not committed either.
DOWNLOADS = HERE / "screenshots" / "downloads"
SEED_COUNT = int(os.environ.get("CONSOLE_SEED_COUNT", "3000"))
SEED = 20261121
HISTORY_RESOURCE = ("cvm", "ins-console-history")
HISTORY_EVENTS = 7
BROWSERS = [b.strip() for b in os.environ.get("CONSOLE_BROWSERS", "chromium,firefox").split(",") if b.strip()]


def pytest_report_header(config):
    return "cloudaudit binary: %s (%s); browsers: %s" % (
        BIN, "present" if binary_available() else "MISSING", ", ".join(BROWSERS))


@dataclass
class ConsoleEnv:
    server: Server
    account_id: int
    admin: support.Key
    seeded_at: int
    seed_start: int


def _generate(server, key, count, span="24h", seed=SEED):
    env = clean_env(TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=key.secret_key)
    run_cli(["events", "generate", "--endpoint", server.url, "--count", str(count), "--span", span,
             "--seed", str(seed), "--output", "json"], env=env, timeout=600)


@pytest.fixture(scope="session")
def console_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("console-server")
    srv = start_server(base)
    try:
        acct = srv.create_account(uid("console"))
        admin = srv.create_key(acct["AccountId"], "admin")
        t0 = int(time.time())
        _generate(srv, admin, SEED_COUNT)
        # One resource with a history: several operations spread over the last hours.
        rtype, rname = HISTORY_RESOURCE
        names = ["RunInstances", "DescribeInstances", "ModifyInstanceAttribute", "StopInstances", "DescribeInstances",
                 "StartInstances", "TerminateInstances"]
        events = [make_event("cvm.tencentcloudapi.com", name=names[i % len(names)], resourceType=rtype, resourceName=rname,
                             eventTime=t0 - 3600 * (HISTORY_EVENTS - i) - 17 * i,
                             actionType="Read" if names[i % len(names)].startswith("Describe") else "Write",
                             userIdentity={"type": "CAMUser", "principalId": "100000009001", "secretId": "AKIDexample0001",
                                           "userName": ["alice", "bob"][i % 2]},
                             errorCode=0 if i != 3 else 4102)
                  for i in range(HISTORY_EVENTS)]
        admin.put_ok(events)
        seeded_at = int(time.time())
        time.sleep(1.2)  # nothing else lands in a range that ends at seeded_at
    except Exception:
        srv.stop()
        raise
    env = ConsoleEnv(srv, acct["AccountId"], admin, seeded_at, t0 - 86400 - 60)
    yield env
    srv.stop()


def _chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800",
              "--lang=en-US", "--hide-scrollbars"]:
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en", "download.default_directory": str(DOWNLOADS),
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")), options=opts)


def _firefox():
    from firefox import FirefoxDriver

    return FirefoxDriver(os.environ.get("FIREFOX_BIN", "/usr/bin/firefox-esr"), log=SCREENSHOTS / "firefox.log", prefs={
        "intl.accept_languages": "en-US,en",
        # the export links save into DOWNLOADS without asking
        "browser.download.folderList": 2,
        "browser.download.dir": str(DOWNLOADS),
        "browser.download.useDownloadDir": True,
        "browser.download.always_ask_before_handling_new_types": False,
        "browser.download.manager.showWhenStarting": False,
        "browser.helperApps.neverAsk.saveToDisk": "text/csv,application/x-ndjson,application/octet-stream",
    })


def _start(name):
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    drv = {"chromium": _chrome, "firefox": _firefox}[name]()
    # 1280x800 of page (the window's own frame, if any, comes on top)
    drv.set_window_size(1280, 800)
    inner = drv.execute_script("return [window.innerWidth, window.innerHeight]")
    if inner != [1280, 800]:
        drv.set_window_size(1280 + 1280 - inner[0], 800 + 800 - inner[1])
    return drv


def _screenshot_name(node):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name) + ".png"


@pytest.fixture(params=BROWSERS)
def browser(request):
    drv = _start(request.param)
    yield drv
    try:
        SCREENSHOTS.mkdir(exist_ok=True)
        drv.save_screenshot(str(SCREENSHOTS / _screenshot_name(request.node)))
    finally:
        drv.quit()


@pytest.fixture
def console(browser, console_env):
    return ConsolePage(browser, console_env.server)


@pytest.fixture
def spawn_server(tmp_path):
    pool = ServerPool(tmp_path)

    def make(extra_args=(), name=None):
        srv = pool.make(extra_args=extra_args, name=name)
        srv.start()
        return srv

    yield make
    pool.kill_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        drv = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
        if drv is not None:
            try:
                logs = drv.get_log("browser")
                if logs:
                    rep.sections.append(("browser console", "\n".join(l.get("message", "") for l in logs[-30:])))
            except Exception:
                pass
        env = item.funcargs.get("console_env") if hasattr(item, "funcargs") else None
        if env is not None:
            rep.sections.append(("console server log (tail)", env.server.log_tail(15)))
