"""Messages in the recipient's language, sent over real SMTP to a server on loopback."""

from __future__ import annotations

import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from portal import create_app
from portal.extensions import db
from portal.models import Notification
from portal.notify import render_message, send_email
from tests.helpers import deliver_outbox, submit


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_smtp_backend_delivers_a_translated_email(config, smtp_server):
    controller, inbox = smtp_server
    config.NOTIFY_BACKEND = "smtp"
    config.SMTP_HOST, config.SMTP_PORT, config.SMTP_STARTTLS = "127.0.0.1", controller.port, False
    app = create_app(config)
    submit(
        app.test_client(),
        "/fr/create-account",
        {
            "email": "amina@example.org",
            "password": "a long passphrase",
            "password_confirm": "a long passphrase",
        },
    )
    assert inbox.messages == [], "nothing is handed to a provider inside the request"
    deliver_outbox(app)
    assert len(inbox.messages) == 1
    email = message_from_bytes(inbox.messages[0])
    assert email["To"] == "amina@example.org"
    assert email["Content-Language"] == "fr"
    assert email["Subject"] == "Confirmez votre adresse e-mail"
    assert "http://localhost/fr/confirm-email/" in email.get_payload(decode=True).decode()


def test_unreachable_smtp_server_is_recorded_and_the_page_still_answers(config):
    config.NOTIFY_BACKEND = "smtp"
    config.SMTP_HOST, config.SMTP_PORT, config.SMTP_STARTTLS = "127.0.0.1", free_port(), False
    app = create_app(config)
    response = submit(
        app.test_client(),
        "/en/forgot-password",
        {"email": "nobody@example.org"},
    )
    assert response.status_code == 302
    with app.app_context():
        record = send_email("amina@example.org", "password_changed", "en", reset_url="http://x/")
        db.session.commit()
        record_id = record.id
    deliver_outbox(app)
    with app.app_context():
        record = db.session.get(Notification, record_id)
        assert record.status == "temporary-failure" and record.reason
        assert record.next_attempt_at is not None and record.attempts == 1


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_every_message_renders_in_each_translated_language(app, locale):
    context = {
        "confirm_url": "http://x/c",
        "sign_in_url": "http://x/s",
        "reset_url": "http://x/r",
        "hours": 24,
        "minutes": 60,
    }
    with app.test_request_context():
        for template in ("confirm_email", "account_exists", "reset_password", "password_changed"):
            message = render_message("email", "a@example.org", template, locale, context)
            assert message.subject and "\n" not in message.subject
            assert "http://x/" in message.body
