"""The security baseline: headers, CSRF, caching, rate limits, audit log, error pages."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import create_app
from portal.extensions import db
from portal.keys import new_key_text
from portal.models import Role
from tests.conftest import redis_test_url
from tests.helpers import (
    PASSWORD,
    check_page,
    csrf_token,
    link_in,
    make_user,
    sent_messages,
    sign_in,
    submit,
)

EMAIL = "amina@example.org"


def test_security_headers_on_every_kind_of_response(client):
    for path in ("/en/", "/en/sign-in", "/en/no-such-page", "/livez"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "style-src 'self'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers


def test_hsts_and_secure_host_cookie_in_production(config, tmp_path):
    config.ENV = "production"
    config.NOTIFY_BACKEND = "smtp"
    config.SMS_BACKEND = "aws"  # production refuses to start without a channel for SMS
    config.CLAMD_HOST = "127.0.0.1"  # nor without a virus scanner
    config.BASE_URL = "https://apply.example.org"
    config.DOCUMENT_KEY = new_key_text()
    if config.DATABASE_URL.startswith("sqlite"):
        # Production refuses SQLite; build the settings by hand to look at the cookie flags.
        pytest.skip("production mode needs PostgreSQL")
    app = create_app(config)
    client = app.test_client()
    response = client.get("/en/sign-in", base_url="https://apply.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Domain=" not in cookie


def test_session_cookie_is_httponly_and_samesite(client):
    cookie = client.get("/en/sign-in").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signed_in_pages_are_never_cached(client, app):
    make_user(app, EMAIL)
    assert "no-store" not in client.get("/en/privacy").headers.get("Cache-Control", "")
    sign_in(client, EMAIL)
    for path in ("/en/account", "/en/privacy"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_post_without_csrf_token_is_refused_and_keeps_the_answers(client, app):
    response = client.post(
        "/en/create-account",
        data={"email": "amina@example.org", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert response.status_code == 400
    assert 'value="amina@example.org"' in response.text
    assert "This page was open for a long time" in response.text
    assert PASSWORD not in response.text, "passwords are never sent back"
    check_page(response, "en", "ltr")
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_expired_csrf_token_shows_the_form_again_with_answers_and_a_fresh_token(config):
    config.CSRF_TIME_LIMIT_SECONDS = 1
    app = create_app(config)
    client = app.test_client()
    page = client.get("/fr/forgot-password")
    token = csrf_token(page.text)
    import time

    time.sleep(2)
    response = client.post(
        "/fr/forgot-password", data={"email": "amina@example.org", "csrf_token": token}
    )
    assert response.status_code == 400
    assert 'value="amina@example.org"' in response.text
    assert csrf_token(response.text) != token
    check_page(response, "fr", "ltr")
    again = client.post(
        "/fr/forgot-password",
        data={"email": "amina@example.org", "csrf_token": csrf_token(response.text)},
    )
    assert again.status_code == 302


def test_sign_out_needs_a_csrf_token(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    assert client.post("/en/sign-out").status_code == 400
    assert client.get("/en/account").status_code == 200, "still signed in"


@pytest.fixture
def limited_app(config) -> Flask:
    config.RATELIMIT_ENABLED = True
    return create_app(config)


def test_wrong_passwords_from_one_address_are_slowed(limited_app):
    """The growing delays themselves are tested in test_sign_in_throttling.py."""
    client = limited_app.test_client()
    statuses = [
        submit(client, "/en/sign-in", {"email": EMAIL, "password": "wrong password!"}).status_code
        for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    limited = submit(client, "/en/sign-in", {"email": EMAIL, "password": "wrong password!"})
    assert "Too many attempts" in limited.text
    check_page(limited, "en", "ltr")


def test_password_reset_emails_are_capped_per_account_not_per_form(limited_app):
    """A stranger posting the holder's address neither gets a 429 nor floods the holder's inbox,
    and the holder's own request still answers (the last link sent stays valid)."""
    make_user(limited_app, EMAIL)
    client = limited_app.test_client()
    statuses = [
        submit(client, "/fr/forgot-password", {"email": EMAIL}).status_code for _ in range(7)
    ]
    assert statuses == [302] * 7
    resets = [m for m in sent_messages(limited_app) if m.template == "reset_password"]
    assert len(resets) == 5
    reset_page = client.get(link_in(resets[-1]))
    assert reset_page.status_code == 200


def test_registration_is_limited_per_email_address(limited_app):
    client = limited_app.test_client()
    statuses = [
        submit(
            client,
            "/en/create-account",
            {"email": EMAIL, "password": PASSWORD, "password_confirm": PASSWORD},
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [302] * 5 + [429]
    other = submit(
        client,
        "/en/create-account",
        {"email": "someone.else@example.org", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert other.status_code == 302


def test_staff_cannot_reach_staff_pages_before_two_factor(client, app):
    make_user(app, "admin@example.org", Role.ADMIN)
    response = sign_in(client, "admin@example.org")
    assert response.headers["Location"] == "/en/two-factor/set-up"
    for path in ("/en/admin/staff", "/en/account"):
        assert client.get(path).headers["Location"] == "/en/two-factor/set-up"


def test_applicants_and_other_staff_get_404_on_admin_pages(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    assert client.get("/en/admin/staff").status_code == 404


def test_audit_log_refuses_updates_and_deletes(app):
    make_user(app, EMAIL)
    with app.app_context():
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM audit_events")).scalar() == 1


def test_unexpected_error_shows_a_translated_page_without_details(config):
    app = create_app(config)

    @app.route("/<locale>/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/fr/boom")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    check_page(response, "fr", "ltr")


def test_request_too_large_gets_the_413_page(client):
    response = client.post("/en/sign-in", data={"email": "x" * (11 * 1024 * 1024)})
    assert response.status_code == 413
    check_page(response, "en", "ltr")


def test_request_id_is_returned_and_a_safe_one_is_kept(client):
    assert len(client.get("/en/").headers["X-Request-Id"]) == 16
    kept = client.get("/en/", headers={"X-Request-Id": "lb-request-12345678"})
    assert kept.headers["X-Request-Id"] == "lb-request-12345678"
    replaced = client.get("/en/", headers={"X-Request-Id": "<script>"})
    assert replaced.headers["X-Request-Id"] != "<script>"


def test_logs_are_json_and_never_contain_passwords_or_emails(client, app):
    import io
    import json

    from portal.logs import configure_logging

    buffer = io.StringIO()
    configure_logging("INFO", buffer)
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    submit(client, "/en/forgot-password", {"email": "nobody@example.org"})
    err = buffer.getvalue()
    lines = [line for line in err.splitlines() if line.startswith("{")]
    assert lines, "the access log writes JSON lines"
    for line in lines:
        record = json.loads(line)
        assert "request_id" in record
    access = [json.loads(line) for line in lines if '"portal.access"' in line]
    assert access and all("/reset-password/" not in json.dumps(r) for r in access)
    assert PASSWORD not in err
    assert "nobody@example.org" not in err


def test_rate_limits_are_shared_between_servers_through_redis(config):
    """Two app instances (two servers) count attempts together when Redis holds the counters."""
    import uuid

    import redis

    redis.Redis.from_url(redis_test_url()).flushdb()
    config.RATELIMIT_ENABLED = True
    config.RATELIMIT_STORAGE_URL = redis_test_url()
    first, second = create_app(config).test_client(), create_app(config).test_client()
    email = f"{uuid.uuid4().hex}@example.org"
    form = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD}
    statuses = [
        submit(client, "/en/create-account", form).status_code
        for client in (first, second, first, second, first, second)
    ]
    assert statuses == [302] * 5 + [429]


def test_database_down_gives_503_health_and_a_translated_error_page(config, app):
    from tests.helpers import make_user

    make_user(app, EMAIL)
    client = app.test_client()
    sign_in(client, EMAIL)
    config.DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"
    down = create_app(config)
    down_client = down.test_client()
    with client.session_transaction() as session:
        signed_in_cookie = dict(session)
    with down_client.session_transaction() as session:
        session.update(signed_in_cookie)
    health = down_client.get("/readyz")
    assert health.status_code == 503
    assert health.json["checks"]["database"] == "unavailable"
    page = down_client.get("/fr/account")
    assert page.status_code == 500
    assert "Try again later" in page.text or "Réessayez plus tard" in page.text
    assert '<html lang="fr"' in page.text
    assert "Traceback" not in page.text


def test_security_headers_keep_what_a_page_set_and_are_each_sent_once(app):
    from flask import Response

    from portal.security import SECURITY_HEADERS, apply_security_headers

    with app.test_request_context("/en/"):
        response = Response("x")
        response.headers["content-security-policy"] = "default-src 'none'; sandbox"
        apply_security_headers(response)
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'; sandbox"]
    for name, value in SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert response.headers.getlist(name) == [value], name
