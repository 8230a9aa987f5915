"""Wrong passwords slow the guesser down; nobody else can keep an account's holder out (issue 24, 13).

The clock is the app's own (`utcnow`), moved by the `clock` fixture: nothing here sleeps.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from portal import create_app
from portal.auth import routes, services, throttle
from portal.extensions import db
from portal.models import Role, SignInThrottle, User
from tests.helpers import (
    PASSWORD,
    audit_actions,
    check_page,
    make_user,
    sent_messages,
    sign_in,
    sign_in_staff,
    submit,
)

EMAIL = "caseworker@example.org"
WRONG = "not the right password"
HOME = "198.51.100.7"
SLOWED = "Too many attempts to sign in"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(services, "utcnow", moved)
    monkeypatch.setattr(routes, "utcnow", moved)
    return moved


@pytest.fixture
def limited_app(config) -> Flask:
    """Flask-Limiter on, as in production: the old per-account limit lived there."""
    config.RATELIMIT_ENABLED = True
    return create_app(config)


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def try_password(app: Flask, address: str, email: str = EMAIL, password: str = WRONG):
    response = sign_in(client_at(app, address), email, password)
    return response


def retry_after(response: TestResponse) -> int:
    assert response.status_code == 429, response.status_code
    return int(response.headers["Retry-After"])


def account_failures(app: Flask, email: str = EMAIL) -> int:
    with app.app_context():
        key = throttle.keys(email, "").account
        count = db.session.scalar(
            select(SignInThrottle.failures).where(SignInThrottle.key_hash == key)
        )
        return count or 0


def test_tokenless_posts_naming_an_account_never_keep_its_holder_out(limited_app, clock):
    app = limited_app
    make_user(app, EMAIL, Role.CASEWORKER)
    for n in range(3):
        stranger = client_at(app, f"203.0.113.{n}")
        for _ in range(10):
            refused = stranger.post("/en/sign-in", data={"email": EMAIL, "password": WRONG})
            assert refused.status_code == 400
        clock.advance(5 * 60)
    holder = client_at(app, HOME)
    signed_in = sign_in(holder, EMAIL)
    assert signed_in.status_code == 302, signed_in.text
    assert signed_in.headers["Location"].endswith("/two-factor/set-up")
    assert account_failures(app) == 0


def test_the_right_password_never_counts_and_ends_the_run_of_failures(app, clock):
    make_user(app, EMAIL)
    for _ in range(15):
        assert try_password(app, HOME, password=PASSWORD).status_code == 302
    assert account_failures(app) == 0
    for _ in range(4):
        assert try_password(app, HOME).status_code == 200
    assert try_password(app, HOME, password=PASSWORD).status_code == 302
    for _ in range(5):
        assert try_password(app, HOME).status_code == 200, "the count started again"
    assert try_password(app, HOME).status_code == 429


def test_delays_for_one_address_grow_fast_and_are_capped(app, clock):
    make_user(app, EMAIL)
    for _ in range(5):
        assert try_password(app, HOME).status_code == 200
    waits = []
    for _ in range(9):
        wait = retry_after(try_password(app, HOME))
        waits.append(wait)
        clock.advance(wait)
        assert try_password(app, HOME).status_code == 200
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_during_a_delay_even_the_right_password_waits_and_the_page_says_until_when(app, clock):
    make_user(app, EMAIL)
    for _ in range(5):
        try_password(app, HOME)
    slowed = try_password(app, HOME, password=PASSWORD)
    assert retry_after(slowed) == 60
    assert SLOWED in slowed.text and "Try again after 10:01" in slowed.text  # 09:00 UTC in Paris
    assert 'value="caseworker@example.org"' in slowed.text, "the answer is kept"
    check_page(slowed, "en", "ltr")
    in_french = sign_in(client_at(app, HOME), EMAIL, PASSWORD, locale="fr")
    assert in_french.status_code == 429
    assert "Réessayez après 10:01" in in_french.text
    clock.advance(60)
    assert try_password(app, HOME, password=PASSWORD).status_code == 302


def test_guessing_from_many_addresses_is_slowed_mildly_for_the_whole_account(app, clock):
    make_user(app, EMAIL)
    for n in range(10):
        assert try_password(app, f"203.0.113.{n}").status_code == 200
    waits = []
    for n in range(10, 17):
        wait = retry_after(try_password(app, f"203.0.113.{n}"))
        waits.append(wait)
        clock.advance(wait)
        assert try_password(app, f"203.0.113.{n}").status_code == 200
    assert waits == [60, 120, 240, 480, 900, 900, 900]


def test_a_stranger_elsewhere_cannot_keep_the_holder_out(app, clock):
    make_user(app, EMAIL)
    assert try_password(app, HOME, password=PASSWORD).status_code == 302
    for n in range(40):
        stranger = f"203.0.113.{n}"
        response = try_password(app, stranger)
        if response.status_code == 429:
            clock.advance(retry_after(response))
            response = try_password(app, stranger)
        assert response.status_code == 200
    assert try_password(app, "203.0.113.99").status_code == 429, "the account is being slowed"
    # Yet the holder, at an address they signed in from before, signs in straight away.
    at_home = sign_in(client_at(app, HOME), EMAIL)
    assert at_home.status_code == 302
    assert account_failures(app) == 0, "and that ends the run"


def test_the_holder_on_a_new_address_waits_at_most_the_accounts_cap(app, clock):
    make_user(app, EMAIL)
    for n in range(30):
        stranger = f"203.0.113.{n}"
        response = try_password(app, stranger)
        if response.status_code == 429:
            clock.advance(retry_after(response))
            try_password(app, stranger)
    new_phone_network = try_password(app, "192.0.2.44", password=PASSWORD)
    assert retry_after(new_phone_network) <= 15 * 60
    clock.advance(retry_after(new_phone_network))
    assert try_password(app, "192.0.2.44", password=PASSWORD).status_code == 302


def test_the_holder_is_told_once_per_episode_in_their_language(app, clock):
    with app.app_context():
        services.create_user(EMAIL, PASSWORD, Role.APPLICANT, locale="fr")
        db.session.commit()
    for n in range(25):
        response = try_password(app, f"203.0.113.{n % 3}")
        if response.status_code == 429:
            clock.advance(retry_after(response))
    told = [m for m in sent_messages(app) if m.template == "sign_in_slowed"]
    assert len(told) == 1
    assert told[0].recipient == EMAIL and told[0].locale == "fr"
    assert "mauvais mot de passe" in told[0].body
    assert "http://localhost/fr/forgot-password" in told[0].body
    assert audit_actions(app).count("sign_in_slowed_holder_told") == 1
    # A new episode (after the holder signed in) tells them again, once.
    assert try_password(app, HOME, password=PASSWORD).status_code == 302
    for _ in range(8):
        try_password(app, "203.0.113.200")
    assert len([m for m in sent_messages(app) if m.template == "sign_in_slowed"]) == 2


def test_unknown_email_gets_the_same_answers_as_a_known_one(app, clock):
    make_user(app, EMAIL)
    answers = {}
    for email in (EMAIL, "nobody@example.org"):
        statuses = [try_password(app, HOME, email).status_code for _ in range(6)]
        last = try_password(app, HOME, email)
        answers[email] = (statuses, SLOWED in last.text, last.headers.get("Retry-After"))
    assert answers[EMAIL] == answers["nobody@example.org"] == ([200] * 5 + [429], True, "60")
    assert not [m for m in sent_messages(app) if m.recipient == "nobody@example.org"]


def _near_the_ceiling(app: Flask) -> None:
    """99 consecutive failures, as a day of patient guessing from many addresses would leave."""
    assert try_password(app, "203.0.113.1").status_code == 200
    with app.app_context():
        db.session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key_hash == throttle.keys(EMAIL, "").account)
            .values(failures=throttle.CEILING - 1, warned_at=None)
        )
        db.session.commit()


def test_the_ceiling_alerts_admins_and_does_not_lock_the_holder_out(app, clock, caplog):
    make_user(app, EMAIL, Role.CASEWORKER)
    admin_email = "admin@example.org"
    make_user(app, admin_email, Role.ADMIN)
    admin = app.test_client()
    sign_in_staff(admin, app, admin_email)
    assert "wrong passwords in a row" not in admin.get("/en/admin/staff").text
    assert try_password(app, HOME, password=PASSWORD).status_code == 302
    _near_the_ceiling(app)
    caplog.set_level(logging.WARNING, logger="portal.auth.throttle")
    assert try_password(app, "203.0.113.2").status_code == 200
    assert account_failures(app) == throttle.CEILING
    assert "sign_in_failure_ceiling_reached" in audit_actions(app)
    assert any("ceiling reached" in record.message for record in caplog.records)
    staff_page = admin.get("/en/admin/staff").text
    assert "wrong passwords in a row" in staff_page and EMAIL in staff_page
    # New addresses now wait a day per try; the holder's own address still works.
    assert retry_after(try_password(app, "203.0.113.3")) == 24 * 60 * 60
    assert try_password(app, HOME, password=PASSWORD).status_code == 302
    assert "wrong passwords in a row" not in admin.get("/en/admin/staff").text


def test_a_new_password_clears_every_count(app, clock):
    make_user(app, EMAIL)
    _near_the_ceiling(app)
    try_password(app, "203.0.113.2")
    assert retry_after(try_password(app, "192.0.2.44", password=PASSWORD)) == 24 * 60 * 60
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        raw = services.tokens.issue_token(
            user, services.TokenPurpose.RESET_PASSWORD, timedelta(minutes=30)
        )
        db.session.commit()
    new_password = "a brand new long password"
    done = submit(
        app.test_client(),
        f"/en/reset-password/{raw}",
        {"password": new_password, "password_confirm": new_password},
    )
    assert done.status_code == 302, done.text
    assert account_failures(app) == 0
    assert try_password(app, "192.0.2.44", password=new_password).status_code == 302
