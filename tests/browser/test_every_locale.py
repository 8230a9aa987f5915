"""Every page of the applicant's journey in every language, on a 320 px wide screen.

Translations change the length of every line and, for Arabic, Persian, Dari, Pashto and Sorani, the
direction of the whole page: a layout that holds in English can scroll sideways, cut words off or
stay left-aligned in another language. Each page is checked for its language and direction, axe
violations, accessible names and script texts outside the catalog (as the page is once its scripts
ran), sideways scrolling, clipped text and (right to left) mirroring. With
PORTAL_TOUR_SCREENSHOTS=1 (`make screenshots`) each page is also photographed into
test-output/screenshots/<locale>/ so that people who read the language can look at it; the
photographs are for those readers, not a check, and cost a fifth of the tour's time, so a plain
test run takes none.

Pages are reached by their paths, never by their translated labels: the answers are prepared
through the test client, and opening /<locale>/... switches the language. Findings are collected
over all the pages of a language and reported together, so one run shows every problem.

The tour must reach every applicant page of the URL map (APPLICANT_ENDPOINTS, derived from it):
a new page that nobody added to the tour fails the test in every language.
"""

from __future__ import annotations

import io
import os
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import update
from werkzeug.exceptions import HTTPException

from portal.apply.steps import STEPS
from portal.config import LOCALES, PROJECT_ROOT
from portal.extensions import db
from portal.models import Role, User, utcnow
from tests.apply_helpers import (
    ELIGIBLE,
    MAIN_APPLICANT_ALONE,
    answer_eligibility,
    answer_page,
    fill_in,
    open_a_window,
    photo_bytes,
    send_application,
    send_main_with_family,
    start_application,
)
from tests.appointment_helpers import application_of, invite, make_centre, make_slot
from tests.browser.conftest import (
    axe_violations,
    describe_violations,
    off_loop,
    sign_in,
)
from tests.browser.test_accessibility import SMALL_SCREEN, overflowing_elements
from tests.conftest import POSTGRES_URL
from tests.helpers import (
    csrf_token,
    last_message,
    link_in,
    make_support_worker,
    make_user,
    sign_in_staff,
    submit,
)
from tests.integration.test_untranslated_text import untranslated

pytestmark = pytest.mark.browser

EMAIL = "amina@example.org"
RIGHT_TO_LEFT = frozenset({"ar", "fa", "prs", "ps", "ckb"})
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("PORTAL_TOUR_SCREENSHOTS", "") not in ("", "0")
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

# What the tour checks of a page's layout, read in one call rather than one call each: the
# html element's lang and dir; whether the page scrolls sideways; the text elements of the main
# content whose content is wider than their box, when the box does not let it show (overflow
# other than visible): words cut off or hidden behind a scroll bar (boxes of a pixel or less are
# the visually hidden texts for screen readers, clipped on purpose); where the back link sits;
# and the direction and alignment of the error summary.
PAGE_FACTS = """() => {
  const root = document.documentElement;
  const clipped = () => {
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
  };
  const backLink = document.querySelector(".govuk-back-link");
  const box = backLink && backLink.getBoundingClientRect();
  const summary = document.querySelector(".govuk-error-summary");
  const style = summary && getComputedStyle(summary);
  return {
    lang: root.getAttribute("lang"),
    dir: root.getAttribute("dir"),
    scrolls: root.scrollWidth > root.clientWidth,
    clipped: clipped(),
    back_link: box && {x: box.x, width: box.width},
    error_summary: style && {direction: style.direction, textAlign: style.textAlign},
  };
}"""


# Pages of the URL map that are not applicant pages: the staff's (in English on purpose, toured in
# tests/browser/test_accessibility.py and test_casework.py), and the responses that are not pages.
STAFF_BLUEPRINTS = (
    "admin.",
    "backoffice.",
    "centres.",
    "organisations.",
    "staff_documents.",
    "staff_messages.",
    "wording_reports.",
)
STAFF_PAGES = frozenset({"auth.two_factor", "auth.two_factor_setup"})
NOT_PAGES = frozenset(
    {
        "appointments.calendar",  # a calendar file
        "apply.download",  # the applicant's data as JSON
        "documents.check",  # S3 storage only, where it shows the upload page again (404 here)
        "documents.file",  # a document's bytes
        "documents.thumbnail",  # an image
    }
)


def applicant_endpoints(app: Flask) -> frozenset[str]:
    """Every page an applicant (or a support worker acting for one) can open: the URL map's GET
    routes under /<locale>/, less the staff's and the responses that are not pages."""
    return frozenset(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and "locale" in rule.arguments
        and not rule.endpoint.startswith(STAFF_BLUEPRINTS)
        and rule.endpoint not in STAFF_PAGES | NOT_PAGES
    )


class LocaleTour:
    """The checks of every page of one language, and what they found, page by page."""

    def __init__(self, locale: str, app: Flask | None = None) -> None:
        self.locale = locale
        self.urls = app.url_map.bind("localhost") if app is not None else None
        self.visited: set[str] = set()
        self.direction = "rtl" if locale in RIGHT_TO_LEFT else "ltr"
        self.findings: dict[str, list[str]] = defaultdict(list)
        self.pages = 0
        self.folder = SCREENSHOTS / locale
        if TAKE_SCREENSHOTS:
            self.folder.mkdir(parents=True, exist_ok=True)

    def open(self, page: Page, name: str, path: str, status: int = 200) -> None:
        """Open /<locale><path> (which also switches the language) and check it."""
        response = page.goto(f"/{self.locale}{path}")
        assert response is not None and response.status == status, (path, page.url)
        assert urlsplit(page.url).path == f"/{self.locale}{path.split('?')[0]}", (path, page.url)
        self.check(page, name)

    def reach(self, page: Page, name: str, path: str, lands_on: str) -> None:
        """Open a path that sends the reader on (a redirect) and check the page it lands on."""
        page.goto(f"/{self.locale}{path}")
        expect(page).to_have_url(re.compile(rf"/{self.locale}{lands_on}$"))
        if endpoint := self.endpoint(f"/{self.locale}{path}"):
            self.visited.add(endpoint)
        self.check(page, name)

    def endpoint(self, path: str) -> str | None:
        """The URL map's endpoint of a path (None for a page it does not know)."""
        if self.urls is None:
            return None
        try:
            endpoint, _arguments = self.urls.match(urlsplit(path).path, method="GET")
        except HTTPException:
            return None
        return str(endpoint)

    def check(self, page: Page, name: str) -> None:
        endpoint = self.endpoint(page.url)
        if endpoint:
            self.visited.add(endpoint)
        self.pages += 1
        label = f"{self.pages:02d}-{name}"
        page.wait_for_load_state("load")
        if TAKE_SCREENSHOTS:
            page.screenshot(path=self.folder / f"{label}.png", full_page=True)

        facts = page.evaluate(PAGE_FACTS)
        if (facts["lang"], facts["dir"]) != (self.locale, self.direction):
            self.findings["lang and dir"].append(
                f"{label}: lang={facts['lang']} dir={facts['dir']}"
            )
        spoken = untranslated(page.content(), self.locale)
        if spoken:
            self.findings["English that people hear or see"].append(f"{label}: {spoken}")
        violations = axe_violations(page)
        if violations:
            self.findings["axe"].append(f"{label}:\n{describe_violations(violations)}")
        if facts["scrolls"]:
            self.findings["sideways scrolling"].append(f"{label}: {overflowing_elements(page)}")
        if facts["clipped"]:
            self.findings["clipped text"].append(f"{label}: {facts['clipped']}")
        self._check_mirroring(facts, label)

    def _check_mirroring(self, facts: dict[str, Any], label: str) -> None:
        """The back link starts on the reading side; the error summary reads in that direction."""
        middle = SMALL_SCREEN["width"] / 2
        if box := facts["back_link"]:
            right = box["x"] + box["width"]
            if self.direction == "rtl":
                mirrored = right > middle and box["x"] > 40
            else:
                mirrored = box["x"] < middle and right < SMALL_SCREEN["width"] - 40
            if not mirrored:
                self.findings["back link side"].append(
                    f"{label}: x={box['x']:.0f} width={box['width']:.0f} in {self.direction}"
                )
        if style := facts["error_summary"]:
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


# --- After sending: appointments, presence, more information, family, support, tokens, errors ----

LONDON = {"latitude": 51.5072, "longitude": -0.1276, "accuracy": 30}
PARIS_POSITION = {"latitude": 48.8566, "longitude": 2.3522, "accuracy": 25}
FAMILY_MEMBER = {k: v for k, v in SISTER.items() if k != "add"}


def signed_in_context(
    new_context: Callable[..., BrowserContext], client: FlaskClient
) -> BrowserContext:
    """A browser signed in as the test client is: its session cookie, copied."""
    context = new_context(viewport=SMALL_SCREEN)
    cookie = client.get_cookie("session")
    assert cookie is not None, "the test client is not signed in"
    context.add_cookies([{"name": "session", "value": cookie.value, "url": context_url(context)}])
    return context


def context_url(context: BrowserContext) -> str:
    page = context.new_page()
    page.goto("/livez")
    url = page.url
    page.close()
    return url


def post_position(client: FlaskClient, path: str, position: dict[str, object]) -> None:
    """What the presence page's script sends: a position (or a refusal), with the page's token."""
    page = client.get(path)
    token = re.search(r'data-csrf-token="([^"]+)"', page.text)
    assert token, page.text[-1500:]
    response = client.post(path, json=position, headers={"X-CSRFToken": token.group(1)})
    assert response.status_code == 200, response.text


def presence_path(app: Flask, email: str) -> str:
    """The presence link of the latest message to `email`, without its locale (/presence/...)."""
    return without_locale(link_in(last_message(app, email)))


def asked_for_more_information(app: Flask, locale: str) -> dict[str, object]:
    """Mina has sent and a caseworker asked her for a clearer identity document; her presence
    link was used from London (the "outside" outcome)."""
    client = app.test_client()
    send_application(client, app, "mina@example.org")
    # Her answers give the same contact address as Amina's: the newest link there is hers.
    presence = presence_path(app, EMAIL)
    post_position(app.test_client(), f"/{locale}{presence}", LONDON)
    make_user(app, "cw@example.org", Role.CASEWORKER)
    staff = app.test_client()
    sign_in_staff(staff, app, "cw@example.org")
    page = staff.get("/en/casework/")
    claimed = staff.post("/en/casework/next", data={"csrf_token": csrf_token(page.text)})
    path = claimed.headers["Location"]
    page = staff.get(path)
    response = staff.post(
        f"{path}/decision",
        data={
            "csrf_token": csrf_token(page.text),
            "decision": "more_information",
            "topics": ["identity_document"],
            "note": "",
        },
    )
    assert response.status_code == 302, response.text[-2000:]
    return {"client": client, "presence": presence}


def add_a_requested_file(client: FlaskClient) -> None:
    page = client.get("/en/application/more-information")
    response = client.post(
        "/en/application/more-information/files",
        data={
            "csrf_token": csrf_token(page.text),
            "kind": "identity",
            "file": (io.BytesIO(photo_bytes()), "passport-clear.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text[-2000:]


def invited_with_slots(app: Flask, locale: str) -> dict[str, object]:
    """Amina (sent at the end of the first part) used her presence link in Paris and is invited
    to book; a centre has three free times in five days."""
    presence = presence_path(app, EMAIL)
    post_position(app.test_client(), f"/{locale}{presence}", PARIS_POSITION)
    invite(app, application_of(app, EMAIL))
    centre = make_centre(app)
    day = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    slots = [make_slot(app, centre, day + timedelta(minutes=m), capacity=2) for m in (0, 20, 40)]
    local_day = day.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    return {"presence": presence, "centre": centre, "day": local_day, "slot": slots[0]}


def book(client: FlaskClient, centre: object, day: str, slot: object) -> None:
    path = f"/en/application/appointment/centre/{centre}/{day}?who=me"
    assert submit(client, path, {"slot": str(slot)}).status_code == 302


def family_main(app: Flask) -> dict[str, object]:
    """Farid sent with an adult sister listed; his presence link was refused on his phone."""
    client = app.test_client()
    send_main_with_family(client, app, [FAMILY_MEMBER], email="farid@example.org")
    presence = presence_path(app, "farid@example.org")
    post_position(app.test_client(), f"/en{presence}", {"refused": True})
    return {"client": client, "presence": presence}


def support_worker(app: Flask, locale: str) -> dict[str, object]:
    """A support worker of a day centre who helps two people: Hamid, who took his application
    over (his own account), and Gul, whose first answers the worker gave and whose claim code the
    tour types in the browser."""
    make_support_worker(app, organisation="Accueil de jour Calais")
    worker = app.test_client()
    sign_in_staff(worker, app, "worker@example.org")
    assistances = [start_helping(worker, label, locale) for label in ("Hamid", "Gul")]
    codes = [claim_code_for(worker, assistance) for assistance in assistances]
    # The worker now acts for Gul (the last one started): her first answers, for the summary.
    answer_eligibility(worker)
    worker.get("/en/application/start")
    fill_in(worker, MAIN_APPLICANT_ALONE[:5])
    hamid = app.test_client()
    assert submit(hamid, f"/{locale}/claim", {"code": codes[0]}).status_code == 302
    details = {
        "email": "hamid@example.org",
        "password": "a long pass phrase",
        "password_confirm": "a long pass phrase",
    }
    assert submit(hamid, f"/{locale}/claim/sign-in-details", details).status_code == 200
    with app.app_context():
        db.session.execute(
            update(User).where(User.email == "hamid@example.org").values(email_verified_at=utcnow())
        )
        db.session.commit()
    hamid = app.test_client()
    assert (
        submit(
            hamid, "/en/sign-in", {"email": "hamid@example.org", "password": "a long pass phrase"}
        ).status_code
        == 302
    )
    return {"worker": worker, "assistance": assistances[1], "code": codes[1], "hamid": hamid}


def start_helping(worker: FlaskClient, label: str, locale: str) -> str:
    assert submit(worker, "/en/support/new", {"label": label, "locale": locale}).status_code == 302
    data = {"method": "read_aloud", "agreed": "y"}
    assert submit(worker, "/en/support/new/consent", data).status_code == 302
    page = worker.get("/en/support/")
    found = re.findall(r"/support/applicants/([0-9a-f-]{36})", page.text)
    return next(assistance for assistance in found if label in page.text)


def claim_code_for(worker: FlaskClient, assistance: str) -> str:
    page = worker.get(f"/en/support/applicants/{assistance}")
    response = worker.post(
        f"/en/support/applicants/{assistance}/claim-code",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 200, response.text[-1500:]
    # Only the code's own element: a bare pattern also matches inside the page's CSRF token.
    found = re.search(r'class="app-code">([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})<', response.text)
    assert found, response.text[-1500:]
    return found.group(1)


def account_tokens(app: Flask, locale: str) -> dict[str, str]:
    """A new account's confirmation link, and a password reset link for Amina."""
    client = app.test_client()
    data = {
        "email": "newcomer@example.org",
        "password": "a long pass phrase",
        "password_confirm": "a long pass phrase",
    }
    assert submit(client, f"/{locale}/create-account", data).status_code == 302
    confirm = link_in(last_message(app, "newcomer@example.org"))
    assert submit(client, f"/{locale}/forgot-password", {"email": EMAIL}).status_code == 302
    reset = link_in(last_message(app, EMAIL))
    return {"confirm": confirm, "reset": reset}


def without_locale(path: str) -> str:
    return "/" + path.split("/", 2)[2]


def visit_appointment_pages(page: Page, client: FlaskClient, tour: LocaleTour, app: Flask) -> None:
    found = off_loop(invited_with_slots, app, tour.locale)
    presence = found["presence"]
    tour.open(page, "presence-inside", f"{presence}/result")
    tour.open(page, "presence-link-used", presence, status=410)
    tour.open(page, "appointment", "/application/appointment")
    tour.open(page, "appointment-centre", "/application/appointment/centre")
    centre = f"/application/appointment/centre/{found['centre']}"
    tour.open(page, "appointment-days", f"{centre}?who=me")
    tour.open(page, "appointment-times", f"{centre}/{found['day']}?who=me")
    off_loop(book, client, found["centre"], found["day"], found["slot"])
    tour.open(page, "appointment-booked", "/application/appointment/confirmation")
    tour.open(page, "appointment-manage", "/application/appointment")
    tour.open(page, "appointment-move", "/application/appointment/centre")
    tour.open(page, "appointment-cancel", "/application/appointment/cancel")


def visit_after_sending(
    new_context: Callable[..., BrowserContext],
    page: Page,
    client: FlaskClient,
    tour: LocaleTour,
    app: Flask,
) -> None:
    """Every applicant page that needs a sent application, a helper or a token."""
    tour.open(page, "copy", "/application/copy")
    tour.open(page, "change-email", "/account/contact/email")
    tour.open(page, "change-mobile", "/account/contact/mobile")
    page.locator("input[name=mobile]").fill("+33 6 98 76 54 32")
    submit_form(page)
    expect(page).to_have_url(re.compile(r"/account/contact/code$"))
    tour.check(page, "contact-code")
    tour.reach(page, "application", "/application", "/application/status")
    tour.reach(page, "application-start", "/application/start", "/application/status")
    tour.open(page, "report-words", f"/report-words?page=/{tour.locale}/application/status")
    tour.open(page, "report-words-sent", "/report-words/sent")
    visit_appointment_pages(page, client, tour, app)

    mina = off_loop(asked_for_more_information, app, tour.locale)
    mina_page = signed_in_context(new_context, mina["client"]).new_page()
    tour.open(mina_page, "more-information", "/application/more-information")
    off_loop(add_a_requested_file, mina["client"])
    tour.open(mina_page, "more-information-with-a-file", "/application/more-information")
    tour.open(mina_page, "presence-outside", f"{mina['presence']}/result")

    farid = off_loop(family_main, app)
    farid_page = signed_in_context(new_context, farid["client"]).new_page()
    tour.open(farid_page, "family-status", "/application/status")
    tour.open(farid_page, "family-share", "/application/family/share")
    tour.open(farid_page, "family-share-text", f"/application/family/share?language={tour.locale}")
    tour.open(farid_page, "presence-refused", f"{farid['presence']}/result")

    helping = off_loop(support_worker, app, tour.locale)
    worker_page = signed_in_context(new_context, helping["worker"]).new_page()
    tour.open(worker_page, "support-list", "/support/")
    tour.open(worker_page, "support-applicant", f"/support/applicants/{helping['assistance']}")
    tour.open(
        worker_page, "support-summary", f"/support/applicants/{helping['assistance']}/summary"
    )
    tour.open(worker_page, "support-new", "/support/new")
    worker_page.locator("input[name=label]").fill("Nour")
    worker_page.locator(f"input[name=locale][value={tour.locale}]").check()
    submit_form(worker_page)
    expect(worker_page).to_have_url(re.compile(r"/support/new/consent$"))
    tour.check(worker_page, "support-consent")
    hamid_page = signed_in_context(new_context, helping["hamid"]).new_page()
    tour.open(hamid_page, "help-given", "/application/help")

    public = new_context(viewport=SMALL_SCREEN).new_page()
    tour.open(public, "claim", "/claim")
    public.locator("input[name=code]").fill(helping["code"])
    submit_form(public)
    expect(public).to_have_url(re.compile(rf"/{tour.locale}/claim/sign-in-details$"))
    tour.check(public, "claim-details")

    tokens = off_loop(account_tokens, app, tour.locale)
    public.context.clear_cookies()
    tour.open(public, "confirm-email", without_locale(tokens["confirm"]))
    tour.open(public, "reset-password", without_locale(tokens["reset"]))
    tour.open(public, "check-your-email", "/create-account/check-your-email")
    tour.open(public, "reset-sent", "/forgot-password/check-your-email")
    tour.open(public, "signed-out", "/signed-out")
    tour.reach(public, "eligibility", "/eligibility", "/eligibility/[a-z_]+")

    public.goto(f"/{tour.locale}/sign-in")
    public.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    submit_form(public)
    expect(public.locator("main h1")).to_be_visible()
    tour.check(public, "refused-security-token")

    # A form that is not a page of questions (sign out) refused for its token: the 400 page.
    with public.expect_response(lambda response: response.request.method == "POST") as refused:
        public.evaluate(
            """(action) => {
              const form = document.createElement("form");
              form.method = "post";
              form.action = action;
              document.body.append(form);
              form.submit();
            }""",
            f"/{tour.locale}/sign-out",
        )
    assert refused.value.status == 400, refused.value.status
    # The old page counts as loaded until the new one commits: wait for the new one's URL.
    public.wait_for_url(re.compile(rf"/{tour.locale}/sign-out$"))
    tour.check(public, "refused-security-token-page")


def submit_form(page: Page) -> None:
    page.locator("main form button[type=submit]").last.click()


# The tour checks what every page shows, about half a minute per language. Each language is toured
# once, half of them on each database: the tour is about the words and the layout, the database
# under the pages is the same for every language, and the integration suite covers it on both.
# Each half has left-to-right and right-to-left languages, and an Ethiopic one. Asked for the
# photographs (`make screenshots`), the tour runs every language on the database it is given.
ON_POSTGRESQL = frozenset({"fr", "prs", "ps", "ckb", "am", "so"})
TOUR_LOCALES = [
    pytest.param(
        code,
        marks=pytest.mark.skipif(
            not TAKE_SCREENSHOTS and (POSTGRES_URL is not None) != (code in ON_POSTGRESQL),
            reason=f"{code} is toured on {'PostgreSQL' if code in ON_POSTGRESQL else 'SQLite'}",
        ),
    )
    for code in LOCALES
]


@pytest.mark.parametrize("locale", TOUR_LOCALES)
def test_every_page_of_the_journey_holds_at_320px(new_context, app, locale):
    tour = LocaleTour(locale, app)
    visit_signed_out_pages(new_context(viewport=SMALL_SCREEN), tour)

    client = off_loop(prepared_applicant, app)
    page = new_context(viewport=SMALL_SCREEN).new_page()
    sign_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/en/application/tasks$"))
    visit_application_pages(page, client, tour)
    visit_after_sending(new_context, page, client, tour, app)

    assert not tour.findings, f"{tour.pages} pages checked\n{tour.report()}"
    assert sorted(applicant_endpoints(app) - tour.visited) == [], "pages the tour does not visit"
