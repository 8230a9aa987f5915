"""No personal data in the logs, whatever goes wrong: each kind of error is provoked with a known
email, name, document number and password, and neither they nor their hashes may be written."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import select, text

from portal.auth import services
from portal.extensions import db
from portal.logs import json_handler
from portal.models import User
from portal.notify.backends import DeliveryError, LogBackend
from portal.queue import relay
from tests.helpers import deliver_outbox, make_user, submit

EMAIL = "leila.karimi.7731@example.org"
NAME = "Leila Karimizadeh"
DOCUMENT = "X4K7Q9281"
PASSWORD = "blue cactus under seven moons"


class QuietBackend(LogBackend):
    """The development backend writes messages to the log by design (production refuses it):
    here messages are only kept, so that the log holds what production code writes."""

    def deliver(self, message) -> None:
        self.sent.append(message)


@pytest.fixture
def logged(app: Flask, caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything logged, at DEBUG, as the production handler writes it."""
    quiet = QuietBackend()
    app.extensions["portal.notify"] = app.extensions["portal.sms"] = quiet
    caplog.set_level(logging.DEBUG, logger="portal")
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    buffer = io.StringIO()
    handler = json_handler(buffer)
    logging.getLogger().addHandler(handler)
    yield buffer
    logging.getLogger().removeHandler(handler)


def forbidden(app: Flask) -> list[str]:
    secrets = [EMAIL, NAME, DOCUMENT, PASSWORD, "Karimizadeh"]
    hashes = [hashlib.sha256(s.encode()).hexdigest() for s in secrets]
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.email == EMAIL))
    return secrets + hashes + ([stored] if stored else [])


def assert_nothing_personal(app: Flask, buffer: io.StringIO, caplog) -> None:
    written = buffer.getvalue()
    assert written, "the handler wrote nothing: the test would prove nothing"
    raw = [
        record.getMessage()
        + repr(
            {
                k: v
                for k, v in vars(record).items()
                if k not in ("exc_info", "exc_text", "msg", "args")
            }
        )
        for record in caplog.records
    ]
    for secret in forbidden(app):
        assert secret not in written, secret
        assert not [line for line in raw if secret in line], secret


def fail_with_personal_values(*_args, **_kwargs) -> None:
    """Statements that fail and quote what they were given (PostgreSQL quotes a bad value)."""
    values = {"email": EMAIL, "name": NAME, "doc": DOCUMENT}
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT CAST(:doc AS integer), :email, :name"), values)
    db.session.execute(
        text("SELECT * FROM no_such_table WHERE email = :email AND n = :name"), values
    )


def test_a_unique_violation_at_registration_logs_no_personal_data(
    app, client, logged, caplog, monkeypatch
):
    make_user(app, EMAIL, password=PASSWORD)
    # As if two registrations raced: the check found no account, the insert meets the first.
    monkeypatch.setattr(services, "find_user", lambda _email: None)
    form = {"email": EMAIL, "password": PASSWORD, "password_confirm": PASSWORD}
    assert submit(client, "/en/create-account", form).status_code == 500
    assert "IntegrityError" in logged.getvalue()
    assert_nothing_personal(app, logged, caplog)


def test_failing_statements_log_no_personal_data(app, client, logged, caplog, monkeypatch):
    monkeypatch.setattr(services, "request_password_reset", fail_with_personal_values)
    assert submit(client, "/en/forgot-password", {"email": EMAIL}).status_code == 500
    assert "sqlalchemy.exc" in logged.getvalue()
    assert_nothing_personal(app, logged, caplog)


def test_an_unhandled_error_quoting_values_logs_no_personal_data(
    app, client, logged, caplog, monkeypatch
):
    def broken(email: str) -> None:
        int(DOCUMENT)  # Python's message quotes the value

    monkeypatch.setattr(services, "request_password_reset", broken)
    assert submit(client, "/en/forgot-password", {"email": EMAIL}).status_code == 500
    assert "builtins.ValueError" in logged.getvalue()
    assert_nothing_personal(app, logged, caplog)


def test_validation_and_csrf_refusals_log_no_personal_data(app, client, logged, caplog):
    bad = {"email": f"{NAME} <{EMAIL}>", "password": PASSWORD, "password_confirm": DOCUMENT}
    assert submit(client, "/en/create-account", bad).status_code == 200
    refused = client.post("/en/create-account", data={**bad, "csrf_token": "forged"})
    assert refused.status_code == 400
    assert_nothing_personal(app, logged, caplog)


def test_a_refused_delivery_logs_no_personal_data(app, client, logged, caplog, monkeypatch):
    def refuse(message) -> None:
        raise DeliveryError(f"550 5.1.1 <{message.recipient}>: Recipient address rejected")

    monkeypatch.setattr(app.extensions["portal.notify"], "deliver", refuse)
    form = {"email": EMAIL, "password": PASSWORD, "password_confirm": PASSWORD}
    assert submit(client, "/en/create-account", form).status_code == 302
    # Messages leave through the outbox: the sender meets the refusal, after the request.
    deliver_outbox(app)
    assert "message backend failed" in logged.getvalue() or "message not sent" in logged.getvalue()
    assert_nothing_personal(app, logged, caplog)


def test_a_failed_queue_publish_logs_no_personal_data(app, logged, caplog, monkeypatch):
    worker = relay.Relay(SimpleNamespace(), interval=0)

    def refused(*_args) -> int:
        worker.stop()
        raise ClientError(
            {"Error": {"Code": "InvalidMessageContents", "Message": f"bad body {EMAIL} {NAME}"}},
            "SendMessageBatch",
        )

    monkeypatch.setattr(relay, "relay_once", refused)
    with app.app_context():
        worker.run()
    assert "relay pass failed" in logged.getvalue()
    assert_nothing_personal(app, logged, caplog)


def test_the_request_line_logs_no_tokens_or_query_strings(app, client, logged, caplog):
    token = "a-reset-token-from-an-email-1234567890"
    client.get(f"/en/reset-password/{token}?email={EMAIL}&name={NAME}")
    written = logged.getvalue()
    assert '"portal.access"' in written and token not in written
    assert_nothing_personal(app, logged, caplog)
