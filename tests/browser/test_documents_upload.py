"""Uploading documents in a real browser: refusals on the same page, thumbnails, replace, remove.

With JavaScript the upload goes through the progress indicator and a refused file's page is
written back as the server sent it; without JavaScript the plain form does the same. Every page
is checked with axe, in English and in Arabic (right to left).
"""

from __future__ import annotations

import io
import re
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.documents import validation
from portal.extensions import db
from portal.models import Document
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    fill_in,
    pdf_bytes,
    photo_bytes,
    start_application,
)
from tests.browser.conftest import (
    assert_no_axe_violations,
    off_loop,
    scrolls_horizontally,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN

pytestmark = pytest.mark.browser

EMAIL = "amina@example.org"


def prepare_draft(app: Flask) -> None:
    def prepare() -> None:
        client = app.test_client()
        start_application(client, app, EMAIL)
        fill_in(client, MAIN_APPLICANT_ALONE[:3])

    off_loop(prepare)


def choose_file(page: Page, name: str, content: bytes, mime: str = "image/jpeg") -> None:
    page.locator("input[type=file]").set_input_files(
        {"name": name, "mimeType": mime, "buffer": content}
    )
    page.locator("form[data-module='app-upload'] button[type=submit]").click()


@pytest.mark.parametrize(
    ("locale", "direction", "javascript"),
    [("en", "ltr", True), ("en", "ltr", False), ("ar", "rtl", True)],
)
def test_refused_file_then_upload_replace_and_remove(
    new_context, app, locale, direction, javascript
):
    prepare_draft(app)
    page = new_context(java_script_enabled=javascript).new_page()
    sign_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/en/application/tasks$"))

    page.goto(f"/{locale}/application/documents/photo/add")
    expect(page.locator("html")).to_have_attribute("dir", direction)
    if javascript:
        assert_no_axe_violations(page)

    choose_file(page, "page.html.jpg", b"<!doctype html><script>alert(1)</script>", "image/jpeg")
    expect(page).to_have_url(re.compile(rf"/{locale}/application/documents/photo/add$"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("page.html.jpg")
    expect(page.locator(".govuk-error-message")).to_contain_text("page.html.jpg")
    if javascript:
        assert_no_axe_violations(page)

    choose_file(page, "face.jpg", photo_bytes((800, 600)))
    expect(page).to_have_url(re.compile(rf"/{locale}/application/documents$"))
    photo = page.locator("#kind-photo")
    expect(photo).to_contain_text("face.jpg")
    thumbnail = photo.locator("img.app-document-list__thumbnail")
    expect(thumbnail).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    if javascript:
        assert_no_axe_violations(page)

    photo.locator(".app-document-list__actions a").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/application/documents/photo/add\?replace="))
    expect(page.locator(".govuk-inset-text:not(.app-translation-notice)")).to_contain_text(
        "face.jpg"
    )
    choose_file(page, "new-face.jpg", photo_bytes((640, 480), colour="orange"))
    expect(page).to_have_url(re.compile(rf"/{locale}/application/documents$"))
    expect(photo).to_contain_text("new-face.jpg")
    expect(photo.locator(".app-document-list__item")).to_have_count(1)

    photo.locator(".app-document-list__actions button").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/application/documents$"))
    expect(photo.locator(".app-document-list__item")).to_have_count(0)


# --- Smaller photos and dropped connections (issue 21) -------------------------------------------
#
# What arrives at the server is read where the server reads it (`validation.clean`); connections
# are cut by the test server itself (`CutConnections`), after it has read the whole body.


class CutConnections:
    """A test-server hook: the first `cuts` POSTs to `path` lose their connection once the server
    has read the body. The first cut comes after the portal handled the request (the file is
    stored, its answer lost); the others before (nothing handled)."""

    def __init__(self, app: Flask, path: str, cuts: int) -> None:
        self.inner = app.wsgi_app
        self.path = path
        self.cuts = cuts
        self.posts = 0
        app.wsgi_app = self  # type: ignore[method-assign]

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != self.path:
            return self.inner(environ, start_response)
        self.posts += 1
        if self.posts > self.cuts:
            return self.inner(environ, start_response)
        if self.posts == 1:
            answer = self.inner(environ, lambda *args: None)
            b"".join(answer)
            getattr(answer, "close", lambda: None)()
        else:
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        return []


@pytest.fixture
def received(monkeypatch) -> list[tuple[str, bytes]]:
    """Each file as it reached the server: its name and its bytes."""
    arrived: list[tuple[str, bytes]] = []
    clean = validation.clean

    def recording(source, name, limits):
        source.seek(0)
        arrived.append((name, source.read()))
        return clean(source, name, limits)

    monkeypatch.setattr(validation, "clean", recording)
    return arrived


def stored_documents(app: Flask) -> list[Document]:
    def query() -> list[Document]:
        with app.app_context():
            rows = list(db.session.scalars(select(Document).order_by(Document.created_at)))
            db.session.expunge_all()
            return rows

    return off_loop(query)


def portrait_photo() -> bytes:
    """A 12-megapixel portrait as a phone camera writes it: the pixels stored sideways with EXIF
    orientation 6, the phone's name and a GPS position. Upright, the top half is red."""
    upright = Image.new("RGB", (3000, 4000), "blue")
    upright.paste("red", (0, 0, 3000, 2000))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (50.0, 57.0, 0.0), "E", (1.0, 51.0, 0.0)
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


def screenshot() -> bytes:
    """A phone screenshot, 1080 x 2400, with a transparent band (white once flattened)."""
    image = Image.new("RGBA", (1080, 2400), (0, 128, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, 1080, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def heic_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "purple").save(buffer, "HEIF")
    return buffer.getvalue()


def upload_page(new_context, app: Flask, javascript: bool = True, **options: Any) -> Page:
    prepare_draft(app)
    page = new_context(java_script_enabled=javascript, **options).new_page()
    sign_in(page, EMAIL)
    page.goto("/en/application/documents/photo/add")
    return page


@pytest.mark.parametrize("where", ["worker", "page"])
def test_a_portrait_is_sent_upright_at_the_kept_size_without_its_metadata(
    new_context, app, received, where
):
    """In a worker where the browser has OffscreenCanvas, on the page's own canvas otherwise."""
    page = upload_page(new_context, app)
    if where == "page":
        page.add_init_script("delete window.OffscreenCanvas")
        page.reload()
    workers: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    choose_file(page, "portrait.jpg", portrait_photo())
    expect(page).to_have_url(re.compile(r"/en/application/documents$"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text(uploaded("portrait.jpg"))

    ((name, sent),) = received
    assert name == "portrait.jpg"
    image = Image.open(io.BytesIO(sent))
    assert image.format == "JPEG"
    assert image.size == (1500, 2000), "upright, longest side PORTAL_IMAGE_MAX_SIDE"
    assert image.getpixel((750, 100))[0] > 200 and image.getpixel((750, 1900))[2] > 200, "upright"
    assert not image.getexif(), "no EXIF at all: orientation, phone and position stayed behind"
    assert b"PhoneMaker" not in sent and b"Exif" not in sent
    (document,) = stored_documents(app)
    assert (document.width, document.height) == (1500, 2000), "the size the server keeps today"
    assert len(workers) == (1 if where == "worker" else 0)


def test_a_screenshot_becomes_a_jpeg_of_the_kept_size_with_white_for_transparency(
    new_context, app, received
):
    page = upload_page(new_context, app)
    choose_file(page, "screen.png", screenshot(), "image/png")
    expect(page).to_have_url(re.compile(r"/en/application/documents$"))
    ((name, sent),) = received
    assert name == "screen.jpg", "named for what it is now, or the server refuses the mismatch"
    image = Image.open(io.BytesIO(sent))
    assert image.format == "JPEG" and image.size == (900, 2000)
    assert min(image.getpixel((450, 20))) > 240, "transparent became white"
    (document,) = stored_documents(app)
    assert (document.width, document.height) == (900, 2000)


@pytest.mark.parametrize(
    ("javascript", "name", "content", "mime"),
    [
        (False, "portrait.jpg", "portrait", "image/jpeg"),
        (True, "scan.pdf", "pdf", "application/pdf"),
        (True, "phone.heic", "heic", "image/heic"),
    ],
    ids=["no-javascript", "pdf", "heic-not-decodable-in-chromium"],
)
def test_the_original_is_sent_without_javascript_or_when_the_browser_cannot_decode_it(
    new_context, app, received, javascript, name, content, mime
):
    original = {"portrait": portrait_photo, "pdf": pdf_bytes, "heic": heic_photo}[content]()
    page = upload_page(new_context, app, javascript=javascript)
    if not javascript:
        expect(page.locator("input[name='upload_key']")).to_have_value("")
    choose_file(page, name, original, mime)
    expect(page).to_have_url(re.compile(r"/en/application/documents$"))
    assert received == [(name, original)], "byte for byte what was chosen"
    (document,) = stored_documents(app)
    assert document.upload_key is None if not javascript else document.upload_key is not None


def test_a_connection_cut_after_the_file_was_stored_is_retried_and_keeps_one_document(
    new_context, app, received
):
    cutter = CutConnections(app, "/en/application/documents/photo/add", cuts=2)
    page = upload_page(new_context, app, viewport=SMALL_SCREEN)
    choose_file(page, "face.jpg", photo_bytes((800, 600)))
    status = page.locator(".app-upload-progress__status")
    expect(status).to_have_text(
        "The connection was lost. Trying to send your file again. Keep this page open."
    )
    expect(page).to_have_url(re.compile(r"/en/application/documents$"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text(uploaded("face.jpg"))
    assert cutter.posts == 3
    assert len(received) == 1, "the third sending found the first one's document by its key"
    assert len(stored_documents(app)) == 1


def test_when_every_retry_fails_the_file_stays_chosen_and_the_button_sends_it_again(
    new_context, app, received
):
    """At 320 px, by keyboard, axe clean in the state a person is left in."""
    cutter = CutConnections(app, "/en/application/documents/photo/add", cuts=5)
    prepare_draft(app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    page.clock.install()
    sign_in(page, EMAIL)
    page.goto("/en/application/documents/photo/add")
    page.locator("input[type=file]").set_input_files(
        {"name": "face.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes((800, 600))}
    )
    button = page.get_by_role("button", name="Upload file")
    button.focus()
    page.keyboard.press("Enter")
    for sent in range(1, 5):
        wait_until(page, lambda sent=sent: cutter.posts == sent)
        page.clock.run_for(16_000)
    wait_until(page, lambda: cutter.posts == 5)
    status = page.locator(".app-upload-progress__status")
    expect(status).to_have_text(
        "Your file was not sent because the connection was lost. It is still chosen: when you "
        "are connected again, send it again."
    )
    expect(button).to_be_enabled()
    expect(button).to_be_focused()
    assert_no_axe_violations(page)
    assert not scrolls_horizontally(page)

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/en/application/documents$"))
    assert cutter.posts == 6
    assert len(received) == 1 and len(stored_documents(app)) == 1


def test_a_refusal_is_shown_translated_and_not_retried_and_the_page_stays_enhanced(
    new_context, app, received
):
    cutter = CutConnections(app, "/fr/application/documents/photo/add", cuts=0)
    prepare_draft(app)
    page = new_context().new_page()
    sign_in(page, EMAIL)
    page.goto("/fr/application/documents/photo/add")
    choose_file(page, "notes.pdf", b"%PDF-1.4 not really a pdf", "application/pdf")
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert cutter.posts == 1

    # The refusal's page is written into the document: the next file is still shrunk and keyed.
    expect(page.locator("input[name='upload_key']")).not_to_have_value("")
    choose_file(page, "portrait.jpg", portrait_photo())
    expect(page).to_have_url(re.compile(r"/fr/application/documents$"))
    assert cutter.posts == 2
    assert Image.open(io.BytesIO(received[-1][1])).size == (1500, 2000)


def uploaded(name: str) -> re.Pattern[str]:
    """The confirmation, with or without the marks that isolate the file name's direction."""
    return re.compile(rf"\u2068?{re.escape(name)}\u2069? is uploaded")


def wait_until(page: Page, condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)
