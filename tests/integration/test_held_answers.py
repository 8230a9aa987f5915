"""A form posted after an idle sign-out keeps what was typed, for that person only, and puts it
back after they sign in again; it is never saved without a fresh security token."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import Application, HeldForm, User, UserSession, utcnow
from tests.apply_helpers import MAIN_APPLICANT_ALONE, answer_page, start_application
from tests.helpers import PASSWORD, csrf_token, sign_in, submit

NAMES = "/en/application/questions/names"
TYPED = {"given_names": "Amina Zahra", "family_name": "Kareem-Typed"}


def _go_idle(app, email="amina@example.org"):
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        db.session.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id)
            .values(last_seen_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()


def _saved_names(app, email="amina@example.org"):
    with app.app_context():
        application = db.session.scalar(
            select(Application)
            .join(User, User.id == Application.applicant_id)
            .where(User.email == email)
        )
        return application.answers.get("names")


def _start(client, app, email="amina@example.org"):
    """A draft whose names page is the next to answer."""
    start_application(client, app, email)
    for name, data in MAIN_APPLICANT_ALONE[:2]:
        assert answer_page(client, name, data).status_code == 302


def _post_after_time_out(client, app, token=None):
    token = token or csrf_token(client.get(NAMES).text)
    _go_idle(app)
    response = client.post(NAMES, data={**TYPED, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/en/sign-in")
    return response


def test_answers_posted_after_an_idle_sign_out_come_back_after_signing_in(client, app):
    _start(client, app)
    _post_after_time_out(client, app)
    assert _saved_names(app) is None, "nothing is saved without a live session"
    sign_in_page = client.get("/en/sign-in?next=/en/application/questions/names").text
    assert "What you typed on this page is kept for you" in sign_in_page
    back = submit(
        client,
        "/en/sign-in?next=/en/application/questions/names",
        {"email": "amina@example.org", "password": PASSWORD},
    )
    assert back.headers["Location"] == NAMES
    page = client.get(NAMES).text
    assert 'value="Amina Zahra"' in page and 'value="Kareem-Typed"' in page
    assert "We put back what you typed" in page
    assert _saved_names(app) is None, "put back in the form, not saved"
    with app.app_context():
        assert db.session.scalar(select(HeldForm)) is None, "put back once, then forgotten"
    assert "Kareem-Typed" not in client.get(NAMES).text
    assert answer_page(client, "names", TYPED).status_code == 302
    assert _saved_names(app) == TYPED


def test_with_a_refused_security_token_nothing_is_held_and_nothing_saved(client, app):
    """A request whose token was refused writes nothing, not even held answers (issue 24): only a
    post with a valid token (the token outlives the idle time-out) keeps what was typed."""
    _start(client, app)
    _post_after_time_out(client, app, token="expired-or-forged-token")
    assert _saved_names(app) is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(HeldForm)) == 0
    sign_in(client, "amina@example.org")
    assert 'value="Kareem-Typed"' not in client.get(NAMES).text
    assert _saved_names(app) is None


def test_another_account_never_sees_what_was_held(client, app):
    _start(client, app)
    _post_after_time_out(client, app)
    other = app.test_client()
    _start(other, app, "nadia@example.org")
    assert "Kareem-Typed" not in other.get(NAMES).text
    # The same browser, signed in as someone else, does not find them either.
    submit(client, "/en/sign-in", {"email": "nadia@example.org", "password": PASSWORD})
    assert "Kareem-Typed" not in client.get(NAMES).text
    with app.app_context():
        assert db.session.scalar(select(HeldForm)) is not None, "still Amina's, for her sign-in"


def test_held_answers_expire(client, app):
    _start(client, app)
    _post_after_time_out(client, app)
    with app.app_context():
        db.session.execute(update(HeldForm).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    sign_in(client, "amina@example.org")
    assert "Kareem-Typed" not in client.get(NAMES).text


def test_a_signed_out_post_without_a_timed_out_session_keeps_nothing(app):
    anonymous = app.test_client()
    anonymous.get("/en/sign-in")
    anonymous.post(NAMES, data=TYPED)
    with app.app_context():
        assert db.session.scalar(select(HeldForm)) is None
