"""Proving presence in France through the link sent after submission."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import PresenceCheck, utcnow
from tests.factories import send_application
from tests.helpers import check_page, last_message, link_in


def submitted_with_link(client, app):
    send_application(client, app)
    return link_in(last_message(app, "amina@example.org"))


def page_token(html):
    match = re.search(r'data-csrf-token="([^"]+)"', html)
    assert match, "the page gives its script a CSRF token"
    return match.group(1)


def post_position(phone, path, payload):
    page = phone.get(path)
    return phone.post(path, json=payload, headers={"X-CSRFToken": page_token(page.text)})


def stored_check(app):
    with app.app_context():
        return db.session.scalar(select(PresenceCheck))


def test_link_opened_on_a_phone_in_paris_records_inside_and_nothing_else(client, app):
    path = submitted_with_link(client, app)
    assert path.startswith("/ar/presence/")
    phone = app.test_client()  # another device, not signed in
    page = phone.get(path)
    assert page.status_code == 200
    check_page(page, "ar", "rtl")
    assert "app-no-js-only" in page.text, "the page explains what to do without JavaScript"
    response = post_position(
        phone, path, {"latitude": 48.8566, "longitude": 2.3522, "accuracy": 25.4}
    )
    assert response.status_code == 200
    assert response.json["next"].endswith("/result")
    check = stored_check(app)
    assert check.outcome == "inside" and check.accuracy_metres == 25
    assert not hasattr(check, "latitude"), "the position itself is never stored"
    result = phone.get(response.json["next"])
    assert result.status_code == 200
    check_page(result, "ar", "rtl")


def test_a_position_in_london_is_outside(client, app):
    path = submitted_with_link(client, app)
    phone = app.test_client()
    post_position(phone, path, {"latitude": 51.5072, "longitude": -0.1276})
    assert stored_check(app).outcome == "outside"


def test_refused_location_is_recorded_for_a_caseworker(client, app):
    path = submitted_with_link(client, app)
    phone = app.test_client()
    post_position(phone, path, {"refused": True})
    assert stored_check(app).outcome == "refused"


def test_the_link_works_once(client, app):
    path = submitted_with_link(client, app)
    phone = app.test_client()
    token = page_token(phone.get(path).text)
    phone.post(path, json={"latitude": 48.85, "longitude": 2.35}, headers={"X-CSRFToken": token})
    assert phone.get(path).status_code == 410
    again = phone.post(
        path, json={"latitude": 51.5, "longitude": -0.12}, headers={"X-CSRFToken": token}
    )
    assert again.status_code == 409
    assert stored_check(app).outcome == "inside"


def test_an_expired_link_is_refused_kindly(client, app):
    path = submitted_with_link(client, app)
    with app.app_context():
        db.session.execute(update(PresenceCheck).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    page = app.test_client().get(path)
    assert page.status_code == 410
    assert "24 hours" in page.text or "24" in page.text


def test_garbage_positions_are_refused(client, app):
    path = submitted_with_link(client, app)
    phone = app.test_client()
    assert post_position(phone, path, {"latitude": "here", "longitude": 2}).status_code == 400
    assert stored_check(app).outcome is None


def test_unknown_link_is_404(client):
    assert client.get("/en/presence/not-a-real-token").status_code == 404
