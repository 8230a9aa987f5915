"""Families apply together: who in the family has applied, the reference shared, the reminder, the
late member, and the boundary between the adults of one family."""

from __future__ import annotations

import datetime as dt
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.apply import families, family_reminders
from portal.extensions import db
from portal.models import (
    Application,
    ApplicationWindow,
    AuditEvent,
    Document,
    FamilyGroup,
    Role,
    SentReminder,
    Status,
    utcnow,
)
from portal.returns.matching import Person, similar_names
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    answer_page,
    fill_in,
    open_a_window,
    send_main_with_family,
    send_member,
    start_application,
)
from tests.helpers import make_user, sent_messages, sign_in_staff

PARTNER = {
    "full_name": "Mohammad Rahimi",
    "relationship": "partner",
    "date_of_birth": ["4", "5", "1988"],
}
SON = {"full_name": "Ali Rahimi", "relationship": "child", "date_of_birth": ["9", "1", "2004"]}
DAUGHTER = {
    "full_name": "Sara Rahimi",
    "relationship": "child",
    "date_of_birth": ["1", "2", "2015"],
}


@pytest.fixture
def family(app, client):
    """Amina, main applicant, lists her partner, her adult son and her young daughter."""
    open_a_window(app)
    send_main_with_family(client, app, [PARTNER, SON, DAUGHTER])
    return client


def reference(app) -> str:
    with app.app_context():
        return db.session.scalar(select(FamilyGroup.reference))


def application_of(app, email: str) -> Application:
    with app.app_context():
        return db.session.scalar(
            select(Application).where(Application.answers["contact"]["email"].as_string() == email)
        )


def family_rows(page: str) -> dict[str, str]:
    """The family list of the main applicant's status page: listed name -> what is shown."""
    rows = re.findall(
        r'<dt class="govuk-summary-list__key">\s*<bdi>([^<]*)</bdi>\s*</dt>\s*'
        r'<dd class="govuk-summary-list__value">\s*(.*?)\s*</dd>',
        page,
        re.S,
    )
    return {html.unescape(name): re.sub(r"<[^>]+>", "", value).strip() for name, value in rows}


def test_a_member_who_writes_their_name_in_another_script_is_matched_to_the_listed_member(
    app, family
):
    member = app.test_client()
    send_member(
        member, app, "mohammad@example.org", reference(app), ("محمد", "رحیمی"), ["4", "5", "1988"]
    )
    page = family.get("/en/application/status").text
    assert family_rows(page) == {"Mohammad Rahimi": "Sent", "Ali Rahimi": "Not sent yet"}
    # The young daughter is in her mother's application: she does not apply separately.
    assert "Sara Rahimi" not in page
    assert "decided together" in page


@pytest.mark.parametrize(
    ("given", "family_name", "matches"),
    [
        ("Mohammed", "Rahimi", True),
        ("محمد", "رحیمی", True),
        ("Rahimi", "Mohamad", True),
        ("Ahmad", "Rahimi", False),
        ("Mohammad", "Karimi", False),
    ],
)
def test_names_are_matched_tolerantly_but_not_loosely(given, family_name, matches):
    listed = Person("Mohammad Rahimi", "", dt.date(1988, 5, 4), None, None)
    assert similar_names(Person(given, family_name, None, None, None), listed) is matches


def test_a_member_with_the_reference_who_matches_nobody_listed_is_shown_to_caseworkers_only(
    app, family
):
    first = app.test_client()
    send_member(
        first,
        app,
        "mohammed@example.org",
        reference(app),
        ("Mohammed", "Rahimi"),
        ["4", "5", "1988"],
    )
    stranger = app.test_client()
    # The listed son's name, another date of birth: not the listed son.
    send_member(
        stranger, app, "ali@example.org", reference(app), ("Ali", "Rahimi"), ["9", "1", "1999"]
    )

    page = family.get("/en/application/status").text
    assert family_rows(page) == {"Mohammad Rahimi": "Sent", "Ali Rahimi": "Not sent yet"}
    stranger_application = application_of(app, "ali@example.org")
    assert stranger_application.reference not in page

    staff = app.test_client()
    make_user(app, "cw@example.org", Role.CASEWORKER)
    sign_in_staff(staff, app, "cw@example.org")
    main = application_of(app, "amina@example.org")
    application_page = staff.get(f"/en/casework/applications/{main.id}").text
    group_path = re.search(r'href="(/en/casework/family-groups/[^"]+)"', application_page).group(1)
    group_page = staff.get(group_path)
    assert group_page.status_code == 200
    text = group_page.text
    matched = application_of(app, "mohammed@example.org")
    assert matched.reference in text and "Mohammad Rahimi" in text
    assert "match nobody listed" in text and stranger_application.reference in text
    assert "1999-01-09" in text
    assert "Not sent yet" in text and "Included in the main application" in text
    with app.app_context():
        viewed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "family_group_viewed")
        ).all()
        assert len(viewed) == 1 and viewed[0].subject_id == str(main.family_group_id)


def test_a_withdrawn_member_application_is_not_counted_as_sent(app, family):
    member = app.test_client()
    send_member(
        member,
        app,
        "mohammad@example.org",
        reference(app),
        ("Mohammad", "Rahimi"),
        ["4", "5", "1988"],
    )
    with app.app_context():
        db.session.execute(
            update(Application)
            .where(Application.id == application_of(app, "mohammad@example.org").id)
            .values(status=Status.WITHDRAWN.value)
        )
        db.session.commit()
    assert family_rows(family.get("/en/application/status").text)["Mohammad Rahimi"] == (
        "Not sent yet"
    )


def test_the_main_applicant_never_sees_another_adults_answers_documents_or_status(app, family):
    member = app.test_client()
    send_member(
        member, app, "mohammad@example.org", reference(app), ("محمد", "رحیمی"), ["4", "5", "1988"]
    )
    theirs = application_of(app, "mohammad@example.org")
    with app.app_context():
        db.session.execute(
            update(Application)
            .where(Application.id == theirs.id)
            .values(status=Status.MORE_INFORMATION.value)
        )
        db.session.commit()
        document_ids = db.session.scalars(
            select(Document.id).where(Document.application_id == theirs.id)
        ).all()
    assert document_ids

    for path in (
        "/en/application/status",
        "/en/application/copy",
        "/en/application/your-data.json",
    ):
        page = family.get(path).text
        assert theirs.reference not in page, path
        assert "mohammad@example.org" not in page and "محمد" not in page, path
        assert theirs.answers["document"]["document_number"] not in page, path
        assert "We need more information" not in page, path
    assert family_rows(family.get("/en/application/status").text)["Mohammad Rahimi"] == "Sent"
    for document_id in document_ids:
        for view in ("file", "thumbnail"):
            response = family.get(f"/en/application/documents/{document_id}/{view}")
            assert response.status_code == 404, (view, response.status_code)


def test_a_member_never_sees_the_main_applicants_answers_or_status(app, family):
    main = application_of(app, "amina@example.org")
    with app.app_context():
        db.session.execute(
            update(Application)
            .where(Application.id == main.id)
            .values(status=Status.IN_CHECKS.value)
        )
        db.session.commit()
        main_documents = db.session.scalars(
            select(Document.id).where(Document.application_id == main.id)
        ).all()
    member = app.test_client()
    send_member(
        member,
        app,
        "mohammad@example.org",
        reference(app),
        ("Mohammad", "Rahimi"),
        ["4", "5", "1988"],
    )
    for path in (
        "/en/application/status",
        "/en/application/copy",
        "/en/application/your-data.json",
    ):
        page = member.get(path).text
        assert main.reference not in page, path
        for name in ("Amina", "Ali Rahimi", "Sara Rahimi"):
            assert name not in page, (path, name)
        assert "Being checked" not in page, path
    status = member.get("/en/application/status").text
    assert "Your family group" in status and reference(app) in status
    assert "decided together" in status
    assert member.get("/en/application/family/share").status_code == 302
    for document_id in main_documents:
        assert member.get(f"/en/application/documents/{document_id}/file").status_code == 404


def test_the_rule_is_shown_before_a_member_sends(app, family):
    member = app.test_client()
    start_application(member, app, "mohammad@example.org")
    answer_page(member, "applicant_type", {"applicant_type": "family_member"})
    answer_page(member, "family_reference", {"family_reference": reference(app)})
    fill_in(
        member,
        [(n, d) for n, d in MAIN_APPLICANT_ALONE if n not in ("applicant_type", "travelling")],
    )
    page = member.get("/en/application/check-your-answers").text
    assert "Your family group is decided together" in page


def share_page(client, language: str | None = None, locale: str = "en"):
    query = f"?language={language}" if language else ""
    return client.get(f"/{locale}/application/family/share{query}")


def test_the_shared_text_carries_the_reference_and_the_address_and_nothing_personal(app, family):
    status = family.get("/en/application/status").text
    assert "/en/application/family/share" in status
    first = share_page(family)
    assert first.status_code == 200 and "<textarea" not in first.text
    page = share_page(family, "fa")
    assert page.status_code == 200
    textarea = re.search(r"<textarea([^>]*)>(.*?)</textarea>", page.text, re.S)
    assert 'lang="fa"' in textarea.group(1) and 'dir="rtl"' in textarea.group(1)
    assert "readonly" in textarea.group(1)
    text = html.unescape(textarea.group(2))
    assert reference(app) in text
    assert text.endswith(app.config["PORTAL"].BASE_URL + "/fa/")
    main = application_of(app, "amina@example.org")
    for personal in ("Amina", "Kareem", "Rahimi", "amina@example.org", main.reference, "1990"):
        assert personal not in text
    assert 'src="data:image/svg+xml' in page.text
    assert not re.search(r'(src|href)="https?://', page.text), "no request to another site"
    assert "family-share" in page.text  # the script that copies and shares, when it runs

    wrong = share_page(family, "xx")
    assert wrong.status_code == 200 and "Select the language of the text" in wrong.text


def test_the_share_page_is_the_main_applicants_only_while_the_window_is_open(app, family):
    with app.app_context():
        db.session.execute(
            update(ApplicationWindow).values(
                opens_at=utcnow() - timedelta(days=30), closes_at=utcnow() - timedelta(hours=1)
            )
        )
        db.session.commit()
    assert share_page(family, "en").status_code == 302
    status = family.get("/en/application/status").text
    assert "closed on" in status and "/application/family/share" not in status


def close_within(app, days: float) -> None:
    with app.app_context():
        db.session.execute(
            update(ApplicationWindow).values(
                opens_at=utcnow() - timedelta(days=30), closes_at=utcnow() + timedelta(days=days)
            )
        )
        db.session.commit()


def reminders_sent(app):
    return [m for m in sent_messages(app) if m.template == family_reminders.TEMPLATE]


def test_the_reminder_goes_once_in_the_main_applicants_language(app, family):
    close_within(app, 10)
    runner = app.test_cli_runner()
    assert "families reminded: 0" in runner.invoke(args=["remind-families"]).output
    assert reminders_sent(app) == []

    close_within(app, 2)
    assert "families reminded: 1" in runner.invoke(args=["remind-families"]).output
    messages = reminders_sent(app)
    assert {m.channel for m in messages} == {"email", "sms"}
    assert all(m.locale == "ar" for m in messages)
    email = next(m for m in messages if m.channel == "email")
    assert email.recipient == "amina@example.org" and reference(app) in email.body
    assert "/ar/application/status" in email.body
    assert "Rahimi" not in email.body  # who has not applied is on the status page, signed in

    assert "families reminded: 0" in runner.invoke(args=["remind-families"]).output
    assert len(reminders_sent(app)) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SentReminder)) == 1


def test_no_reminder_when_every_adult_has_applied_or_the_window_is_closed(app, family):
    for email, names, born in (
        ("mohammad@example.org", ("Mohammad", "Rahimi"), ["4", "5", "1988"]),
        ("ali@example.org", ("Ali", "Rahimi"), ["9", "1", "2004"]),
    ):
        send_member(app.test_client(), app, email, reference(app), names, born)
    close_within(app, 1)
    with app.test_request_context():
        assert family_reminders.remind_families(utcnow()) == 0
        close_within(app, -1)
        assert family_reminders.remind_families(utcnow()) == 0
    assert reminders_sent(app) == []


def test_a_member_who_starts_after_the_window_closed_is_told_before_filling_anything(app, family):
    with app.app_context():
        db.session.execute(
            update(ApplicationWindow).values(
                opens_at=utcnow() - timedelta(days=30), closes_at=utcnow() - timedelta(days=1)
            )
        )
        db.session.commit()
    member = app.test_client()
    start_application(member, app, "late@example.org", locale="fr")
    answer_page(member, "applicant_type", {"applicant_type": "family_member"}, "fr")
    response = answer_page(member, "family_reference", {"family_reference": reference(app)}, "fr")
    assert response.status_code == 200
    assert "doivent" in response.text or "fenêtre" in response.text
    assert reference(app) in response.text
    assert "/fr/application/questions/applicant_type" in response.text
    late = application_of(app, "late@example.org")
    assert late is None or "family_reference" not in late.answers
    with app.app_context():
        draft = db.session.scalars(
            select(Application).where(Application.status == Status.DRAFT.value)
        ).one()
        assert "family_reference" not in draft.answers


def test_adults_are_those_18_or_over_when_the_main_applicant_sent(app):
    sent = dt.date(2026, 3, 1)
    member = families.ListedMember("1", "X", "child", dt.date(2008, 3, 1))
    assert families.must_apply_separately(member, sent)
    younger = families.ListedMember("2", "Y", "child", dt.date(2008, 3, 2))
    assert not families.must_apply_separately(younger, sent)
