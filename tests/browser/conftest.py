"""Browser fixtures: the test app served on a real port, and Debian's Chromium driven by Playwright.

No browser is ever downloaded: Playwright launches /usr/bin/chromium. Every test gets a fresh
browser context (its own cookies), and an app on a fresh database as in tests/conftest.py.

Playwright's sync API keeps an asyncio event loop running in the test thread. Popping a Flask app
context there fails (Flask-SQLAlchemy-Lite's async teardown refuses to run inside a running loop),
so everything that needs an app context runs in a short-lived thread: see `off_loop`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from portal import create_app
from portal.config import PortalConfig
from portal.extensions import db
from portal.models import Role, User
from tests import helpers
from tests.conftest import POSTGRES_URL
from tests.helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_SOURCE = (Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js").read_text(
    encoding="utf-8"
)
DEFAULT_VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run once, on PostgreSQL (the production database), except the language
    tour, whose languages are shared between the two databases (test_every_locale.py).

    What a browser test checks is what the browser shows and does: the pages, their scripts, the
    keyboard, axe, small screens and right to left. The database under the pages is the one the
    integration tests check on both databases, and the tour still drives the whole journey
    through a browser on SQLite. Running every browser test twice cost a quarter of `make test`.
    """
    if POSTGRES_URL is not None:
        return
    once = pytest.mark.skip(reason="browser tests run on PostgreSQL; on SQLite, the tour")
    for item in items:
        if item.path.parent == Path(__file__).parent and item.path.name != "test_every_locale.py":
            item.add_marker(once)


def off_loop(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call `function` in another thread (no event loop there) and return its result."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="off-loop") as executor:
        return executor.submit(function, *args, **kwargs).result()


def make_user(
    app: Flask, email: str, role: Role = Role.APPLICANT, password: str = PASSWORD
) -> User:
    return off_loop(helpers.make_user, app, email, role, password)


def totp_secret(app: Flask, email: str) -> str:
    return off_loop(helpers.totp_secret, app, email)


def _dispose(application: Flask) -> None:
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def app(config: PortalConfig) -> Iterator[Flask]:
    """As in tests/conftest.py, but made and disposed of outside Playwright's event loop
    (create_app pushes and pops an app context)."""
    application = off_loop(create_app, config)
    yield application
    off_loop(_dispose, application)


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request and asset: failures stay readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def serve(app: Flask, name: str = "live-server") -> Iterator[str]:
    """The app on 127.0.0.1 and a free port; yields its base URL (no trailing slash).

    Single-threaded on purpose: one request at a time, like the test client, so SQLite never
    sees two writers.
    """
    server = make_server("127.0.0.1", 0, app, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app served on a real port for the browser."""
    with serve(app) as url:
        yield url


@pytest.fixture(scope="package")
def browser(migrated_database: str) -> Iterator[Browser]:
    """One Chromium for this folder's tests.

    Package scope, not session: Playwright's event loop must be gone before the other folders'
    tests push app contexts in this thread. It asks for the migrated schema so that the
    migrations (which push an app context) run before that loop starts.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Make extra browser contexts (no JavaScript, a small screen); all closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", DEFAULT_VIEWPORT)
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(AXE_SOURCE)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh 1280x800 context; page.goto("/en/") opens the live server's /en/."""
    return new_context().new_page()


# --- Helpers -------------------------------------------------------------------------------------


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and return all its violations: no rule is filtered.

    The contexts made by `new_context` load axe into every document they open, as an init script
    (it runs outside the page's Content-Security-Policy, which would block an injected <script>
    tag, and Chromium compiles it once rather than once per page: a tenth of a second a page);
    any other page, or one whose context runs no scripts, is given it here.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One readable block per violation: id, impact, help, and each failing element's selector."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {node['target']} {node['html'][:120]}: {summary}")
    return "\n".join(lines)


def assert_no_axe_violations(page: Page) -> None:
    violations = axe_violations(page)
    if violations:
        pytest.fail(
            f"axe found {len(violations)} violation(s) on {page.url}:\n"
            + describe_violations(violations)
        )


def scrolls_horizontally(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def sign_in(page: Page, email: str, password: str = PASSWORD, locale: str = "en") -> None:
    """Fill the sign-in form as a person would (labels and button names are the English ones)."""
    page.goto(f"/{locale}/sign-in")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def set_up_two_factor(page: Page, app: Flask, email: str) -> None:
    """On the set-up page: enter the code of the authenticator app, land on the recovery codes."""
    expect(page).to_have_url(re.compile(r"/en/two-factor/set-up$"))
    code = pyotp.TOTP(totp_secret(app, email)).now()
    page.get_by_label("Security code", exact=True).fill(code)
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
