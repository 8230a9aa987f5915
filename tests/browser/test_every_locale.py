"""Every page of the applicant's journey in every language, on a 320 px wide screen.

Translations change the length of every line and, for Arabic, Persian, Dari, Pashto and Sorani, the
direction of the whole page: a layout that holds in English can scroll sideways, cut words off or
stay left-aligned in another language. Each page is checked for its language and direction, axe
violations, sideways scrolling, clipped text and (right to left) mirroring, and photographed into
test-output/screenshots/<locale>/ so that people who read the language can look at it.

Pages are reached by their paths, never by their translated labels: the answers are prepared
through the test client, and opening /<locale>/... switches the language. Findings are collected
over all the pages of a language and reported together, so one run shows every problem.
"""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import BrowserContext, Page, expect

from portal.apply.steps import STEPS
from portal.config import LOCALES, PROJECT_ROOT
from tests.apply_helpers import (
    ELIGIBLE,
    MAIN_APPLICANT_ALONE,
    answer_page,
    fill_in,
    open_a_window,
    start_application,
)
from tests.browser.conftest import (
    axe_violations,
    describe_violations,
    off_loop,
    scrolls_horizontally,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN, overflowing_elements
from tests.helpers import submit

pytestmark = pytest.mark.browser

EMAIL = "amina@example.org"
RIGHT_TO_LEFT = frozenset({"ar", "fa", "prs", "ps", "ckb"})
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
QUESTIONS = "/application/questions"
PUBLIC_PAGES = {
    "start": "/",
    "privacy": "/privacy",
    "accessibility": "/accessibility",
    "cookies": "/cookies",
    "sign-in": "/sign-in",
    "create-account": "/create-account",
    "forgot-password": "/forgot-password",
}
ANSWERS = dict(MAIN_APPLICANT_ALONE)
SISTER = {
    "full_name": "Sara Kareem",
    "relationship": "sibling",
    "date_of_birth": ["1", "2", "2008"],
    "add": "1",
}

# Text elements of the main content whose content is wider than their box, when the box does not
# let it show (overflow other than visible): words cut off or hidden behind a scroll bar. Boxes
# of a pixel or less are the visually hidden texts for screen readers, clipped on purpose.
CLIPPED_TEXT = """() => {
  const main = document.querySelector(".govuk-main-wrapper");
  if (!main) return ["the page has no .govuk-main-wrapper"];
  return [main, ...main.querySelectorAll("*")].filter((element) => {
    if (!element.textContent.trim()) return false;
    if (!element.checkVisibility({visibilityProperty: true, opacityProperty: true})) return false;
    const box = element.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) return false;
    if (getComputedStyle(element).overflowX === "visible") return false;
    return element.scrollWidth > element.clientWidth + 1;
  }).slice(0, 10).map((element) => {
    const classes = [...element.classList].map((name) => "." + name).join("");
    return `${element.tagName.toLowerCase()}${classes}`
      + ` scrollWidth=${element.scrollWidth} clientWidth=${element.clientWidth}`
      + ` "${element.textContent.trim().slice(0, 40)}"`;
  });
}"""

ERROR_SUMMARY_ALIGNMENT = """(summary) => {
  const style = getComputedStyle(summary);
  return {direction: style.direction, textAlign: style.textAlign};
}"""


class LocaleTour:
    """The checks of every page of one language, and what they found, page by page."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.direction = "rtl" if locale in RIGHT_TO_LEFT else "ltr"
        self.findings: dict[str, list[str]] = defaultdict(list)
        self.pages = 0
        self.folder = SCREENSHOTS / locale
        self.folder.mkdir(parents=True, exist_ok=True)

    def open(self, page: Page, name: str, path: str, status: int = 200) -> None:
        """Open /<locale><path> (which also switches the language) and check it."""
        response = page.goto(f"/{self.locale}{path}")
        assert response is not None and response.status == status, (path, page.url)
        assert urlsplit(page.url).path == f"/{self.locale}{path}", (path, page.url)
        self.check(page, name)

    def check(self, page: Page, name: str) -> None:
        self.pages += 1
        label = f"{self.pages:02d}-{name}"
        page.wait_for_load_state("load")
        page.screenshot(path=self.folder / f"{label}.png", full_page=True)

        html = page.locator("html")
        language, direction = html.get_attribute("lang"), html.get_attribute("dir")
        if (language, direction) != (self.locale, self.direction):
            self.findings["lang and dir"].append(f"{label}: lang={language} dir={direction}")
        violations = axe_violations(page)
        if violations:
            self.findings["axe"].append(f"{label}:\n{describe_violations(violations)}")
        if scrolls_horizontally(page):
            self.findings["sideways scrolling"].append(f"{label}: {overflowing_elements(page)}")
        clipped = page.evaluate(CLIPPED_TEXT)
        if clipped:
            self.findings["clipped text"].append(f"{label}: {clipped}")
        self._check_mirroring(page, label)

    def _check_mirroring(self, page: Page, label: str) -> None:
        """The back link starts on the reading side; the error summary reads in that direction."""
        middle = SMALL_SCREEN["width"] / 2
        back_link = page.locator(".govuk-back-link")
        if back_link.count():
            box = back_link.first.bounding_box()
            assert box is not None, label
            right = box["x"] + box["width"]
            if self.direction == "rtl":
                mirrored = right > middle and box["x"] > 40
            else:
                mirrored = box["x"] < middle and right < SMALL_SCREEN["width"] - 40
            if not mirrored:
                self.findings["back link side"].append(
                    f"{label}: x={box['x']:.0f} width={box['width']:.0f} in {self.direction}"
                )
        summary = page.locator(".govuk-error-summary")
        if summary.count():
            style = summary.first.evaluate(ERROR_SUMMARY_ALIGNMENT)
            side = "right" if self.direction == "rtl" else "left"
            if style["direction"] != self.direction or style["textAlign"] not in (side, "start"):
                self.findings["error summary alignment"].append(f"{label}: {style}")

    def report(self) -> str:
        return "\n".join(
            f"[{check}] on {self.locale}:\n  " + "\n  ".join(found)
            for check, found in self.findings.items()
        )


def prepared_applicant(app: Flask) -> FlaskClient:
    """An open window and a complete draft (documents too), made through the test client; the
    client stays signed in to change answers later."""
    client = app.test_client()
    open_a_window(app)
    start_application(client, app, EMAIL)
    fill_in(client, MAIN_APPLICANT_ALONE)
    return client


def travelling_with_family(client: FlaskClient) -> None:
    """Travelling with a sister: the family members page opens, with her in its list."""
    response = answer_page(client, "travelling", {"travelling": "with_family"})
    assert response.headers["Location"].endswith(f"{QUESTIONS}/family_members"), response.text
    response = answer_page(client, "family_members", SISTER)
    assert response.headers["Location"].endswith(f"{QUESTIONS}/family_members"), response.text


def travelling_alone(client: FlaskClient) -> None:
    """Back to alone: the family members' answers are dropped and the draft is complete again."""
    response = answer_page(client, "travelling", {"travelling": "alone"})
    assert response.status_code == 302, response.text


def family_member(client: FlaskClient) -> None:
    """Joining a main applicant: the family reference page opens."""
    response = answer_page(client, "applicant_type", {"applicant_type": "family_member"})
    assert response.headers["Location"].endswith(f"{QUESTIONS}/family_reference"), response.text


def main_applicant_again(client: FlaskClient) -> None:
    for name in ("applicant_type", "travelling"):
        response = answer_page(client, name, ANSWERS[name])
        assert response.status_code == 302, (name, response.text)


def expired_document(client: FlaskClient) -> None:
    """A passport that expired: the page asking whether a valid one exists opens."""
    response = answer_page(
        client, "document", {**ANSWERS["document"], "expiry_date": ["1", "1", "2020"]}
    )
    assert response.headers["Location"].endswith(f"{QUESTIONS}/document_expired"), response.text


def valid_document(client: FlaskClient) -> None:
    response = answer_page(client, "document", ANSWERS["document"])
    assert response.status_code == 302, response.text


def send(client: FlaskClient) -> None:
    response = submit(client, "/en/application/check-your-answers")
    assert response.headers["Location"] == "/en/application/sent", response.text


def visit_signed_out_pages(context: BrowserContext, tour: LocaleTour) -> None:
    """The public pages, and the eligibility questions answered one by one as a person would."""
    page = context.new_page()
    for name, path in PUBLIC_PAGES.items():
        tour.open(page, name, path)
    for name, answer in ELIGIBLE.items():
        tour.open(page, f"eligibility-{name}", f"/eligibility/{name}")
        page.locator(f"input[name=answer][value={answer}]").check()
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/{tour.locale}/eligibility/you-can-apply$"))
    tour.check(page, "eligibility-can-apply")
    page.goto(f"/{tour.locale}/eligibility/in_france")
    page.locator("input[name=answer][value=no]").check()
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/{tour.locale}/eligibility/cannot-apply/[\w-]+$"))
    tour.check(page, "eligibility-cannot-apply")


def reveal(page: Page, tour: LocaleTour, name: str) -> None:
    """On a question with a conditional reveal: the other choice hides the revealed questions,
    the revealing one shows them and the next Tab reaches them; the page is checked so."""
    radio = page.locator("main input[type=radio][aria-controls]")
    expect(radio).to_have_count(1)
    group = radio.get_attribute("name")
    section = page.locator(f"#{radio.get_attribute('aria-controls')}")
    page.locator(f"main input[type=radio][name={group}]:not([aria-controls])").first.check()
    expect(section).to_be_hidden()
    radio.check()
    expect(section).to_be_visible()
    page.keyboard.press("Tab")
    expect(section.locator("input, select, textarea").first).to_be_focused()
    tour.check(page, f"{name}-revealed")


def visit_question_pages(page: Page, client: FlaskClient, tour: LocaleTour) -> None:
    """Every question page, in the order of the form; those with a reveal also with it shown."""
    for step in STEPS:
        name = step.name.replace("_", "-")
        if step.name == "family_reference":
            off_loop(family_member, client)
            tour.open(page, name, f"{QUESTIONS}/{step.name}")
            off_loop(main_applicant_again, client)
        elif step.name == "family_members":
            off_loop(travelling_with_family, client)
            tour.open(page, name, f"{QUESTIONS}/{step.name}")
            expect(page.locator("main")).to_contain_text(SISTER["full_name"])
            off_loop(travelling_alone, client)
        elif step.name == "document_expired":
            off_loop(expired_document, client)
            tour.open(page, name, f"{QUESTIONS}/{step.name}")
            off_loop(valid_document, client)
        else:
            tour.open(page, name, f"{QUESTIONS}/{step.name}")
        if step.reveals:
            reveal(page, tour, name)


def visit_application_pages(page: Page, client: FlaskClient, tour: LocaleTour) -> None:
    tour.open(page, "account", "/account")
    tour.open(page, "task-list", "/application/tasks")
    visit_question_pages(page, client, tour)

    page.goto(f"/{tour.locale}{QUESTIONS}/birth")
    for field in page.locator("main form input:not([type=hidden])").all():
        field.fill("")
    for select in page.locator("main form select").all():
        select.select_option("")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert urlsplit(page.url).path == f"/{tour.locale}{QUESTIONS}/birth", page.url
    tour.check(page, "birth-with-errors")

    tour.open(page, "documents", "/application/documents")
    tour.open(page, "add-identity-document", "/application/documents/identity/add")
    tour.open(page, "check-your-answers", "/application/check-your-answers")
    tour.open(page, "delete-draft", "/application/delete")

    off_loop(send, client)
    tour.open(page, "sent", "/application/sent")
    tour.open(page, "status", "/application/status")
    tour.open(page, "withdraw", "/application/withdraw")
    tour.open(page, "not-found", "/no-such-page", status=404)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_of_the_journey_holds_at_320px(new_context, app, locale):
    tour = LocaleTour(locale)
    visit_signed_out_pages(new_context(viewport=SMALL_SCREEN), tour)

    client = off_loop(prepared_applicant, app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/en/application/tasks$"))
    visit_application_pages(page, client, tour)

    assert not tour.findings, f"{tour.pages} pages checked\n{tour.report()}"
