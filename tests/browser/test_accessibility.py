"""Accessibility in a real browser: axe-core on every page, small screens, right to left, keyboard.

Pages are reached with locators that do not depend on the language (input names, the form's only
button), so the Arabic pages are checked the same way whether or not their text is translated yet.
"""

from __future__ import annotations

import re
from itertools import count

import pyotp
import pytest
from playwright.sync_api import Page, expect

from portal.models import Role
from tests.apply_helpers import MAIN_APPLICANT_ALONE, fill_in, open_a_window, start_application
from tests.browser.conftest import (
    assert_no_axe_violations,
    make_user,
    off_loop,
    scrolls_horizontally,
    sign_in,
    totp_secret,
)
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser

LOCALES = ("en", "ar")
SMALL_SCREEN = {"width": 320, "height": 640}

# Pages anyone can open directly (the path follows the locale prefix).
DIRECT_PAGES = {
    "start": "/",
    "privacy": "/privacy",
    "accessibility": "/accessibility",
    "cookies": "/cookies",
    "sign-in": "/sign-in",
    "create-account": "/create-account",
    "forgot-password": "/forgot-password",
    "signed-out": "/signed-out",
    "not-found": "/no-such-page",
}
# Pages reached by doing something first.
REACHED_PAGES = ("create-account-with-errors", "check-your-email")
PUBLIC_PAGES = (*DIRECT_PAGES, *REACHED_PAGES)

_emails = count(1)
REVEAL_EMAIL = "reveal@example.org"
OTHER_NAMES = "/en/application/questions/other_names"


def submit_button(page: Page):
    return page.locator("main form button[type=submit]")


def open_public_page(page: Page, locale: str, name: str) -> None:
    """Open one of PUBLIC_PAGES in the given language, and check it is the page expected."""
    if name in DIRECT_PAGES:
        response = page.goto(f"/{locale}{DIRECT_PAGES[name]}")
        assert response is not None
        assert response.status == (404 if name == "not-found" else 200), page.url
        return
    page.goto(f"/{locale}/create-account")
    if name == "create-account-with-errors":
        submit_button(page).click()
        expect(page.locator(".govuk-error-summary")).to_be_visible()
        expect(page.locator(".govuk-error-message").first).to_be_visible()
    elif name == "check-your-email":
        page.locator("input[name=email]").fill(f"person{next(_emails)}@example.org")
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("input[name=password_confirm]").fill(PASSWORD)
        submit_button(page).click()
        expect(page).to_have_url(re.compile(rf"/{locale}/create-account/check-your-email$"))
    else:
        raise AssertionError(f"unknown page {name}")


def pass_two_factor_set_up(page: Page, app, email: str) -> None:
    """On the set-up page (any language): enter the app's code, land on the recovery codes."""
    page.locator("input[name=code]").fill(pyotp.TOTP(totp_secret(app, email)).now())
    submit_button(page).click()
    expect(page.locator(".app-recovery-codes li")).to_have_count(10)


# --- axe-core -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PUBLIC_PAGES)
@pytest.mark.parametrize("locale", LOCALES)
def test_public_page_has_no_axe_violations(page, locale, name):
    open_public_page(page, locale, name)
    assert_no_axe_violations(page)


@pytest.mark.parametrize("locale", LOCALES)
def test_applicant_account_page_has_no_axe_violations(page, app, locale):
    email = f"applicant-{locale}@example.org"
    make_user(app, email)
    sign_in(page, email)
    page.goto(f"/{locale}/account")
    expect(page).to_have_url(re.compile(rf"/{locale}/account$"))
    assert_no_axe_violations(page)


@pytest.mark.parametrize("locale", LOCALES)
def test_staff_pages_have_no_axe_violations(page, app, locale):
    """Two-factor set-up, recovery codes, account and staff list of a new administrator."""
    email = f"admin-{locale}@example.org"
    make_user(app, email, Role.ADMIN)
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/en/two-factor/set-up$"))

    page.goto(f"/{locale}/two-factor/set-up")
    expect(page.locator("img.app-qr-code")).to_be_visible()
    assert_no_axe_violations(page)

    pass_two_factor_set_up(page, app, email)
    assert_no_axe_violations(page)

    page.locator("main a.govuk-button").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/account$"))
    assert_no_axe_violations(page)

    response = page.goto(f"/{locale}/admin/staff")
    assert response is not None and response.status == 200
    expect(page.locator("main table")).to_contain_text(email)
    assert_no_axe_violations(page)


# --- Small screens, right to left, keyboard -----------------------------------------------------


def overflowing_elements(page: Page) -> list[str]:
    """What makes a page scroll sideways: the innermost elements that stick out of the viewport
    or whose content sticks out of them."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll("body *")].filter((element) => {
            const box = element.getBoundingClientRect();
            const outside = box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
            const spills = getComputedStyle(element).overflowX === "visible"
              && element.scrollWidth > element.clientWidth + 1;
            return outside || spills;
          });
          const innermost = wide.filter((element) => !wide.some(
            (other) => other !== element && element.contains(other)));
          return innermost.slice(0, 10).map((element) => {
            const box = element.getBoundingClientRect();
            const classes = [...element.classList].map((name) => "." + name).join("");
            return `${element.tagName.toLowerCase()}${classes}`
              + ` [${Math.round(box.left)}, ${Math.round(box.right)}]`
              + ` scrollWidth=${element.scrollWidth}`;
          });
        }"""
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_public_pages_do_not_scroll_sideways_on_a_320px_screen(new_context, locale):
    page = new_context(viewport=SMALL_SCREEN).new_page()
    scrolling = {}
    for name in PUBLIC_PAGES:
        page.context.clear_cookies()
        open_public_page(page, locale, name)
        if scrolls_horizontally(page):
            scrolling[name] = overflowing_elements(page)
    assert not scrolling, f"pages that scroll sideways at 320px ({locale}): {scrolling}"


def h1_boxes(page: Page, path: str) -> tuple[dict[str, float], dict[str, float]]:
    """The h1's box, and the box of its text (a block h1 is as wide as its column)."""
    page.goto(path)
    h1 = page.get_by_role("heading", level=1)
    box = h1.bounding_box()
    assert box is not None
    text = h1.evaluate(
        """(h1) => {
          const range = document.createRange();
          range.selectNodeContents(h1);
          const box = range.getBoundingClientRect();
          return {x: box.x, y: box.y, width: box.width, height: box.height};
        }"""
    )
    return box, text


def test_arabic_pages_are_mirrored(page):
    width = page.viewport_size["width"]
    en_box, en_text = h1_boxes(page, "/en/sign-in")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    ar_box, ar_text = h1_boxes(page, "/ar/sign-in")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")

    assert en_box["x"] < width / 2, en_box
    assert en_text["x"] + en_text["width"] < width / 2, (
        "English heading text is on the left",
        en_text,
    )
    assert ar_box["x"] + ar_box["width"] > width / 2, ar_box
    assert ar_box["x"] > en_box["x"], (ar_box, en_box)
    assert ar_text["x"] > width / 2, ("Arabic heading text is on the right", ar_text)
    # Mirrored: the Arabic text ends as far from the right edge as the English starts from the left.
    assert abs((width - (ar_text["x"] + ar_text["width"])) - en_text["x"]) < 3, (en_text, ar_text)


def test_first_tab_reaches_the_skip_link_which_moves_to_the_main_content(page):
    page.goto("/en/")
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/en/#main-content$"))
    expect(page.locator("#main-content")).to_be_focused()
    assert page.locator("#main-content").evaluate(
        "main => { const box = main.getBoundingClientRect(); return box.top >= -1 && box.top < 10; }"
    ), "the page scrolled to the main content"


# --- Conditional reveal -------------------------------------------------------------------------


def applicant_at_other_names(app) -> None:
    """A signed-up applicant whose draft has reached the "other names" question."""
    client = app.test_client()
    open_a_window(app)
    start_application(client, app, REVEAL_EMAIL)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])


def test_conditional_reveal_with_javascript(page, app):
    """Choosing "yes" shows the details question, the next Tab reaches it, "no" hides it again;
    the radio points at it with aria-controls and carries no aria-expanded (not allowed on a
    radio), and axe finds nothing in either state."""
    off_loop(applicant_at_other_names, app)
    sign_in(page, REVEAL_EMAIL)
    page.goto(OTHER_NAMES)
    yes = page.locator("input[name=answer][value=yes]")
    details = page.locator("textarea[name=details], input[name=details]")
    section = page.locator(f"#{yes.get_attribute('aria-controls')}")
    expect(section).to_have_class(re.compile(r"\bgovuk-radios__conditional\b"))
    expect(details).to_be_hidden()
    assert page.locator("input[type=radio][aria-expanded]").count() == 0
    assert_no_axe_violations(page)

    yes.check()
    expect(section).to_be_visible()
    page.keyboard.press("Tab")
    expect(details).to_be_focused()
    assert page.locator("input[type=radio][aria-expanded]").count() == 0
    assert_no_axe_violations(page)

    page.locator("input[name=answer][value=no]").check()
    expect(details).to_be_hidden()


def test_conditional_reveal_without_javascript(new_context, app):
    """Without JavaScript the details question is always shown, and the answer is saved. (No axe
    here: axe.run waits on timers, which never fire in a page without JavaScript.)"""
    off_loop(applicant_at_other_names, app)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, REVEAL_EMAIL)
    page.goto(OTHER_NAMES)
    details = page.locator("textarea[name=details], input[name=details]")
    expect(details).to_be_visible()
    assert page.locator("input[type=radio][aria-controls]").count() == 0

    page.locator("input[name=answer][value=yes]").check()
    details.fill("Amina Karim")
    submit_button(page).first.click()
    expect(page).to_have_url(re.compile(r"/en/application/questions/birth$"))
    page.goto(OTHER_NAMES)
    expect(details).to_have_value("Amina Karim")
