"""Registration, confirmation, sign-in and sign-out, password reset: the applicant's account."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AccountToken, User, UserSession, utcnow
from tests.helpers import (
    PASSWORD,
    audit_actions,
    check_page,
    csrf_token,
    last_message,
    link_in,
    make_user,
    sent_messages,
    sign_in,
    submit,
)

EMAIL = "amina@example.org"


def register(client, email=EMAIL, password=PASSWORD, locale="en"):
    return submit(
        client,
        f"/{locale}/create-account",
        {"email": email, "password": password, "password_confirm": password},
    )


def confirm(client, app, email=EMAIL):
    path = link_in(last_message(app, email))
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_token(page.text)})


def test_register_confirm_sign_in_and_sign_out(client, app):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/en/create-account/check-your-email"
    assert EMAIL in client.get("/en/create-account/check-your-email").text

    message = last_message(app, EMAIL)
    assert message.template == "confirm_email"
    assert message.subject == "Confirm your email address"

    confirmed = confirm(client, app)
    assert confirmed.headers["Location"] == "/en/sign-in"
    assert "Your email address is confirmed" in client.get("/en/sign-in").text

    signed_in = sign_in(client, EMAIL)
    assert signed_in.headers["Location"] == "/en/application"
    account = client.get("/en/account")
    assert account.status_code == 200 and EMAIL in account.text
    check_page(account, "en", "ltr")

    out = client.post("/en/sign-out", data={"csrf_token": csrf_token(account.text)})
    assert out.headers["Location"] == "/en/signed-out"
    assert client.get("/en/account").headers["Location"] == "/en/sign-in?next=/en/account"
    assert audit_actions(app) == [
        "account_registered",
        "email_confirmed",
        "signed_in",
        "signed_out",
    ]


def test_unconfirmed_account_cannot_sign_in_and_gets_a_new_link(client, app):
    register(client)
    response = sign_in(client, EMAIL)
    assert response.status_code == 200
    assert "Check your email" in response.text
    assert len([m for m in sent_messages(app) if m.template == "confirm_email"]) == 2
    assert client.get("/en/account").status_code == 302


def test_confirmation_link_works_once(client, app):
    register(client)
    path = link_in(last_message(app, EMAIL))
    assert confirm(client, app).status_code == 302
    assert client.get(path).status_code == 400
    page = client.get("/en/sign-in")
    again = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert again.status_code == 400 and "This link does not work" in again.text


def test_expired_confirmation_link_is_refused(client, app):
    register(client)
    with app.app_context():
        db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get(link_in(last_message(app, EMAIL))).status_code == 400


def test_registering_a_known_email_looks_the_same_and_warns_the_owner(client, app):
    make_user(app, EMAIL)
    known = register(client)
    other = app.test_client()
    unknown = register(other, email="nobody@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    known_page = client.get(known.headers["Location"]).text.replace(EMAIL, "X")
    unknown_page = other.get(unknown.headers["Location"]).text.replace("nobody@example.org", "X")
    assert _without_tokens(known_page) == _without_tokens(unknown_page)
    assert last_message(app, EMAIL).template == "account_exists"
    with app.app_context():
        assert db.session.scalar(select(User.password_hash).where(User.email == EMAIL)) is not None


def _without_tokens(html: str) -> str:
    import re

    return re.sub(r'value="[^"]{40,}"', 'value=""', html)


def test_wrong_password_and_unknown_email_get_the_same_answer(client, app):
    make_user(app, EMAIL)
    wrong = sign_in(client, EMAIL, "not the right password")
    unknown = sign_in(app.test_client(), "nobody@example.org", "not the right password")
    assert wrong.status_code == unknown.status_code == 200
    message = "Enter a correct email address and password"
    assert message in wrong.text and message in unknown.text
    assert wrong.text.count(message) == unknown.text.count(message)
    assert audit_actions(app)[-2:] == ["sign_in_failed", "sign_in_failed"]


def test_answers_are_kept_when_the_form_has_errors(client):
    response = submit(
        client,
        "/en/create-account",
        {"email": "amina@example", "password": "password", "password_confirm": "password"},
    )
    assert response.status_code == 200
    assert 'value="amina@example"' in response.text
    assert "Enter an email address in the correct format" in response.text
    assert "too easy to guess" in response.text
    assert 'href="#email"' in response.text and 'href="#password"' in response.text
    assert "<title>Error: " in response.text


def test_errors_are_shown_in_the_page_language(client):
    response = submit(
        client, "/fr/create-account", {"email": "", "password": "", "password_confirm": ""}
    )
    assert response.status_code == 200
    assert "Il y a un problème" in response.text
    assert "There is a problem" not in response.text


def test_session_id_is_new_at_every_sign_in(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    first = _session_ids(app)
    client.post("/en/sign-out", data={"csrf_token": csrf_token(client.get("/en/account").text)})
    sign_in(client, EMAIL)
    second = _session_ids(app)
    assert len(first) == 1 and len(second) == 2 and first[0] in second


def _session_ids(app):
    with app.app_context():
        return list(db.session.scalars(select(UserSession.id).order_by(UserSession.created_at)))


def test_signing_in_does_not_keep_the_anonymous_session_contents(client, app):
    make_user(app, EMAIL)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client, EMAIL)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_sign_out_ends_the_session_on_the_server(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    with client.session_transaction() as session:
        stolen_cookie = dict(session)
    client.post("/en/sign-out", data={"csrf_token": csrf_token(client.get("/en/account").text)})
    replay = app.test_client()
    with replay.session_transaction() as session:
        session.update(stolen_cookie)
    assert replay.get("/en/account").status_code == 302


def test_idle_session_is_signed_out_with_a_message_and_comes_back_after_sign_in(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    with app.app_context():
        db.session.execute(
            update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        db.session.commit()
    response = client.get("/en/account")
    assert response.headers["Location"] == "/en/sign-in?next=/en/account"
    assert (
        "You were signed out because you did nothing for 30 minutes"
        in client.get(response.headers["Location"]).text
    )
    assert "session_timed_out" in audit_actions(app)
    back = submit(client, "/en/sign-in?next=/en/account", {"email": EMAIL, "password": PASSWORD})
    assert back.headers["Location"] == "/en/account"


def test_absolute_timeout_ends_even_an_active_session(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    with app.app_context():
        db.session.execute(update(UserSession).values(created_at=utcnow() - timedelta(hours=12)))
        db.session.commit()
    assert client.get("/en/account").status_code == 302


def test_keep_alive_extends_the_session(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    token = csrf_token(client.get("/en/account").text)
    with app.app_context():
        db.session.execute(
            update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=29))
        )
        db.session.commit()
    assert client.post("/en/session/keep-alive", headers={"X-CSRFToken": token}).status_code == 204
    with app.app_context():
        seen = db.session.scalar(select(UserSession.last_seen_at))
    assert utcnow() - seen < timedelta(seconds=5)
    assert app.test_client().post("/en/session/keep-alive").status_code == 400


def test_next_parameter_never_leaves_the_site(client, app):
    make_user(app, EMAIL)
    response = submit(
        client, "/en/sign-in?next=//evil.example/", {"email": EMAIL, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/en/application"


def test_password_reset_journey(client, app):
    make_user(app, EMAIL)
    sign_in(app.test_client(), EMAIL)  # another browser, signed in, must be signed out by the reset
    response = submit(client, "/en/forgot-password", {"email": EMAIL})
    assert response.headers["Location"] == "/en/forgot-password/check-your-email"
    message = last_message(app, EMAIL)
    assert message.template == "reset_password"
    path = link_in(message)

    new_password = "a new long passphrase for me"
    done = submit(client, path, {"password": new_password, "password_confirm": new_password})
    assert done.headers["Location"] == "/en/sign-in"
    assert last_message(app, EMAIL).template == "password_changed"
    assert client.get(path).status_code == 400, "a reset link works once"
    assert sign_in(client, EMAIL).status_code == 200, "the old password no longer works"
    assert sign_in(client, EMAIL, new_password).headers["Location"] == "/en/application"
    with app.app_context():
        open_sessions = db.session.scalars(
            select(UserSession).where(UserSession.ended_at.is_(None))
        ).all()
    assert len(open_sessions) == 1, "the reset ended every older session"


def test_a_new_reset_link_voids_the_older_one(client, app):
    make_user(app, EMAIL)
    submit(client, "/en/forgot-password", {"email": EMAIL})
    first = link_in(last_message(app, EMAIL))
    submit(client, "/en/forgot-password", {"email": EMAIL})
    second = link_in(last_message(app, EMAIL))
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


def test_reset_for_known_and_unknown_email_looks_the_same(client, app):
    make_user(app, EMAIL)
    known = submit(client, "/en/forgot-password", {"email": EMAIL})
    other = app.test_client()
    unknown = submit(other, "/en/forgot-password", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    known_page = client.get(known.headers["Location"]).text.replace(EMAIL, "X")
    unknown_page = other.get(unknown.headers["Location"]).text.replace("nobody@example.org", "X")
    assert _without_tokens(known_page) == _without_tokens(unknown_page)
    assert [m.recipient for m in sent_messages(app)] == [EMAIL]


def test_emails_are_written_in_the_language_the_account_was_made_in(client, app):
    register(client, locale="fr")
    message = last_message(app, EMAIL)
    assert message.locale == "fr"
    assert message.subject == "Confirmez votre adresse e-mail"
    assert "/fr/confirm-email/" in message.body


def test_choosing_a_language_while_signed_in_is_remembered_on_the_account(client, app):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    client.get("/ar/account")
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.email == EMAIL)) == "ar"
    submit(app.test_client(), "/en/forgot-password", {"email": EMAIL})
    assert last_message(app, EMAIL).locale == "ar"


def test_registering_a_known_email_spends_the_same_hashing_work(client, app, monkeypatch):
    """Timing must not reveal accounts: both branches hash the password once."""
    from portal.auth import passwords

    calls = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda pw: calls.append(1) or real(pw))
    make_user(app, EMAIL)
    calls.clear()
    register(client)
    register(app.test_client(), email="nobody@example.org")
    assert calls == [1, 1]
