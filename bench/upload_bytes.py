"""How many bytes a phone sends to upload a photo, with and without JavaScript, and what is kept.

With JavaScript the upload page shrinks a photo the browser can decode to the longest side the
server keeps (PORTAL_IMAGE_MAX_SIDE) and re-encodes it as a JPEG before sending
(static/src/upload.js); without JavaScript the original travels and the server does the same
work after it has arrived. The baseline, measured in the same run, is the plain form: the same
file, posted by the same Chromium with JavaScript turned off.

Three phone-sized photos are made with Pillow: a 12-megapixel JPEG (a photo of a document on a
table: gradients, text lines and sensor noise, about the size a phone camera writes), a portrait
whose pixels are stored sideways with EXIF orientation 6 (as cameras write them), and a PNG
screenshot of the phone's gallery showing such a photo. Each is uploaded through the real page in Debian's Chromium (headless, Playwright) to
the portal served on 127.0.0.1 (a fresh SQLite database in a temporary folder). The bytes are the
request bodies as the server received them (Content-Length of the upload POST: the multipart body
with the file and the form's fields); the pixel size is that of the document the server stored.

Target (issue 21): the 12-megapixel JPEG sent with JavaScript is at most a fifth of the file's
size, and stored at the same pixel size as without JavaScript.

    .venv/bin/python bench/upload_bytes.py
"""

from __future__ import annotations

import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402
from playwright.sync_api import BrowserContext, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.page_weight import (  # noqa: E402
    ANSWERS,
    VIEWPORT,
    answer,
    answer_eligibility,
    make_app,
    post_form,
    sign_in_and_start,
)
from portal import assets  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Document  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from tests.helpers import PASSWORD  # noqa: E402

EMAIL = "amina@example.org"
UPLOAD_PATH = "/en/application/documents/other/add"
TARGET_RATIO = 0.2


@dataclass
class Photo:
    label: str
    name: str
    mime: str
    content: bytes

    @property
    def pixels(self) -> tuple[int, int]:
        return Image.open(io.BytesIO(self.content)).size


def document_photo(size: tuple[int, int]) -> Image.Image:
    """A photo of a paper document on a table: light gradients, lines of text, sensor noise."""
    width, height = size
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    table = Image.blend(Image.new("RGB", size, (120, 90, 60)), gradient, 0.35)
    draw = ImageDraw.Draw(table)
    margin_x, margin_y = width // 8, height // 10
    draw.rectangle((margin_x, margin_y, width - margin_x, height - margin_y), fill=(236, 232, 224))
    line = height // 60
    for row, y in enumerate(range(margin_y + 2 * line, height - margin_y - line, int(line * 1.6))):
        x = margin_x + line
        while x < width - margin_x - 4 * line:
            word = line * (2 + (x * 7 + row * 13) % 6)
            draw.rectangle(
                (x, y, min(x + word, width - margin_x - line), y + line), fill=(40, 40, 48)
            )
            x += word + line
    noise = Image.effect_noise(size, 24).convert("RGB")
    return Image.blend(table.filter(ImageFilter.GaussianBlur(1.2)), noise, 0.12)


def make_photos() -> list[Photo]:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    plain = io.BytesIO()
    document_photo((4000, 3000)).save(plain, "JPEG", quality=92, exif=exif)

    rotated = Image.Exif()
    rotated[0x0112] = 6
    rotated[0x010F] = "PhoneMaker"
    portrait = io.BytesIO()
    # Upright 3000 x 4000; stored sideways, as the camera wrote it.
    document_photo((3000, 4000)).transpose(Image.Transpose.ROTATE_90).save(
        portrait, "JPEG", quality=92, exif=rotated
    )

    # A screenshot of the phone's gallery showing a photo of a document, between the app's bars.
    screen = Image.new("RGB", (1080, 2400), (0, 0, 0))
    screen.paste(document_photo((1080, 1440)), (0, 480))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 1080, 180), fill=(32, 33, 36))
    draw.rectangle((0, 2220, 1080, 2400), fill=(32, 33, 36))
    screenshot = io.BytesIO()
    screen.save(screenshot, "PNG")
    return [
        Photo("12 MP JPEG", "photo.jpg", "image/jpeg", plain.getvalue()),
        Photo("portrait, EXIF orientation 6", "portrait.jpg", "image/jpeg", portrait.getvalue()),
        Photo("PNG screenshot", "screenshot.png", "image/png", screenshot.getvalue()),
    ]


class UploadSizes:
    """WSGI middleware: the Content-Length of every upload POST, in order."""

    def __init__(self, app: Flask) -> None:
        self.inner = app.wsgi_app
        self.sizes: list[int] = []
        app.wsgi_app = self  # type: ignore[method-assign]

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == UPLOAD_PATH:
            self.sizes.append(int(environ.get("CONTENT_LENGTH") or 0))
        return self.inner(environ, start_response)


def newest_document(app: Flask) -> Document:
    with app.app_context():
        document = db.session.scalars(select(Document).order_by(Document.created_at.desc())).first()
        assert document is not None
        db.session.expunge(document)
        return document


def upload(context: BrowserContext, photo: Photo) -> None:
    page = context.new_page()
    page.goto(UPLOAD_PATH)
    page.locator("input[type=file]").set_input_files(
        {"name": photo.name, "mimeType": photo.mime, "buffer": photo.content}
    )
    page.locator("form[data-module='app-upload'] button[type=submit]").click()
    page.wait_for_url("**/en/application/documents", timeout=60_000)
    page.close()


@dataclass
class Result:
    photo: Photo
    sent: dict[bool, int]
    stored: dict[bool, tuple[int, int]]


def measure(folder: Path, photos: list[Photo]) -> list[Result]:
    app = make_app(folder, assets.DIST, compress_html=False)
    sizes = UploadSizes(app)
    results = [Result(photo, {}, {}) for photo in photos]
    with serve(app) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for javascript in (False, True):
                context = browser.new_context(
                    base_url=base_url,
                    viewport=VIEWPORT,
                    is_mobile=True,
                    java_script_enabled=javascript,
                )
                context.set_default_timeout(60_000)
                if javascript:
                    status = post_form(
                        context, "/en/sign-in", {"email": EMAIL, "password": PASSWORD}
                    )
                    assert status == 302, ("sign-in", status)
                else:
                    answer_eligibility(context)
                    sign_in_and_start(context)
                    answer(context, ANSWERS[:3])
                for result in results:
                    upload(context, result.photo)
                    result.sent[javascript] = sizes.sizes[-1]
                    document = newest_document(app)
                    result.stored[javascript] = (document.width or 0, document.height or 0)
                context.close()
        finally:
            browser.close()
    with app.app_context():
        db.engine.dispose()
    return results


def report(results: list[Result]) -> bool:
    print("Upload bytes on the wire (request body of the upload POST), Chromium, this run")
    print(
        f"{'photo':<30} {'pixels':>11} {'file':>11} {'no JS':>11} {'with JS':>11} "
        f"{'JS/file':>8} {'stored no JS':>13} {'stored JS':>11}"
    )
    for r in results:
        width, height = r.photo.pixels
        ratio = r.sent[True] / len(r.photo.content)
        print(
            f"{r.photo.label:<30} {f'{width}x{height}':>11} {len(r.photo.content):>11,} "
            f"{r.sent[False]:>11,} {r.sent[True]:>11,} {ratio:>8.3f} "
            f"{'x'.join(map(str, r.stored[False])):>13} {'x'.join(map(str, r.stored[True])):>11}"
        )
    twelve = results[0]
    ratio = twelve.sent[True] / len(twelve.photo.content)
    same_pixels = all(r.stored[True] == r.stored[False] for r in results)
    met = ratio <= TARGET_RATIO and twelve.stored[True] == twelve.stored[False]
    print(
        f"12 MP JPEG with JavaScript sends {ratio:.3f} of its size (target <= {TARGET_RATIO}), "
        f"stored {'x'.join(map(str, twelve.stored[True]))} with JavaScript and "
        f"{'x'.join(map(str, twelve.stored[False]))} without"
    )
    print(
        f"Every photo stored at the same pixel size with and without JavaScript: "
        f"{'yes' if same_pixels else 'NO'}"
    )
    print(f"Target met: {'yes' if met else 'NO'}")
    return met


def main() -> None:
    photos = make_photos()
    with tempfile.TemporaryDirectory(prefix="upload-bytes-") as temporary:
        results = measure(Path(temporary), photos)
    raise SystemExit(0 if report(results) else 1)


if __name__ == "__main__":
    main()
