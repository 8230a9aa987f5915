"""How many bytes an applicant's phone downloads for each page of the journey, against stock
GOV.UK Frontend.

Applicants apply from cheap phones on slow, metered mobile data: the issue set targets of at
most 30 KB for the first page (cold cache, favicon included) and at most 6 KB for each page after
it (warm cache), with nothing from another origin and no web fonts. This bench measures them.

It builds a second asset set with stock GOV.UK Frontend (the whole govuk-frontend.min.css and
.min.js) precompressed the same way (`node static/build.mjs --stock`), and runs the journey twice
on the portal's app (a fresh SQLite database in a temporary folder, served on 127.0.0.1 by a
werkzeug thread): once with static/dist, once with the stock set. Debian's Chromium, headless
through Playwright, visits each page; the bytes are what Chromium's network stack reports as
received for the page and everything it loads (CDP Network.loadingFinished encodedDataLength:
response headers and bodies, as sent). Between measured pages the applicant moves on through the
same browser context's request API (its cookies, not its network log): answers, sign-in, uploads.

HTML is compressed only if the app does it: `--compress-html` turns Flask-Compress on as
portal/assets.init_compression does (what portal/__init__.py is to call), for a preview.

    .venv/bin/python bench/page_weight.py [--compress-html]
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from playwright.sync_api import BrowserContext, sync_playwright  # noqa: E402

from portal import assets, create_app, migrate  # noqa: E402
from portal.apply import windows  # noqa: E402
from portal.auth import services  # noqa: E402
from portal.config import PortalConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Role, utcnow  # noqa: E402
from tests.apply_helpers import ELIGIBLE, photo_bytes  # noqa: E402
from tests.apply_helpers import MAIN_APPLICANT_ALONE as ANSWERS  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from tests.helpers import PASSWORD  # noqa: E402

# What a phone shows: a small screen (the CSS is the same for every size anyway).
VIEWPORT = {"width": 375, "height": 667}
EMAIL = "amina@example.org"  # as MAIN_APPLICANT_ALONE's contact page answers
# Chromium's own Accept-Encoding, for the favicon, which headless Chromium does not fetch.
CHROMIUM_ACCEPT_ENCODING = "gzip, deflate, br, zstd"
FIRST_PAGE_TARGET = 30_000
NEXT_PAGE_TARGET = 6_000
STOCK_FONTS = "*/assets/fonts/*"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SUBMISSION_KEY = re.compile(r'name="submission_key" value="([^"]+)"')


@dataclass
class Request:
    url: str
    kind: str = ""
    status: int = 0
    encoding: str = ""
    from_cache: bool = False
    received: int = 0
    failed: str = ""


@dataclass
class PageWeight:
    name: str
    path: str
    requests: list[Request] = field(default_factory=list)
    font_requests: int = 0

    @property
    def received(self) -> int:
        return sum(request.received for request in self.requests)

    @property
    def on_the_wire(self) -> list[Request]:
        return [r for r in self.requests if r.received and not r.from_cache]


@dataclass
class Run:
    label: str
    html_compressed: bool
    pages: list[PageWeight]


# --- The app, its data and its server -------------------------------------------------------------


def make_app(folder: Path, dist: Path, compress_html: bool) -> Flask:
    """The portal on a fresh SQLite database, as tests/conftest.py's make_config sets it up."""
    config = PortalConfig(
        ENV="test",
        SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789",
        DATABASE_URL=f"sqlite:///{folder / 'portal.sqlite3'}",
        BASE_URL="http://localhost",
        TESTING=True,
        INSTANCE_PATH=folder / "instance",
        RATELIMIT_ENABLED=False,
        LOG_LEVEL="WARNING",
    )
    assets.DIST = dist  # read by create_app: which build the pages link to and /assets/ serves
    app = create_app(config)
    if compress_html:
        assets.init_compression(app)
    migrate.upgrade(app)
    with app.app_context():
        services.create_user(EMAIL, PASSWORD, Role.APPLICANT)
        now = utcnow()
        windows.create_window(
            "Bench window", now - timedelta(hours=1), now + timedelta(days=30), 50
        )
        db.session.commit()
    return app


def html_is_compressed(app: Flask) -> bool:
    response = app.test_client().get("/en/", headers={"Accept-Encoding": CHROMIUM_ACCEPT_ENCODING})
    return "Content-Encoding" in response.headers


def build_stock(folder: Path) -> Path:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is needed to build the stock GOV.UK Frontend assets")
    out = folder / "stock-dist"
    subprocess.run(
        [node, str(ROOT / "static" / "build.mjs"), "--stock", str(out)],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out


# --- Moving the applicant on between measured pages ---------------------------------------------


def post_form(context: BrowserContext, path: str, data: dict[str, str | list[str]]) -> int:
    """GET the form, POST it with its CSRF token (repeated names for date parts); the status."""
    page = context.request.get(path)
    token = _CSRF.search(page.text())
    assert token, f"no CSRF token on {path}"
    body = urlencode({**data, "csrf_token": token.group(1)}, doseq=True)
    response = context.request.post(
        path,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        max_redirects=0,
    )
    return response.status


def answer_eligibility(context: BrowserContext) -> None:
    for name, answer in ELIGIBLE.items():
        status = post_form(context, f"/en/eligibility/{name}", {"answer": answer})
        assert status == 302, (name, status)


def sign_in_and_start(context: BrowserContext) -> None:
    status = post_form(context, "/en/sign-in", {"email": EMAIL, "password": PASSWORD})
    assert status == 302, ("sign-in", status)
    response = context.request.get("/en/application/start", max_redirects=0)
    assert response.headers["location"] == "/en/application/tasks", response.headers


def answer(context: BrowserContext, pages: list[tuple[str, dict[str, str | list[str]]]]) -> None:
    for name, data in pages:
        status = post_form(context, f"/en/application/questions/{name}", data)
        assert status == 302, (name, status)


def upload_documents(context: BrowserContext) -> None:
    for kind, part, colour, filename in (
        ("identity", "data_page", "teal", "passport.jpg"),
        ("photo", None, "orange", "face.jpg"),
    ):
        path = f"/en/application/documents/{kind}/add"
        token = _CSRF.search(context.request.get(path).text())
        assert token, f"no CSRF token on {path}"
        fields: dict[str, object] = {
            "csrf_token": token.group(1),
            "file": {
                "name": filename,
                "mimeType": "image/jpeg",
                "buffer": photo_bytes(colour=colour),
            },
        }
        if part:
            fields["part"] = part
        response = context.request.post(path, multipart=fields, max_redirects=0)
        assert response.status == 302, (kind, response.status)


def send(context: BrowserContext) -> None:
    page = context.request.get("/en/application/check-your-answers").text()
    token, key = _CSRF.search(page), _SUBMISSION_KEY.search(page)
    assert token and key, "check your answers has no send form"
    response = context.request.post(
        "/en/application/check-your-answers",
        form={"csrf_token": token.group(1), "submission_key": key.group(1)},
        max_redirects=0,
    )
    assert response.headers["location"] == "/en/application/sent", response.status


# --- Measuring -----------------------------------------------------------------------------------


def favicon_bytes(base_url: str, favicon_path: str) -> int:
    """The favicon as Chromium would download it: headless Chromium fetches none, so ask for it
    with Chromium's Accept-Encoding and count the whole response as it came off the socket."""
    address = urlsplit(base_url)
    request = (
        f"GET {favicon_path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Accept-Encoding: {CHROMIUM_ACCEPT_ENCODING}\r\nConnection: close\r\n\r\n"
    )
    received = 0
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request.encode())
        while chunk := connection.recv(65536):
            received += len(chunk)
    return received


def walk(context: BrowserContext, base_url: str, *, stock: bool) -> list[PageWeight]:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    if stock:
        # Stock GOV.UK Frontend's CSS asks for the GDS Transport web fonts, which the portal may not
        # use: leave them out of its numbers (they would add 31 KB and 33 KB of woff2). Blocking
        # here, unlike page.route, keeps the HTTP cache on.
        cdp.send("Network.setBlockedURLs", {"urls": [STOCK_FONTS]})
    current: dict[str, Request] = {}
    origin = base_url

    def will_be_sent(event: dict) -> None:
        url = event["request"]["url"]
        if url.startswith("data:"):
            return
        request = current.setdefault(event["requestId"], Request(url=url))
        request.url, request.kind = url, event.get("type", "")

    def response_received(event: dict) -> None:
        request = current.setdefault(event["requestId"], Request(url=event["response"]["url"]))
        response = event["response"]
        request.status = response["status"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        request.encoding = headers.get("content-encoding", "")
        request.from_cache = bool(
            response.get("fromDiskCache") or response.get("fromPrefetchCache")
        )

    def served_from_cache(event: dict) -> None:
        current.setdefault(event["requestId"], Request(url="?")).from_cache = True

    def finished(event: dict) -> None:
        current.setdefault(event["requestId"], Request(url="?")).received = int(
            event["encodedDataLength"]
        )

    def failed(event: dict) -> None:
        current.setdefault(event["requestId"], Request(url="?")).failed = event.get(
            "blockedReason"
        ) or event.get("errorText", "failed")

    cdp.on("Network.requestWillBeSent", will_be_sent)
    cdp.on("Network.responseReceived", response_received)
    cdp.on("Network.requestServedFromCache", served_from_cache)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.loadingFailed", failed)

    pages: list[PageWeight] = []

    def visit(name: str, path: str) -> PageWeight:
        current.clear()
        response = page.goto(base_url + path, wait_until="networkidle")
        assert response is not None and response.ok, (path, response and response.status)
        assert page.url == base_url + path, f"{path} redirected to {page.url}"
        weight = PageWeight(name, path, list(current.values()))
        weight.font_requests = sum(1 for r in weight.requests if r.kind == "Font")
        elsewhere = [r.url for r in weight.requests if not r.url.startswith(origin + "/")]
        assert not elsewhere, f"{path} asked another origin for {elsewhere}"
        assert not [r for r in weight.requests if r.failed and r.kind != "Font"], weight.requests
        pages.append(weight)
        return weight

    first = visit("Start page", "/en/")
    if not any(r.kind == "Other" and "favicon" in r.url for r in first.requests):
        # Not every Chromium build fetches favicons headless: count what it would have fetched.
        icons = page.eval_on_selector_all(
            "link[rel~=icon]", "links => links.map(l => [l.getAttribute('type'), l.href])"
        )
        # Chromium takes the SVG icon when there is one.
        icon = next((href for kind, href in icons if kind == "image/svg+xml"), icons[0][1])
        first.requests.append(
            Request(url=icon, kind="Favicon", received=favicon_bytes(base_url, urlsplit(icon).path))
        )
    visit("Eligibility: first question", "/en/eligibility/in_france")
    answer_eligibility(context)
    visit("Sign in", "/en/sign-in")
    sign_in_and_start(context)
    visit("Task list", "/en/application/tasks")
    visit("Question: applicant type", "/en/application/questions/applicant_type")
    birth = next(n for n, (name, _) in enumerate(ANSWERS) if name == "birth")
    answer(context, ANSWERS[:birth])
    visit("Question: date and country of birth", "/en/application/questions/birth")
    answer(context, ANSWERS[birth:])
    upload_documents(context)
    visit("Check your answers", "/en/application/check-your-answers")
    send(context)
    visit("Status", "/en/application/status")
    return pages


def run(label: str, folder: Path, dist: Path, compress_html: bool, stock: bool) -> Run:
    app = make_app(folder, dist, compress_html)
    compressed = html_is_compressed(app)
    with serve(app) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                base_url=base_url, viewport=VIEWPORT, locale="en-GB", is_mobile=True
            )
            context.set_default_timeout(20_000)
            pages = walk(context, base_url, stock=stock)
            context.close()
        finally:
            browser.close()
    with app.app_context():
        db.engine.dispose()
    return Run(label, compressed, pages)


# --- Report --------------------------------------------------------------------------------------


def asset_name(url: str) -> str:
    path = urlsplit(url).path
    return path.rsplit("/", 1)[-1] if path.startswith("/assets/") else path


def report(now: Run, stock: Run) -> bool:
    print(
        "Bytes received per page (response headers + bodies as Chromium got them; HTTP/1.0 from "
        "werkzeug, so no header compression).\nFirst page with a cold cache and the favicon, "
        "every later page with a warm cache; English; Chromium's Accept-Encoding."
    )
    html = "compressed (br)" if now.html_compressed else "NOT compressed (Flask-Compress off)"
    print(f"HTML: {html}.  Stock: govuk-frontend.min.css/.min.js 6.3.0, precompressed alike.\n")
    header = (
        f"{'page':<38}{'cache':<7}{'reqs':>5}{'now':>9}{'stock':>9}{'now/stock':>11}"
        f"{'target':>9}  met"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    for index, (ours, theirs) in enumerate(zip(now.pages, stock.pages, strict=True)):
        target = FIRST_PAGE_TARGET if index == 0 else NEXT_PAGE_TARGET
        met = ours.received <= target and ours.font_requests == 0
        all_met &= met
        print(
            f"{ours.name:<38}{'cold' if index == 0 else 'warm':<7}{len(ours.on_the_wire):>5}"
            f"{ours.received:>9,}{theirs.received:>9,}{ours.received / theirs.received:>11.2f}"
            f"{'≤' + format(target, ','):>9}  {'yes' if met else 'NO'}"
        )
    total_now = sum(p.received for p in now.pages)
    total_stock = sum(p.received for p in stock.pages)
    print("-" * len(header))
    print(
        f"{'whole journey':<38}{'':<7}{'':>5}{total_now:>9,}{total_stock:>9,}"
        f"{total_now / total_stock:>11.2f}"
    )
    print(
        "\nWhat came over the network (bytes received, content-coding); cached and blocked "
        "requests left out:"
    )
    for run in (now, stock):
        print(f"  {run.label}:")
        for page in run.pages:
            for request in page.on_the_wire:
                print(
                    f"    {page.name[:24]:<26}{asset_name(request.url)[:40]:<42}"
                    f"{request.received:>8,}  {request.encoding or 'identity'}"
                )
    ours, theirs = (sum(p.font_requests for p in run.pages) for run in (now, stock))
    print(
        f"\nOther origins: none (asserted on every page). Web fonts: {ours} requested by the "
        f"portal; stock GOV.UK Frontend asked for {theirs} (blocked, not counted)."
    )
    print(f"All targets met: {'yes' if all_met else 'NO'}")
    return all_met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--compress-html",
        action="store_true",
        help="turn Flask-Compress on for the pages (assets.init_compression), if the app does not",
    )
    options = parser.parse_args()
    built = assets.DIST
    with tempfile.TemporaryDirectory(prefix="page-weight-") as temporary:
        folder = Path(temporary)
        stock_dist = build_stock(folder)
        (folder / "now").mkdir()
        (folder / "stock").mkdir()
        now = run("portal (static/dist)", folder / "now", built, options.compress_html, False)
        stock = run(
            "stock GOV.UK Frontend", folder / "stock", stock_dist, options.compress_html, True
        )
    raise SystemExit(0 if report(now, stock) else 1)


if __name__ == "__main__":
    main()
