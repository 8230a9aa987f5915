"""The SQS backend and its relay, against a moto server over real HTTP."""

from __future__ import annotations

import time
from datetime import timedelta

import boto3
import pytest
from sqlalchemy import select, update

from portal import create_app
from portal.extensions import db
from portal.models import QueueItem, Role
from portal.queue.backends import SqsQueue, checking_queue, sqs_client
from portal.queue.relay import Relay, relay_once
from tests.factories import send_application
from tests.helpers import make_user
from tests.moto_server import REGION, closed_port_url, moto_server, reset_moto  # noqa: F401
from tests.queue_helpers import queued_applications

MAX_RECEIVES = 2


def make_queues(endpoint: str) -> dict[str, str]:
    client = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    dead = client.create_queue(QueueName="checking-dead-letters")["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = f'{{"deadLetterTargetArn":"{dead_arn}","maxReceiveCount":"{MAX_RECEIVES}"}}'
    urls = {"dead": dead}
    for name in ("checking", "checking-priority"):
        urls[name] = client.create_queue(
            QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "60"}
        )["QueueUrl"]
    return urls


@pytest.fixture
def sqs_config(config, moto_server):  # noqa: F811
    reset_moto(moto_server)
    urls = make_queues(moto_server)
    config.QUEUE = "sqs"
    config.SQS_QUEUE_URL = urls["checking"]
    config.SQS_PRIORITY_QUEUE_URL = urls["checking-priority"]
    config.SQS_DEAD_LETTER_QUEUE_URL = urls["dead"]
    config.SQS_ENDPOINT_URL = moto_server
    config.QUEUE_MAX_RECEIVES = MAX_RECEIVES
    return config


@pytest.fixture
def sqs_app(sqs_config):
    application = create_app(sqs_config)
    yield application
    with application.app_context():
        db.engine.dispose()


def messages_in(app, url: str) -> int:
    with app.app_context():
        attributes = sqs_client(app).get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_the_relay_publishes_pending_rows_once_priority_to_its_own_queue(sqs_app, sqs_config):
    queued_applications(sqs_app, 12, priority_of=lambda i: 1 if i % 4 == 0 else 0)
    with sqs_app.app_context():
        queue = checking_queue()
        assert relay_once(queue) == 12
        assert relay_once(queue) == 0
        assert all(item.relayed_at for item in db.session.scalars(select(QueueItem)))
    assert messages_in(sqs_app, sqs_config.SQS_PRIORITY_QUEUE_URL) == 3
    assert messages_in(sqs_app, sqs_config.SQS_QUEUE_URL) == 9


def test_priority_applications_are_received_first(sqs_app):
    ids = queued_applications(sqs_app, 3, priority_of=lambda i: 2 if i == 2 else 0)
    worker = make_user(sqs_app, "cw@example.org", Role.CASEWORKER)
    with sqs_app.app_context():
        queue = checking_queue()
        relay_once(queue)
        assert queue.claim(worker.id).item_id == ids[2]


def test_submission_succeeds_while_sqs_is_down_and_the_relay_catches_up(
    sqs_config,
    moto_server,  # noqa: F811
):
    sqs_config.SQS_ENDPOINT_URL = closed_port_url()
    app = create_app(sqs_config)
    send_application(app.test_client(), app)
    with app.app_context():
        down = checking_queue()
        with pytest.raises(Exception):  # noqa: B017 - whatever botocore raises for a dead endpoint
            relay_once(down)
        [item] = db.session.scalars(select(QueueItem))
        assert item.relayed_at is None
        assert Relay(down, interval=0).stopping.is_set() is False
        up = SqsQueue(
            boto3.client("sqs", region_name=REGION, endpoint_url=moto_server),
            sqs_config.SQS_QUEUE_URL,
            sqs_config.SQS_PRIORITY_QUEUE_URL,
            sqs_config.SQS_DEAD_LETTER_QUEUE_URL,
            timedelta(minutes=5),
            MAX_RECEIVES,
        )
        assert relay_once(up) == 1
        db.session.expire_all()
        assert db.session.get(QueueItem, item.id).relayed_at is not None
        db.engine.dispose()


def test_the_relay_loop_stops_when_asked(sqs_app):
    queued_applications(sqs_app, 3)
    with sqs_app.app_context():
        loop = Relay(checking_queue(), interval=0.05)
        loop.stop()
        assert loop.run() == 0
        loop = Relay(checking_queue(), interval=0.05, limit=10)
        original = loop.stopping.wait

        def stop_after_first_pass(timeout: float) -> bool:
            loop.stop()
            return original(timeout)

        loop.stopping.wait = stop_after_first_pass
        assert loop.run() == 3


def test_extending_keeps_the_message_hidden_past_the_first_lease(sqs_app, sqs_config):
    queued_applications(sqs_app, 1)
    holder = make_user(sqs_app, "cw@example.org", Role.CASEWORKER)
    other = make_user(sqs_app, "other@example.org", Role.CASEWORKER)
    with sqs_app.app_context():
        queue = checking_queue()
        queue.lease = timedelta(seconds=2)
        relay_once(queue)
        claim = queue.claim(holder.id)
        time.sleep(1.2)
        assert queue.extend(claim.item_id, holder.id) is not None
        time.sleep(1.2)
        assert queue.claim(other.id) is None


def test_completing_deletes_the_message(sqs_app, sqs_config):
    queued_applications(sqs_app, 1)
    worker = make_user(sqs_app, "cw@example.org", Role.CASEWORKER)
    with sqs_app.app_context():
        queue = checking_queue()
        relay_once(queue)
        claim = queue.claim(worker.id)
        assert queue.complete(claim.item_id, worker.id)
        db.session.commit()
        queue.acknowledge(claim.item_id)
    assert messages_in(sqs_app, sqs_config.SQS_QUEUE_URL) == 0


def test_a_poison_message_is_redriven_to_the_dead_letter_queue(sqs_app, sqs_config):
    queued_applications(sqs_app, 1)
    worker = make_user(sqs_app, "cw@example.org", Role.CASEWORKER)
    with sqs_app.app_context():
        queue = checking_queue()
        relay_once(queue)
        for _attempt in range(MAX_RECEIVES):
            claim = queue.claim(worker.id)
            assert claim is not None
            assert queue.release(claim.item_id, worker.id)
        assert queue.claim(worker.id) is None
        assert queue.dead_letter_count() == 1
    assert messages_in(sqs_app, sqs_config.SQS_QUEUE_URL) == 0


def test_a_message_delivered_twice_is_processed_once(sqs_app, sqs_config):
    [item_id] = queued_applications(sqs_app, 1)
    worker = make_user(sqs_app, "cw@example.org", Role.CASEWORKER)
    with sqs_app.app_context():
        queue = checking_queue()
        relay_once(queue)
        # The relay crashed after sending and before marking: the next pass sends it again.
        db.session.execute(update(QueueItem).values(relayed_at=None))
        db.session.commit()
        assert relay_once(queue) == 1
        assert messages_in(sqs_app, sqs_config.SQS_QUEUE_URL) == 2
        claim = queue.claim(worker.id)
        assert claim.item_id == item_id
        assert queue.complete(item_id, worker.id)
        db.session.commit()
        queue.acknowledge(item_id)
        assert queue.claim(worker.id) is None
    assert messages_in(sqs_app, sqs_config.SQS_QUEUE_URL) == 0
