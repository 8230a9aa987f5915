"""Nothing an applicant can see or hear is English outside the catalogs.

Visible text is checked page by page elsewhere; these tests look where English hides: names that
only screen readers speak (a macro's default aria-label), texts that GOV.UK Frontend's scripts
show (data-i18n attributes), and validators that fall back on WTForms' own English message.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser

import pytest
import wtforms.validators
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from wtforms.fields.core import UnboundField

from portal.config import LOCALES, PROJECT_ROOT
from portal.forms import PortalForm
from tests.apply_helpers import MAIN_APPLICANT_ALONE, fill_in, open_a_window, start_application
from tests.helpers import csrf_token

# Attributes whose values people hear or see: accessible names and descriptions, tooltips,
# placeholders, and the texts that GOV.UK Frontend's scripts read from data-i18n.* attributes.
SPOKEN_ATTRIBUTES = re.compile(
    r"^(aria-label|aria-description|aria-roledescription|aria-valuetext|alt|title|placeholder"
    r"|data-i18n\..+)$"
)
# Names that are the same in every language.
PROPER_NAMES = frozenset({"GOV.UK"})
# Forms only staff see: the back office is in English on purpose.
STAFF_MODULES = (
    "portal.admin.",
    "portal.backoffice.",
    "portal.appointments.staff_forms",
    "portal.support.staff_forms",
)
TOO_LONG_EMAIL = "a" * 320 + "@example.org"
SIGNED_OUT_PAGES = ("/", "/eligibility/in_france", "/sign-in", "/create-account")
SIGNED_IN_PAGES = (
    "/account",
    "/application/tasks",
    "/application/questions/applicant_type",
    "/application/questions/other_names",
    "/application/questions/uk_family",
    "/application/documents",
    "/application/documents/identity/add",
)


class SpokenText(HTMLParser):
    """Every (tag, attribute, value) that people hear or see, outside a `lang` of its own (the
    language switcher names each language in that language)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag != "html" and "lang" in attributes:
            return
        for name, value in attrs:
            if value and SPOKEN_ATTRIBUTES.match(name):
                self.found.append((tag, name, value))


@cache
def catalog_texts(locale: str) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """What the locale's catalog can print: its translations (and, in English, its ids), the
    formatted ones as patterns."""
    with (PROJECT_ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=None)
    texts: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts.update(s for s in strings if s)
        if locale == "en":
            texts.update(ids)
    patterns = tuple(
        re.compile(
            "^" + re.sub(r"%\\\(\w+\\\)[sd]", ".+", re.escape(text)).replace("%%", "%") + "$"
        )
        for text in texts
        if "%(" in text
    )
    return frozenset(texts), patterns


def from_catalog(locale: str, value: str) -> bool:
    texts, patterns = catalog_texts(locale)
    value = " ".join(value.split())
    return (
        value in texts
        or any(pattern.match(value) for pattern in patterns)
        or value in PROPER_NAMES
        or not re.search(r"[^\W\d_]", value)
    )


def untranslated(html: str, locale: str) -> list[tuple[str, str, str]]:
    parser = SpokenText()
    parser.feed(html)
    return [found for found in parser.found if not from_catalog(locale, found[2])]


def too_long_email_page(client: FlaskClient, locale: str) -> str:
    page = client.get(f"/{locale}/create-account")
    response = client.post(
        f"/{locale}/create-account",
        data={
            "csrf_token": csrf_token(page.text),
            "email": TOO_LONG_EMAIL,
            "password": "a long enough passphrase",
            "password_confirm": "a long enough passphrase",
        },
    )
    assert response.status_code == 200, response.status_code
    return response.text


def prepared_applicant(app: Flask) -> FlaskClient:
    client = app.test_client()
    open_a_window(app)
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:-1])
    return client


@pytest.mark.parametrize("locale", LOCALES)
def test_applicant_pages_speak_only_the_catalog(app, locale):
    """Every accessible name, tooltip and script text of the applicant's pages is the catalog's,
    signed out and signed in, with an error summary too."""
    found = {}
    signed_out = app.test_client()
    for path in SIGNED_OUT_PAGES:
        response = signed_out.get(f"/{locale}{path}")
        assert response.status_code == 200, path
        found[path] = untranslated(response.text, locale)
    found["create-account with errors"] = untranslated(
        too_long_email_page(signed_out, locale), locale
    )
    signed_in = prepared_applicant(app)
    for path in SIGNED_IN_PAGES:
        response = signed_in.get(f"/{locale}{path}")
        assert response.status_code == 200, path
        found[path] = untranslated(response.text, locale)
    assert {path: texts for path, texts in found.items() if texts} == {}


@pytest.mark.parametrize("locale", LOCALES)
def test_a_too_long_email_address_is_refused_in_the_reader_s_language(client, locale):
    page = too_long_email_page(client, locale)
    messages = re.findall(
        r'<p id="email-error" class="govuk-error-message">\s*'
        r'<span class="govuk-visually-hidden">[^<]*</span>([^<]*)</p>',
        page,
    )
    assert len(messages) == 1, page
    assert from_catalog(locale, messages[0]), messages[0]


def applicant_forms() -> list[type[PortalForm]]:
    forms, pending = [], list(PortalForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        if not form.__module__.startswith(STAFF_MODULES):
            forms.append(form)
    return forms


def test_no_validator_on_an_applicant_form_falls_back_on_wtforms_english(app):
    """WTForms' built-in validators have English default messages (its own translations miss
    most of our languages): on the applicant's forms each one is given a message of ours."""
    forms = applicant_forms()
    assert len(forms) > 10, "found too few forms: is the scan broken?"
    defaults = []
    for form in forms:
        for name in dir(form):
            field = getattr(form, name)
            if not isinstance(field, UnboundField):
                continue
            validators = field.kwargs.get("validators") or (field.args[1:2] or [[]])[0]
            for validator in validators:
                builtin = type(validator).__module__ == wtforms.validators.__name__
                if builtin and getattr(validator, "message", None) is None:
                    defaults.append(f"{form.__module__}.{form.__name__}.{name}: {validator!r}")
    assert defaults == []
