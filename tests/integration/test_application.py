"""The Expression of Interest end to end: save and return, branching, check and send, status."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import (
    Application,
    ApplicationWindow,
    FamilyGroup,
    Role,
    Status,
    StatusChange,
    utcnow,
)
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    answer_page,
    fill_in,
    open_a_window,
    start_application,
)
from tests.helpers import check_page, csrf_token, make_user, sent_messages, sign_in, submit


def send(client, locale="en"):
    page = client.get(f"/{locale}/application/check-your-answers")
    assert page.status_code == 200, page.headers.get("Location")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    assert key, "the send button is shown"
    data = {"csrf_token": csrf_token(page.text), "submission_key": key.group(1)}
    return client.post(f"/{locale}/application/check-your-answers", data=data), data


def the_application(app):
    with app.app_context():
        return db.session.scalar(select(Application))


def test_signing_in_without_eligibility_answers_starts_with_the_questions(client, app):
    make_user(app, "amina@example.org")
    response = sign_in(client, "amina@example.org")
    assert response.headers["Location"] == "/en/application"
    assert client.get("/en/application").headers["Location"] == "/en/application/start"
    assert client.get("/en/application/start").headers["Location"] == "/en/eligibility"


def test_each_page_is_saved_at_once_and_the_task_list_shows_progress(client, app):
    start_application(client, app)
    tasks = client.get("/en/application/tasks")
    check_page(tasks, "en", "ltr")
    assert "Not yet started" in tasks.text
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    assert the_application(app).answers["names"] == {
        "given_names": "Amina",
        "family_name": "Kareem",
    }
    assert "In progress" in client.get("/en/application/tasks").text

    # Sign out and back in: the answers are still there, and the person continues where they were.
    client.post("/en/sign-out", data={"csrf_token": csrf_token(tasks.text)})
    sign_in(client, "amina@example.org")
    page = client.get("/en/application/questions/names")
    assert 'value="Amina"' in page.text


def test_save_and_come_back_later_goes_to_the_task_list(client, app):
    start_application(client, app)
    response = answer_page(
        client, "applicant_type", {"applicant_type": "main", "save_and_exit": "1"}
    )
    assert response.headers["Location"] == "/en/application/tasks"
    assert "Your answers are saved" in client.get("/en/application/tasks").text


def test_steps_cannot_be_skipped_by_url(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:2])
    response = client.get("/en/application/questions/document")
    assert response.headers["Location"] == "/en/application/questions/names"
    assert client.get("/en/application/check-your-answers").headers["Location"].endswith("/names")
    assert client.get("/en/application/questions/nonsense").status_code == 404


def test_every_question_page_keeps_the_page_rules_in_english_and_arabic(client, app):
    start_application(client, app)
    for name, data in MAIN_APPLICANT_ALONE:
        for locale, direction in (("en", "ltr"), ("ar", "rtl")):
            page = client.get(f"/{locale}/application/questions/{name}")
            assert page.status_code == 200, name
            check_page(page, locale, direction)
        answer_page(client, name, data)


def test_invalid_answers_are_refused_with_messages_and_kept(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:4])
    response = answer_page(
        client,
        "birth",
        {"date_of_birth": ["31", "2", "1990"], "place_of_birth": "Aleppo", "country_of_birth": ""},
    )
    assert response.status_code == 200
    assert "Date of birth must be a real date" in response.text
    assert "Choose the country where you were born" in response.text
    assert 'value="31"' in response.text and 'value="Aleppo"' in response.text
    assert 'href="#date_of_birth' in response.text


def test_date_in_the_future_and_bad_phone_are_refused(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:4])
    future = (utcnow() + timedelta(days=2)).date()
    response = answer_page(
        client,
        "birth",
        {
            "date_of_birth": [str(future.day), str(future.month), str(future.year)],
            "place_of_birth": "A",
            "country_of_birth": "SY",
        },
    )
    assert "Date of birth must be in the past" in response.text
    fill_in(client, MAIN_APPLICANT_ALONE[4:10])
    bad = answer_page(client, "contact", {"email": "", "mobile": "12"})
    assert "Enter a phone number" in bad.text
    neither = answer_page(client, "contact", {"email": "", "mobile": ""})
    assert "Enter an email address or a mobile phone number" in neither.text
    good = answer_page(client, "contact", {"email": "", "mobile": "+44 7911 123456"})
    assert good.status_code == 302
    assert the_application(app).answers["contact"]["mobile"] == "+447911123456"


def test_yes_needs_details_and_no_clears_them(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    missing = answer_page(client, "other_names", {"answer": "yes", "details": ""})
    assert "Enter the other names you have used" in missing.text
    answer_page(client, "other_names", {"answer": "no", "details": "left over text"})
    assert the_application(app).answers["other_names"] == {"answer": "no", "details": ""}


def test_branching_clears_answers_that_no_longer_apply(client, app):
    start_application(client, app)
    answer_page(client, "applicant_type", {"applicant_type": "main"})
    answer_page(client, "travelling", {"travelling": "with_family"})
    add = answer_page(
        client,
        "family_members",
        {
            "full_name": "Sara Kareem",
            "relationship": "child",
            "date_of_birth": ["1", "2", "2015"],
            "add": "1",
        },
    )
    assert add.headers["Location"] == "/en/application/questions/family_members"
    done = answer_page(client, "family_members", {"finished": "1"})
    assert done.headers["Location"] == "/en/application/questions/names"
    assert (
        the_application(app).answers["family_members"]["members"][0]["full_name"] == "Sara Kareem"
    )

    answer_page(client, "applicant_type", {"applicant_type": "family_member"})
    answers = the_application(app).answers
    assert "travelling" not in answers and "family_members" not in answers


def test_family_members_list_needs_someone_and_can_remove(client, app):
    start_application(client, app)
    answer_page(client, "applicant_type", {"applicant_type": "main"})
    answer_page(client, "travelling", {"travelling": "with_family"})
    empty = answer_page(client, "family_members", {"finished": "1"})
    assert empty.status_code == 200 and "Add at least one family member" in empty.text
    answer_page(
        client,
        "family_members",
        {"full_name": "Sara", "relationship": "child", "date_of_birth": ["1", "2", "2015"]},
    )
    member_id = the_application(app).answers["family_members"]["members"][0]["id"]
    page = client.get("/en/application/questions/family_members")
    client.post(
        f"/en/application/family-members/{member_id}/remove",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert the_application(app).answers["family_members"]["members"] == []


def test_expired_document_asks_for_a_valid_one(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:8])
    response = answer_page(
        client,
        "document",
        {
            "document_type": "passport",
            "document_number": "N0123456",
            "issuing_country": "SY",
            "issue_date": ["5", "11", "2012"],
            "expiry_date": ["4", "11", "2022"],
        },
    )
    assert response.headers["Location"] == "/en/application/questions/document_expired"
    refused = answer_page(client, "document_expired", {"has_valid_document": "yes"})
    assert "Use your valid document" in refused.text
    accepted = answer_page(client, "document_expired", {"has_valid_document": "no"})
    assert accepted.headers["Location"] == "/en/application/questions/address"


def test_change_link_returns_to_check_answers(client, app):
    start_application(client, app)
    fill_in(client)
    summary = client.get("/en/application/check-your-answers")
    assert 'href="/en/application/questions/names?change=1"' in summary.text
    response = answer_page(
        client, "names?change=1", {"given_names": "Amina Z", "family_name": "Kareem"}
    )
    assert response.headers["Location"] == "/en/application/check-your-answers"
    assert "Amina Z" in client.get("/en/application/check-your-answers").text


def test_without_an_open_window_the_draft_is_kept_and_cannot_be_sent(client, app):
    start_application(client, app)
    fill_in(client)
    page = client.get("/en/application/check-your-answers")
    assert "no application window is open" in page.text
    assert "submission_key" not in page.text
    forced = client.post(
        "/en/application/check-your-answers",
        data={"csrf_token": csrf_token(page.text), "submission_key": "k"},
    )
    assert forced.status_code == 200
    assert the_application(app).status == "draft"


def test_send_confirm_email_and_sms_in_the_chosen_language_and_status(client, app):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    response, _data = send(client)
    assert response.headers["Location"] == "/en/application/sent"
    application = the_application(app)
    assert application.status == "submitted"
    assert re.fullmatch(
        r"EOI-[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}", application.reference
    )

    confirmation = client.get("/en/application/sent")
    check_page(confirmation, "en", "ltr")
    assert application.reference in confirmation.text
    with app.app_context():
        group = db.session.scalar(select(FamilyGroup))
        assert group.reference.startswith("FAM-")
    assert group.reference in confirmation.text

    messages = [m for m in sent_messages(app) if m.template == "application_submitted"]
    assert {m.channel for m in messages} == {"email", "sms"}
    assert all(m.locale == "ar" for m in messages)
    sms = next(m for m in messages if m.channel == "sms")
    assert sms.recipient == "+33612345678"
    assert application.reference in sms.body and "/ar/presence/" in sms.body

    status = client.get("/en/application/status")
    check_page(status, "en", "ltr")
    assert "Sent" in status.text and application.reference in status.text
    with app.app_context():
        window = db.session.scalar(select(ApplicationWindow))
        assert window.places_taken == 1
        change = db.session.scalar(select(StatusChange))
        assert (change.from_status, change.to_status) == ("draft", "submitted")


def test_double_submit_creates_one_application_with_the_same_reference(client, app):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    first, data = send(client)
    second = client.post("/en/application/check-your-answers", data=data)
    assert first.headers["Location"] == second.headers["Location"] == "/en/application/sent"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 1
        assert db.session.scalar(select(ApplicationWindow.places_taken)) == 1
    reference = the_application(app).reference
    assert reference in client.get("/en/application/sent").text


def test_a_window_closes_by_itself_when_its_places_are_taken(client, app):
    open_a_window(app, places=1)
    start_application(client, app)
    fill_in(client)
    send(client)
    other = app.test_client()
    start_application(other, app, email="nadia@example.org")
    fill_in(other)
    page = other.get("/en/application/check-your-answers")
    assert "no application window is open" in page.text


def test_family_member_applies_with_the_family_reference_and_the_group_is_visible(client, app):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    send(client)
    with app.app_context():
        family_reference = db.session.scalar(select(FamilyGroup.reference))

    member = app.test_client()
    start_application(member, app, email="omar@example.org")
    answer_page(member, "applicant_type", {"applicant_type": "family_member"})
    wrong = answer_page(member, "family_reference", {"family_reference": "FAM-222-222-222"})
    assert "one of its characters is not right" in wrong.text or "cannot find" in wrong.text
    typed = family_reference.lower().replace("-", " ")
    assert answer_page(member, "family_reference", {"family_reference": typed}).status_code == 302
    pages = [(n, d) for n, d in MAIN_APPLICANT_ALONE if n not in ("applicant_type", "travelling")]
    pages = [
        (n, {**d, "email": "omar@example.org", "mobile": ""} if n == "contact" else d)
        for n, d in pages
    ]
    fill_in(member, pages)
    send(member)
    status = member.get("/en/application/status").text
    # The member sees the family reference and the rule, nothing of the main applicant's.
    assert "Your family group" in status and family_reference in status
    assert "Amina" not in status
    assert the_application_count(app) == 2


def the_application_count(app):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Application).where(Application.status == "submitted")
        )


def test_withdraw_before_a_decision(client, app):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    send(client)
    page = client.get("/en/application/withdraw")
    check_page(page, "en", "ltr")
    client.post("/en/application/withdraw", data={"csrf_token": csrf_token(page.text)})
    assert the_application(app).status == "withdrawn"
    with app.app_context():
        changes = db.session.scalars(
            select(StatusChange.to_status).order_by(StatusChange.occurred_at)
        ).all()
    assert changes == ["submitted", "withdrawn"]


def test_a_draft_can_be_deleted(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    page = client.get("/en/application/delete")
    client.post("/en/application/delete", data={"csrf_token": csrf_token(page.text)})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_download_and_printable_copy_of_everything_given(client, app):
    start_application(client, app)
    fill_in(client)
    response = client.get("/en/application/your-data.json")
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.text)
    assert data["application"]["answers"]["names"]["family_name"] == "Kareem"
    assert data["application"]["eligibility"]["in_france"] == "yes"
    copy = client.get("/ar/application/copy")
    check_page(copy, "ar", "rtl")
    assert "Kareem" in copy.text


def test_staff_have_no_application_pages(client, app):
    make_user(app, "admin@example.org", Role.ADMIN)
    from tests.helpers import sign_in_staff

    sign_in_staff(client, app, "admin@example.org")
    assert client.get("/en/application/tasks").status_code == 404


def test_admin_creates_a_window_in_paris_time_and_drafts_are_told(client, app):
    start_application(client, app)
    fill_in(client)
    admin = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    from tests.helpers import sign_in_staff

    sign_in_staff(admin, app, "admin@example.org")
    now = utcnow() + timedelta(hours=2)
    today = (now - timedelta(days=1)).date()
    later = (now + timedelta(days=10)).date()
    response = submit(
        admin,
        "/en/admin/windows",
        {
            "name": "First window",
            "opens_on": [str(today.day), str(today.month), str(today.year)],
            "opens_at": "09:00",
            "closes_on": [str(later.day), str(later.month), str(later.year)],
            "closes_at": "17:30",
            "places": "250",
        },
    )
    assert response.status_code == 302, response.text
    with app.app_context():
        window = db.session.scalar(select(ApplicationWindow))
        assert window.places == 250
        assert window.opens_at.hour in (7, 8)  # 09:00 in Paris is 07:00 or 08:00 UTC
        assert window.opening_notified_at is not None
    told = [m for m in sent_messages(app) if m.template == "window_open"]
    assert {m.channel for m in told} == {"email", "sms"}


def test_announcing_a_window_twice_tells_nobody_twice(app):
    open_a_window(app)
    runner = app.test_cli_runner()
    assert "told 0" in runner.invoke(args=["announce-windows"]).output
    assert "told 0" in runner.invoke(args=["announce-windows"]).output
    with app.app_context():
        db.session.execute(update(ApplicationWindow).values(opening_notified_at=None))
        db.session.commit()


def test_illegal_state_change_is_refused(app):
    from portal.apply import lifecycle

    make_user(app, "amina@example.org")
    with app.app_context():
        from portal.models import User

        user = db.session.scalar(select(User))
        application = Application(applicant_id=user.id, answers={}, eligibility={})
        db.session.add(application)
        db.session.commit()
        try:
            lifecycle.transition(application, Status.APPROVED, actor_id=None)
        except lifecycle.IllegalTransition:
            pass
        else:
            raise AssertionError("a draft cannot be approved")
        assert application.status == "draft"
