"""Uploads straight to S3 in Chromium, against the moto server on loopback (another origin than
the portal's, as the bucket is in production).

With JavaScript the page shrinks the photo and posts it to the bucket itself (S3 answers 201,
which CORS lets the page read), then opens the portal's check; without JavaScript the plain form
posts to the bucket and S3's redirect brings the browser to the check.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import boto3
import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import expect

from portal import create_app
from portal.config import PortalConfig
from portal.extensions import db
from tests.browser.conftest import assert_no_axe_violations, off_loop, sign_in
from tests.browser.test_documents_upload import (
    EMAIL,
    choose_file,
    portrait_photo,
    prepare_draft,
    received,  # noqa: F401
    stored_documents,
    upload_page,
    uploaded,
)
from tests.moto_server import REGION, moto_server  # noqa: F401
from tests.s3_helpers import store_on_s3

pytestmark = pytest.mark.browser

BUCKET = "eoi-browser-direct-uploads"


@pytest.fixture
def app(config: PortalConfig, moto_server: str) -> Iterator[Flask]:  # noqa: F811
    """The browser tests' app, keeping documents in a bucket of the moto server."""
    store_on_s3(config, moto_server, BUCKET)
    application = off_loop(create_app, config)
    yield application

    def dispose() -> None:
        with application.app_context():
            db.engine.dispose()

    off_loop(dispose)


def incoming_keys(moto_server: str) -> list[str]:  # noqa: F811
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="incoming/")
    return [item["Key"] for item in listing.get("Contents", [])]


def test_with_javascript_the_shrunk_photo_goes_to_the_bucket_then_counts(
    new_context,
    app,
    received,  # noqa: F811
    moto_server,  # noqa: F811
):
    page = upload_page(new_context, app)
    form = page.locator("form[data-direct-upload]")
    assert form.get_attribute("action").startswith(moto_server)
    to_bucket: list[int] = []
    page.on(
        "response",
        lambda response: (
            to_bucket.append(response.status) if response.url.startswith(moto_server) else None
        ),
    )
    choose_file(page, "portrait.jpg", portrait_photo())
    expect(page).to_have_url(re.compile(r"/en/application/documents$"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text(uploaded("portrait.jpg"))
    assert to_bucket == [201], "the page posted to the bucket itself and read S3's answer"

    ((name, sent),) = received
    assert name == "portrait.jpg"
    assert Image.open(io.BytesIO(sent)).size == (1500, 2000), "shrunk on the phone"
    (document,) = stored_documents(app)
    assert document.kind == "photo" and document.original_name == "portrait.jpg"
    assert incoming_keys(moto_server) == []


def test_without_javascript_the_plain_form_posts_to_the_bucket_and_s3_redirects_to_the_check(
    new_context,
    app,
    moto_server,  # noqa: F811
):
    page = upload_page(new_context, app, javascript=False)
    choose_file(page, "face.jpg", portrait_photo())
    expect(page).to_have_url(re.compile(r"/en/application/documents$"))
    (document,) = stored_documents(app)
    # A plain form sends S3 no name that reaches the portal: the file is named by its kind.
    assert document.original_name == "A photo of your face"
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        uploaded("A photo of your face")
    )
    assert incoming_keys(moto_server) == []


@pytest.mark.parametrize("javascript", [True, False])
def test_a_refused_file_shows_why_on_the_upload_page_with_a_new_form(
    new_context,
    app,
    javascript,
    moto_server,  # noqa: F811
):
    page = upload_page(new_context, app, javascript=javascript)
    choose_file(page, "notes.txt", b"just some words, not a document", "text/plain")
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert re.search(r"/en/application/documents/photo/check\?", page.url)
    assert page.locator("form[data-direct-upload]").count() == 1
    assert stored_documents(app) == []
    assert incoming_keys(moto_server) == []


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_an_identity_document_asks_its_part_then_posts_to_the_bucket_and_each_page_is_accessible(
    new_context,
    app,
    locale,
    moto_server,  # noqa: F811
):
    prepare_draft(app)
    page = new_context().new_page()
    sign_in(page, EMAIL)
    page.goto(f"/{locale}/application/documents/identity/add")
    assert page.locator("form[data-direct-upload]").count() == 0
    assert_no_axe_violations(page)
    page.locator("form:has(input[name=choose]) button[type=submit]").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    page.locator("input[name=part][value=front]").check()
    page.locator("form:has(input[name=choose]) button[type=submit]").click()
    expect(page.locator("form[data-direct-upload]")).to_have_count(1)
    assert_no_axe_violations(page)
    choose_file(page, "card.jpg", portrait_photo())
    expect(page).to_have_url(re.compile(rf"/{locale}/application/documents$"))
    (document,) = stored_documents(app)
    assert (document.kind, document.part, document.original_name) == (
        "identity",
        "front",
        "card.jpg",
    )
