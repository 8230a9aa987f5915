"""Dead letters: an admin returns the applications that failed too many times to the queue."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.backoffice.dead_letters import returned_message
from portal.extensions import db
from portal.models import Application, AuditEvent, QueueItem, Role, utcnow
from portal.queue.backends import checking_queue
from portal.queue.relay import relay_once
from tests.helpers import check_page, csrf_token, make_user, sign_in, sign_in_staff
from tests.integration.test_queue_sqs import (  # noqa: F401
    MAX_RECEIVES,
    messages_in,
    sqs_app,
    sqs_config,
)
from tests.moto_server import moto_server  # noqa: F401
from tests.queue_helpers import dead_letter, queued_applications

CASEWORK = "/en/casework"
DEAD_LETTERS = CASEWORK + "/dead-letters"
_DEAD_COUNT = re.compile(
    r"Dead letters \(failed too many times\)\s*</dt>\s*"
    r'<dd class="govuk-summary-list__value">\s*([\d,]+)'
)


def staff(app, email: str, role: Role = Role.CASEWORKER):
    client = app.test_client()
    make_user(app, email, role)
    sign_in_staff(client, app, email)
    return client


def dashboard_dead_letters(client) -> int:
    page = client.get(CASEWORK + "/")
    assert page.status_code == 200
    return int(_DEAD_COUNT.search(page.text).group(1).replace(",", ""))


def row(app, item_id: uuid.UUID) -> QueueItem:
    with app.app_context():
        found = db.session.get(QueueItem, item_id)
        db.session.expunge(found)
        return found


# --- The database queue ---------------------------------------------------------------------------


def test_a_dead_lettered_application_is_returned_and_claimed_again(app):
    [item_id] = dead_letter(app)
    client = staff(app, "cw@example.org")
    assert dashboard_dead_letters(client) == 1
    with app.app_context():
        queue = checking_queue()
        worker = make_user(app, "other@example.org", Role.CASEWORKER)
        assert queue.claim(worker.id) is None
        assert queue.return_dead_letters() == 1
        assert queue.return_dead_letters() == 0
    returned = row(app, item_id)
    assert returned.dead_lettered_at is None and returned.receive_count == 0
    assert returned.claimed_by_id is None and returned.completed_at is None
    assert dashboard_dead_letters(client) == 0

    page = client.get(CASEWORK + "/")
    claimed = client.post(CASEWORK + "/next", data={"csrf_token": csrf_token(page.text)})
    assert claimed.status_code == 302
    assert claimed.headers["Location"].endswith(f"/applications/{returned.application_id}")
    assert row(app, item_id).receive_count == 1


def test_a_completed_item_is_never_returned(app):
    [dead_id] = dead_letter(app)
    [done_id] = queued_applications(app, 1)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        claim = queue.claim(worker.id)
        assert claim.item_id == done_id
        assert queue.complete(done_id, worker.id)
        # Finished on its last allowed receive, with its lease since run out: still not dead.
        db.session.execute(
            update(QueueItem)
            .where(QueueItem.id == done_id)
            .values(receive_count=queue.max_receives, available_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        assert queue.return_dead_letters() == 1
    done = row(app, done_id)
    assert done.completed_at is not None and done.receive_count == queue.max_receives
    assert row(app, dead_id).receive_count == 0


# --- SQS ------------------------------------------------------------------------------------------


@pytest.fixture
def sqs(sqs_app, sqs_config):  # noqa: F811
    """The app on the SQS backend (over moto, maxReceiveCount 2) and its configuration."""
    return sqs_app, sqs_config


def redrive_everything(app) -> None:
    """Claim and release every message until SQS moves each to the dead-letter queue."""
    worker = make_user(app, f"slow-{uuid.uuid4().hex}@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        while (claim := queue.claim(worker.id)) is not None:
            assert queue.release(claim.item_id, worker.id)


def test_sqs_dead_letters_go_back_to_their_own_queue_and_can_be_claimed(sqs):
    app, settings = sqs
    ids = queued_applications(app, 2, priority_of=lambda i: 2 if i == 1 else 0)
    with app.app_context():
        assert relay_once(checking_queue()) == 2
    redrive_everything(app)
    assert messages_in(app, settings.SQS_DEAD_LETTER_QUEUE_URL) == 2
    assert messages_in(app, settings.SQS_QUEUE_URL) == 0
    assert all(row(app, item_id).receive_count == MAX_RECEIVES for item_id in ids)

    with app.app_context():
        assert checking_queue().return_dead_letters() == 2
        # The rows are the truth: reset and unsent, the relay publishes each afresh.
        assert messages_in(app, settings.SQS_DEAD_LETTER_QUEUE_URL) == 0
        assert relay_once(checking_queue()) == 2
    assert messages_in(app, settings.SQS_PRIORITY_QUEUE_URL) == 1
    assert messages_in(app, settings.SQS_QUEUE_URL) == 1
    assert all(row(app, item_id).receive_count == 0 for item_id in ids)

    client = staff(app, "cw@example.org")
    assert dashboard_dead_letters(client) == 0
    for item_id in (ids[1], ids[0]):
        page = client.get(CASEWORK + "/")
        claimed = client.post(CASEWORK + "/next", data={"csrf_token": csrf_token(page.text)})
        application_id = row(app, item_id).application_id
        assert claimed.headers["Location"].endswith(f"/applications/{application_id}")


def test_sqs_a_dead_letter_whose_application_is_done_is_deleted_not_resent(sqs):
    app, settings = sqs
    [item_id] = queued_applications(app, 1)
    with app.app_context():
        relay_once(checking_queue())
    redrive_everything(app)
    with app.app_context():
        # Finished meanwhile through another copy of the message.
        db.session.execute(
            update(QueueItem).where(QueueItem.id == item_id).values(completed_at=utcnow())
        )
        db.session.commit()
        assert checking_queue().return_dead_letters() == 0
    assert messages_in(app, settings.SQS_DEAD_LETTER_QUEUE_URL) == 0
    assert messages_in(app, settings.SQS_QUEUE_URL) == 0
    assert row(app, item_id).receive_count == MAX_RECEIVES


def test_sqs_a_row_counted_dead_before_sqs_moved_its_message_is_sent_again(sqs):
    app, settings = sqs
    [item_id] = queued_applications(app, 1)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        relay_once(queue)
        for _attempt in range(MAX_RECEIVES):
            claim = queue.claim(worker.id)
            assert queue.release(claim.item_id, worker.id)
        # No one has received it since: SQS has not moved it yet, but the row is dead.
        assert messages_in(app, settings.SQS_DEAD_LETTER_QUEUE_URL) == 0
        assert queue.return_dead_letters() == 1
        stranded = db.session.get(QueueItem, item_id)
        assert stranded.receive_count == 0 and stranded.relayed_at is None
        assert relay_once(queue) == 1
        # The old copy goes to the dead letters on its next receive; the fresh one is claimed.
        claim = queue.claim(worker.id)
        assert claim is not None and claim.item_id == item_id
        assert messages_in(app, settings.SQS_DEAD_LETTER_QUEUE_URL) == 1
        # The old copy, found while the application is held, is dropped, not sent again.
        assert queue.return_dead_letters() == 0
    assert messages_in(app, settings.SQS_DEAD_LETTER_QUEUE_URL) == 0
    assert messages_in(app, settings.SQS_QUEUE_URL) == 1
    assert row(app, item_id).claimed_by_id == worker.id


# --- The page -------------------------------------------------------------------------------------


def test_an_admin_sees_the_dead_letters_and_returns_them(app):
    ids = dead_letter(app, 2)
    admin = staff(app, "admin@example.org", Role.ADMIN)
    dashboard = admin.get(CASEWORK + "/")
    assert "See and return them" in dashboard.text

    page = admin.get(DEAD_LETTERS)
    assert page.status_code == 200
    check_page(page, "en", "ltr")
    with app.app_context():
        references = list(
            db.session.scalars(
                select(Application.reference)
                .join(QueueItem, QueueItem.application_id == Application.id)
                .where(QueueItem.id.in_(ids))
                .order_by(QueueItem.submitted_at)
            )
        )
    positions = [page.text.index(reference) for reference in references]
    assert positions == sorted(positions), "oldest first"
    assert "Return them to the queue" in page.text

    response = admin.post(DEAD_LETTERS, data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302 and response.headers["Location"] == DEAD_LETTERS
    after = admin.get(DEAD_LETTERS)
    assert "2 applications returned to the queue" in after.text
    assert "There are no dead letters" in after.text
    assert "Return them to the queue" not in after.text
    assert "See and return them" not in admin.get(CASEWORK + "/").text
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "dead_letters_returned")
        )
        assert event.details == {"count": 2} and event.actor_id is not None
    assert all(row(app, item_id).receive_count == 0 for item_id in ids)


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "0 applications returned to the queue"),
        (1, "1 application returned to the queue"),
        (2, "2 applications returned to the queue"),
        (1200, "1,200 applications returned to the queue"),
    ],
)
def test_the_count_returned_is_told_in_words(count, message):
    assert returned_message(count) == message


def test_without_dead_letters_the_page_says_so_and_has_no_button(app):
    admin = staff(app, "admin@example.org", Role.ADMIN)
    page = admin.get(DEAD_LETTERS)
    assert page.status_code == 200
    assert "There are no dead letters" in page.text
    assert "Return them to the queue" not in page.text
    assert "See and return them" not in admin.get(CASEWORK + "/").text


def test_only_admins_reach_the_dead_letters(app, client):
    [item_id] = dead_letter(app)
    caseworker = staff(app, "cw@example.org")
    dashboard = caseworker.get(CASEWORK + "/")
    assert "See and return them" not in dashboard.text
    assert caseworker.get(DEAD_LETTERS).status_code == 404
    token = csrf_token(dashboard.text)
    assert caseworker.post(DEAD_LETTERS, data={"csrf_token": token}).status_code == 404

    make_user(app, "amina@example.org")
    response = sign_in(client, "amina@example.org")
    assert response.status_code == 302
    assert client.get(DEAD_LETTERS).status_code == 404
    assert row(app, item_id).dead_lettered_at is not None


def test_returning_without_a_csrf_token_is_refused(app):
    [item_id] = dead_letter(app)
    admin = staff(app, "admin@example.org", Role.ADMIN)
    assert admin.post(DEAD_LETTERS).status_code == 400
    assert admin.post(DEAD_LETTERS, data={"csrf_token": "forged"}).status_code == 400
    assert row(app, item_id).dead_lettered_at is not None
    with app.app_context():
        assert (
            db.session.scalar(
                select(AuditEvent).where(AuditEvent.action == "dead_letters_returned")
            )
            is None
        )
