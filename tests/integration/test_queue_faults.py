"""Issue 24: faults of SQS that must never lose an application.

The database row is the truth and SQS only carries hints: after every fault below, each submitted
application is claimable within one lease plus one visibility timeout, or done, or listed for
admins as a dead letter (tests.queue_helpers.assert_nothing_lost).
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import QueueItem, Role, utcnow
from portal.queue.backends import checking_queue, sqs_client
from portal.queue.relay import relay_once
from tests.helpers import csrf_token, make_user, sign_in_staff
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
