"""An invited applicant books, moves and cancels a biometric appointment, in English without
JavaScript and in Arabic (right to left) with it; axe on every page of the way."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.models import utcnow
from tests.appointment_helpers import application_of, invite, make_centre, make_slot
from tests.browser.conftest import assert_no_axe_violations, off_loop, scrolls_horizontally, sign_in
from tests.browser.test_accessibility import SMALL_SCREEN
from tests.factories import send_application

pytestmark = pytest.mark.browser


def invited_with_slots(app) -> None:
    send_application(app.test_client(), app)
    invite(app, application_of(app, "amina@example.org"))
    centre = make_centre(app)
    day = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    for minutes in (0, 20, 40):
        make_slot(app, centre, day + timedelta(minutes=minutes), capacity=2)


def check(page: Page, direction: str, axe: bool) -> None:
    expect(page.locator("html")).to_have_attribute("dir", direction)
    assert not scrolls_horizontally(page)
    if axe:
        assert_no_axe_violations(page)


def walk(page: Page, locale: str, direction: str, axe: bool) -> None:
    page.goto(f"/{locale}/application/status")
    page.locator("main a[href$='/application/appointment']").click()
    check(page, direction, axe)
    page.locator("main a[href$='/application/appointment/centre']").click()
    check(page, direction, axe)
    page.locator("input[name='centre']").first.check()
    page.locator("main form button[type='submit']").click()
    expect(page).to_have_url(re.compile(r"/appointment/centre/[0-9a-f-]{36}\?who=me$"))
    check(page, direction, axe)
    page.locator("main ul a").first.click()
    check(page, direction, axe)
    page.locator("input[name='slot']").first.check()
    page.locator("main form button[type='submit']").click()
    expect(page).to_have_url(re.compile(r"/appointment/confirmation$"))
    expect(page.locator(".govuk-panel")).to_be_visible()
    check(page, direction, axe)

    # Move to the last time of the day.
    page.goto(f"/{locale}/application/appointment")
    page.locator("main a.govuk-button--secondary").click()
    page.locator("input[name='centre']").first.check()
    page.locator("main form button[type='submit']").click()
    page.locator("main ul a").first.click()
    page.locator("input[name='slot']").last.check()
    page.locator("main form button[type='submit']").click()
    expect(page).to_have_url(re.compile(r"/appointment/confirmation$"))

    # Cancel.
    page.goto(f"/{locale}/application/appointment")
    page.locator("main a[href$='/application/appointment/cancel']").click()
    check(page, direction, axe)
    page.locator("main form button[type='submit']").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/application/appointment$"))
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()
    check(page, direction, axe)


def test_book_move_and_cancel_in_english_without_javascript(new_context, app):
    off_loop(invited_with_slots, app)
    page = new_context(java_script_enabled=False, viewport=SMALL_SCREEN).new_page()
    sign_in(page, "amina@example.org")
    walk(page, "en", "ltr", axe=False)


def test_book_move_and_cancel_in_arabic_right_to_left(new_context, app):
    off_loop(invited_with_slots, app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(page, "amina@example.org")
    walk(page, "ar", "rtl", axe=True)
    page.goto("/ar/application/appointment")
    expect(page.locator("h1")).not_to_have_text(re.compile("appointment", re.I))


def test_axe_on_the_english_pages_with_javascript(new_context, app):
    off_loop(invited_with_slots, app)
    page = new_context().new_page()
    sign_in(page, "amina@example.org")
    walk(page, "en", "ltr", axe=True)
