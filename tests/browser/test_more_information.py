"""The more-information road in the browser, at 320 px with axe on each page: a caseworker asks
for a clearer passport, the applicant adds a photo and writes an answer, and the caseworker sees
both with the request."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.apply_helpers import photo_bytes, send_application
from tests.browser.conftest import (
    assert_no_axe_violations,
    off_loop,
    scrolls_horizontally,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN
from tests.browser.test_casework import sign_in_caseworker

pytestmark = pytest.mark.browser


def test_request_then_a_document_and_an_answer_then_the_caseworker_sees_them(new_context, app):
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
