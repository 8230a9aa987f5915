"""A family applying together, in a real browser on a 320 px screen: the main applicant in Persian
(right to left) sees who has applied and sends the family reference; a member in French applies
with it and sees the family-group rule before sending. axe-core checks every page on the way.

The long parts of the form are answered through the test client; the family's own pages are
walked in the browser. Labels are read in the page's language from the compiled catalogs.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.support import Translations
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from portal.config import PROJECT_ROOT
from portal.extensions import db
from portal.i18n import native_name
from portal.models import FamilyGroup
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    fill_in,
    open_a_window,
    send_main_with_family,
    start_application,
)
from tests.browser.conftest import assert_no_axe_violations, off_loop, scrolls_horizontally, sign_in
from tests.browser.test_accessibility import SMALL_SCREEN

pytestmark = pytest.mark.browser

MAIN_EMAIL = "amina@example.org"
MEMBER_EMAIL = "mohammad@example.org"
PARTNER = {
    "full_name": "Mohammad Rahimi",
    "relationship": "partner",
    "date_of_birth": ["4", "5", "1988"],
}


@cache
def _catalog(locale: str) -> Translations:
    return Translations.load(str(PROJECT_ROOT / "translations"), [locale])


def tr(locale: str, text: str) -> str:
    return _catalog(locale).gettext(text)


def check(page: Page, locale: str, direction: str) -> None:
    """The rules of every page here: language and direction, no axe violation, no sideways scroll."""
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (locale, direction), page.url
    assert_no_axe_violations(page)
    assert not scrolls_horizontally(page), page.url


def prepare_main(app: Flask) -> str:
    open_a_window(app)
    send_main_with_family(app.test_client(), app, [PARTNER], MAIN_EMAIL, locale="fa")
    with app.app_context():
        return db.session.scalar(select(FamilyGroup.reference))


def prepare_member_account(app: Flask) -> FlaskClient:
    """The member's account and draft, past the eligibility questions, signed in on a test client
    that answers the long part of the form later."""
    client = app.test_client()
    start_application(client, app, MEMBER_EMAIL, locale="fr")
    return client


def answer_the_rest(client: FlaskClient, locale: str = "fr") -> None:
    """Every answer after the family reference, as the member would give them."""
    pages = []
    for name, data in MAIN_APPLICANT_ALONE:
        if name in ("applicant_type", "travelling"):
            continue
        if name == "names":
            data = {"given_names": "Mohammed", "family_name": "Rahimi"}
        if name == "birth":
            data = {**data, "date_of_birth": PARTNER["date_of_birth"]}
        if name == "contact":
            data = {**data, "email": MEMBER_EMAIL, "mobile": ""}
        if name == "document":
            data = {**data, "document_number": "P 7654321"}
        pages.append((name, data))
    fill_in(client, pages, locale)


def family_group(page: Page) -> Locator:
    """The list of the family's adults on the Persian status page (other lists follow it)."""
    heading = page.locator("h2", has_text=tr("fa", "Your family group"))
    return heading.locator("xpath=following-sibling::dl[contains(@class, 'govuk-summary-list')][1]")


def test_a_main_applicant_in_persian_and_a_member_in_french_apply_together(app: Flask, new_context):
    reference = off_loop(prepare_main, app)
    member_client = off_loop(prepare_member_account, app)

    main = new_context(viewport=SMALL_SCREEN, permissions=["clipboard-read", "clipboard-write"])
    main_page = main.new_page()
    sign_in(main_page, MAIN_EMAIL)
    main_page.goto("/fa/application/status")
    family_list = family_group(main_page)
    expect(family_list).to_contain_text(PARTNER["full_name"])
    expect(family_list).to_contain_text(tr("fa", "Not sent yet"))
    expect(main_page.locator("main")).to_contain_text(reference)
    check(main_page, "fa", "rtl")

    main_page.get_by_role(
        "link", name=tr("fa", "Send the family reference to a family member")
    ).click()
    check(main_page, "fa", "rtl")
    main_page.get_by_label(native_name("fr"), exact=True).check()
    main_page.get_by_role("button", name=tr("fa", "Show the text")).click()
    text = main_page.get_by_label(tr("fa", "The text to send"))
    expect(text).to_have_attribute("lang", "fr")
    expect(text).to_have_attribute("dir", "ltr")
    expect(text).to_have_value(re.compile(rf"{reference}[\s\S]*/fr/$"))
    expect(main_page.get_by_role("img", name=tr("fa", "A code to scan"))).to_be_visible()
    main_page.get_by_role("button", name=tr("fa", "Copy the text")).click()
    expect(main_page.get_by_role("status")).to_have_text(
        tr("fa", "The text is copied. You can paste it into a message.")
    )
    check(main_page, "fa", "rtl")

    member = new_context(viewport=SMALL_SCREEN)
    member_page = member.new_page()
    sign_in(member_page, MEMBER_EMAIL)
    member_page.goto("/fr/application/questions/applicant_type")
    check(member_page, "fr", "ltr")
    member_page.get_by_label(
        tr("fr", "I am a family member of someone who has already applied")
    ).check()
    member_page.get_by_role("button", name=tr("fr", "Save and continue")).click()
    member_page.get_by_label(tr("fr", "What is the family reference number?")).fill(reference)
    check(member_page, "fr", "ltr")
    member_page.get_by_role("button", name=tr("fr", "Save and continue")).click()
    expect(member_page).to_have_url(re.compile(r"/fr/application/questions/names$"))

    off_loop(answer_the_rest, member_client)
    member_page.goto("/fr/application/check-your-answers")
    expect(member_page.locator(".govuk-inset-text:not(.app-translation-notice)")).to_have_text(
        tr(
            "fr",
            "Your family group is decided together: if one application in the group is not valid, all the applications in the group are refused.",
        )
    )
    check(member_page, "fr", "ltr")
    member_page.get_by_role("button", name=tr("fr", "Accept and send")).click()
    member_page.goto("/fr/application/status")
    expect(member_page.locator("main")).to_contain_text(reference)
    expect(member_page.locator("main")).not_to_contain_text("Amina")
    expect(member_page.locator("main")).not_to_contain_text(PARTNER["full_name"])
    check(member_page, "fr", "ltr")

    main_page.goto("/fa/application/status")
    family_list = family_group(main_page)
    expect(family_list).to_contain_text(tr("fa", "Sent"))
    expect(family_list).not_to_contain_text(tr("fa", "Not sent yet"))
    check(main_page, "fa", "rtl")
