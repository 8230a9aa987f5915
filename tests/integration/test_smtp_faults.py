"""SMTP cannot be asked what it accepted. When the server drops the connection after it was given
the message's content, the message may be in its queue: the worker sends again and says that a
second copy is possible. When it drops the connection before, no doubt is recorded. And once the
server has accepted, trouble saying goodbye (QUIT) does not make the message fail.

The faults are real: aiosmtpd on loopback, its handlers closing the connection at each stage."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from portal.extensions import db
from portal.models import Notification, utcnow
from portal.notify import send_email
from portal.notify.backends import SmtpBackend
from portal.notify.worker import send_all_due
from tests.integration.test_notify import free_port


class FaultyServer:
    """Keeps what it accepted; `drop_at` names the stage ("RCPT", "DATA", "QUIT") at which it
    closes the connection without answering, the first `times` times."""

    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self.drop_at = ""
        self.times = 0

    def _drop(self, server, stage: str) -> bool:
        if self.drop_at == stage and self.times > 0:
            self.times -= 1
            server.transport.close()
            return True
        return False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self._drop(server, "RCPT"):
            return "421 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append(envelope.original_content)
        if self._drop(server, "DATA"):
            return "421 closing"
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        if self.drop_at == "QUIT" and self.times > 0:
            self.times -= 1
            return "451 try again"
        return "221 Bye"


@pytest.fixture
def smtp(app):
    handler = FaultyServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.extensions["portal.notify"] = SmtpBackend(
        "127.0.0.1", controller.port, "no-reply@eoi.example.org", starttls=False, timeout=2
    )
    yield handler
    controller.stop()


def queue_one(app) -> uuid.UUID:
    with app.app_context():
        row = send_email("amina@example.org", "password_changed", "fr", reset_url="http://x/r")
        db.session.commit()
        return row.id


def state(app, row_id: uuid.UUID) -> Notification:
    with app.app_context():
        row = db.session.get(Notification, row_id)
        db.session.expunge(row)
        return row


def test_a_connection_dropped_after_the_content_was_given_sends_again_and_says_so(app, smtp):
    row_id = queue_one(app)
    smtp.drop_at, smtp.times = "DATA", 1
    with app.app_context():
        send_all_due()
    first = state(app, row_id)
    assert first.status == "temporary-failure"
    assert "may have been accepted" in first.reason, first.reason
    with app.app_context():
        send_all_due(now=utcnow() + timedelta(hours=2))
    second = state(app, row_id)
    assert second.status == "sent" and second.attempts == 2
    assert "a second copy is possible" in second.reason, second.reason
    assert len(smtp.accepted) == 2, "one more copy for the one lost answer"


def test_a_connection_dropped_before_the_content_leaves_no_doubt(app, smtp):
    row_id = queue_one(app)
    smtp.drop_at, smtp.times = "RCPT", 1
    with app.app_context():
        send_all_due()
    first = state(app, row_id)
    assert first.status == "temporary-failure"
    assert "may have been accepted" not in first.reason, first.reason
    with app.app_context():
        send_all_due(now=utcnow() + timedelta(hours=2))
    second = state(app, row_id)
    assert second.status == "sent" and not second.reason
    assert len(smtp.accepted) == 1


def test_a_refused_goodbye_after_the_server_accepted_still_counts_as_sent(app, smtp):
    row_id = queue_one(app)
    smtp.drop_at, smtp.times = "QUIT", 1
    with app.app_context():
        send_all_due()
    assert state(app, row_id).status == "sent"
    with app.app_context():
        send_all_due(now=utcnow() + timedelta(hours=2))
    assert len(smtp.accepted) == 1, "accepted once, never sent again"
