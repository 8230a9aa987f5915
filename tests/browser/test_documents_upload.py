"""Uploading documents in a real browser: refusals on the same page, thumbnails, replace, remove.

With JavaScript the upload goes through the progress indicator and a refused file's page is
written back as the server sent it; without JavaScript the plain form does the same. Every page
is checked with axe, in English and in Arabic (right to left).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.apply_helpers import MAIN_APPLICANT_ALONE, fill_in, photo_bytes, start_application
from tests.browser.conftest import assert_no_axe_violations, off_loop, sign_in

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
