"""The side roads of an application's life: withdrawn stays visible, a withdrawal ends the
caseworker's hold, decisions say what they changed, and two missed appointments go back to a
caseworker."""

from __future__ import annotations

import json
from datetime import timedelta

from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import (
    Application,
    ApplicationWindow,
    Appointment,
    AuditEvent,
    CheckRecord,
    QueueItem,
    Status,
    utcnow,
)
from tests.apply_helpers import answer_eligibility
from tests.appointment_helpers import application_of, invite, make_centre, make_slot, move_slot
from tests.factories import send_application
from tests.helpers import check_page, csrf_token, sent_messages, submit
from tests.integration.test_appointments import OVERVIEW, book, staff, status_of
from tests.integration.test_backoffice import (
    CASEWORK,
    caseworker,
    claim,
    pass_every_check,
    post_on,
    press_next,
)

MISSED_TWICE = (
    "You did not come to two biometric appointments. A caseworker will look at your "
    "application again and decide what happens next: they can let you book one more "
    "appointment, or decide that your application is not valid. We will send you a message."
)


def decisions_audited(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "application_decided")
        )


def withdraw(client):
    return submit(client, "/en/application/withdraw")


# 1. Every state has a page.


def test_a_withdrawn_application_keeps_its_page_and_its_data_until_retention(app, client):
    send_application(client, app)
    response = withdraw(client)
    assert response.headers["Location"] == "/en/application/status"
    page = client.get("/en/application/status")
    check_page(page, "en", "ltr")
    assert "Withdrawn" in page.text and "Your application is withdrawn." in page.text
    assert "An application window is open now" in page.text
    assert 'href="/en/application/start"' in page.text
    assert "We keep your information until" in page.text
    assert "Withdraw your application" not in page.text
    arabic = client.get("/ar/application/status")
    check_page(arabic, "ar", "rtl")
    with app.test_request_context(), force_locale("ar"):
        assert gettext("Start a new application") in arabic.text
    for path in ("/en/application", "/en/application/sent", "/en/application/appointment"):
        assert client.get(path).headers["Location"] == "/en/application/status", path

    data = json.loads(client.get("/en/application/your-data.json").text)
    assert data["application"]["status"] == "withdrawn"
    assert data["application"]["answers"]["names"]["family_name"] == "Kareem"
    copy = client.get("/en/application/copy")
    assert copy.status_code == 200 and "Kareem" in copy.text


def test_after_withdrawing_a_new_application_can_be_started_and_the_old_one_is_in_the_copy(
    app, client
):
    send_application(client, app)
    withdraw(client)
    assert client.get("/en/application/start").headers["Location"].startswith("/en/eligibility")
    answer_eligibility(client)
    assert client.get("/en/application/start").headers["Location"] == "/en/application/tasks"
    assert client.get("/en/application/tasks").status_code == 200
    data = json.loads(client.get("/en/application/your-data.json").text)
    assert data["application"]["status"] == "draft"
    [earlier] = data["earlier_applications"]
    assert earlier["status"] == "withdrawn"
    assert earlier["answers"]["names"]["given_names"] == "Amina"


def test_withdrawn_without_an_open_window_says_when_one_opens(app, client):
    send_application(client, app)
    withdraw(client)
    with app.app_context():
        db.session.execute(update(ApplicationWindow).values(closes_at=utcnow()))
        db.session.commit()
    page = client.get("/en/application/status").text
    assert "No application window is open now" in page
    assert 'href="/en/application/start"' in page
    with app.app_context():
        now = utcnow()
        db.session.add(
            ApplicationWindow(
                name="Next",
                opens_at=now + timedelta(days=3),
                closes_at=now + timedelta(days=30),
                places=10,
            )
        )
        db.session.commit()
    page = client.get("/en/application/status").text
    assert "The next window opens on" in page
    assert "send it when the window opens" in page


# 2. Nothing acts on a finished application, and the screens say why.


def test_withdrawing_ends_the_hold_and_the_caseworkers_screens_say_why(app, client):
    send_application(client, app)
    worker = caseworker(app)
    path = claim(worker)
    stale = worker.get(path)
    assert "Record the decision" in stale.text

    withdraw(client)
    with app.app_context():
        [item] = db.session.scalars(select(QueueItem))
        assert item.completed_at is not None, "the item left the queue with the withdrawal"
    dashboard = worker.get(CASEWORK + "/")
    assert "Being checked now" in dashboard.text and path not in dashboard.text

    check = worker.post(
        f"{path}/checks",
        data={"csrf_token": csrf_token(stale.text), "check": "identity", "outcome": "passed"},
    )
    assert check.status_code == 409
    assert "is withdrawn" in check.text and "Nothing was changed" in check.text
    decision = worker.post(
        f"{path}/decision",
        data={
            "csrf_token": csrf_token(stale.text),
            "decision": "invalid",
            "invalid_rule": "identity_not_confirmed",
        },
    )
    assert decision.status_code == 409
    assert "is withdrawn" in decision.text and "A finished application cannot be changed" in (
        decision.text
    )
    assert "Record the decision" not in decision.text
    assert "It is finished: it has left the queue" in decision.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckRecord)) == 0
        assert db.session.get(Application, application_of(app, "amina@example.org")).status == (
            Status.WITHDRAWN.value
        )
    assert decisions_audited(app) == 0
    assert (
        press_next(caseworker(app, "cw2@example.org")).headers["Location"].endswith("/en/casework/")
    )


def test_attendance_on_a_withdrawn_application_is_refused_and_the_desk_is_told_why(app, client):
    send_application(client, app)
    invite(app, application_of(app, "amina@example.org"))
    centre = make_centre(app)
    day = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    slot = make_slot(app, centre, day)
    book(client, centre, slot, day)
    desk = staff(app)
    page = desk.get(f"/en/casework/centres/{centre}/day?date={day.date().isoformat()}")
    with app.app_context():
        appointment_id = db.session.scalar(select(Appointment.id))
    withdraw(client)
    response = desk.post(
        f"/en/casework/centres/appointments/{appointment_id}/attended",
        data={"csrf_token": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert "is withdrawn" in response.text and "cannot record attendance" in response.text
    assert status_of(app) == Status.WITHDRAWN.value


# 3. Honest decision messages.


def test_a_decision_says_what_it_changed_and_one_that_changes_nothing_says_so(app, client):
    send_application(client, app)
    worker = caseworker(app)
    path = claim(worker)
    pass_every_check(worker, path)
    stale = worker.get(path)
    reference = db_reference(app)
    response = post_on(worker, path, "decision", {"decision": "invite"})
    assert response.status_code == 302
    dashboard = worker.get(CASEWORK + "/").text
    assert f"Decision recorded: {reference} is now invited to biometrics." in dashboard
    assert decisions_audited(app) == 1

    again = worker.post(
        f"{path}/decision", data={"csrf_token": csrf_token(stale.text), "decision": "invite"}
    )
    assert again.status_code == 409
    assert f"Nothing was changed: {reference} is invited to biometrics now" in again.text
    assert "Decision recorded for ." not in again.text
    assert decisions_audited(app) == 1, "a decision that changed nothing is not audited"


def db_reference(app) -> str:
    with app.app_context():
        return db.session.scalar(select(Application.reference))


# 7. No dead ends: two missed appointments go back to a caseworker.


def _miss(app, desk, centre, day) -> None:
    with app.app_context():
        appointment = db.session.scalar(select(Appointment).where(Appointment.status == "booked"))
        appointment_id, slot_id = appointment.id, appointment.slot_id
    page = desk.get(f"/en/casework/centres/{centre}/day?date={day.date().isoformat()}")
    # "Did not come" only once the appointment has ended; the slot is put back afterwards.
    move_slot(app, slot_id, utcnow() - timedelta(hours=1))
    response = desk.post(
        f"/en/casework/centres/appointments/{appointment_id}/no-show",
        data={"csrf_token": csrf_token(page.text)},
    )
    move_slot(app, slot_id, day)
    assert response.status_code == 302


def _missed_twice(app, client):
    send_application(client, app)
    worker = caseworker(app)
    path = claim(worker)
    pass_every_check(worker, path)
    assert post_on(worker, path, "decision", {"decision": "invite"}).status_code == 302
    centre = make_centre(app)
    day = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    slot = make_slot(app, centre, day)
    desk = staff(app, email="desk@example.org")
    book(client, centre, slot, day)
    _miss(app, desk, centre, day)
    assert status_of(app) == Status.INVITED_TO_BIOMETRICS.value
    book(client, centre, slot, day)
    _miss(app, desk, centre, day)
    return worker, path, centre, slot, day


def test_two_missed_appointments_put_the_application_back_in_front_of_a_caseworker(app, client):
    worker, path, centre, slot, day = _missed_twice(app, client)
    assert status_of(app) == Status.SUBMITTED.value
    with app.app_context():
        waiting = db.session.scalar(select(QueueItem).where(QueueItem.completed_at.is_(None)))
        assert waiting.kind == "appointments_missed"
        assert waiting.body["kind"] == "appointments_missed"

    told = [m for m in sent_messages(app) if m.template == "appointment_missed"][-2:]
    assert {m.channel for m in told} == {"email", "sms"}
    with app.test_request_context(), force_locale("ar"):
        assert gettext(MISSED_TWICE) in next(m for m in told if m.channel == "email").body
    assert client.get(OVERVIEW).headers["Location"] == "/en/application/status"
    status = client.get("/en/application/status").text
    assert MISSED_TWICE in status

    assert claim(worker) == path
    page = worker.get(path).text
    assert "Back for a decision: the applicant did not come to two biometric appointments" in page
    assert "Record the decision" in page and page.count("did not come") >= 2
    assert "(submitted:missed appointments)" in page, "the history says why it is back"

    # Invited again, the applicant can book again.
    assert post_on(worker, path, "decision", {"decision": "invite"}).status_code == 302
    assert status_of(app) == Status.INVITED_TO_BIOMETRICS.value
    overview = client.get(OVERVIEW).text
    assert 'href="/en/application/appointment/centre"' in overview
    assert book(client, centre, slot, day).status_code == 302


def test_after_two_missed_appointments_the_caseworker_can_reject_as_not_valid(app, client):
    worker, path, *_ = _missed_twice(app, client)
    claim(worker)
    response = post_on(
        worker, path, "decision", {"decision": "invalid", "invalid_rule": "missed_appointments"}
    )
    assert response.status_code == 302, response.text[-2000:]
    assert status_of(app) == Status.INVALID.value
    status = client.get("/en/application/status").text
    assert "You did not come to two biometric appointments." in status
    assert "We keep your information until" in status
