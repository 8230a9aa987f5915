"""Pages read as one text in their language: one kind of digit in a sentence and in the dates and
numbers around it, Latin words isolated in right-to-left text, and a sentence's punctuation and
order its translation's, not the template's."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from portal.apply.summary import step_rows
from portal.appointments.access import ACCESS_FACTS, CentreAccess, centre_access
from portal.config import LOCALES
from portal.extensions import db
from portal.i18n import DIGITS, text_direction
from portal.models import Centre, Role, UserSession, utcnow
from tests.apply_helpers import start_application
from tests.appointment_helpers import application_of, invite, make_centre, make_slot
from tests.factories import send_application
from tests.helpers import make_user, sign_in, sign_in_staff, submit
from tests.text_checks import sentence_digits, unisolated_latin, visible_texts

PARIS = ZoneInfo("Europe/Paris")
PUBLIC_PAGES = ["/{locale}/", "/{locale}/eligibility/age", "/{locale}/sign-in", "/{locale}/privacy"]


def mixed_digits(html: str, locale: str) -> list[str]:
    allowed = set(DIGITS[locale])
    return [text for text in visible_texts(html) if not sentence_digits(text) <= allowed]


def latin_not_isolated(html: str, locale: str) -> list[str]:
    if text_direction(locale) != "rtl":
        return []
    return [text for text in visible_texts(html) if unisolated_latin(text)]


@pytest.mark.parametrize("locale", LOCALES)
def test_public_pages_keep_one_digit_policy_and_isolate_latin(client, locale):
    for path in PUBLIC_PAGES:
        response = client.get(path.format(locale=locale), follow_redirects=True)
        assert response.status_code == 200, path
        assert not mixed_digits(response.text, locale), (path, mixed_digits(response.text, locale))
        assert not latin_not_isolated(response.text, locale), (
            path,
            latin_not_isolated(response.text, locale),
        )


def test_the_arabic_start_page_keeps_the_schemes_english_name_inside_its_brackets(client):
    page = client.get("/ar/").text
    assert "(\u2068UK/European Applicant Transfer Scheme\u2069)" in page
    assert "(\u2068EEA\u2069)" in page


def test_an_error_page_title_is_one_translated_pattern(client):
    response = client.post("/fr/sign-in", data={"email": "", "password": ""})
    title = response.text.split("<title>")[1].split("</title>")[0]
    assert title.startswith("Erreur\u00a0: Se connecter – "), title


@pytest.fixture
def booked(app, client):
    """Amina, invited, with an appointment booked at a centre with access facts."""
    send_application(client, app)
    invite(app, application_of(app, "amina@example.org"))
    centre = make_centre(app)
    day = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    slot = make_slot(app, centre, day)
    make_slot(app, centre, day + timedelta(minutes=20))
    path = f"/en/application/appointment/centre/{centre}/{day.astimezone(PARIS).date()}?who=me"
    assert submit(client, path, {"slot": str(slot)}).status_code == 302
    return {"client": client, "days": f"/application/appointment/centre/{centre}?who=me"}


def test_appointment_pages_write_dates_numbers_and_sentences_in_the_same_digits(app, booked):
    client = booked["client"]
    for locale in LOCALES:
        for path in ("/application/appointment", booked["days"], "/application/appointment/cancel"):
            response = client.get(f"/{locale}{path}")
            assert response.status_code == 200, (locale, path)
            assert not mixed_digits(response.text, locale), (locale, path)
            assert not latin_not_isolated(response.text, locale), (locale, path)


def test_pashto_appointment_page_writes_its_sentences_numbers_in_persian_digits(booked):
    page = booked["client"].get("/ps/application/appointment").text
    assert "۲۰ دقیقې" in page  # from the catalog
    assert "۴۸" in page  # the cut-off hours, formatted into a sentence


@pytest.mark.parametrize("locale", ["ti", "ar", "en"])
def test_the_centres_access_is_said_in_the_applicants_language(app, booked, locale):
    page = booked["client"].get(f"/{locale}/application/appointment").text
    with app.test_request_context(), force_locale(locale):
        expected = [str(ACCESS_FACTS[key]) for key in ("step_free", "staff_help")]
    for fact in expected:
        assert f"<li>{fact}</li>" in page
    assert "Step-free" not in page


def test_an_admin_ticks_the_centres_access_facts_and_a_typed_text_is_marked_english(app):
    client = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(client, app, "admin@example.org")
    response = submit(
        client,
        "/en/casework/centres/new",
        {
            "name": "Centre de Calais",
            "address": "1 quai de la Loire, 62100 Calais",
            "city": "Calais",
            "opening_hours": "Monday to Friday",
            "access_facts": ["lift", "step_free"],
            "active": "y",
        },
    )
    assert response.status_code == 302, response.text
    with app.app_context():
        centre = db.session.scalar(select(Centre).where(Centre.name == "Centre de Calais"))
        assert centre.accessibility == "step_free lift"
        centre.accessibility = "Ring the bell at the side door."
        db.session.commit()
        with app.test_request_context(), force_locale("ti"):
            access = centre_access(centre)
    assert access == CentreAccess(facts=[], english_text="Ring the bell at the side door.")
    form = client.get(f"/en/casework/centres/{centre.id}").text
    assert "Ring the bell at the side door." in form and "Applicants read it in English" in form


def test_a_typed_access_text_is_shown_marked_as_english(app, booked):
    with app.app_context():
        db.session.execute(update(Centre).values(accessibility="Ring the bell."))
        db.session.commit()
    page = booked["client"].get("/ti/application/appointment").text
    assert '<p class="govuk-body" lang="en" dir="ltr">Ring the bell.</p>' in page


@pytest.mark.parametrize(("locale", "digits"), [("fa", "۰۱۲۳۴۵۶۷۸۹"), ("ku", "0123456789")])
def test_upload_progress_is_one_translated_sentence_filled_in_the_locales_digits(
    app, client, locale, digits
):
    start_application(client, app, locale=locale)
    page = client.get(f"/{locale}/application/documents/photo/add").text
    assert f'data-digits="{digits}"' in page
    progress = page.split('data-progress="')[1].split('"')[0]
    assert "{n}" in progress and progress != "{n}"


def test_a_sent_applications_pages_keep_one_digit_policy_and_isolate_latin(app, client):
    """The pages with the most dates, numbers and English words in them: status (sent on, the
    reference), the copy of the answers, and the documents (sizes, pages, file names)."""
    send_application(client, app)
    for locale in LOCALES:
        for path in ("/application/status", "/application/copy", "/application/sent"):
            response = client.get(f"/{locale}{path}", follow_redirects=True)
            assert response.status_code == 200, (locale, path)
            assert not mixed_digits(response.text, locale), (
                locale,
                path,
                mixed_digits(response.text, locale),
            )
            assert not latin_not_isolated(response.text, locale), (
                locale,
                path,
                latin_not_isolated(response.text, locale),
            )


def test_a_drafts_pages_keep_one_digit_policy_and_isolate_latin(app, client):
    start_application(client, app)
    for locale in LOCALES:
        for path in (
            "/application/tasks",
            "/application/documents",
            "/application/questions/names",
        ):
            response = client.get(f"/{locale}{path}", follow_redirects=True)
            assert response.status_code == 200, (locale, path)
            assert not mixed_digits(response.text, locale), (
                locale,
                path,
                mixed_digits(response.text, locale),
            )
            assert not latin_not_isolated(response.text, locale), (
                locale,
                path,
                latin_not_isolated(response.text, locale),
            )


def test_a_family_member_is_described_in_one_translated_pattern_with_the_name_isolated(app):
    member = {"full_name": "Sara Kareem", "relationship": "child", "date_of_birth": "2015-02-01"}
    answers = {"family_members": {"members": [member]}}
    rows = {}
    for locale in ("ar", "ps"):
        with app.test_request_context(f"/{locale}/"), force_locale(locale):
            (rows[locale],) = step_rows("family_members", answers, with_links=False)
    assert rows["ar"].value.startswith("\u2068Sara Kareem\u2069، ابن أو ابنة، تاريخ الميلاد: ")
    assert rows["ps"].value.startswith("\u2068Sara Kareem\u2069، ") and "۲۰۱۵" in rows["ps"].value


@pytest.mark.parametrize(
    ("locale", "prefix"), [("fr", "Erreur\u00a0:"), ("am", "ስህተት፦"), ("ar", "خطأ:")]
)
def test_a_fields_error_says_error_as_its_language_does(client, locale, prefix):
    page = client.post(f"/{locale}/sign-in", data={"email": "", "password": ""}).text
    assert f'<span class="govuk-visually-hidden">{prefix}</span> ' in page
    assert "Error:" not in page


def test_the_signed_out_message_writes_its_minutes_in_the_readers_digits(client, app):
    make_user(app, "amina@example.org")
    sign_in(client, "amina@example.org", locale="ckb")
    with app.app_context():
        db.session.execute(
            update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        db.session.commit()
    response = client.get("/ckb/account")
    page = client.get(response.headers["Location"]).text
    assert "٣٠" in page
    assert not mixed_digits(page, "ckb")
