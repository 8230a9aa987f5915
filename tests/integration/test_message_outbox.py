"""The messages outbox under faults: providers down, slow, refusing; commits failing; workers racing
or killed. Every message is delivered once, none is lost, none is sent for a change that did not
commit."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from portal.appointments import centres
from portal.extensions import db
from portal.models import (
    Application,
    MessageStatus,
    Notification,
    NotificationAttempt,
    Status,
    utcnow,
)
from portal.notify import (
    LogBackend,
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    outgoing,
    send_email,
    send_sms,
)
from portal.notify.worker import claim, send_all_due, send_due
from tests.apply_helpers import fill_in, open_a_window, send_draft, start_application
from tests.appointment_helpers import invited_applications
from tests.helpers import csrf_token, deliver_outbox, sent_messages


class Provider(LogBackend):
    """A log backend that fails as told: `down` refuses everything for now, `refuse` marks
    recipients it will never take, `lose_answer` accepts then times out (the answer is lost)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = deque()  # unbounded: the tests count everything
        self.down = False
        self.refuse: set[str] = set()
        self.lose_answer: set[str] = set()
        self.lock = threading.Lock()

    def deliver(self, message: OutgoingMessage) -> str | None:
        if self.down:
            raise TemporaryDeliveryError("503 service unavailable")
        if message.recipient in self.refuse:
            raise PermanentDeliveryError("invalid number")
        with self.lock:
            provider_id = super().deliver(message)
        if message.recipient in self.lose_answer:
            self.lose_answer.discard(message.recipient)
            raise TemporaryDeliveryError("timeout", ambiguous=True)
        return provider_id

    def copies(self) -> Counter[str]:
        return Counter(message.reference for message in self.sent)


@pytest.fixture
def provider(app: Flask) -> Provider:
    chosen = Provider()
    app.extensions["portal.notify"] = app.extensions["portal.sms"] = chosen
    return chosen


def queue_messages(app: Flask, count: int) -> list[str]:
    with app.app_context():
        rows = [
            send_email(f"person{index}@example.org", "password_changed", "en", reset_url="http://x")
            for index in range(count)
        ]
        db.session.commit()
        return [str(row.id) for row in rows]


def statuses(app: Flask) -> Counter[str]:
    with app.app_context():
        return Counter(db.session.scalars(select(Notification.status)))


@contextmanager
def commits_with_messages_fail() -> Iterator[None]:
    """Every commit that would write an outbox row fails, as a database gone at that moment."""

    def refuse(session: Session) -> None:
        pending = list(session.new) + list(session.identity_map.values())
        if any(isinstance(item, Notification) for item in pending):
            raise RuntimeError("the database went away during the commit")

    event.listen(Session, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", refuse)


def test_a_submission_whose_commit_fails_sends_nothing(app, client, provider):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    page = client.get("/en/application/check-your-answers")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    with commits_with_messages_fail():
        response = client.post(
            "/en/application/check-your-answers",
            data={"csrf_token": csrf_token(page.text), "submission_key": key.group(1)},
        )
    assert response.status_code == 500
    assert deliver_outbox(app) == 0
    assert list(provider.sent) == [], "no reference number for an application that does not exist"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
        assert db.session.scalar(select(Application.status)) == Status.DRAFT.value
    send_draft(client)
    assert {m.template for m in sent_messages(app)} == {"application_submitted"}


def test_a_reminder_run_whose_commit_fails_sends_once_on_the_next_run(app, provider):
    app.config["PORTAL"].NUDGE_DAYS = 0
    invited_applications(app, 1)
    with commits_with_messages_fail(), app.test_request_context("/"), pytest.raises(RuntimeError):
        centres.send_reminders(utcnow())
    assert deliver_outbox(app) == 0
    with app.test_request_context("/"):
        assert centres.send_reminders(utcnow()).nudges == 1
    with app.test_request_context("/"):
        assert centres.send_reminders(utcnow()).nudges == 0
    assert [m.template for m in sent_messages(app)] == ["booking_nudge"]


def test_nothing_is_handed_to_a_provider_before_the_worker_runs(app, provider):
    queue_messages(app, 3)
    assert list(provider.sent) == []
    assert statuses(app) == {"queued": 3}
    assert deliver_outbox(app) == 3
    assert statuses(app) == {"sent": 3}


def test_a_provider_down_then_back_delivers_every_message_once(app, provider):
    references = queue_messages(app, 20)
    provider.down = True
    with app.app_context():
        assert send_all_due() == 20
    assert statuses(app) == {"temporary-failure": 20}
    with app.app_context():
        assert send_all_due() == 0, "a failed message waits for its backoff"
    provider.down = False
    with app.app_context():
        assert send_all_due(now=utcnow() + timedelta(hours=2)) == 20
        attempts = db.session.scalar(select(func.count()).select_from(NotificationAttempt))
    assert attempts == 40
    assert statuses(app) == {"sent": 20}
    assert provider.copies() == Counter({reference: 1 for reference in references})


def test_backoff_grows_and_a_message_gives_up_at_the_bound(app, provider):
    app.config["PORTAL"].SEND_MAX_ATTEMPTS = 3
    queue_messages(app, 1)
    provider.down = True
    waits = []
    now = utcnow()
    with app.app_context():
        for _ in range(3):
            send_due(now=now)
            row = db.session.scalar(select(Notification))
            if row.next_attempt_at is not None:
                waits.append(row.next_attempt_at - now)
                now = row.next_attempt_at
        assert row.status == "permanent-failure" and "gave up after 3 tries" in row.reason
    assert waits[1] > timedelta(seconds=30) and waits[1] <= timedelta(seconds=60)
    assert waits[0] >= timedelta(seconds=15) and waits[0] <= timedelta(seconds=30)


def test_a_timeout_after_the_provider_accepted_sends_no_second_copy(app, provider):
    references = queue_messages(app, 2)
    provider.lose_answer.add("person0@example.org")
    with app.app_context():
        send_all_due()
    assert statuses(app) == {"sent": 1, "temporary-failure": 1}
    with app.app_context():
        send_all_due(now=utcnow() + timedelta(hours=2))
        row = db.session.get(Notification, uuid.UUID(references[0]))
        assert row.status == "sent" and row.provider_id == f"log-{references[0]}"
        assert "found at the provider" in row.reason
    assert provider.copies() == Counter({reference: 1 for reference in references})


def test_a_permanent_failure_stops_at_once(app, provider):
    with app.app_context():
        send_sms("+33600000000", "claim_code", "en", code="ABCD", claim_url="http://x/claim")
        send_sms("+33611111111", "claim_code", "en", code="EFGH", claim_url="http://x/claim")
        db.session.commit()
    provider.refuse.add("+33600000000")
    with app.app_context():
        send_all_due()
        send_all_due(now=utcnow() + timedelta(days=2))
        refused = db.session.scalar(select(Notification).where(Notification.reason.is_not(None)))
        assert refused.status == "permanent-failure" and refused.reason == "invalid number"
        assert refused.attempts == 1 and refused.next_attempt_at is None
        assert "ABCD" not in refused.body, "a code is not kept once the message is done with"
    assert [m.recipient for m in provider.sent] == ["+33611111111"]


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(app, provider):
    references = queue_messages(app, 10)
    with app.app_context():
        app.config["PORTAL"].SEND_CLAIM_SECONDS = 60
        held = claim(10, utcnow(), timedelta(seconds=60))
        # The worker hands over four messages, then dies before recording anything.
        for row in held[:4]:
            provider.deliver(outgoing(row))
    assert statuses(app) == {"sending": 10}
    with app.app_context():
        assert send_all_due() == 0, "rows held by a worker are not taken while its claim lasts"
        assert send_all_due(now=utcnow() + timedelta(minutes=2)) == 10
    assert statuses(app) == {"sent": 10}
    assert provider.copies() == Counter({reference: 1 for reference in references})


def test_time_critical_messages_are_taken_first(app, provider):
    with app.app_context():
        send_email("late@example.org", "password_changed", "en", reset_url="http://x")
        send_email("urgent@example.org", "reset_password", "en", reset_url="http://x", minutes=60)
        db.session.commit()
        assert [row.recipient for row in claim(1, utcnow(), timedelta(minutes=1))] == [
            "urgent@example.org"
        ]


def test_two_workers_over_500_messages_send_each_exactly_once(app, provider):
    references = queue_messages(app, 500)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                while True:
                    try:
                        if not send_due(limit=25):
                            return
                    except Exception as exc:  # SQLite: "database is locked" while the other writes
                        if "locked" not in str(exc):
                            raise
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert statuses(app) == {"sent": 500}
    assert provider.copies() == Counter({reference: 1 for reference in references})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NotificationAttempt)) == 500


def test_a_message_row_says_which_states_exist():
    assert [status.value for status in MessageStatus] == [
        "queued",
        "sending",
        "sent",
        "delivered",
        "temporary-failure",
        "permanent-failure",
    ]


def test_metrics_show_the_waiting_messages_and_failures_by_reason(config, provider):
    from portal import create_app

    config.METRICS_TOKEN = "metrics-token-for-the-outbox-test"
    app = create_app(config)
    app.extensions["portal.notify"] = app.extensions["portal.sms"] = provider
    queue_messages(app, 3)
    with app.app_context():
        send_sms("+33600000000", "claim_code", "en", code="ABCD", claim_url="http://x/claim")
        db.session.commit()
    provider.refuse.add("+33600000000")
    provider.down = False
    headers = {"Authorization": f"Bearer {config.METRICS_TOKEN}"}
    before = app.test_client().get("/metrics", headers=headers).text
    assert "portal_messages_waiting 4.0" in before
    with app.app_context():
        send_all_due()
    after = app.test_client().get("/metrics", headers=headers).text
    assert "portal_messages_waiting 0.0" in after
    assert (
        'portal_messages_failures{reason="invalid number",status="permanent-failure"} 1.0' in after
    )


def test_the_status_page_lists_every_message_masked_with_its_state(app, client, provider):
    from tests.apply_helpers import send_application

    send_application(client, app)
    page = client.get("/en/application/status").text
    assert "Messages we sent you" in page and "waiting to be sent" in page
    deliver_outbox(app)
    page = client.get("/en/application/status").text
    assert "a•••@example.org" in page and "amina@example.org" not in page.split("Messages")[1]
    section = page.split('id="messages"')[1]
    # In the language the applicant chose for messages (Arabic in these answers).
    assert "sent" in section and "رقمك المرجعي هو" in section and 'lang="ar"' in section
    link = next(m for m in provider.sent if m.channel == "sms").body.split()
    token_links = [word for word in link if "/presence/" in word]
    assert token_links and token_links[0] not in page, "a one-time link is never shown again"
    assert "••••••" in page
    french = client.get("/fr/application/status").text
    assert "ne vient pas de ce service" in french
    assert "Ce service est gratuit." in french


def test_a_caseworker_sees_the_messages_resends_one_and_sees_a_permanent_failure(
    app, client, provider
):
    from portal.models import Role
    from tests.apply_helpers import send_application
    from tests.helpers import audit_actions, make_user, sign_in_staff

    provider.refuse.add("+33612345678")
    provider.refuse.add("06 12 34 56 78")
    send_application(client, app)
    deliver_outbox(app)
    with app.app_context():
        application_id = db.session.scalar(select(Application.id))
        email = db.session.scalar(
            select(Notification).where(
                Notification.channel == "email", Notification.template == "application_submitted"
            )
        )
        assert email.carries_secret
        email_id = email.id
    make_user(app, "case@example.org", Role.CASEWORKER)
    staff = app.test_client()
    sign_in_staff(staff, app, "case@example.org")
    page = staff.get(f"/en/casework/applications/{application_id}").text
    assert "Not delivered, and will not be: text message" in page
    assert "invalid number" in page
    listing = staff.get(f"/en/casework/applications/{application_id}/messages")
    assert listing.status_code == 200 and "permanent failure" in listing.text
    assert "application_messages_viewed" in audit_actions(app)
    # The confirmation carried the presence link: it is never sent again from the record.
    refused = staff.post(
        f"/en/casework/applications/{application_id}/messages/{email_id}/resend",
        data={"csrf_token": csrf_token(listing.text)},
    )
    assert refused.status_code == 302
    with app.app_context():
        send_email("amina@example.org", "application_updated", "en", reference="X", status_url="u")
        news = db.session.scalar(
            select(Notification).where(Notification.template == "application_updated")
        )
        news.application_id = application_id
        db.session.commit()
        news_id = news.id
    deliver_outbox(app)
    listing = staff.get(f"/en/casework/applications/{application_id}/messages")
    staff.post(
        f"/en/casework/applications/{application_id}/messages/{news_id}/resend",
        data={"csrf_token": csrf_token(listing.text)},
    )
    assert "message_resent" in audit_actions(app)
    deliver_outbox(app)
    assert [m.template for m in provider.sent].count("application_updated") == 2
    assert [m.template for m in provider.sent].count("application_submitted") == 1


def test_an_applicant_asks_for_a_new_presence_link_a_few_times_at_most(app, client, provider):
    from portal.models import PresenceCheck
    from tests.apply_helpers import send_application

    send_application(client, app)
    deliver_outbox(app)
    page = client.get("/en/application/status")
    assert "Send me a new link" in page.text
    for _ in range(3):
        page = client.get("/en/application/status")
        response = client.post(
            "/en/application/presence-link", data={"csrf_token": csrf_token(page.text)}
        )
        assert response.status_code == 302
    refused = client.post(
        "/en/application/presence-link",
        data={"csrf_token": csrf_token(client.get("/en/application/status").text)},
        follow_redirects=True,
    )
    assert "You have asked for many new links" in refused.text
    links = [m for m in sent_messages(app) if m.template == "presence_link"]
    assert len(links) == 4, "two new links (email and SMS each); the third was refused"
    with app.app_context():
        checks = db.session.scalars(select(PresenceCheck).order_by(PresenceCheck.created_at)).all()
        assert len(checks) == 3
        usable = [check for check in checks if check.expires_at > utcnow()]
        assert len(usable) == 1, "a new link replaces the unused ones"
    link = next(m for m in links[-2:] if m.channel == "email")
    assert client.get(link.body.split("http://localhost")[1].split()[0]).status_code == 200


def test_delivery_receipts_move_a_message_forward_never_back(app, provider):
    from portal.notify.status import record_delivery_status

    references = queue_messages(app, 2)
    deliver_outbox(app)
    with app.app_context():
        assert record_delivery_status(f"log-{references[0]}", "delivered", None)
        assert record_delivery_status(f"log-{references[1]}", "permanent-failure", "bounced")
        db.session.commit()
        assert not record_delivery_status(f"log-{references[0]}", "sent", None)
        assert not record_delivery_status("unknown-id", "delivered", None)
        with pytest.raises(ValueError):
            record_delivery_status(f"log-{references[0]}", "queued", None)
        db.session.commit()
    assert statuses(app) == {"delivered": 1, "permanent-failure": 1}
    with app.app_context():
        bounced = db.session.get(Notification, uuid.UUID(references[1]))
        assert bounced.reason == "bounced"
    assert deliver_outbox(app) == 0, "a receipt never makes the worker send again"
