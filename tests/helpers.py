"""What tests do again and again: fill forms with their CSRF token, read emails, sign in."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from portal.auth import services
from portal.extensions import db
from portal.models import AuditEvent, Organisation, Role, User
from portal.notify import OutgoingMessage
from portal.notify.worker import send_all_due

PASSWORD = "correct horse battery staple"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK = re.compile(r"http://localhost(/\S+)")


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def submit(
    client: FlaskClient, path: str, data: dict[str, str] | None = None, **kwargs: object
) -> TestResponse:
    """GET the form page, then POST the data with the page's CSRF token, as a browser would."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(page.text)}, **kwargs)


def deliver_outbox(app: Flask) -> int:
    """What `send-messages --once` does, in a thread of its own (its own app context and
    session, and no event loop there for the browser tests): every committed message is sent."""

    def run() -> int:
        with app.app_context():
            return send_all_due()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sender") as executor:
        return executor.submit(run).result()


def sent_messages(app: Flask) -> list[OutgoingMessage]:
    """The messages delivered so far, after delivering what the outbox holds."""
    deliver_outbox(app)
    return list(app.extensions["portal.notify"].sent)


def last_message(app: Flask, to: str) -> OutgoingMessage:
    for message in reversed(sent_messages(app)):
        if message.recipient == to:
            return message
    raise AssertionError(f"no message was sent to {to}")


def link_in(message: OutgoingMessage) -> str:
    """The path of the (first) portal link in a message."""
    match = _LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def make_user(
    app: Flask, email: str, role: Role = Role.APPLICANT, password: str = PASSWORD
) -> User:
    with app.app_context():
        user = services.create_user(email, password, role)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def make_support_worker(
    app: Flask, email: str = "worker@example.org", organisation: str = "Day centre Calais"
) -> User:
    """A support worker of a new approved organisation in Calais (not signed in)."""
    with app.app_context():
        found = Organisation(name=organisation, city="Calais", contact_email="c@centre.example.org")
        db.session.add(found)
        db.session.commit()
        organisation_id = found.id
    worker = make_user(app, email, Role.SUPPORT)
    with app.app_context():
        db.session.execute(
            update(User).where(User.id == worker.id).values(organisation_id=organisation_id)
        )
        db.session.commit()
    worker.organisation_id = organisation_id
    return worker


def sign_in(
    client: FlaskClient, email: str, password: str = PASSWORD, locale: str = "en"
) -> TestResponse:
    return submit(client, f"/{locale}/sign-in", {"email": email, "password": password})


def totp_secret(app: Flask, email: str) -> str:
    with app.app_context():
        secret = db.session.scalar(select(User.totp_secret).where(User.email == email))
        assert secret
        return secret


def sign_in_staff(client: FlaskClient, app: Flask, email: str) -> None:
    """Sign in and pass two-factor, setting it up first if needed (the code is computed here)."""
    response = sign_in(client, email)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    if location.endswith("/two-factor/set-up"):
        page = client.get(location)
        code = pyotp.TOTP(totp_secret(app, email)).now()
        done = client.post(location, data={"code": code, "csrf_token": csrf_token(page.text)})
        assert done.status_code == 200 and "recovery" in done.text.lower(), done.text
    else:
        assert location.endswith("/two-factor"), location
        raise AssertionError("use a fresh account: a code can be used only once")


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


class PageStructure(HTMLParser):
    """Collects what every page must have: lang and dir, a title, one h1, forms with CSRF."""

    def __init__(self) -> None:
        super().__init__()
        self.html_attrs: dict[str, str | None] = {}
        self.title = ""
        self.h1_count = 0
        self.inline_scripts = 0
        self.style_attributes = 0
        self.forms: list[dict[str, str | None]] = []
        self.csrf_inputs = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes:
            self.style_attributes += 1
        if tag == "html":
            self.html_attrs = attributes
        elif tag == "title":
            self._in_title = True
        elif tag == "h1":
            self.h1_count += 1
        elif tag == "script" and not attributes.get("src"):
            self.inline_scripts += 1
        elif tag == "form":
            self.forms.append(attributes)
        elif tag == "input" and attributes.get("name") == "csrf_token":
            self.csrf_inputs += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def check_page(response: TestResponse, locale: str, direction: str) -> PageStructure:
    """Assert the rules every HTML page of the portal keeps."""
    page = PageStructure()
    page.feed(response.text)
    assert page.html_attrs.get("lang") == locale
    assert page.html_attrs.get("dir") == direction
    assert page.title.strip(), "every page has a title"
    assert page.h1_count == 1, "every page has exactly one h1"
    assert "&lt;bdi" not in response.text and "&lt;br" not in response.text, "markup escaped twice"
    assert page.inline_scripts == 0, "no inline script (the CSP forbids it)"
    assert page.style_attributes == 0, "no inline style (the CSP forbids it)"
    post_forms = [form for form in page.forms if (form.get("method") or "").lower() == "post"]
    assert page.csrf_inputs >= len(post_forms), "every POST form carries a CSRF token"
    return page
