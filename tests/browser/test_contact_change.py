"""Correcting the email address and the mobile number at 320 px, with axe on every page, by
keyboard, in English and in Arabic (right to left); and without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_axe_violations, off_loop, scrolls_horizontally, sign_in
from tests.browser.test_accessibility import SMALL_SCREEN
from tests.factories import send_application
from tests.helpers import sent_messages

pytestmark = pytest.mark.browser


def check(page: Page, direction: str) -> None:
    expect(page.locator("html")).to_have_attribute("dir", direction)
    assert not scrolls_horizontally(page), page.url
    assert_no_axe_violations(page)


def code_sent_to(app, recipient: str) -> str:
    message = [m for m in off_loop(sent_messages, app) if m.recipient == recipient][-1]
    assert message.template == "contact_code"
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    return match.group(1)


@pytest.mark.parametrize(("locale", "direction"), [("en", "ltr"), ("ar", "rtl")])
def test_change_the_email_by_keyboard_at_320px_with_no_axe_violations(
    new_context, app, locale, direction
):
    off_loop(send_application, app.test_client(), app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(page, "amina@example.org")
    page.goto(f"/{locale}/application/status")
    check(page, direction)
    page.locator("main a[href$='/account/contact/email']").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/account/contact/email$"))
    check(page, direction)
    # A wrong address: the error on the page, in the page's language, the answer kept.
    field = page.locator("input[name='email']")
    field.focus()
    page.keyboard.type("amina@")
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(field).to_have_value("amina@")
    check(page, direction)
    field.fill("")
    field.focus()
    page.keyboard.type("amina.new@example.net")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/{locale}/account/contact/code$"))
    expect(page.locator("main")).to_contain_text("amina.new@example.net")
    check(page, direction)
    code = page.locator("input[name='code']")
    code.focus()
    page.keyboard.type("000000" if code_sent_to(app, "amina.new@example.net") != "000000" else "1")
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page, direction)
    code.fill("")
    code.focus()
    page.keyboard.type(code_sent_to(app, "amina.new@example.net"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/{locale}/application/status$"))
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()
    expect(page.locator("#contact + dl")).to_contain_text("amina.new@example.net")
    check(page, direction)


def test_change_the_mobile_without_javascript(new_context, app):
    """The whole road with scripts off (axe needs them: it runs in the test above)."""
    off_loop(send_application, app.test_client(), app)
    page = new_context(java_script_enabled=False, viewport=SMALL_SCREEN).new_page()
    sign_in(page, "amina@example.org")
    page.goto("/en/application/status")
    page.get_by_role("link", name="Change your mobile phone number").click()
    page.get_by_label("New mobile phone number").fill("07 81 23 45 67")
    page.get_by_role("button", name="Send the code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code")
    page.get_by_role("button", name="Send me a new code").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("new code")
    page.get_by_label("Code", exact=True).fill(code_sent_to(app, "+33781234567"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your application")
    expect(page.locator("main")).to_contain_text("+33781234567")
