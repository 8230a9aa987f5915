"""Whatever a browser, a script or a scanner sends to a form, the answer is never a 500.

A property-based test (Hypothesis) posts, with a valid token, to the forms of the portal: fields
missing, repeated, of the wrong shape (a date as one value), very long, with NUL and control
characters and odd Unicode. A page shown again must show an error in the reader's language and
keep the answers that were not touched.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from portal.config import PROJECT_ROOT
from portal.extensions import db
from portal.models import Application, Organisation, Role, User
from tests.apply_helpers import ELIGIBLE, MAIN_APPLICANT_ALONE, fill_in, open_a_window
from tests.apply_helpers import start_application as start_draft
from tests.helpers import csrf_token, make_user, sign_in_staff, submit

LOCALE = "ps"

# Fields whose answers a page never shows again, by design or because they are not answers.
NOT_SHOWN_AGAIN = {"csrf_token", "password", "password_confirm", "submission_key"}


class FormFields(HTMLParser):
    """The fields of the page's own POST form (not the sign-out button's), and their values."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.in_form = False
        self.fields: dict[str, dict[str, Any]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._option: dict[str, Any] | None = None
        self.errors: list[str] = []
        self._in_summary = 0
        self._error_text: list[str] | None = None

    def _field(self, name: str, kind: str) -> dict[str, Any]:
        return self.fields.setdefault(name, {"kind": kind, "options": [], "values": []})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "div" and "govuk-error-summary__body" in attributes.get("class", ""):
            self._in_summary = 1
        elif tag == "div" and self._in_summary:
            self._in_summary += 1
        elif tag == "li" and self._in_summary:
            self._error_text = []
        if tag == "form":
            method = attributes.get("method", "").lower()
            target = attributes.get("action", "")
            self.in_form = method == "post" and target in ("", self.action)
            return
        if not self.in_form:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("submit", "button"):
                return
            field = self._field(name, kind)
            if kind in ("radio", "checkbox"):
                field["options"].append(attributes.get("value", "on"))
                if "checked" in attributes:
                    field["values"].append(attributes.get("value", "on"))
            else:
                field["values"].append(attributes.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            self._field(name, "select")
        elif tag == "option" and self._select:
            self._option = attributes
            field = self.fields[self._select]
            field["options"].append(attributes.get("value", ""))
            if "selected" in attributes:
                field["values"].append(attributes.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._field(name, "textarea")["values"].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "li" and self._error_text is not None:
            self.errors.append(" ".join("".join(self._error_text).split()))
            self._error_text = None
        elif tag == "div" and self._in_summary:
            self._in_summary -= 1

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea]["values"][-1] += data
        if self._error_text is not None:
            self._error_text.append(data)


def form_of(html: str, path: str) -> FormFields:
    parser = FormFields(path.split("?")[0])
    parser.feed(html)
    return parser


def shown_answers(form: FormFields) -> dict[str, list[str]]:
    """What the page shows as each answer: typed text, checked radios, selected options."""
    return {
        name: [value.replace("\r\n", "\n").strip() for value in field["values"]]
        for name, field in form.fields.items()
        if name not in NOT_SHOWN_AGAIN and field["kind"] not in ("file", "hidden", "password")
    }


def translated_messages(locale: str) -> list[re.Pattern[str]]:
    """Every message of the locale's catalog, placeholders as wildcards."""
    path = PROJECT_ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale=locale)
    patterns = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if string:
                text = " ".join(re.sub(r"<[^>]+>", "", string).split())
                parts = re.split(r"%\(\w+\)[sd]|\{\w+\}", text)
                patterns.append(re.compile(".+".join(re.escape(part) for part in parts)))
    return patterns


CATALOG_MESSAGES = translated_messages(LOCALE)


def is_translated(text: str) -> bool:
    return any(pattern.fullmatch(text) for pattern in CATALOG_MESSAGES)


ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\x07\x1b[31m",
        "\u202eevil",
        "\ufeff",
        "\U0001d7d9\U0001d7da",
        "٣",
        "١٩٩٠",
        "99999999999999999999",
        "-1",
        "0",
        "1e9",
        "NaN",
        "2025-01-01",
        "<script>alert(1)</script>",
        "'; DROP TABLE users; --",
        "\r\n\r\n",
        "e\u0301",
        "\U0010ffff",
    ]
)
ANY_TEXT = st.one_of(
    ODD_TEXT,
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.integers(min_value=300, max_value=20_000).map(lambda size: "ж" * size),
)
CHANGE = st.one_of(
    st.just(("keep", None)),
    st.just(("missing", None)),
    st.tuples(st.just("value"), ANY_TEXT),
    st.tuples(st.just("values"), st.lists(ANY_TEXT, min_size=0, max_size=4)),
)


def baseline(form: FormFields) -> dict[str, list[str]]:
    """An answer for every field: what the page shows, else a first choice or a short text."""
    data = {}
    for name, field in form.fields.items():
        if field["kind"] == "file":
            # No file at all; a change may send text where the file should be.
            data[name] = []
            continue
        values = [value for value in field["values"]]
        if field["kind"] in ("radio", "select") and not any(values):
            values = [next((option for option in field["options"] if option), "")]
        elif field["kind"] == "checkbox" and not values:
            values = field["options"][:1]
        elif not any(values) and name not in NOT_SHOWN_AGAIN:
            values = [f"Kept {name}"] if len(values) == 1 else values
        data[name] = values
    return data


@pytest.fixture
def people(app: Flask) -> dict[str, Any]:
    """Who opens which form pages: nobody, an applicant with a full draft, one adding family
    members, a support worker, an admin."""
    open_a_window(app)
    applicant = app.test_client()
    start_draft(applicant, app, "draft@example.org", locale=LOCALE)
    fill_in(applicant, locale=LOCALE)
    admin = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(admin, app, "admin@example.org")
    family = app.test_client()
    start_draft(family, app, "family@example.org", locale=LOCALE)
    fill_in(
        family, [MAIN_APPLICANT_ALONE[0], ("travelling", {"travelling": "with_family"})], LOCALE
    )
    worker = app.test_client()
    make_user(app, "worker@example.org", Role.SUPPORT)
    with app.app_context():
        organisation = Organisation(
            name="Day centre", city="Calais", contact_email="contact@example.org"
        )
        db.session.add(organisation)
        db.session.flush()
        db.session.execute(
            update(User)
            .where(User.email == "worker@example.org")
            .values(organisation_id=organisation.id)
        )
        db.session.commit()
    sign_in_staff(worker, app, "worker@example.org")
    with app.app_context():
        drafts = {
            row.applicant_id: row.answers
            for row in db.session.execute(select(Application.applicant_id, Application.answers))
        }
    return {
        "drafts": drafts,
        "pages": {
            "nobody": [
                f"/{LOCALE}/{page}" for page in ("create-account", "sign-in", "forgot-password")
            ]
            + [f"/{LOCALE}/eligibility/{name}" for name in ELIGIBLE],
            "applicant": [
                f"/{LOCALE}/application/questions/{name}" for name, _ in MAIN_APPLICANT_ALONE
            ]
            + [f"/{LOCALE}/application/documents/identity/add"],
            "family": [f"/{LOCALE}/application/questions/family_members"],
            "worker": [f"/{LOCALE}/support/new"],
            "admin": [
                "/en/admin/windows",
                "/en/casework/centres/new",
                "/en/casework/organisations/",
            ],
        },
        "clients": {"applicant": applicant, "admin": admin, "family": family, "worker": worker},
    }


def client_for(app: Flask, people: dict[str, Any], who: str) -> FlaskClient:
    """Each example starts from the same state: a new visitor, the applicant's full draft."""
    if who == "nobody":
        client = app.test_client()
        return client
    with app.app_context():
        for applicant_id, answers in people["drafts"].items():
            db.session.execute(
                update(Application)
                .where(Application.applicant_id == applicant_id)
                .values(answers=answers)
            )
        db.session.commit()
    return people["clients"][who]


def page_choices(people: dict[str, Any]) -> list[tuple[str, str]]:
    return [(who, path) for who, paths in people["pages"].items() for path in paths]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_malformed_input_is_a_translated_error_with_the_other_answers_kept(app, people, data):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    who, path = data.draw(st.sampled_from(page_choices(people)), label="page")
    client = client_for(app, people, who)
    if "/eligibility/" in path:
        # The questions come in order: answer the ones before this one first.
        for name, answer in ELIGIBLE.items():
            if path.endswith(f"/{name}"):
                break
            assert (
                submit(client, f"/{LOCALE}/eligibility/{name}", {"answer": answer}).status_code
                == 302
            )
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    form = form_of(page.text, path)
    assert form.fields, f"{path} has no form"
    answers = baseline(form)
    sent: dict[str, Any] = {}
    kept = []
    for name, values in answers.items():
        if name == "csrf_token":
            sent[name] = values
            continue
        change, value = data.draw(CHANGE, label=name)
        if change == "keep":
            sent[name] = values
            kept.append(name)
        elif change == "value" or change == "values":
            sent[name] = value
    response = client.post(path, data=sent)
    assert response.status_code < 500, (path, sent)
    if response.status_code in (302, 303, 413):
        return
    again = form_of(response.text, path)
    assert again.errors, (path, response.status_code, sent)
    if path.startswith(f"/{LOCALE}/"):
        untranslated = [error for error in again.errors if not is_translated(unescape(error))]
        assert not untranslated, (path, untranslated, sent)
    before, after = shown_answers(form_of(page.text, path)), shown_answers(again)
    for name in kept:
        if name in before and name in after and answers[name] == before[name]:
            assert after[name] == before[name], (path, name, sent)


def test_a_date_of_the_wrong_shape_is_an_error_on_the_page(app):
    client = app.test_client()
    start_draft(client, app, "date@example.org", locale=LOCALE)
    fill_in(client, MAIN_APPLICANT_ALONE[:4], locale=LOCALE)
    for date_of_birth in (
        "27/03/1990",
        ["27", "3"],
        ["27", "3", "1990", "1"],
        ["27", "3", "99999999999999999999"],
        ["\x00", "3", "1990"],
    ):
        data = {"date_of_birth": date_of_birth, "place_of_birth": "Alep", "country_of_birth": "SY"}
        response = submit(client, f"/{LOCALE}/application/questions/birth", data)
        assert response.status_code == 200, date_of_birth
        form = form_of(response.text, f"/{LOCALE}/application/questions/birth")
        assert form.errors and all(is_translated(error) for error in form.errors), form.errors
        assert shown_answers(form)["place_of_birth"] == ["Alep"]


def test_a_submission_key_with_control_characters_sends_the_application(app):
    """The one answer read outside a form: PostgreSQL refuses NUL in text."""
    open_a_window(app)
    client = app.test_client()
    start_draft(client, app, "key@example.org")
    fill_in(client)
    page = client.get("/en/application/check-your-answers")
    response = client.post(
        "/en/application/check-your-answers",
        data={"csrf_token": csrf_token(page.text), "submission_key": "\x00k\x1b" * 40},
    )
    assert response.headers["Location"] == "/en/application/sent", response.status_code


def test_a_second_centre_with_the_same_name_is_an_error_on_the_page(app):
    admin = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(admin, app, "admin@example.org")
    centre = {
        "name": "Centre de Lille",
        "address": "20 rue Jean Sans Peur",
        "city": "Lille",
        "opening_hours": "9 to 5",
        "access_facts": "step_free",
    }
    assert submit(admin, "/en/casework/centres/new", centre).status_code == 302
    again = submit(admin, "/en/casework/centres/new", centre)
    assert again.status_code == 200
    assert "There is already a centre with this name" in again.text
