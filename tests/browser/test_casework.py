"""The caseworker's journey in the browser: claim, read, record checks, invite; axe on each page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.models import Role
from tests.browser.conftest import (
    assert_no_axe_violations,
    make_user,
    off_loop,
    scrolls_horizontally,
    set_up_two_factor,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN
from tests.factories import send_application
from tests.queue_helpers import dead_letter, kept_unreadable

pytestmark = pytest.mark.browser

CHECKS = (
    "Identity and documents",
    "Eligibility and validity rules",
    "Presence in France",
    "Returns list",
    "Duplicate applications",
    "Suitability",
)


def sign_in_caseworker(page: Page, app, email: str) -> None:
    off_loop(make_user, app, email, Role.CASEWORKER)
    sign_in(page, email)
    set_up_two_factor(page, app, email)


def two_applications(app) -> None:
    send_application(app.test_client(), app, "amina@example.org")
    send_application(app.test_client(), app, "nadia@example.org")


def test_claim_read_check_and_invite(new_context, app):
    off_loop(two_applications, app)
    page = new_context().new_page()
    sign_in_caseworker(page, app, "cw@example.org")

    page.goto("/en/casework/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Casework")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Check the next application").click()
    expect(page).to_have_url(re.compile(r"/en/casework/applications/[0-9a-f-]{36}$"))
    expect(page.locator("main")).to_contain_text("For you until")
    assert_no_axe_violations(page)

    # Another caseworker, at the same time and without JavaScript, is given the other application.
    # (axe runs only where JavaScript does: in a context without it, evaluate never returns.)
    other = new_context(java_script_enabled=False).new_page()
    sign_in_caseworker(other, app, "cw2@example.org")
    other.goto("/en/casework/")
    other.get_by_role("button", name="Check the next application").click()
    expect(other).to_have_url(re.compile(r"/en/casework/applications/"))
    assert other.url != page.url
    other.goto("/en/casework/")
    other.get_by_role("button", name="Check the next application").click()
    expect(other.locator(".govuk-notification-banner")).to_contain_text(
        "No applications are waiting"
    )

    for check in CHECKS:
        page.get_by_role("group", name="Check").get_by_label(check, exact=True).check()
        page.get_by_role("group", name="Outcome").get_by_label("Passed", exact=True).check()
        page.get_by_role("button", name="Record the check").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("Check recorded")
    page.get_by_label("Invite to biometric enrolment").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page).to_have_url(re.compile(r"/en/casework/$"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Decision recorded")


def test_errors_are_shown_on_the_page_and_the_screens_fit_a_small_screen(new_context, app):
    off_loop(two_applications, app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in_caseworker(page, app, "cw@example.org")
    page.goto("/en/casework/")
    assert not scrolls_horizontally(page)
    page.get_by_role("button", name="Check the next application").click()
    page.get_by_role("button", name="Record the decision").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Choose a decision")
    assert_no_axe_violations(page)
    assert not scrolls_horizontally(page)

    page.goto("/en/casework/search?q=Kareem")
    expect(page.locator("main")).to_contain_text("Amina Kareem")
    assert_no_axe_violations(page)


def test_without_two_factor_a_caseworker_is_sent_to_set_it_up_and_an_applicant_is_not_found(
    new_context, app
):
    off_loop(two_applications, app)
    caseworker = new_context().new_page()
    off_loop(make_user, app, "cw@example.org", Role.CASEWORKER)
    sign_in(caseworker, "cw@example.org")
    caseworker.goto("/en/casework/")
    expect(caseworker).to_have_url(re.compile(r"/en/two-factor/set-up$"))
    caseworker.goto("/en/casework/search?q=Kareem")
    expect(caseworker).to_have_url(re.compile(r"/en/two-factor/set-up$"))
    expect(caseworker.locator("main")).not_to_contain_text("Amina Kareem")

    applicant = new_context().new_page()
    sign_in(applicant, "amina@example.org")
    response = applicant.goto("/en/casework/")
    assert response is not None and response.status == 404
    expect(applicant.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert_no_axe_violations(applicant)


def test_the_returns_list_page_for_an_admin(new_context, app):
    page = new_context(viewport=SMALL_SCREEN).new_page()
    off_loop(make_user, app, "admin@example.org", Role.ADMIN)
    sign_in(page, "admin@example.org")
    set_up_two_factor(page, app, "admin@example.org")
    page.goto("/en/casework/returns")
    expect(page.get_by_role("heading", level=1)).to_have_text("Returns list")
    assert_no_axe_violations(page)
    assert not scrolls_horizontally(page)


def test_an_admin_returns_the_dead_letters_to_the_queue(new_context, app):
    off_loop(dead_letter, app, 2)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    off_loop(make_user, app, "admin@example.org", Role.ADMIN)
    sign_in(page, "admin@example.org")
    set_up_two_factor(page, app, "admin@example.org")
    page.goto("/en/casework/")
    page.get_by_role("link", name="See and return them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dead letters")
    expect(page.locator(".govuk-summary-list__row")).to_have_count(2)
    assert_no_axe_violations(page)
    assert not scrolls_horizontally(page)
    page.get_by_role("button", name="Return them to the queue").click()
    expect(page.get_by_text("2 applications returned to the queue")).to_be_visible()
    expect(page.get_by_text("There are no dead letters")).to_be_visible()
    expect(page.get_by_role("button", name="Return them to the queue")).to_have_count(0)
    assert_no_axe_violations(page)


def test_an_admin_reads_and_discards_an_unreadable_message_on_a_small_screen(new_context, app):
    off_loop(
        kept_unreadable, app, '{"message_id":' + "9" * 300 + "}", "['message_id']: not a string"
    )
    page = new_context(viewport=SMALL_SCREEN).new_page()
    off_loop(make_user, app, "admin@example.org", Role.ADMIN)
    sign_in(page, "admin@example.org")
    set_up_two_factor(page, app, "admin@example.org")
    page.goto("/en/casework/")
    page.get_by_role("link", name="See and return them").click()
    expect(page.get_by_role("heading", level=2, name="Unreadable messages")).to_be_visible()
    expect(page.get_by_text("not a string")).to_be_visible()
    # The database queue delivers no messages: there is nowhere to send one back.
    expect(page.get_by_role("button", name="Send back to the queue")).to_have_count(0)
    assert_no_axe_violations(page)
    assert not scrolls_horizontally(page)
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_text("The message was discarded.")).to_be_visible()
    expect(page.get_by_text("There are no unreadable messages.")).to_be_visible()
    assert_no_axe_violations(page)
