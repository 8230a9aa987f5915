"""The more-information road in the browser, at 320 px with axe on each page: a caseworker asks
for a clearer passport, the applicant adds a photo and writes an answer, and the caseworker sees
both with the request."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from portal.models import Document
from tests.apply_helpers import photo_bytes
from tests.browser.conftest import (
    assert_no_axe_violations,
    off_loop,
    scrolls_horizontally,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN
from tests.browser.test_casework import sign_in_caseworker
from tests.browser.test_documents_upload import (
    CutConnections,
    portrait_photo,
    received,  # noqa: F401 (a fixture)
    stored_documents,
)
from tests.factories import send_application

pytestmark = pytest.mark.browser


def ask_for_a_clearer_passport(new_context, app) -> tuple[Page, str]:
    """Amina's sent application, and a caseworker's request for a clearer passport photo."""
    off_loop(send_application, app.test_client(), app, "amina@example.org")
    staff = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in_caseworker(staff, app, "cw@example.org")
    staff.goto("/en/casework/")
    staff.get_by_role("button", name="Check the next application").click()
    expect(staff).to_have_url(re.compile(r"/en/casework/applications/[0-9a-f-]{36}$"))
    application_url = staff.url
    staff.get_by_label("Ask the applicant for more information").check()
    staff.get_by_label("Clearer photo of the identity document").check()
    staff.get_by_role("button", name="Record the decision").click()
    expect(staff.locator(".govuk-notification-banner")).to_contain_text("Decision recorded")
    return staff, application_url


def test_request_then_a_document_and_an_answer_then_the_caseworker_sees_them(new_context, app):
    staff, application_url = ask_for_a_clearer_passport(new_context, app)

    applicant = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(applicant, "amina@example.org")
    applicant.goto("/en/application/more-information")
    expect(applicant.get_by_role("heading", level=1)).to_have_text("Answer the request")
    assert_no_axe_violations(applicant)
    assert not scrolls_horizontally(applicant)
    applicant.get_by_label("Choose a file").set_input_files(
        {"name": "passport-clear.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes()}
    )
    applicant.get_by_role("button", name="Add a file").click()
    expect(applicant.locator(".govuk-notification-banner")).to_contain_text(
        "passport-clear.jpg is uploaded"
    )
    expect(applicant.locator("main")).to_contain_text("passport-clear.jpg")
    assert_no_axe_violations(applicant)
    assert not scrolls_horizontally(applicant)
    applicant.get_by_label("Your answer").fill("Here is a clearer photo of my passport")
    applicant.get_by_role("button", name="Send your answer").click()
    expect(applicant).to_have_url(re.compile(r"/en/application/status$"))
    assert_no_axe_violations(applicant)

    staff.goto("/en/casework/")
    staff.get_by_role("button", name="Check the next application").click()
    expect(staff).to_have_url(application_url)
    main = staff.locator("main")
    expect(main).to_contain_text("Here is a clearer photo of my passport")
    expect(main).to_contain_text("Files sent with this answer")
    expect(main).to_contain_text("Not scanned")
    assert_no_axe_violations(staff)
    assert not scrolls_horizontally(staff)


def test_a_file_for_the_answer_is_shrunk_and_survives_a_cut_connection(
    new_context,
    app,
    received,  # noqa: F811 (the fixture)
):
    """The same enhancement as the documents step: the photo arrives shrunk and upright, and a
    connection cut after the file was stored is retried into one file of the answer."""
    ask_for_a_clearer_passport(new_context, app)
    before = len(stored_documents(app))
    cutter = CutConnections(app, "/en/application/more-information/files", cuts=1)
    applicant = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(applicant, "amina@example.org")
    applicant.goto("/en/application/more-information")
    applicant.get_by_label("Choose a file").set_input_files(
        {"name": "passport-clear.jpg", "mimeType": "image/jpeg", "buffer": portrait_photo()}
    )
    applicant.get_by_role("button", name="Add a file").click()
    expect(applicant).to_have_url(re.compile(r"/en/application/more-information$"))
    expect(applicant.locator(".govuk-notification-banner")).to_contain_text(
        "passport-clear.jpg is uploaded"
    )
    assert cutter.posts == 2
    (sent,) = [content for name, content in received if name == "passport-clear.jpg"]
    image = Image.open(io.BytesIO(sent))
    assert image.size == (1500, 2000) and not image.getexif()
    answers: list[Document] = [
        d for d in stored_documents(app)[before:] if d.information_request_id
    ]
    assert len(answers) == 1 and (answers[0].width, answers[0].height) == (1500, 2000)
    expect(applicant.locator("main")).to_contain_text("passport-clear.jpg")
    assert_no_axe_violations(applicant)
    assert not scrolls_horizontally(applicant)
