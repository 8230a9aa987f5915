"""Attendance is recorded only from the appointment's time, and a mistake is corrected the same
day by staff of the same role, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Application, Appointment, AuditEvent, Role, Status, utcnow
from tests.appointment_helpers import application_of, invite, make_centre, make_slot, move_slot
from tests.factories import send_application
from tests.helpers import csrf_token, make_user, sent_messages, sign_in_staff, submit


@pytest.fixture
def booked(app, client):
    """Amina invited and booked into a slot five days ahead; returns the slot and appointment."""
    send_application(client, app)
    invite(app, application_of(app, "amina@example.org"))
    centre = make_centre(app)
    soon = (utcnow() + timedelta(days=5)).replace(second=0, microsecond=0)
    slot = make_slot(app, centre, soon)
    day = soon.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).date()
    path = f"/en/application/appointment/centre/{centre}/{day.isoformat()}?who=me"
    assert submit(client, path, {"slot": str(slot)}).status_code == 302
    with app.app_context():
        appointment = db.session.scalar(select(Appointment.id))
    return {"slot": slot, "appointment": appointment, "centre": centre}


def _desk(app, role=Role.CASEWORKER, email="desk@example.org"):
    client = app.test_client()
    make_user(app, email, role)
    sign_in_staff(client, app, email)
    return client


def _post(desk, booked, action):
    page = desk.get(f"/en/casework/centres/{booked['centre']}/day")
    response = desk.post(
        f"/en/casework/centres/appointments/{booked['appointment']}/{action}",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    return desk.get(response.headers["Location"]).text


def _state(app):
    with app.app_context():
        application = db.session.scalar(select(Application))
        appointment = db.session.scalar(select(Appointment))
        return application.status, appointment.status


def test_nothing_is_recorded_before_the_appointment_starts(app, booked):
    desk = _desk(app)
    assert "can be recorded from the start" in _post(desk, booked, "attended")
    assert "once the appointment has ended" in _post(desk, booked, "no-show")
    assert _state(app) == (Status.APPOINTMENT_BOOKED.value, "booked")
    start = (utcnow() + timedelta(days=5)).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Paris")
    )
    day = desk.get(
        f"/en/casework/centres/{booked['centre']}/day?date={start.date().isoformat()}"
    ).text
    assert "Attendance can be recorded from" in day
    assert "Did not come<span" not in day


def test_did_not_come_waits_for_the_end_while_enrolled_is_open_from_the_start(app, booked):
    move_slot(app, booked["slot"], utcnow() - timedelta(minutes=5))
    desk = _desk(app)
    assert "once the appointment has ended" in _post(desk, booked, "no-show")
    assert _state(app) == (Status.APPOINTMENT_BOOKED.value, "booked")
    _post(desk, booked, "attended")
    assert _state(app) == (Status.BIOMETRICS_ENROLLED.value, "attended")


def test_a_mistaken_no_show_is_corrected_to_enrolled_the_same_day_and_audited(app, booked):
    move_slot(app, booked["slot"], utcnow() - timedelta(minutes=30))
    desk = _desk(app)
    _post(desk, booked, "no-show")
    assert _state(app) == (Status.INVITED_TO_BIOMETRICS.value, "no_show")
    page = _post(desk, booked, "correct")
    assert "corrected to biometrics enrolled" in page
    assert _state(app) == (Status.BIOMETRICS_ENROLLED.value, "attended")
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "appointment.corrected")
        )
        assert event.details == {"was": "no_show", "becomes": "attended"}
    assert sent_messages(app)[-1].template == "application_updated"


def test_a_mistaken_enrolment_is_corrected_to_did_not_come_and_the_applicant_told(app, booked):
    move_slot(app, booked["slot"], utcnow() - timedelta(minutes=30))
    desk = _desk(app)
    _post(desk, booked, "attended")
    _post(desk, booked, "correct")
    assert _state(app) == (Status.INVITED_TO_BIOMETRICS.value, "no_show")
    assert sent_messages(app)[-1].template == "appointment_missed"


def test_staff_of_another_role_cannot_correct_a_mark(app, booked):
    move_slot(app, booked["slot"], utcnow() - timedelta(minutes=30))
    _post(_desk(app), booked, "no-show")
    admin = _desk(app, Role.ADMIN, "admin@example.org")
    assert "by staff of the same role" in _post(admin, booked, "correct")
    assert _state(app) == (Status.INVITED_TO_BIOMETRICS.value, "no_show")


def test_a_mark_from_an_earlier_day_cannot_be_corrected(app, booked):
    move_slot(app, booked["slot"], utcnow() - timedelta(days=2))
    desk = _desk(app)
    _post(desk, booked, "attended")
    with app.app_context():
        db.session.execute(update(Appointment).values(ended_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    assert "on the day it was made" in _post(desk, booked, "correct")
    assert _state(app) == (Status.BIOMETRICS_ENROLLED.value, "attended")
    with app.app_context():
        assert not db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "appointment.corrected")
        )


def test_a_no_show_is_not_corrected_once_the_applicant_has_booked_again(app, booked, client):
    move_slot(app, booked["slot"], utcnow() - timedelta(minutes=30))
    desk = _desk(app)
    _post(desk, booked, "no-show")
    later = (utcnow() + timedelta(days=6)).replace(second=0, microsecond=0)
    slot = make_slot(app, booked["centre"], later)
    day = later.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).date()
    path = f"/en/application/appointment/centre/{booked['centre']}/{day.isoformat()}?who=me"
    assert submit(client, path, {"slot": str(slot)}).status_code == 302
    assert "has moved on" in _post(desk, booked, "correct")
    with app.app_context():
        assert db.session.scalar(select(Application.status)) == Status.APPOINTMENT_BOOKED.value
