"""Staff two-factor authentication: set-up with a QR code, codes once only, recovery codes."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from portal.extensions import db
from portal.models import RecoveryCode, Role, User
from tests.helpers import audit_actions, check_page, csrf_token, make_user, sign_in, totp_secret

EMAIL = "caseworker@example.org"


def set_up(client, app):
    sign_in(client, EMAIL)
    page = client.get("/en/two-factor/set-up")
    assert page.status_code == 200
    check_page(page, "en", "ltr")
    assert 'src="data:image/svg+xml' in page.text
    secret = totp_secret(app, EMAIL)
    assert secret in page.text
    code = pyotp.TOTP(secret).now()
    done = client.post(
        "/en/two-factor/set-up", data={"code": code, "csrf_token": csrf_token(page.text)}
    )
    return done, secret, code


def test_set_up_shows_recovery_codes_once_and_opens_staff_pages(client, app):
    make_user(app, EMAIL, Role.CASEWORKER)
    done, _secret, _code = set_up(client, app)
    assert done.status_code == 200
    codes = re.findall(r"<li>([2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5})</li>", done.text)
    assert len(codes) == 10
    with app.app_context():
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored), "only hashes are kept"
    account = client.get("/en/account")
    assert account.status_code == 200
    assert "two_factor_set_up" in audit_actions(app)


def test_wrong_code_at_set_up_is_refused_with_a_message(client, app):
    make_user(app, EMAIL, Role.CASEWORKER)
    sign_in(client, EMAIL)
    page = client.get("/en/two-factor/set-up")
    response = client.post(
        "/en/two-factor/set-up", data={"code": "000000", "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 200
    assert "The code is not right" in response.text
    assert client.get("/en/account").headers["Location"] == "/en/two-factor/set-up"


def test_next_sign_in_asks_for_a_code_and_refuses_a_replayed_one(client, app):
    make_user(app, EMAIL, Role.CASEWORKER)
    _done, secret, used_code = set_up(client, app)
    client.post("/en/sign-out", data={"csrf_token": csrf_token(client.get("/en/account").text)})

    response = sign_in(client, EMAIL)
    assert response.headers["Location"] == "/en/two-factor"
    page = client.get("/en/two-factor")
    replay = client.post(
        "/en/two-factor", data={"code": used_code, "csrf_token": csrf_token(page.text)}
    )
    assert replay.status_code == 200 and "The code is not right" in replay.text

    totp = pyotp.TOTP(secret)
    next_code = totp.at(time.time() + totp.interval)
    ok = client.post(
        "/en/two-factor", data={"code": next_code, "csrf_token": csrf_token(page.text)}
    )
    assert ok.headers["Location"] == "/en/account"
    assert client.get("/en/account").status_code == 200


def test_a_recovery_code_works_once(client, app):
    make_user(app, EMAIL, Role.CASEWORKER)
    done, _secret, _code = set_up(client, app)
    recovery = re.findall(r"<li>([2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5})</li>", done.text)[0]
    for attempt, expected in ((1, 302), (2, 200)):
        other = app.test_client()
        sign_in(other, EMAIL)
        page = other.get("/en/two-factor")
        response = other.post(
            "/en/two-factor", data={"code": recovery.lower(), "csrf_token": csrf_token(page.text)}
        )
        assert response.status_code == expected, attempt
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        from portal.auth.totp import recovery_codes_left

        assert recovery_codes_left(user) == 9


def test_applicants_are_never_asked_for_two_factor(client, app):
    make_user(app, "amina@example.org")
    assert sign_in(client, "amina@example.org").headers["Location"] == "/en/application"
    assert client.get("/en/two-factor/set-up").headers["Location"] == "/en/account"


def test_admin_sees_staff_accounts_and_the_view_is_audited(client, app):
    make_user(app, EMAIL, Role.ADMIN)
    make_user(app, "support@example.org", Role.SUPPORT)
    make_user(app, "amina@example.org")
    set_up(client, app)
    page = client.get("/en/admin/staff")
    assert page.status_code == 200
    check_page(page, "en", "ltr")
    assert "support@example.org" in page.text
    assert "amina@example.org" not in page.text
    assert audit_actions(app)[-1] == "viewed_staff_accounts"
