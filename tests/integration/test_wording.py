"""Honest translations: the notice on unchecked locales, the anonymous report form, the admins' list."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import create_app
from portal.config import LOCALES
from portal.extensions import db
from portal.i18n import text_direction
from portal.models import Role, WordingProblem, WordingReport, utcnow
from portal.translation_status import unchecked_locales
from portal.wording import services
from portal.wording.pages import reportable_page
from tests.helpers import (
    audit_actions,
    check_page,
    csrf_token,
    make_user,
    sign_in,
    sign_in_staff,
    submit,
)

NOTICE = re.compile(r'<div class="govuk-inset-text app-translation-notice".*?</div>', re.DOTALL)
HREFS = re.compile(r'href="([^"]+)"[^>]*hreflang="(\w+)"')
REPORT_LINK = re.compile(r'href="([^"]*/report-words\?page=[^"]*)"')


def notice_links(html: str) -> dict[str, str] | None:
    match = NOTICE.search(html)
    if match is None:
        return None
    return {code: unescape(href) for href, code in HREFS.findall(match.group(0))}


def report_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WordingReport))


def reports(app: Flask) -> list[WordingReport]:
    with app.app_context():
        rows = list(db.session.scalars(select(WordingReport).order_by(WordingReport.created_at)))
        for row in rows:
            db.session.expunge(row)
        return rows


# --- The notice --------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", unchecked_locales())
def test_every_unchecked_locale_says_so_with_links_to_the_same_page_in_english_and_french(
    client, locale
):
    response = client.get(f"/{locale}/sign-in?next=/{locale}/application")
    assert response.status_code == 200
    check_page(response, locale, text_direction(locale))
    expected = {"en": f"/en/sign-in?next=/{locale}/application"}
    if locale != "fr":
        expected["fr"] = f"/fr/sign-in?next=/{locale}/application"
    assert notice_links(response.text) == expected


def test_every_locale_but_english_is_unchecked_so_every_one_gets_the_notice():
    assert unchecked_locales() == [code for code in LOCALES if code != "en"]


@pytest.mark.parametrize("path", ["/en/", "/en/sign-in", "/en/no-such-page", "/en/report-words"])
def test_english_pages_have_no_notice(client, path):
    assert notice_links(client.get(path).text) is None


def test_the_notice_is_on_error_pages_too(client):
    response = client.get("/ar/no-such-page")
    assert response.status_code == 404
    assert notice_links(response.text) == {"en": "/en/", "fr": "/fr/"}


# --- The report link ---------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "fr", "ar", "prs"])
def test_applicant_pages_link_to_a_report_on_their_words(client, locale):
    html = client.get(f"/{locale}/privacy?utm=x").text
    assert REPORT_LINK.findall(html) == [f"/{locale}/report-words?page=/{locale}/privacy"]


def test_the_report_link_never_carries_a_token_of_the_page(client):
    response = client.get("/fr/reset-password/secret-token-123")
    links = REPORT_LINK.findall(response.text)
    assert links == ["/fr/report-words?page=/fr/reset-password/%3Ctoken%3E"]
    assert "secret-token-123" not in links[0]


def test_back_office_pages_have_no_report_link(app):
    client = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(client, app, "admin@example.org")
    html = client.get("/en/admin/staff").text
    assert REPORT_LINK.findall(html) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/fr/privacy", ("/fr/privacy", "fr")),
        ("/ar/privacy?token=abc", ("/ar/privacy", "ar")),
        ("/ar/", ("/ar/", "ar")),
        ("/fa/application/questions/names", ("/fa/application/questions/names", "fa")),
        ("/ti/eligibility/cannot-apply/age", ("/ti/eligibility/cannot-apply/age", "ti")),
        ("/so/presence/abc123", ("/so/presence/<token>", "so")),
        ("/ps/confirm-email/abc", ("/ps/confirm-email/<token>", "ps")),
        (
            "/vi/application/appointment/centre/c1/2027-01-05",
            ("/vi/application/appointment/centre/<centre_id>/<day>", "vi"),
        ),
        ("/fr/admin/staff", None),
        ("/fr/casework/", None),
        ("/fr/staff/documents/abc", None),
        ("/xx/privacy", None),
        ("/fr/no-such-page", None),
        ("/healthz", None),
        ("/", None),
        ("https://example.org/fr/privacy", None),
        ("//example.org/fr/privacy", None),
        ("privacy", None),
        ("", None),
        (None, None),
        ("/fr/" + "a" * 1000, None),
    ],
)
def test_only_portal_pages_can_be_reported_and_nothing_personal_is_kept(app, path, expected):
    with app.test_request_context("/en/"):
        page = reportable_page(path)
    assert (page and (page.path, page.locale)) == expected


# --- The report form ---------------------------------------------------------------------------

ANSWERS = {
    "page": "/ar/privacy",
    "problem": WordingProblem.WRONG_MEANING.value,
    "details": "The second sentence says the opposite.",
    "suggestion": "نستخدم معلوماتك فقط لهذا الطلب",
}


def test_a_report_is_stored_with_its_page_and_language_and_nothing_about_the_reader(app, client):
    form = f"/ar/report-words?page={ANSWERS['page']}"
    page = client.get(form)
    check_page(page, "ar", "rtl")
    response = client.post(form, data={**ANSWERS, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/ar/report-words/sent?page=/ar/privacy"
    sent = client.get(response.headers["Location"])
    check_page(sent, "ar", "rtl")
    assert 'href="/ar/privacy"' in sent.text
    [report] = reports(app)
    assert (report.locale, report.page, report.problem) == ("ar", "/ar/privacy", "wrong_meaning")
    assert (report.details, report.suggestion) == (ANSWERS["details"], ANSWERS["suggestion"])
    assert report.dealt_with_at is None


def test_a_signed_in_applicant_reports_anonymously(app, client):
    make_user(app, "reader@example.org")
    sign_in(client, "reader@example.org", locale="fr")
    response = submit(
        client, "/fr/report-words?page=/fr/account", {**ANSWERS, "page": "/fr/account"}
    )
    assert response.status_code == 302
    columns = {column.name for column in WordingReport.__table__.columns}
    assert columns == {
        "id",
        "created_at",
        "locale",
        "page",
        "problem",
        "details",
        "suggestion",
        "dealt_with_at",
        "dealt_with_by_id",
    }, "no column names the reader"
    [report] = reports(app)
    assert (report.locale, report.page, report.dealt_with_by_id) == ("fr", "/fr/account", None)


def test_the_form_asks_for_nothing_personal_and_says_not_to_write_it(client):
    html = client.get("/en/report-words?page=/en/privacy").text
    names = set(re.findall(r'<(?:input|textarea)[^>]*name="([^"]+)"', html))
    assert names == {"csrf_token", "page", "problem", "details", "suggestion"}
    main = html[html.index("<main") : html.index("</main>")]
    assert not re.search(r'type="(email|tel)"|autocomplete="(name|email|tel)', main)
    assert "Do not write your name, contact details or anything about your application." in html


def test_a_page_that_is_not_the_portals_is_not_stored(app, client):
    response = submit(
        client, "/fr/report-words?page=https://evil.example/", {**ANSWERS, "page": "/fr/../x"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/fr/report-words/sent"
    [report] = reports(app)
    assert (report.locale, report.page) == ("fr", None)


def test_a_token_in_a_reported_page_is_never_stored(app, client):
    submit(client, "/fr/report-words", {**ANSWERS, "page": "/fr/reset-password/secret-token-123"})
    [report] = reports(app)
    assert report.page == "/fr/reset-password/<token>"


def test_an_incomplete_report_is_shown_again_in_the_readers_language_with_the_answers(app, client):
    response = submit(
        client,
        "/fr/report-words?page=/fr/privacy",
        {"page": "/fr/privacy", "details": "   ", "suggestion": "Un meilleur mot"},
    )
    assert response.status_code == 200
    page = check_page(response, "fr", "ltr")
    assert page.title.startswith("Erreur")
    assert "Choisissez le problème avec les mots" in response.text
    assert "Dites-nous ce qui ne va pas avec les mots" in response.text
    assert "Un meilleur mot</textarea>" in response.text
    assert 'name="page" value="/fr/privacy"' in response.text
    assert report_count(app) == 0


def test_a_choice_that_is_not_offered_and_too_long_details_are_refused(app, client):
    response = submit(
        client,
        "/ar/report-words",
        {"problem": "made_up", "details": "x" * 2001, "page": "/ar/privacy"},
    )
    assert response.status_code == 200
    check_page(response, "ar", "rtl")
    assert response.text.count("govuk-error-message") == 2
    assert "x" * 2001 + "</textarea>" in response.text
    assert report_count(app) == 0


def test_a_report_without_its_security_token_changes_nothing_and_keeps_the_answers(app, client):
    response = client.post("/so/report-words", data=ANSWERS)
    assert response.status_code == 400
    check_page(response, "so", "ltr")
    assert ANSWERS["details"] + "</textarea>" in response.text
    assert report_count(app) == 0


@pytest.fixture
def limited_app(config) -> Flask:
    config.RATELIMIT_ENABLED = True
    return create_app(config)


def test_reports_from_one_address_are_rate_limited(limited_app):
    client = limited_app.test_client()
    statuses = [submit(client, "/vi/report-words", ANSWERS).status_code for _ in range(21)]
    assert statuses == [302] * 20 + [429]
    assert report_count(limited_app) == 20


# --- The admins' list --------------------------------------------------------------------------


def add_report(app: Flask, locale: str, page: str | None, details: str, minutes_ago: int) -> str:
    with app.app_context():
        report = WordingReport(
            locale=locale,
            page=page,
            problem=WordingProblem.HARD_TO_UNDERSTAND.value,
            details=details,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        db.session.add(report)
        db.session.commit()
        return str(report.id)


@pytest.fixture
def admin(app):
    client = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(client, app, "admin@example.org")
    return client


def test_admins_read_reports_by_language_and_page_newest_first(app, admin):
    add_report(app, "ar", "/ar/privacy", "ar privacy old", 30)
    add_report(app, "fr", "/fr/", "fr start", 20)
    add_report(app, "ar", "/ar/", "ar start", 10)
    add_report(app, "ar", "/ar/privacy", "ar privacy new", 5)
    add_report(app, "so", None, "so no page", 1)
    response = admin.get("/en/admin/word-reports/")
    assert response.status_code == 200
    check_page(response, "en", "ltr")
    order = re.findall(
        r"(ar privacy old|ar privacy new|ar start|fr start|so no page)", response.text
    )
    # Languages in the portal's order; inside one, the page with the newest report first.
    assert order == ["fr start", "ar privacy new", "ar privacy old", "ar start", "so no page"]
    assert "No page given" in response.text
    assert "Not checked by a fluent speaker yet." in response.text
    assert "viewed_wording_reports" in audit_actions(app)


def test_an_admin_marks_a_report_dealt_with_once(app, admin):
    report_id = add_report(app, "ku", "/ku/", "ku start", 1)
    page = admin.get("/en/admin/word-reports/")
    response = admin.post(
        f"/en/admin/word-reports/{report_id}/dealt-with",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    [report] = reports(app)
    assert report.dealt_with_at is not None and report.dealt_with_by_id is not None
    assert "ku start" not in admin.get("/en/admin/word-reports/").text
    everything = admin.get("/en/admin/word-reports/?show=all").text
    assert "ku start" in everything and "Dealt with" in everything
    again = admin.post(
        f"/en/admin/word-reports/{report_id}/dealt-with",
        data={"csrf_token": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert "already dealt with" in again.text
    assert audit_actions(app).count("marked_wording_report_dealt_with") == 1


def test_marking_needs_a_csrf_token_and_a_real_report(app, admin):
    report_id = add_report(app, "ku", "/ku/", "ku start", 1)
    assert admin.post(f"/en/admin/word-reports/{report_id}/dealt-with").status_code == 400
    assert reports(app)[0].dealt_with_at is None
    token = csrf_token(admin.get("/en/admin/word-reports/").text)
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = admin.post(
            f"/en/admin/word-reports/{bad}/dealt-with", data={"csrf_token": token}
        )
        assert response.status_code == 404


def test_the_reports_are_for_admins_only_and_in_english(app, admin):
    assert admin.get("/ar/admin/word-reports/").headers["Location"] == "/en/admin/word-reports/"
    caseworker = app.test_client()
    make_user(app, "cw@example.org", Role.CASEWORKER)
    sign_in_staff(caseworker, app, "cw@example.org")
    assert caseworker.get("/en/admin/word-reports/").status_code == 404
    applicant = app.test_client()
    make_user(app, "applicant@example.org")
    sign_in(applicant, "applicant@example.org")
    assert applicant.get("/en/admin/word-reports/").status_code == 404
    assert app.test_client().get("/en/admin/word-reports/").status_code == 302


def test_grouping_keeps_the_newest_first_order():
    older = WordingReport(locale="fr", page="/fr/", details="b", problem="other")
    newer = WordingReport(locale="fr", page="/fr/", details="a", problem="other")
    [group] = services.group([newer, older])
    assert [report.details for report in group.pages[0].reports] == ["a", "b"]
    assert group.count == 2
