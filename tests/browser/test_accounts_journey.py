"""Accounts in a real browser, found by their accessible names as a person would find them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.models import Role
from tests.apply_helpers import ELIGIBLE as ELIGIBLE_ANSWERS
from tests.browser.conftest import make_user, set_up_two_factor, sign_in, totp_secret
from tests.helpers import PASSWORD, last_message, link_in

pytestmark = pytest.mark.browser

NEW_PASSWORD = "purple giraffes climb quietly"


def heading(page):
    return page.get_by_role("heading", level=1)


def go_to_your_account(page, locale="en"):
    """Signed in (a "Sign out" button), then "Your account" from the service navigation.

    Where sign-in lands an applicant is the application's business; the account page is always
    one link away.
    """
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Your account").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/account$"))
    expect(heading(page)).to_have_text("Your account")


def start_now_to_create_an_account(page):
    """From the start page to "Create an account", through whatever eligibility questions are
    asked on the way (one per page, at /en/eligibility/<question>)."""
    page.goto("/en/")
    page.get_by_role("button", name="Start now").click()
    page.wait_for_load_state()
    while question := re.search(r"/en/eligibility/(\w+)$", page.url):
        page.locator(f"input[name=answer][value={ELIGIBLE_ANSWERS[question[1]]}]").check()
        asked = page.url
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(lambda url, asked=asked: url != asked)
    if re.search(r"/en/eligibility/you-can-apply$", page.url):
        expect(heading(page)).to_have_text("You can apply")
        page.get_by_role("button", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/en/create-account(\?.*)?$"))
    expect(heading(page)).to_have_text("Create an account")


def test_create_confirm_sign_in_switch_language_and_sign_out(page, app):
    email = "amina@example.org"
    start_now_to_create_an_account(page)

    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Create a password", exact=True).fill(PASSWORD)
    page.get_by_label("Type the password again", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(heading(page)).to_have_text("Check your email")
    expect(page.get_by_text(email)).to_be_visible()

    message = last_message(app, email)
    page.goto(link_in(message))
    expect(heading(page)).to_have_text("Confirm your email address")
    page.get_by_role("button", name="Confirm email address").click()
    expect(page).to_have_url(re.compile(r"/en/sign-in$"))
    expect(page.get_by_role("alert")).to_contain_text("Your email address is confirmed")

    sign_in(page, email)
    go_to_your_account(page)

    switcher = page.get_by_role("navigation", name="Choose a language")
    switcher.get_by_role("link", name="العربية").click()
    expect(page).to_have_url(re.compile(r"/ar/account$"))
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")

    # The switcher names itself in the page's language now (the translation notice links to
    # English too).
    page.get_by_role("navigation", name="اختر لغة").get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/en/account$"))
    expect(html).to_have_attribute("lang", "en")
    expect(html).to_have_attribute("dir", "ltr")

    page.get_by_role("button", name="Sign out").click()
    expect(heading(page)).to_have_text("You have signed out")

    page.goto("/en/account")
    expect(page).to_have_url(re.compile(r"/en/sign-in\?next=(/|%2F)en(/|%2F)account$"))
    expect(heading(page)).to_have_text("Sign in")


def test_forgotten_password_is_reset_from_the_emailed_link(page, app):
    email = "reset@example.org"
    make_user(app, email)
    page.goto("/en/sign-in")
    page.get_by_role("link", name="I forgot my password").click()
    expect(heading(page)).to_have_text("Reset your password")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(heading(page)).to_have_text("Check your email")

    page.goto(link_in(last_message(app, email)))
    expect(heading(page)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Type the new password again", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save new password").click()
    expect(page).to_have_url(re.compile(r"/en/sign-in$"))
    expect(page.get_by_role("alert")).to_contain_text("Your password has been changed")

    sign_in(page, email, PASSWORD)
    expect(heading(page)).to_have_text("Sign in")
    expect(page.get_by_role("alert")).to_contain_text("Enter a correct email address and password")

    sign_in(page, email, NEW_PASSWORD)
    go_to_your_account(page)


def test_sign_in_and_out_work_without_javascript(new_context, app):
    email = "nojs@example.org"
    make_user(app, email)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, email)
    go_to_your_account(page)
    expect(page.locator("body")).not_to_have_class(re.compile(r"js-enabled"))

    page.get_by_role("button", name="Sign out").click()
    expect(heading(page)).to_have_text("You have signed out")


def test_staff_set_up_two_factor_and_cannot_open_admin_pages(page, app):
    email = "caseworker@example.org"
    make_user(app, email, Role.CASEWORKER)
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/en/two-factor/set-up$"))
    expect(heading(page)).to_have_text("Set up two-factor authentication")

    qr_code = page.get_by_role("img", name="QR code to add this account to your authenticator app")
    expect(qr_code).to_be_visible()
    expect(qr_code).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    assert qr_code.evaluate("image => image.complete && image.naturalWidth > 0"), (
        "the QR code image did not load"
    )
    expect(page.locator("code.app-code")).to_have_text(totp_secret(app, email))

    set_up_two_factor(page, app, email)
    codes = page.locator(".app-recovery-codes li")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="I have saved my codes").click()
    expect(page).to_have_url(re.compile(r"/en/account$"))
    expect(heading(page)).to_have_text("Your account")
    expect(page.get_by_text("Caseworker", exact=True)).to_be_visible()

    response = page.goto("/en/admin/staff")
    assert response is not None and response.status == 404
    expect(heading(page)).to_have_text("Page not found")
