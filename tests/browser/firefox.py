"""Firefox for the browser suite, through Marionette (Firefox's own remote protocol, from the
`marionette-driver` package), shaped as the part of Selenium's WebDriver the suite uses.

Selenium drives Firefox through geckodriver, a separate binary that Debian does not package and that
this machine cannot download; geckodriver itself is a translator from W3C WebDriver to Marionette. So
the suite talks Marionette directly, and this adapter gives it Selenium's names and semantics: the same
`By` strings, Selenium's exceptions (so `WebDriverWait` and the page object's stale-element retry work
unchanged), `Select`, `ActionChains` (its W3C actions are passed through as they are) and Selenium's
`get_attribute` (the property when there is one, "true"/None for boolean attributes).
"""

import functools
import time
import warnings

from selenium.common import exceptions as sx
from selenium.webdriver.remote.command import Command

# mozinfo and mozrunner (marionette-driver's dependencies) use deprecated stdlib calls on import
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(mozinfo|mozrunner)\b")
from marionette_driver import errors as mx  # noqa: E402
from marionette_driver.marionette import Marionette, WebElement  # noqa: E402

_ERRORS = {
    mx.NoSuchElementException: sx.NoSuchElementException,
    mx.StaleElementException: sx.StaleElementReferenceException,
    mx.ElementNotInteractableException: sx.ElementNotInteractableException,
    mx.ElementClickInterceptedException: sx.ElementClickInterceptedException,
    mx.JavascriptException: sx.JavascriptException,
    mx.ScriptTimeoutException: sx.TimeoutException,
    mx.TimeoutException: sx.TimeoutException,
    mx.InvalidSelectorException: sx.InvalidSelectorException,
    mx.InvalidArgumentException: sx.InvalidArgumentException,
    mx.NoSuchWindowException: sx.NoSuchWindowException,
}

# Selenium's getAttribute atom: these answer "true" or None.
_BOOLEAN_ATTRIBUTES = {
    "allowfullscreen", "async", "autofocus", "autoplay", "checked", "controls", "default", "defer", "disabled",
    "formnovalidate", "hidden", "indeterminate", "ismap", "loop", "multiple", "muted", "novalidate", "open",
    "readonly", "required", "reversed", "selected",
}

_GET_ATTRIBUTE = """
    const [el, name, bools] = arguments;
    const n = name.toLowerCase();
    if (n === 'style') return el.style.cssText;
    if (n === 'class') return el.getAttribute('class');
    if (bools.includes(n)) return (el.hasAttribute(name) || el[n] === true) ? 'true' : null;
    const p = el[name];
    if (p !== undefined && p !== null && typeof p !== 'object' && typeof p !== 'function') return String(p);
    return el.getAttribute(name);"""


def _translated(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except mx.MarionetteException as e:
            for theirs, ours in _ERRORS.items():
                if isinstance(e, theirs):
                    raise ours(str(e)) from e
            raise sx.WebDriverException(str(e)) from e
    return call


def _wrap(value, driver):
    if isinstance(value, WebElement):
        return FirefoxElement(value, driver)
    if isinstance(value, list):
        return [_wrap(v, driver) for v in value]
    if isinstance(value, dict):
        return {k: _wrap(v, driver) for k, v in value.items()}
    return value


def _unwrap(value):
    if isinstance(value, FirefoxElement):
        return value.inner
    if isinstance(value, (list, tuple)):
        return [_unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


class FirefoxElement:
    def __init__(self, inner, driver):
        self.inner = inner
        self._driver = driver

    @property
    @_translated
    def text(self):
        return self.inner.text

    @property
    @_translated
    def tag_name(self):
        return self.inner.tag_name.lower()

    @_translated
    def click(self):
        self.inner.click()

    @_translated
    def send_keys(self, *values):
        self.inner.send_keys("".join(str(v) for v in values))

    @_translated
    def clear(self):
        self.inner.clear()

    @_translated
    def is_displayed(self):
        return self.inner.is_displayed()

    @_translated
    def is_enabled(self):
        return self.inner.is_enabled()

    @_translated
    def is_selected(self):
        return self.inner.is_selected()

    def get_attribute(self, name):
        return self._driver.execute_script(_GET_ATTRIBUTE, self, name, sorted(_BOOLEAN_ATTRIBUTES))

    @_translated
    def get_dom_attribute(self, name):
        return self.inner.get_attribute(name)

    @_translated
    def find_element(self, by, value):
        return FirefoxElement(self.inner.find_element(by, value), self._driver)

    @_translated
    def find_elements(self, by, value):
        return [FirefoxElement(e, self._driver) for e in self.inner.find_elements(by, value)]


class FirefoxDriver:
    """Headless Firefox in its own new profile, with Selenium's method names."""

    name = "firefox"

    def __init__(self, binary, prefs, log):
        # port 0: Marionette picks a free port, so several runs can share the machine; Firefox's own
        # output goes to `log` (replaced by each start)
        self.m = Marionette(bin=binary, port=0, headless=True, prefs=prefs, gecko_log=str(log))
        self.m.start_session()
        # Firefox's own window keeps 500px for its toolbars (min-width on its chrome document); lifted,
        # so that the page can be shown phone-sized as in Chromium
        with self.m.using_context("chrome"):
            self.m.execute_script("document.documentElement.style.minWidth = '0px'")

    @_translated
    def get(self, url):
        self.m.navigate(url)

    @_translated
    def find_element(self, by, value):
        return FirefoxElement(self.m.find_element(by, value), self)

    @_translated
    def find_elements(self, by, value):
        return [FirefoxElement(e, self) for e in self.m.find_elements(by, value)]

    @_translated
    def execute_script(self, script, *args):
        # sandbox=None: the page's own window, as Selenium's scripts see it
        return _wrap(self.m.execute_script(script, script_args=_unwrap(args), sandbox=None), self)

    @_translated
    def execute_async_script(self, script, *args):
        return _wrap(self.m.execute_async_script(script, script_args=_unwrap(args), sandbox=None), self)

    def set_script_timeout(self, seconds):
        self.m.timeout.script = seconds

    @_translated
    def execute(self, command, params=None):
        """The one Selenium command sent by ActionChains: W3C actions, which Marionette takes as they are."""
        if command != Command.W3C_ACTIONS:
            raise sx.WebDriverException("the Firefox adapter does not send %r" % command)
        self.m.actions.perform(_unwrap(params["actions"]))
        return {"value": None}

    @_translated
    def set_window_size(self, width, height):
        # the window manager may apply a new size a moment later
        for _ in range(20):
            rect = self.m.set_window_rect(width=width, height=height)
            if (rect["width"], rect["height"]) == (width, height):
                return
            time.sleep(0.1)
        raise sx.WebDriverException("Firefox kept its window at %r, not %dx%d" % (rect, width, height))

    @_translated
    def get_cookie(self, name):
        return self.m.get_cookie(name)

    @_translated
    def get_cookies(self):
        return self.m.get_cookies()

    @_translated
    def save_screenshot(self, path):
        # the window's view, as Chromium's screenshots are (not the whole document)
        with open(path, "wb") as f:
            f.write(self.m.screenshot(format="binary", full=False))
        return True

    def quit(self):
        self.m.cleanup()
