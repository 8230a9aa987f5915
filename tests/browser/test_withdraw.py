"""The withdraw road at 320 px, with axe on every page: the status page, the question, the
withdrawn status page that stays, the copy of the data, and starting again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_axe_violations, off_loop, scrolls_horizontally, sign_in
from tests.browser.test_accessibility import SMALL_SCREEN
from tests.factories import send_application

pytestmark = pytest.mark.browser


def check(page: Page, direction: str) -> None:
    expect(page.locator("html")).to_have_attribute("dir", direction)
    assert not scrolls_horizontally(page), page.url
    assert_no_axe_violations(page)


@pytest.mark.parametrize(("locale", "direction"), [("en", "ltr"), ("ar", "rtl")])
def test_withdraw_and_the_withdrawn_page_at_320px_with_no_axe_violations(
    new_context, app, locale, direction
):
    off_loop(send_application, app.test_client(), app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(page, "amina@example.org")
    page.goto(f"/{locale}/application/status")
    check(page, direction)
    page.locator("main a[href$='/application/withdraw']").click()
    expect(page).to_have_url(re.compile(r"/application/withdraw$"))
    check(page, direction)
    page.locator("main form button.govuk-button--warning").click()

    expect(page).to_have_url(re.compile(rf"/{locale}/application/status$"))
    expect(page.locator(".govuk-notification-banner")).to_be_visible()
    expect(page.locator("main a[href$='/application/withdraw']")).to_have_count(0)
    expect(page.locator("main a.govuk-button[href$='/application/start']")).to_be_visible()
    check(page, direction)
    page.locator("main a[href$='/application/copy']").click()
    expect(page.locator("main")).to_contain_text("Kareem")
    check(page, direction)

    page.goto(f"/{locale}/application/status")
    page.locator("main a.govuk-button[href$='/application/start']").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/eligibility"))
    check(page, direction)


def test_withdraw_works_without_javascript(new_context, app):
    off_loop(send_application, app.test_client(), app)
    page = new_context(java_script_enabled=False, viewport=SMALL_SCREEN).new_page()
    sign_in(page, "amina@example.org")
    page.goto("/en/application/withdraw")
    page.get_by_role("button", name="Yes, withdraw my application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your application")
    expect(page.locator("main")).to_contain_text("Withdrawn")
    expect(page.get_by_role("link", name="Start a new application")).to_be_visible()
