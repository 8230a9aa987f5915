"""The assisted journey in the browser: a support worker reading French helps an applicant who
reads Pashto (right to left); the applicant takes over with the code. axe on every page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.apply_helpers import ELIGIBLE, open_a_window
from tests.browser.conftest import (
    assert_no_axe_violations,
    off_loop,
    scrolls_horizontally,
    set_up_two_factor,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN
from tests.helpers import make_support_worker

pytestmark = pytest.mark.browser


def worker_of_an_organisation(app: Flask) -> None:
    open_a_window(app)
    make_support_worker(app, organisation="Accueil de jour Calais")


def check(page: Page, direction: str = "ltr") -> None:
    expect(page.locator("html")).to_have_attribute("dir", direction)
    assert not scrolls_horizontally(page)
    assert_no_axe_violations(page)


def submit(page: Page) -> None:
    page.locator("main form button[type='submit']").last.click()


def test_a_worker_in_french_helps_an_applicant_reading_pashto(new_context, app):
    off_loop(worker_of_an_organisation, app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(page, "worker@example.org")
    set_up_two_factor(page, app, "worker@example.org")

    page.goto("/fr/support/")
    check(page)
    page.locator("main a[href='/fr/support/new']").click()
    check(page)
    page.locator("input[name='label']").fill("Gul")
    page.locator("input[name='locale'][value='ps']").check()
    submit(page)

    expect(page).to_have_url(re.compile(r"/fr/support/new/consent$"))
    consent = page.locator(".app-consent")
    expect(consent).to_have_attribute("lang", "ps")
    expect(consent).to_have_attribute("dir", "rtl")
    check(page)
    submit(page)  # nothing chosen: the errors are on the page, in French
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page)
    page.locator("input[name='method'][value='read_aloud']").check()
    page.locator("input[name='agreed']").check()
    submit(page)

    # The applicant's pages, first in Pashto (right to left), with the "you are helping" banner.
    expect(page).to_have_url(re.compile(r"/ps/eligibility/in_france$"))
    expect(page.locator(".app-acting")).to_contain_text("Gul")
    check(page, "rtl")
    for name, answer in ELIGIBLE.items():
        page.goto(f"/fr/eligibility/{name}")
        page.locator(f"input[name='answer'][value='{answer}']").check()
        submit(page)
    page.goto("/fr/application/start")
    expect(page).to_have_url(re.compile(r"/fr/application/tasks$"))
    check(page)
    page.goto("/fr/application/questions/applicant_type")
    page.locator("input[value='main']").check()
    submit(page)
    page.goto("/fr/application/questions/travelling")
    page.locator("input[value='alone']").check()
    submit(page)
    page.goto("/fr/application/questions/names")
    page.locator("input[name='given_names']").fill("Gul")
    page.locator("input[name='family_name']").fill("Ahmadzai")
    submit(page)

    # The applicant's copy: Pashto (right to left) beside English.
    page.goto("/fr/support/")
    page.locator("main table a").first.click()
    check(page)
    page.locator("main a[href$='/summary']").click()
    expect(page.locator("main [lang='ps'][dir='rtl']")).to_contain_text("Ahmadzai")
    expect(page.locator("main [lang='en'][dir='ltr']")).to_contain_text("Ahmadzai")
    check(page)

    page.go_back()
    page.locator("main form[action$='/claim-code'] button").click()
    code = page.locator(".app-code").first.inner_text()
    expect(page.locator(".govuk-inset-text:not(.app-translation-notice)")).to_have_attribute(
        "dir", "rtl"
    )
    check(page)

    # The applicant takes over, in Pashto.
    applicant = new_context(viewport=SMALL_SCREEN).new_page()
    applicant.goto("/ps/claim")
    check(applicant, "rtl")
    applicant.locator("input[name='code']").fill(code.lower())
    submit(applicant)
    expect(applicant).to_have_url(re.compile(r"/ps/claim/sign-in-details$"))
    check(applicant, "rtl")
    applicant.locator("input[name='email']").fill("gul@example.org")
    applicant.locator("input[name='password']").fill("a long pass phrase")
    applicant.locator("input[name='password_confirm']").fill("a long pass phrase")
    submit(applicant)
    expect(applicant.locator("main")).to_contain_text("gul@example.org")
    check(applicant, "rtl")
