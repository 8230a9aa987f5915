"""Booking, moving and cancelling biometric appointments through the pages; what the centre and
the scheduler do; who may see what."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale, gettext
from icalendar import Calendar
from sqlalchemy import func, select, update

from portal.appointments import centres
from portal.extensions import db
from portal.models import Application, Appointment, AuditEvent, Role, Slot, Status, utcnow
from tests.apply_helpers import send_family_member
from tests.appointment_helpers import application_of, invite, make_centre, make_slot, move_slot
from tests.factories import send_application
from tests.helpers import csrf_token, make_user, sent_messages, sign_in_staff, submit

OVERVIEW = "/en/application/appointment"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def invited(app, client):
    """Amina, signed in, invited to biometrics; a centre with two slots five days ahead."""
    send_application(client, app)
    invite(app, application_of(app, "amina@example.org"))
    centre = make_centre(app)
    soon = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    first = make_slot(app, centre, soon, capacity=1)
    second = make_slot(app, centre, soon + timedelta(minutes=20), capacity=3)
    return {"client": client, "centre": centre, "first": first, "second": second, "day": soon}


def in_english(app, message) -> str:
    """The English of a message's first line (the test applicant reads messages in Arabic)."""
    first_line = message.body.splitlines()[0]
    for english in (
        "Your biometric appointment is booked.",
        "Your biometric appointment has moved to a new time.",
        "The centre had to close at the time of your biometric appointment, so the appointment "
        "is cancelled. We are sorry.",
    ):
        with app.test_request_context(), force_locale(message.locale):
            if gettext(english) == first_line:
                return english
    return first_line


def status_of(app, email="amina@example.org") -> str:
    with app.app_context():
        return db.session.get(Application, application_of(app, email)).status


def booked(app, slot_id) -> int:
    with app.app_context():
        return db.session.get(Slot, slot_id).booked


def book(client, centre, slot, day, who="me"):
    paris_day = day.astimezone(PARIS).date()
    path = f"{OVERVIEW}/centre/{centre}/{paris_day.isoformat()}?who={who}"
    return submit(client, path, {"slot": str(slot)})


def test_an_invited_applicant_books_through_centre_day_and_time(app, invited):
    client = invited["client"]
    overview = client.get(OVERVIEW)
    assert "Book an appointment" in overview.text
    response = submit(client, OVERVIEW + "/centre", {"centre": str(invited["centre"])})
    assert response.status_code == 302
    days = client.get(response.headers["Location"])
    assert "Choose a day" in days.text and "2 times free" in days.text
    day_link = re.search(r'href="([^"]+/centre/[^"]+/\d{4}-\d\d-\d\d[^"]*)"', days.text).group(1)
    times = client.get(day_link.replace("&amp;", "&"))
    assert "Times are Paris time." in times.text and "9:00\u202fAM" in times.text, times.text

    response = client.post(
        day_link.replace("&amp;", "&"),
        data={"csrf_token": csrf_token(times.text), "slot": str(invited["first"])},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/confirmation")
    confirmation = client.get(response.headers["Location"])
    assert "Your appointment is booked" in confirmation.text
    assert "Centre de Lille" in confirmation.text
    assert status_of(app) == Status.APPOINTMENT_BOOKED.value
    assert booked(app, invited["first"]) == 1

    email = next(m for m in sent_messages(app) if m.template == "appointment_booked")
    # The map is on the portal's appointment page: a message links only to the portal.
    assert "EOI-" in email.body and "/application/appointment" in email.body
    assert "openstreetmap.org" not in email.body
    (attachment,) = email.attachments
    (event,) = Calendar.from_ical(attachment.data).walk("VEVENT")
    assert event["DTSTART"].dt.tzinfo.key == "Europe/Paris"
    assert event["DTSTART"].dt == invited["day"]
    ics = client.get(OVERVIEW + "/calendar.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert b"BEGIN:VEVENT" in ics.data


def test_a_time_just_taken_is_said_on_the_page_and_nothing_is_booked(app, invited):
    with app.app_context():
        db.session.execute(update(Slot).where(Slot.id == invited["first"]).values(booked=1))
        db.session.commit()
    response = book(invited["client"], invited["centre"], invited["first"], invited["day"])
    assert response.status_code == 409
    assert "That time has just been taken. Choose another time." in response.text
    assert "govuk-error-summary" in response.text
    assert status_of(app) == Status.INVITED_TO_BIOMETRICS.value


def test_no_time_chosen_is_an_error_on_the_page(app, invited):
    response = book(invited["client"], invited["centre"], "", invited["day"])
    assert response.status_code == 400 and "Select a time" in response.text


def test_moving_takes_the_new_time_and_frees_the_old(app, invited):
    client = invited["client"]
    assert book(client, invited["centre"], invited["first"], invited["day"]).status_code == 302
    response = book(client, invited["centre"], invited["second"], invited["day"])
    assert response.status_code == 302
    assert booked(app, invited["first"]) == 0 and booked(app, invited["second"]) == 1
    with app.app_context():
        statuses = sorted(a.status for a in db.session.scalars(select(Appointment)))
    assert statuses == ["booked", "moved"]
    emails = [m for m in sent_messages(app) if m.template == "appointment_booked" and m.subject]
    assert [in_english(app, m) for m in emails] == [
        "Your biometric appointment is booked.",
        "Your biometric appointment has moved to a new time.",
    ]


def test_cancelling_frees_the_place_and_the_applicant_can_book_again(app, invited):
    client = invited["client"]
    book(client, invited["centre"], invited["first"], invited["day"])
    response = submit(client, OVERVIEW + "/cancel")
    assert response.status_code == 302
    assert booked(app, invited["first"]) == 0
    assert status_of(app) == Status.INVITED_TO_BIOMETRICS.value
    assert "Book an appointment" in client.get(OVERVIEW).text


def test_no_moving_or_cancelling_inside_the_cut_off(app, invited):
    client = invited["client"]
    book(client, invited["centre"], invited["first"], invited["day"])
    with app.app_context():
        db.session.execute(
            update(Slot)
            .where(Slot.id == invited["first"])
            .values(
                starts_at=utcnow() + timedelta(hours=47), ends_at=utcnow() + timedelta(hours=48)
            )
        )
        db.session.commit()
    page = client.get(OVERVIEW)
    assert "less than 48 hours away" in page.text and "Move the appointment" not in page.text
    response = client.get(OVERVIEW + "/cancel")
    assert response.status_code == 302
    assert "less than 48 hours away" in client.get(OVERVIEW).text
    assert booked(app, invited["first"]) == 1


def test_only_invited_applicants_book_and_staff_pages_are_not_theirs(app, client):
    send_application(client, app)
    assert client.get(OVERVIEW).headers["Location"].endswith("/application/status")
    assert client.get(OVERVIEW + "/calendar.ics").status_code == 302
    centre = make_centre(app)
    assert client.get(f"/en/casework/centres/{centre}/day").status_code == 404
    assert client.get("/en/casework/centres/").status_code == 404


def invited_family(app, client):
    """Amina (main applicant, signed in on `client`) and Omar (family member, on the returned
    client), both invited; a centre and the day five days ahead."""
    send_application(client, app)
    with app.app_context():
        main = db.session.get(Application, application_of(app, "amina@example.org"))
        family_reference = main.family_group.reference
    member = app.test_client()
    send_family_member(member, app, "omar@example.org", family_reference, "Omar")
    invite(app, application_of(app, "amina@example.org"))
    invite(app, application_of(app, "omar@example.org"))
    day = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    return member, make_centre(app), day


def test_a_family_books_one_time_together(app, client):
    member, centre, day = invited_family(app, client)
    single = make_slot(app, centre, day, capacity=1)
    roomy = make_slot(app, centre, day + timedelta(minutes=20), capacity=3)

    page = client.get(OVERVIEW + "/centre")
    assert "Me and my family group, together" in page.text and "Omar" in page.text
    assert book(client, centre, single, day, who="family").status_code == 409
    assert book(client, centre, roomy, day, who="family").status_code == 302
    assert booked(app, roomy) == 2
    assert status_of(app, "omar@example.org") == Status.APPOINTMENT_BOOKED.value
    assert "Centre de Lille" in member.get(OVERVIEW).text


def test_withdrawing_gives_the_place_back(app, invited):
    client = invited["client"]
    book(client, invited["centre"], invited["first"], invited["day"])
    assert submit(client, "/en/application/withdraw").status_code == 302
    assert status_of(app) == Status.WITHDRAWN.value
    assert booked(app, invited["first"]) == 0


def test_a_member_who_moves_alone_leaves_the_family_booking(app, client):
    member, centre, day = invited_family(app, client)
    together = make_slot(app, centre, day, capacity=3)
    alone = make_slot(app, centre, day + timedelta(minutes=20), capacity=3)
    later = make_slot(app, centre, day + timedelta(minutes=40), capacity=3)
    assert book(client, centre, together, day, who="family").status_code == 302
    assert book(member, centre, alone, day).status_code == 302
    assert (booked(app, together), booked(app, alone)) == (1, 1)
    # The main applicant moving now moves only themselves: Omar is no longer with them.
    assert book(client, centre, later, day).status_code == 302
    assert (booked(app, together), booked(app, alone), booked(app, later)) == (0, 1, 1)


def staff(app, role=Role.CASEWORKER, email="cw@example.org"):
    client = app.test_client()
    make_user(app, email, role)
    sign_in_staff(client, app, email)
    return client


def test_the_centre_marks_attended_and_no_show_and_a_second_no_show_ends_booking(app, invited):
    client = invited["client"]
    book(client, invited["centre"], invited["second"], invited["day"])
    desk = staff(app)
    ended = utcnow() - timedelta(hours=1)
    move_slot(app, invited["second"], ended)
    day = ended.astimezone(PARIS).date()
    day_list = desk.get(f"/en/casework/centres/{invited['centre']}/day?date={day.isoformat()}")
    assert day_list.status_code == 200 and "Amina" in day_list.text

    with app.app_context():
        appointment = db.session.scalar(select(Appointment).where(Appointment.status == "booked"))
        appointment_id = appointment.id
    response = desk.post(
        f"/en/casework/centres/appointments/{appointment_id}/no-show",
        data={"csrf_token": csrf_token(day_list.text)},
    )
    assert response.status_code == 302
    assert status_of(app) == Status.INVITED_TO_BIOMETRICS.value
    assert "You missed an appointment. You can book one more." in client.get(OVERVIEW).text

    move_slot(app, invited["second"], invited["day"] + timedelta(minutes=20))
    book(client, invited["centre"], invited["second"], invited["day"])
    move_slot(app, invited["second"], ended)
    with app.app_context():
        second = db.session.scalar(select(Appointment).where(Appointment.status == "booked")).id
    desk.post(
        f"/en/casework/centres/appointments/{second}/no-show",
        data={"csrf_token": csrf_token(day_list.text)},
    )
    # The second miss stops booking and sends the application back to a caseworker (see
    # test_application_life for what they can decide).
    assert client.get(OVERVIEW + "/centre").status_code == 302
    assert status_of(app) == Status.SUBMITTED.value
    assert sent_messages(app)[-2].template == "appointment_missed"


def test_attended_moves_the_application_to_biometrics_enrolled(app, invited):
    book(invited["client"], invited["centre"], invited["second"], invited["day"])
    move_slot(app, invited["second"], utcnow() - timedelta(minutes=5))
    desk = staff(app)
    with app.app_context():
        appointment_id = db.session.scalar(select(Appointment.id))
    page = desk.get(f"/en/casework/centres/{invited['centre']}/day")
    response = desk.post(
        f"/en/casework/centres/appointments/{appointment_id}/attended",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    assert status_of(app) == Status.BIOMETRICS_ENROLLED.value


def test_reminders_and_nudges_go_once_however_often_the_command_runs(app, invited):
    other = app.test_client()
    send_application(other, app, "nadia@example.org")
    invite(app, application_of(app, "nadia@example.org"), utcnow() - timedelta(days=4))
    book(invited["client"], invited["centre"], invited["second"], invited["day"])
    with app.app_context():
        db.session.execute(
            update(Slot)
            .where(Slot.id == invited["second"])
            .values(
                starts_at=utcnow() + timedelta(days=1),
                ends_at=utcnow() + timedelta(days=1, minutes=20),
            )
        )
        db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-reminders"])
    again = runner.invoke(args=["send-reminders"])
    assert "reminders sent: 1, nudges sent: 1" in first.output
    assert "reminders sent: 0, nudges sent: 0" in again.output
    templates = [m.template for m in sent_messages(app)]
    assert templates.count("appointment_reminder") == 2  # one email, one SMS
    assert templates.count("booking_nudge") == 2


def test_closing_a_booked_slot_tells_the_applicant_who_can_book_again(app, invited):
    book(invited["client"], invited["centre"], invited["second"], invited["day"])
    admin = staff(app, Role.ADMIN, "admin@example.org")
    page = admin.get(f"/en/casework/centres/{invited['centre']}/slots")
    assert page.status_code == 200
    response = admin.post(
        f"/en/casework/centres/slots/{invited['second']}/close",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    assert status_of(app) == Status.INVITED_TO_BIOMETRICS.value
    assert booked(app, invited["second"]) == 0
    cancelled = [m for m in sent_messages(app) if m.template == "appointment_cancelled"]
    assert cancelled and in_english(app, cancelled[0]).startswith("The centre had to close")
    refused = admin.post(
        f"/en/casework/centres/slots/{invited['second']}/delete",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Slot, invited["second"]) is not None


def test_an_admin_adds_slots_from_a_weekly_pattern_skipping_holidays(app):
    admin = staff(app, Role.ADMIN, "admin@example.org")
    centre = make_centre(app)
    path = f"/en/casework/centres/{centre}/slots"
    response = submit(
        admin,
        path,
        {
            "weekdays": ["0", "1", "2", "3", "4"],
            "opens": "09:00",
            "closes": "10:00",
            "slot_minutes": "20",
            "capacity": "2",
            "first": "2027-05-03",
            "last": "2027-05-09",
            "closures": "2027-05-05\n",
        },
    )
    assert response.status_code == 302, response.text[-1500:]
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Slot))
    assert count == 3 * 3  # Mon, Tue, Fri: Wed is closed, Thu 6 May is Ascension Day
    bad = submit(admin, path, {"weekdays": ["0"], "opens": "9am", "closes": "10:00"})
    assert bad.status_code == 400 and "Enter the start time as HH:MM" in bad.text


def test_the_day_list_view_is_audited(app, invited):
    desk = staff(app)
    desk.get(f"/en/casework/centres/{invited['centre']}/day")
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "centre.day_list_viewed" in actions


def test_demo_centres_are_the_five_of_the_pilot(app):
    with app.app_context():
        names = [centre.city for centre in centres.seed_demo_centres()]
        assert names == ["Paris", "Lille", "Calais", "Lyon", "Marseille"]
        again = [centre.id for centre in centres.seed_demo_centres()]
        assert len(set(again)) == 5
