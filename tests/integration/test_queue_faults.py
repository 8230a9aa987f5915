"""Issue 24: faults of SQS that must never lose an application.

The database row is the truth and SQS only carries hints: after every fault below, each submitted
application is claimable within one lease plus one visibility timeout, or done, or listed for
admins as a dead letter (tests.queue_helpers.assert_nothing_lost).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AuditEvent, QueueItem, Role, UnreadableQueueMessage, utcnow
from portal.queue.backends import checking_queue, sqs_client
from portal.queue.reconcile import reconcile
from portal.queue.relay import relay_once
from tests.helpers import check_page, csrf_token, make_user, sign_in_staff
from tests.integration.test_queue_sqs import (  # noqa: F401
    messages_in,
    sqs_app,
    sqs_config,
)
from tests.moto_server import moto_server  # noqa: F401
from tests.queue_helpers import assert_nothing_lost, queued_applications

CASEWORK = "/en/casework"


@pytest.fixture
def sqs(sqs_app, sqs_config):  # noqa: F811
    """The app on the SQS backend (over moto, maxReceiveCount 2) and its configuration."""
    return sqs_app, sqs_config


def staff(app, email: str, role: Role = Role.CASEWORKER):
    client = app.test_client()
    make_user(app, email, role)
    sign_in_staff(client, app, email)
    return client


def claim_next(client):
    """Press "Check the next application"; returns where it leads."""
    page = client.get(CASEWORK + "/")
    answer = client.post(CASEWORK + "/next", data={"csrf_token": csrf_token(page.text)})
    assert answer.status_code == 302
    return answer.headers["Location"]


def receipt_of(app, item_id: uuid.UUID) -> tuple[str, str]:
    with app.app_context():
        stored = db.session.scalar(select(QueueItem.receipt_handle).where(QueueItem.id == item_id))
    url, _space, handle = stored.partition(" ")
    return url, handle


def publish(app, url: str, body: str, copies: int = 1) -> None:
    with app.app_context():
        client = sqs_client(app)
        for _copy in range(copies):
            client.send_message(QueueUrl=url, MessageBody=body)


def body_of(app, item_id: uuid.UUID) -> str:
    with app.app_context():
        return json.dumps(db.session.get(QueueItem, item_id).body)


# --- 1. A claim never deletes the message of a row someone else holds ----------------------------


def test_a_claim_leaves_the_message_of_an_application_someone_else_holds(sqs):
    app, settings = sqs
    [item_id] = queued_applications(app, 1)
    with app.app_context():
        relay_once(checking_queue())
    holder = staff(app, "holder@example.org")
    other = staff(app, "other@example.org")
    page = claim_next(holder)
    assert "/applications/" in page
    # `extend` committed the longer lease, then ChangeMessageVisibility failed: SQS shows the
    # holder's own delivery again while the database lease still runs.
    url, handle = receipt_of(app, item_id)
    with app.app_context():
        sqs_client(app).change_message_visibility(
            QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
        )
    assert claim_next(other).endswith(CASEWORK + "/")
    assert messages_in(app, settings.SQS_QUEUE_URL) == 1, "the only message was deleted"
    assert holder.get(page).status_code == 200
    assert_nothing_lost(app)


def test_the_application_page_survives_a_receipt_handle_that_sqs_no_longer_knows(sqs):
    app, _settings = sqs
    [item_id] = queued_applications(app, 1)
    with app.app_context():
        relay_once(checking_queue())
    holder = staff(app, "holder@example.org")
    page = claim_next(holder)
    url, handle = receipt_of(app, item_id)
    with app.app_context():
        # Gone from under the holder (an operator purged the queue, or another consumer).
        sqs_client(app).delete_message(QueueUrl=url, ReceiptHandle=handle)
        sqs_client(app).purge_queue(QueueUrl=url)
    viewed = holder.get(page)
    assert viewed.status_code == 200
    released = holder.post(page + "/release", data={"csrf_token": csrf_token(viewed.text)})
    assert released.status_code == 302
    assert_nothing_lost(app)


# --- 2. A claim reads on until it finds an application or the queue is really empty --------------


def test_a_claim_reads_past_duplicates_and_garbage_to_a_waiting_application(sqs):
    app, settings = sqs
    [done_id] = queued_applications(app, 1)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        db.session.execute(
            update(QueueItem).where(QueueItem.id == done_id).values(completed_at=utcnow())
        )
        db.session.commit()
    # A relay killed mid-batch, many times over, and some garbage, ahead of a real application.
    publish(app, settings.SQS_QUEUE_URL, body_of(app, done_id), copies=25)
    publish(app, settings.SQS_QUEUE_URL, "not json", copies=5)
    [waiting_id] = queued_applications(app, 1)
    with app.app_context():
        queue = checking_queue()
        assert relay_once(queue) == 2  # the done row was never marked relayed: one more copy
        claim = queue.claim(worker.id)
        assert claim is not None and claim.item_id == waiting_id
    assert_nothing_lost(app)


def test_an_application_whose_message_was_lost_is_still_claimed(sqs):
    app, settings = sqs
    [item_id] = queued_applications(app, 1)
    with app.app_context():
        relay_once(checking_queue())
        sqs_client(app).purge_queue(QueueUrl=settings.SQS_QUEUE_URL)
    caseworker = staff(app, "cw@example.org")
    assert "Waiting to be checked" in caseworker.get(CASEWORK + "/").text
    with app.app_context():
        application_id = db.session.get(QueueItem, item_id).application_id
    assert claim_next(caseworker).endswith(f"/applications/{application_id}")
    assert_nothing_lost(app)


# --- 3. A message id that is not a string ---------------------------------------------------------


def test_a_message_whose_id_is_a_number_is_no_error(sqs):
    app, settings = sqs
    queued_applications(app, 1)
    publish(app, settings.SQS_PRIORITY_QUEUE_URL, '{"schema_version": 1, "message_id": 7}')
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        relay_once(queue)
        assert queue.claim(worker.id) is not None
    assert messages_in(app, settings.SQS_PRIORITY_QUEUE_URL) == 0
    assert_nothing_lost(app)


def test_returning_dead_letters_gets_past_a_dead_letter_whose_id_is_a_number(sqs):
    app, settings = sqs
    publish(app, settings.SQS_DEAD_LETTER_QUEUE_URL, '{"message_id": 12345}')
    with app.app_context():
        assert checking_queue().return_dead_letters() == 0
    assert messages_in(app, settings.SQS_DEAD_LETTER_QUEUE_URL) == 0


# --- 4. Unreadable messages are kept for admins, with their body ----------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "is not of type 'object'"),
        ('{"schema_version": 1, "message_id": 7}', "7 is not of type 'string'"),
        ('{"schema_version": 1, "message_id": "not-a-uuid"}', "message_id"),
        ('{"schema_version": 2}', "schema_version"),
    ],
)
def test_an_unreadable_message_is_kept_with_its_body(sqs, body, problem):
    app, settings = sqs
    publish(app, settings.SQS_QUEUE_URL, body)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        assert checking_queue().claim(worker.id) is None
        [kept] = db.session.scalars(select(UnreadableQueueMessage))
        assert kept.body == body and problem in kept.problem
        assert kept.queue_url == settings.SQS_QUEUE_URL
    assert messages_in(app, settings.SQS_QUEUE_URL) == 0


def test_a_valid_message_for_no_queue_item_is_kept_and_kept_once(sqs):
    app, settings = sqs
    [item_id] = queued_applications(app, 1)
    body = body_of(app, item_id)
    with app.app_context():
        db.session.execute(update(QueueItem).values(completed_at=utcnow()))
        db.session.commit()
    unknown = body.replace(str(item_id), str(uuid.uuid4()))
    publish(app, settings.SQS_QUEUE_URL, unknown)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        [message] = queue.client.receive_message(
            QueueUrl=settings.SQS_QUEUE_URL, VisibilityTimeout=0
        )["Messages"]
        # A delete that failed: the same message is delivered again, and kept once.
        queue._keep_unreadable(settings.SQS_QUEUE_URL, {**message, "ReceiptHandle": "gone"}, "x")
        assert queue.claim(worker.id) is None
        [kept] = db.session.scalars(select(UnreadableQueueMessage))
        assert kept.body == unknown


def test_an_unreadable_dead_letter_is_kept_to_go_back_to_the_checking_queue(sqs):
    app, settings = sqs
    publish(app, settings.SQS_DEAD_LETTER_QUEUE_URL, "{garbled")
    with app.app_context():
        assert checking_queue().return_dead_letters() == 0
        [kept] = db.session.scalars(select(UnreadableQueueMessage))
        assert kept.body == "{garbled" and kept.queue_url == settings.SQS_QUEUE_URL


def test_an_admin_sees_unreadable_messages_and_sends_back_or_discards_each(sqs):
    app, settings = sqs
    publish(app, settings.SQS_PRIORITY_QUEUE_URL, '{"message_id": 42, "note": "<b>bold</b>"}')
    publish(app, settings.SQS_QUEUE_URL, "plain garbage")
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        assert checking_queue().claim(worker.id) is None
        kept = {m.body: m.id for m in db.session.scalars(select(UnreadableQueueMessage))}
    admin = staff(app, "admin@example.org", Role.ADMIN)
    dashboard = admin.get(CASEWORK + "/")
    assert "See and return them" in dashboard.text
    page = admin.get(CASEWORK + "/dead-letters")
    assert page.status_code == 200
    check_page(page, "en", "ltr")
    assert "plain garbage" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text and "<b>bold</b>" not in page.text
    token = csrf_token(page.text)
    url = CASEWORK + "/dead-letters/unreadable/{}"

    # Without a CSRF token nothing happens.
    assert (
        admin.post(url.format(kept["plain garbage"]), data={"action": "discard"}).status_code == 400
    )
    caseworker = staff(app, "other@example.org")
    own_token = csrf_token(caseworker.get(CASEWORK + "/").text)
    refused = caseworker.post(
        url.format(kept["plain garbage"]), data={"action": "discard", "csrf_token": own_token}
    )
    assert refused.status_code == 404

    answer = admin.post(
        url.format(kept["plain garbage"]), data={"action": "discard", "csrf_token": token}
    )
    assert answer.status_code == 302
    assert "The message was discarded." in admin.get(CASEWORK + "/dead-letters").text
    answer = admin.post(
        url.format(kept['{"message_id": 42, "note": "<b>bold</b>"}']),
        data={"action": "send_back", "csrf_token": token},
    )
    assert answer.status_code == 302
    after = admin.get(CASEWORK + "/dead-letters")
    assert "The message was sent back to the queue." in after.text
    assert "There are no unreadable messages." in after.text
    assert messages_in(app, settings.SQS_PRIORITY_QUEUE_URL) == 1
    gone = admin.post(url.format(uuid.uuid4()), data={"action": "discard", "csrf_token": token})
    assert gone.status_code == 302
    assert "That message is no longer kept." in admin.get(CASEWORK + "/dead-letters").text
    with app.app_context():
        events = {
            event.action: event
            for event in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("unreadable_message_%"))
            )
        }
        assert set(events) == {"unreadable_message_discarded", "unreadable_message_returned"}
        assert events["unreadable_message_discarded"].details["body"] == "plain garbage"
        assert all(event.actor_id is not None for event in events.values())
        assert db.session.scalar(select(UnreadableQueueMessage)) is None


# --- The reconciler -------------------------------------------------------------------------------


def test_the_reconciler_publishes_again_only_rows_that_wait_past_a_lease_and_a_visibility(sqs):
    app, settings = sqs
    waiting, held, done, recent = queued_applications(app, 4)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        assert relay_once(queue) == 4
        sqs_client(app).purge_queue(QueueUrl=settings.SQS_QUEUE_URL)  # every message lost
        now = utcnow()
        long_ago = now - queue.lease - timedelta(seconds=1)
        db.session.execute(
            update(QueueItem).where(QueueItem.id != recent).values(relayed_at=long_ago)
        )
        db.session.execute(update(QueueItem).where(QueueItem.id == done).values(completed_at=now))
        db.session.execute(
            update(QueueItem)
            .where(QueueItem.id == held)
            .values(claimed_by_id=worker.id, available_at=now + queue.lease)
        )
        db.session.commit()
        assert reconcile(queue, now) == 1
        assert reconcile(queue, now) == 0
        unsent = set(db.session.scalars(select(QueueItem.id).where(QueueItem.relayed_at.is_(None))))
        assert unsent == {waiting}
        assert relay_once(queue) == 1
    assert messages_in(app, settings.SQS_QUEUE_URL) == 1
    assert_nothing_lost(app)


def test_the_reconcile_queue_command_says_what_it_did(sqs):
    app, _settings = sqs
    queued_applications(app, 1)
    with app.app_context():
        relay_once(checking_queue())
    result = app.test_cli_runner().invoke(args=["reconcile-queue"])
    assert result.exit_code == 0, result.output
    assert "0 application(s) marked to be published again" in result.output


def test_the_reconcile_queue_command_has_nothing_to_do_with_the_database_queue(app):
    result = app.test_cli_runner().invoke(args=["reconcile-queue"])
    assert result.exit_code == 0
    assert "PORTAL_QUEUE is `database`" in result.output
