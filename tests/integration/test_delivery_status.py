"""Delivery receipts: GOV.UK Notify's callbacks on their endpoint, and SES events arriving
through SNS into SQS (a moto server on loopback) for the consumer command."""

from __future__ import annotations

import json
import logging

import boto3
import pytest

from portal import create_app
from portal.extensions import db
from portal.models import Notification
from portal.notify import OutgoingMessage, ses_events
from tests.moto_server import REGION, moto_server, reset_moto  # noqa: F401
from tests.notify_server import (
    API_KEY,
    EMAIL_TEMPLATE_ID,
    SMS_TEMPLATE_ID,
    notify_server,  # noqa: F401
)

TOKEN = "callback-token-from-notify-settings"
URL = "/callbacks/notify/delivery-status"


def add_notification(app, provider_id: str, status: str = "sent") -> None:
    with app.app_context():
        db.session.add(
            Notification(
                channel="email",
                recipient="amina@example.org",
                template="application_submitted",
                locale="fr",
                status=status,
                provider_id=provider_id,
            )
        )
        db.session.commit()


def status_of(app, provider_id: str) -> tuple[str, str | None]:
    with app.app_context():
        record = db.session.query(Notification).filter_by(provider_id=provider_id).one()
        return record.status, record.reason


@pytest.fixture
def notify_app(config, notify_server):  # noqa: F811
    config.NOTIFY_BACKEND = "notify"
    config.NOTIFY_API_KEY = API_KEY
    config.NOTIFY_BASE_URL = notify_server.url
    config.NOTIFY_EMAIL_TEMPLATE_ID = EMAIL_TEMPLATE_ID
    config.NOTIFY_SMS_TEMPLATE_ID = SMS_TEMPLATE_ID
    config.NOTIFY_CALLBACK_TOKEN = TOKEN
    app = create_app(config)
    yield app, notify_server
    with app.app_context():
        db.engine.dispose()


# --------------------------------------------------------------------------- Notify callbacks


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
)
def test_a_callback_without_the_right_token_is_refused_and_changes_nothing(notify_app, header):
    app, _server = notify_app
    add_notification(app, "notify-id-1")
    headers = {"Authorization": header} if header else {}
    body = {"id": "notify-id-1", "status": "permanent-failure"}
    response = app.test_client().post(URL, json=body, headers=headers)
    assert response.status_code == 401
    assert status_of(app, "notify-id-1") == ("sent", None)


def test_callbacks_are_refused_when_no_token_is_configured(config):
    config.NOTIFY_CALLBACK_TOKEN = ""
    app = create_app(config)
    response = app.test_client().post(
        URL, json={"id": "x", "status": "delivered"}, headers={"Authorization": "Bearer "}
    )
    assert response.status_code == 401


def test_notify_callback_records_the_status_of_a_sent_message(notify_app):
    app, server = notify_app
    message = OutgoingMessage(
        "sms", "+33612345678", "application_submitted", "fr", "", "Demande reçue", (), "row-1"
    )
    provider_id = app.extensions["portal.sms"].deliver(message)
    add_notification(app, provider_id)
    receipt = server.set_status(provider_id, "permanent-failure")
    # No CSRF token: Notify cannot have one, and the endpoint is exempt.
    response = app.test_client().post(
        URL, json=receipt, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    assert response.get_json() == {"recorded": True}
    assert status_of(app, provider_id) == ("permanent-failure", "permanent-failure")


@pytest.mark.parametrize(
    ("notify_status", "recorded"),
    [
        ("delivered", ("delivered", None)),
        ("temporary-failure", ("temporary-failure", "temporary-failure")),
        ("technical-failure", ("temporary-failure", "technical-failure")),
    ],
)
def test_notify_statuses_map_to_the_outbox_statuses(notify_app, notify_status, recorded):
    app, _server = notify_app
    add_notification(app, "notify-id-2")
    response = app.test_client().post(
        URL,
        json={"id": "notify-id-2", "reference": "row-2", "status": notify_status},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    assert status_of(app, "notify-id-2") == recorded


def test_a_late_temporary_failure_does_not_undo_a_delivery(notify_app):
    app, _server = notify_app
    add_notification(app, "notify-id-3", status="delivered")
    app.test_client().post(
        URL,
        json={"id": "notify-id-3", "status": "temporary-failure"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert status_of(app, "notify-id-3") == ("delivered", None)


def test_a_callback_for_an_unknown_notification_is_accepted_and_changes_nothing(notify_app):
    app, _server = notify_app
    add_notification(app, "notify-id-4")
    response = app.test_client().post(
        URL,
        json={"id": "someone-elses", "status": "delivered"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    assert response.get_json() == {"recorded": False}
    assert status_of(app, "notify-id-4") == ("sent", None)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"status": "delivered"}', b'{"id": 5}'])
def test_a_malformed_callback_is_a_400_not_a_500(notify_app, body):
    app, _server = notify_app
    response = app.test_client().post(
        URL,
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 400


# --------------------------------------------------------------------------- SES events


@pytest.fixture
def ses_queue(app, moto_server):  # noqa: F811
    """A topic for SES events and a queue subscribed to it, as infra/cloudformation.yaml sets up."""
    reset_moto(moto_server)
    sns = boto3.client("sns", region_name=REGION, endpoint_url=moto_server)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_server)
    topic = sns.create_topic(Name="ses-events")["TopicArn"]
    url = sqs.create_queue(QueueName="ses-events", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return sns, topic, sqs, url


def ses_event(kind: str, message_id: str, **detail: object) -> str:
    event: dict[str, object] = {
        "notificationType": kind,
        "mail": {
            "timestamp": "2026-12-06T10:00:00.000Z",
            "messageId": message_id,
            "source": "no-reply@eoi.example.org",
            "destination": ["amina@example.org"],
        },
    }
    event.update(detail)
    return json.dumps(event)


def queued(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_ses_events_are_recorded_and_then_deleted(app, ses_queue):
    sns, topic, sqs, url = ses_queue
    for provider_id in ("ses-1", "ses-2", "ses-3", "ses-4"):
        add_notification(app, provider_id)
    sns.publish(TopicArn=topic, Message=ses_event("Delivery", "ses-1", delivery={}))
    sns.publish(
        TopicArn=topic,
        Message=ses_event(
            "Bounce", "ses-2", bounce={"bounceType": "Permanent", "bounceSubType": "NoEmail"}
        ),
    )
    sns.publish(
        TopicArn=topic,
        Message=ses_event(
            "Bounce", "ses-3", bounce={"bounceType": "Transient", "bounceSubType": "MailboxFull"}
        ),
    )
    sns.publish(
        TopicArn=topic,
        Message=ses_event("Complaint", "ses-4", complaint={"complaintFeedbackType": "abuse"}),
    )
    sns.publish(TopicArn=topic, Message=ses_event("Delivery", "unknown-to-the-portal"))
    with app.app_context():
        result = ses_events.consume_until_empty(sqs, url)
    assert (result.recorded, result.garbled, result.failed) == (5, 0, 0)
    assert status_of(app, "ses-1") == ("delivered", None)
    assert status_of(app, "ses-2") == ("permanent-failure", "bounce: Permanent NoEmail")
    assert status_of(app, "ses-3") == ("temporary-failure", "bounce: Transient MailboxFull")
    assert status_of(app, "ses-4") == ("delivered", "complaint")
    assert queued(sqs, url) == 0


def test_a_garbled_event_stays_for_the_dead_letter_queue_and_is_logged_without_addresses(
    app, ses_queue, caplog
):
    sns, topic, sqs, url = ses_queue
    add_notification(app, "ses-5")
    sqs.send_message(QueueUrl=url, MessageBody='{"Message": "amina@example.org is not JSON"')
    sns.publish(
        TopicArn=topic, Message=json.dumps({"mail": {"destination": ["amina@example.org"]}})
    )
    sns.publish(TopicArn=topic, Message=ses_event("Delivery", "ses-5"))
    with app.app_context(), caplog.at_level(logging.WARNING):
        result = ses_events.consume_until_empty(sqs, url)
    assert (result.recorded, result.garbled) == (1, 2)
    assert status_of(app, "ses-5") == ("delivered", None)
    assert queued(sqs, url) == 2  # received, not deleted: the redrive policy takes them on
    assert "amina@example.org" not in caplog.text


def test_an_event_whose_recording_fails_stays_in_the_queue(app, ses_queue, monkeypatch):
    sns, topic, sqs, url = ses_queue
    sns.publish(TopicArn=topic, Message=ses_event("Delivery", "ses-6"))

    def database_down(*_args: object) -> bool:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(ses_events, "record_delivery_status", database_down)
    with app.app_context():
        result = ses_events.consume_until_empty(sqs, url)
    assert (result.recorded, result.failed) == (0, 1)
    assert queued(sqs, url) == 1


def test_the_consume_command_records_what_is_queued_once(config, moto_server, ses_queue):  # noqa: F811
    sns, topic, _sqs, url = ses_queue
    config.SES_EVENTS_QUEUE_URL = url
    config.SQS_ENDPOINT_URL = moto_server
    config.SQS_REGION = REGION
    app = create_app(config)
    add_notification(app, "ses-7")
    sns.publish(
        TopicArn=topic,
        Message=ses_event("Bounce", "ses-7", bounce={"bounceType": "Permanent"}),
    )
    result = app.test_cli_runner().invoke(args=["consume-delivery-events", "--once"])
    assert result.exit_code == 0, result.output
    assert "recorded 1" in result.output
    assert status_of(app, "ses-7")[0] == "permanent-failure"
    with app.app_context():
        db.engine.dispose()
