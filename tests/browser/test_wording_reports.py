"""The translation notice and the report form in a real browser: axe, 320 px, right to left.

Reached with locators that do not depend on the language (input names, the form's button), so
the same steps check French (left to right) and Arabic (right to left).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_axe_violations, scrolls_horizontally

pytestmark = pytest.mark.browser

SMALL_SCREEN = {"width": 320, "height": 640}


def border_widths(page, selector: str) -> tuple[float, float]:
    """The left and right border widths of an element, as the browser draws them."""
    return page.locator(selector).evaluate(
        "element => { const style = getComputedStyle(element);"
        " return [parseFloat(style.borderLeftWidth), parseFloat(style.borderRightWidth)]; }"
    )


@pytest.mark.parametrize(("locale", "direction"), [("fr", "ltr"), ("ar", "rtl")])
def test_report_form_and_notice_at_320_px(new_context, locale, direction):
    page = new_context(viewport=SMALL_SCREEN).new_page()

    # The notice on an applicant page, on the reading side, and its report link.
    page.goto(f"/{locale}/privacy")
    expect(page.locator("html")).to_have_attribute("dir", direction)
    notice = page.locator(".app-translation-notice")
    expect(notice).to_be_visible()
    expect(notice.locator('a[hreflang="en"]')).to_have_attribute("href", "/en/privacy")
    left, right = border_widths(page, ".app-translation-notice")
    assert (left > 0, right > 0) == ((True, False) if direction == "ltr" else (False, True))
    assert not scrolls_horizontally(page)
    assert_no_axe_violations(page)

    page.locator(".app-report-words a").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/report-words\?page=/{locale}/privacy$"))
    assert not scrolls_horizontally(page)
    assert_no_axe_violations(page)

    # Sent empty: the error summary and the messages, in the page's language.
    page.locator("main form [type=submit]").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator(".govuk-error-message")).to_have_count(2)
    assert not scrolls_horizontally(page)
    assert_no_axe_violations(page)

    # Completed by keyboard-reachable controls: a choice, the details, then sent.
    page.locator("input[name=problem]").first.check()
    page.locator("textarea[name=details]").fill("Les mots du deuxième paragraphe")
    page.locator("main form [type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/{locale}/report-words/sent\?page=/{locale}/privacy$"))
    expect(page.locator(f'main a[href="/{locale}/privacy"]')).to_be_visible()
    assert not scrolls_horizontally(page)
    assert_no_axe_violations(page)
