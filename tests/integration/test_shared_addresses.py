"""Many people behind one address (a shelter's Wi-Fi, a mobile operator's shared address) are not
turned away on the day a window opens, and one address hammering one account is still slowed.

Flask-Limiter is on, with its in-memory storage, as on one production server.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal import create_app
from portal.auth import passwords
from tests.helpers import (
    PASSWORD,
    csrf_token,
    last_message,
    link_in,
    make_user,
    sent_messages,
    submit,
)

SHELTER = "203.0.113.7"
APPLICANTS = 200


@pytest.fixture
def limited_app(config, monkeypatch) -> Flask:
    # Hashing is not what this tests: a cheap Argon2 keeps 200 applicants' hour to seconds.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64))
    config.RATELIMIT_ENABLED = True
    config.RATELIMIT_STORAGE_URL = "memory://"
    return create_app(config)


def at_shelter(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = SHELTER
    return client


def register_confirm_and_sign_in(app: Flask, number: int) -> list[int]:
    """One applicant's hour, with the mistakes people make: every fourth mistypes the second
    password, every third types a wrong password once before the right one."""
    client = at_shelter(app)
    token = csrf_token(client.get("/ar/create-account").text)  # one per browser session

    def post(path: str, data: dict[str, str]) -> TestResponse:
        return client.post(path, data={**data, "csrf_token": token})

    email = f"applicant{number}@example.org"
    statuses = []
    if number % 4 == 0:
        mismatch = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD + "!"}
        statuses.append(post("/ar/create-account", mismatch).status_code)
    form = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD}
    registered = post("/ar/create-account", form)
    statuses.append(registered.status_code)
    assert registered.status_code == 302, registered.text
    confirmed = post(link_in(last_message(app, email)), {})
    statuses.append(confirmed.status_code)
    if number % 3 == 0:
        wrong = post("/ar/sign-in", {"email": email, "password": "not my password"})
        statuses.append(wrong.status_code)
    signed_in = post("/ar/sign-in", {"email": email, "password": PASSWORD})
    statuses.append(signed_in.status_code)
    assert signed_in.status_code == 302, signed_in.text
    return statuses


def test_two_hundred_applicants_on_one_address_are_all_let_in(limited_app):
    statuses = [
        status
        for number in range(APPLICANTS)
        for status in register_confirm_and_sign_in(limited_app, number)
    ]
    assert 429 not in statuses
    # Each applicant reached their application, within the same few minutes.
    assert statuses.count(302) == APPLICANTS * 3


def test_one_address_guessing_one_password_is_still_slowed(limited_app):
    make_user(limited_app, "target@example.org")
    client = at_shelter(limited_app)
    statuses = [
        submit(
            client, "/en/sign-in", {"email": "target@example.org", "password": "guess"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_one_address_registering_one_email_again_and_again_is_slowed(limited_app):
    client = at_shelter(limited_app)
    form = {"email": "target@example.org", "password": PASSWORD, "password_confirm": PASSWORD}
    statuses = [submit(client, "/en/create-account", form).status_code for _ in range(6)]
    assert statuses == [302] * 5 + [429]
    # The owner was told at most five times that the address has an account.
    told = [m for m in sent_messages(limited_app) if m.recipient == "target@example.org"]
    assert len(told) == 5


def test_refused_forms_do_not_count(limited_app):
    """Posts whose CSRF token is refused change nothing, so they use up no one's allowance."""
    client = at_shelter(limited_app)
    form = {"email": "target@example.org", "password": PASSWORD, "password_confirm": PASSWORD}
    for _ in range(10):
        refused = client.post("/en/create-account", data={**form, "csrf_token": "forged"})
        assert refused.status_code == 400
    assert submit(client, "/en/create-account", form).status_code == 302
