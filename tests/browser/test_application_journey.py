"""The Expression of Interest in a real browser, as a person fills it in.

From the start page through the eligibility questions, an account, every question of a main
applicant alone, check and send, to the status page and the presence-in-France check. Fields are
found by their labels: radios by their text, dates by "Day", "Month" and "Year" inside their
group, selects by label. axe-core checks every page on the way.

Names are looked up in the page's own language through the compiled catalogs (`tr`), so the
Arabic journey finds its fields by their Arabic labels once they are translated, and by the English
fallback until then.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import pytest
from babel.support import Translations
from flask import Flask
from playwright.sync_api import Page, expect

from portal.apply.references import ALPHABET
from portal.config import PROJECT_ROOT
from tests.apply_helpers import (
    ELIGIBLE,
    MAIN_APPLICANT_ALONE,
    fill_in,
    open_a_window,
    photo_bytes,
    start_application,
)
from tests.browser.conftest import (
    assert_no_axe_violations,
    off_loop,
    scrolls_horizontally,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN, overflowing_elements
from tests.helpers import PASSWORD, last_message, link_in, sent_messages, submit

pytestmark = pytest.mark.browser

EMAIL = "amina@example.org"
PARIS = {"latitude": 48.8566, "longitude": 2.3522}
REFERENCE = re.compile(rf"^EOI(-[{ALPHABET}]{{3}}){{3}}$")

# The label of the ELIGIBLE answer on each eligibility question, in the order they are asked.
ELIGIBILITY_LABELS = {
    name: "Yes, I am 18 or older" if name == "age" else answer.capitalize()
    for name, answer in ELIGIBLE.items()
}

# The labels of the fields of MAIN_APPLICANT_ALONE (a date's label is its group's legend).
FIELD_LABELS = {
    "given_names": "Given names",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "place_of_birth": "Town or city of birth",
    "country_of_birth": "Country of birth",
    "nationality": "Nationality",
    "document_number": "Document number",
    "issuing_country": "Country that issued it",
    "issue_date": "Date of issue",
    "expiry_date": "Expiry date",
    "address": "Where do you stay in France?",
    "town": "Town or city",
    "living_since": "Since when have you been in France?",
    "email": "Email address",
    "mobile": "Mobile phone number",
    "relationship": "Their relationship to you",
    "full_name": "Their full name",
    "immigration_status": "Their immigration status in the UK",
    "languages_spoken": "Which languages do you speak?",
}
RADIO_FIELDS = frozenset(
    {
        "applicant_type",
        "travelling",
        "answer",
        "sex",
        "relationship_status",
        "document_type",
        "message_language",
    }
)
SELECT_FIELDS = frozenset(
    {"country_of_birth", "nationality", "issuing_country", "immigration_status"}
)
CHOICE_LABELS = {
    "main": "I am the main applicant",
    "alone": "Alone",
    "yes": "Yes",
    "no": "No",
    "female": "Female",
    "single": "Single",
    "passport": "Passport",
    "ar": "العربية",
}
DATE_PARTS = ("Day", "Month", "Year")

# A field that "Yes" reveals on each yes/no question page: hidden until then with JavaScript,
# always shown without it.
REVEALED = {
    "other_names": "Other names you have used",
    "uk_family": "Their full name",
    "uk_visas": "Type of visa and when you had it",
    "uk_refusals": "What was refused and when",
    "uk_removals": "When and why",
    "convictions": "The crime, the country, the date and the sentence",
    "war_crimes": "What happened, where and when",
    "terrorism": "What happened, where and when",
}

Check = Callable[[Page], None]


@cache
def _catalog(locale: str) -> Translations:
    return Translations.load(str(PROJECT_ROOT / "translations"), [locale])


def tr(page: Page, text: str) -> str:
    """What a person reads for `text` on this page: its translation in the page's language."""
    locale = page.locator("html").get_attribute("lang") or "en"
    return _catalog(locale).gettext(text)


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def summary_value(page: Page, key: str):
    """The value of a summary list's row, found by its key: what a person reads there."""
    key_cell = page.locator(".govuk-summary-list__key", has_text=re.compile(rf"^\s*{key}\s*$"))
    return (
        page.locator(".govuk-summary-list__row")
        .filter(has=key_cell)
        .locator(".govuk-summary-list__value")
    )


def axe_checked(page: Page) -> None:
    """Once the page has loaded (its styles too, for colour contrast): no axe violations."""
    page.wait_for_load_state("load")
    assert_no_axe_violations(page)


def right_to_left_and_axe_checked(page: Page) -> None:
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    axe_checked(page)


def without_javascript(page: Page) -> None:
    page.wait_for_load_state("load")
    expect(page.locator("body")).not_to_have_class(re.compile(r"js-enabled"))


# --- The journey, step by step --------------------------------------------------------------------


def eligibility_to_the_task_list(page: Page, app: Flask, locale: str, check: Check) -> None:
    """Start now, the eligibility questions, an account created and confirmed, signed in."""
    page.goto(f"/{locale}/")
    expect(heading(page)).to_have_text(tr(page, "Apply to transfer to the UK from France"))
    check(page)
    page.get_by_role("button", name=tr(page, "Start now")).click()

    for number, (name, label) in enumerate(ELIGIBILITY_LABELS.items(), start=1):
        expect(page).to_have_url(re.compile(rf"/{locale}/eligibility/{name}$"))
        caption = tr(page, "Can you apply? Question %(number)s of %(total)s")
        expect(
            page.get_by_text(caption % {"number": number, "total": len(ELIGIBLE)})
        ).to_be_visible()
        check(page)
        page.get_by_label(tr(page, label), exact=True).check()
        page.get_by_role("button", name=tr(page, "Continue")).click()

    expect(page).to_have_url(re.compile(rf"/{locale}/eligibility/you-can-apply$"))
    expect(heading(page)).to_have_text(tr(page, "You can apply"))
    check(page)
    page.get_by_role("button", name=tr(page, "Create an account")).click()

    expect(page).to_have_url(re.compile(rf"/{locale}/create-account(\?.*)?$"))
    expect(heading(page)).to_have_text(tr(page, "Create an account"))
    check(page)
    page.get_by_label(tr(page, "Email address"), exact=True).fill(EMAIL)
    page.get_by_label(tr(page, "Create a password"), exact=True).fill(PASSWORD)
    page.get_by_label(tr(page, "Type the password again"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=tr(page, "Create account")).click()
    expect(heading(page)).to_have_text(tr(page, "Check your email"))
    check(page)

    confirmation_link = link_in(last_message(app, EMAIL))
    assert confirmation_link.startswith(f"/{locale}/"), confirmation_link
    page.goto(confirmation_link)
    expect(heading(page)).to_have_text(tr(page, "Confirm your email address"))
    check(page)
    page.get_by_role("button", name=tr(page, "Confirm email address")).click()

    expect(page).to_have_url(re.compile(rf"/{locale}/sign-in$"))
    expect(page.get_by_role("alert")).to_contain_text(
        tr(page, "Your email address is confirmed. You can now sign in.")
    )
    check(page)
    page.get_by_label(tr(page, "Email address"), exact=True).fill(EMAIL)
    page.get_by_label(tr(page, "Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=tr(page, "Sign in"), exact=True).click()

    expect(page).to_have_url(re.compile(rf"/{locale}/application/tasks$"))
    expect(heading(page)).to_have_text(tr(page, "Your application"))
    check(page)


def answer(page: Page, data: dict[str, str | list[str]]) -> None:
    """Fill in one question page by its labels. Empty answers (the details of a "No", no other
    nationality) are left alone."""
    for name, value in data.items():
        if not value:
            continue
        if name in RADIO_FIELDS:
            assert isinstance(value, str)
            page.get_by_label(tr(page, CHOICE_LABELS[value]), exact=True).check()
        elif isinstance(value, list):
            group = page.get_by_role("group", name=tr(page, FIELD_LABELS[name]), exact=True)
            for part, number in zip(DATE_PARTS[-len(value) :], value, strict=True):
                group.get_by_label(tr(page, part), exact=True).fill(number)
        elif name in SELECT_FIELDS:
            page.get_by_label(tr(page, FIELD_LABELS[name]), exact=True).select_option(value)
        else:
            page.get_by_label(tr(page, FIELD_LABELS[name]), exact=True).fill(value)


def save_and_continue(page: Page) -> None:
    page.get_by_role("button", name=tr(page, "Save and continue")).click()


def fill_in_and_send(page: Page, locale: str, check: Check, javascript: bool = True) -> str:
    """From the task list: every question, check your answers, send; returns the reference."""
    page.get_by_role("link", name=tr(page, "About you")).click()

    for name, data in MAIN_APPLICANT_ALONE:
        expect(page).to_have_url(re.compile(rf"/{locale}/application/questions/{name}$"))
        check(page)
        if name == "birth":
            save_and_continue(page)
            expect(page.get_by_role("alert")).to_contain_text(tr(page, "There is a problem"))
            expect(
                page.get_by_role("link", name=tr(page, "Enter your date of birth"))
            ).to_be_visible()
            check(page)
        if name in REVEALED:
            revealed = page.get_by_label(tr(page, REVEALED[name]), exact=True)
            if javascript:
                expect(revealed).to_be_hidden()
            else:
                expect(revealed).to_be_visible()
        answer(page, data)
        save_and_continue(page)

    upload_documents(page, locale, check)
    expect(page).to_have_url(re.compile(rf"/{locale}/application/check-your-answers$"))
    expect(heading(page)).to_have_text(
        tr(page, "Check your answers before sending your application")
    )
    expect(summary_value(page, tr(page, "Family name"))).to_have_text("Kareem")
    check(page)
    page.get_by_role("button", name=tr(page, "Accept and send")).click()

    expect(page).to_have_url(re.compile(rf"/{locale}/application/sent$"))
    expect(heading(page)).to_have_text(tr(page, "Application sent"))
    reference = page.locator(".govuk-panel .app-reference")
    expect(reference).to_have_text(REFERENCE)
    check(page)
    sent_reference = reference.inner_text()

    page.get_by_role("link", name=tr(page, "See the status of your application")).click()
    expect(page).to_have_url(re.compile(rf"/{locale}/application/status$"))
    expect(heading(page)).to_have_text(tr(page, "Your application"))
    expect(summary_value(page, tr(page, "Reference number"))).to_have_text(sent_reference)
    check(page)
    return sent_reference


def upload_documents(page: Page, locale: str, check: Check) -> None:
    """The form is answered, so the documents it needs are asked for: a photo of the passport's
    data page and a photo of the face, chosen through the file inputs (with JavaScript the upload
    goes through the progress indicator)."""
    expect(page).to_have_url(re.compile(rf"/{locale}/application/documents\?missing=1$"))
    expect(page.get_by_role("alert")).to_contain_text(tr(page, "There is a problem"))
    check(page)
    for kind, title, part, name in (
        (
            "identity",
            "Your passport or identity card",
            "The page with my photo and details",
            "passport.jpg",
        ),
        ("photo", "A photo of your face", None, "face.jpg"),
    ):
        page.locator(f"#kind-{kind}").get_by_role("link", name=tr(page, "Add a file")).click()
        expect(page).to_have_url(re.compile(rf"/{locale}/application/documents/{kind}/add$"))
        check(page)
        if part:
            page.get_by_label(tr(page, part), exact=True).check()
        page.get_by_label(tr(page, "Choose a file")).set_input_files(
            {"name": name, "mimeType": "image/jpeg", "buffer": photo_bytes((640, 480))}
        )
        page.get_by_role("button", name=tr(page, "Upload file")).click()
        expect(page).to_have_url(re.compile(rf"/{locale}/application/documents$"))
        expect(page.locator(f"#kind-{kind}")).to_contain_text(name)
        expect(page.locator(f"#kind-{kind}")).to_contain_text(tr(page, title))
        check(page)
    page.get_by_role("link", name=tr(page, "Continue"), exact=True).click()


def prepare_application(app: Flask, send: bool) -> None:
    """A complete draft (sent if asked) of EMAIL, made through the test client: for tests whose
    subject comes after the journey. Runs off Playwright's event loop."""

    def prepare() -> None:
        open_a_window(app)
        client = app.test_client()
        start_application(client, app, EMAIL)
        fill_in(client)
        if send:
            response = submit(client, "/en/application/check-your-answers")
            assert response.headers["Location"] == "/en/application/sent", response.text

    off_loop(prepare)


# --- Tests ----------------------------------------------------------------------------------------


def test_english_journey_from_start_page_to_status_with_no_axe_violations(page, app):
    off_loop(open_a_window, app)
    eligibility_to_the_task_list(page, app, "en", axe_checked)
    reference = fill_in_and_send(page, "en", axe_checked)
    assert REFERENCE.match(reference)


def test_arabic_journey_is_right_to_left_with_no_axe_violations(page, app):
    off_loop(open_a_window, app)
    eligibility_to_the_task_list(page, app, "ar", right_to_left_and_axe_checked)
    fill_in_and_send(page, "ar", right_to_left_and_axe_checked)


def test_whole_journey_works_without_javascript(new_context, app):
    off_loop(open_a_window, app)
    page = new_context(java_script_enabled=False).new_page()
    eligibility_to_the_task_list(page, app, "en", without_javascript)
    fill_in_and_send(page, "en", without_javascript, javascript=False)


def test_application_pages_do_not_scroll_sideways_on_a_320px_screen(new_context, app):
    prepare_application(app, send=False)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/en/application/tasks$"))
    scrolling = {}
    for locale in ("en", "ar"):
        for path in (
            "tasks",
            "questions/birth",
            "questions/document",
            "documents",
            "documents/identity/add",
            "check-your-answers",
        ):
            page.goto(f"/{locale}/application/{path}")
            expect(page).to_have_url(re.compile(rf"/{locale}/application/{path}$"))
            expect(page.locator("html")).to_have_attribute("lang", locale)
            page.wait_for_load_state("load")
            if scrolls_horizontally(page):
                scrolling[f"/{locale}/application/{path}"] = overflowing_elements(page)
    assert not scrolling, f"pages that scroll sideways at 320px: {scrolling}"


def test_presence_link_shares_the_location_and_explains_itself_without_javascript(new_context, app):
    prepare_application(app, send=True)
    texts = [message for message in sent_messages(app) if message.channel == "sms"]
    assert texts, "no text message was sent"
    link = link_in(texts[-1])
    # The messages are in the language chosen for them: Arabic.
    assert re.fullmatch(r"/ar/presence/[\w-]+", link), link

    # Without JavaScript, the page says what to do instead (and does not use the link up).
    no_js = new_context(java_script_enabled=False).new_page()
    no_js.goto(link)
    expect(heading(no_js)).to_have_text(tr(no_js, "Show that you are in France"))
    expect(
        no_js.get_by_role("heading", name=tr(no_js, "If the button does not work"))
    ).to_be_visible()
    expect(no_js.get_by_role("button", name=tr(no_js, "Share my location"))).to_be_hidden()

    phone = new_context(geolocation=PARIS, permissions=["geolocation"]).new_page()
    phone.goto(link)
    expect(heading(phone)).to_have_text(tr(phone, "Show that you are in France"))
    share = phone.get_by_role("button", name=tr(phone, "Share my location"))
    expect(share).to_be_visible()
    expect(
        phone.get_by_role("heading", name=tr(phone, "If the button does not work"))
    ).to_be_hidden()
    right_to_left_and_axe_checked(phone)

    share.click()
    expect(phone).to_have_url(re.compile(r"/ar/presence/[\w-]+/result$"))
    expect(heading(phone)).to_have_text(tr(phone, "Thank you"))
    right_to_left_and_axe_checked(phone)
