"""Admins close, change, pause and resume application windows; every change is audited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Application, ApplicationWindow, AuditEvent, Role, Status, utcnow
from tests.apply_helpers import fill_in, open_a_window, send_draft, start_application
from tests.helpers import csrf_token, make_user, sent_messages, sign_in_staff, submit


def _admin(app):
    client = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(client, app, "admin@example.org")
    return client


def _window(app) -> ApplicationWindow:
    with app.app_context():
        window = db.session.scalar(select(ApplicationWindow))
        db.session.expunge(window)
        return window


def _act(client, window, action):
    page = client.get(f"/en/admin/windows/{window.id}")
    return client.post(
        f"/en/admin/windows/{window.id}/{action}", data={"csrf_token": csrf_token(page.text)}
    )


def _audited(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _check_answers_says_no_window(client):
    """The page says no window is open; a send posted anyway (an old tab) keeps the draft."""
    page = client.get("/en/application/check-your-answers")
    assert "no application window is open" in page.text
    response = client.post(
        "/en/application/check-your-answers",
        data={"csrf_token": csrf_token(page.text), "submission_key": "an-old-tab"},
    )
    assert response.status_code == 200, response.headers.get("Location")
    assert "no application window is open" in response.text
    return response


def test_closing_a_window_now_stops_submissions_and_is_audited(client, app):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    admin = _admin(app)
    window = _window(app)
    assert _act(admin, window, "close").status_code == 302
    assert _window(app).closes_at <= utcnow()
    _check_answers_says_no_window(client)
    with app.app_context():
        assert db.session.scalar(select(Application.status)) == Status.DRAFT.value
    (event,) = _audited(app, "window_closed")
    assert event.subject_id == str(window.id) or str(event.subject_id) == str(window.id)


def test_a_window_that_has_not_opened_cannot_be_closed_only_paused(app):
    with app.app_context():
        from portal.apply import windows

        now = utcnow()
        windows.create_window("Later", now + timedelta(days=1), now + timedelta(days=9), 10)
    admin = _admin(app)
    window = _window(app)
    response = _act(admin, window, "close")
    assert response.status_code == 302
    assert "not opened yet" in admin.get(response.headers["Location"]).text
    assert _window(app).closes_at == window.closes_at
    assert not _audited(app, "window_closed")


def test_places_never_go_below_the_places_taken(client, app):
    open_a_window(app, places=5)
    with app.app_context():
        db.session.execute(update(ApplicationWindow).values(places_taken=3))
        db.session.commit()
    admin = _admin(app)
    window = _window(app)
    closes = window.closes_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    day = [str(closes.day), str(closes.month), str(closes.year)]
    response = submit(
        admin,
        f"/en/admin/windows/{window.id}",
        {"closes_on": day, "closes_at": closes.strftime("%H:%M"), "places": "2"},
    )
    assert response.status_code == 400
    assert "3 places are already taken" in response.text
    assert _window(app).places == 5
    assert not _audited(app, "window_changed")


def test_changing_closing_time_and_places_is_audited_with_before_and_after(app):
    open_a_window(app, places=5)
    admin = _admin(app)
    window = _window(app)
    later = (utcnow() + timedelta(days=60)).date()
    response = submit(
        admin,
        f"/en/admin/windows/{window.id}",
        {
            "closes_on": [str(later.day), str(later.month), str(later.year)],
            "closes_at": "18:00",
            "places": "40",
        },
    )
    assert response.status_code == 302, response.text
    changed = _window(app)
    assert changed.places == 40
    assert changed.closes_at.date() == later or changed.closes_at.date() == later - timedelta(1)
    (event,) = _audited(app, "window_changed")
    assert event.details["before"]["places"] == 5
    assert event.details["after"]["places"] == 40


def test_a_closing_time_in_the_past_is_refused_with_the_way_to_close(app):
    open_a_window(app)
    with app.app_context():
        db.session.execute(update(ApplicationWindow).values(opens_at=utcnow() - timedelta(days=10)))
        db.session.commit()
    admin = _admin(app)
    window = _window(app)
    earlier = (utcnow() - timedelta(days=2)).date()
    response = submit(
        admin,
        f"/en/admin/windows/{window.id}",
        {
            "closes_on": [str(earlier.day), str(earlier.month), str(earlier.year)],
            "closes_at": "12:00",
            "places": "100",
        },
    )
    assert response.status_code == 400
    assert "must be in the future" in response.text


def test_a_paused_window_takes_no_submission_and_resuming_tells_finished_drafts(client, app):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    admin = _admin(app)
    window = _window(app)
    assert _act(admin, window, "pause").status_code == 302
    assert _window(app).paused_at is not None
    _check_answers_says_no_window(client)
    with app.app_context():
        assert db.session.scalar(select(Application.status)) == Status.DRAFT.value
        assert db.session.scalar(select(ApplicationWindow.places_taken)) == 0
    before = len([m for m in sent_messages(app) if m.template == "window_open"])
    assert _act(admin, window, "resume").status_code == 302
    told = [m for m in sent_messages(app) if m.template == "window_open"]
    assert len(told) > before
    assert _audited(app, "window_paused") and _audited(app, "window_resumed")
    send_draft(client)


def test_pausing_twice_is_refused_and_changes_nothing(app):
    open_a_window(app)
    admin = _admin(app)
    window = _window(app)
    _act(admin, window, "pause")
    response = _act(admin, window, "pause")
    assert "already paused" in admin.get(response.headers["Location"]).text
    assert len(_audited(app, "window_paused")) == 1


def test_only_admins_manage_windows(client, app):
    open_a_window(app)
    window = _window(app)
    caseworker = app.test_client()
    make_user(app, "case@example.org", Role.CASEWORKER)
    sign_in_staff(caseworker, app, "case@example.org")
    assert caseworker.get(f"/en/admin/windows/{window.id}").status_code == 404
    assert caseworker.post(f"/en/admin/windows/{window.id}/close").status_code in (400, 404)
    assert _window(app).closes_at == window.closes_at
