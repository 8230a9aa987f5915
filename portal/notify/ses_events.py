"""SES delivery events (bounces, complaints, deliveries), published to SNS and queued in SQS,
recorded on the messages they name.

A message is deleted from the queue only after its event is recorded and committed, so a crash
in between records it twice (harmless) rather than never. A message that cannot be read is
logged by its SQS id alone (the event holds addresses) and left in the queue: after a few
receives the queue's redrive policy moves it to the dead-letter queue for a person to read.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from portal.extensions import db
from portal.notify.status import record_delivery_status

logger = logging.getLogger(__name__)


class GarbledEvent(ValueError):
    """The queue message is not an SES event that the portal can read."""


@dataclass(frozen=True)
class DeliveryEvent:
    provider_id: str
    status: str
    reason: str | None


def parse_event(body: str) -> DeliveryEvent | None:
    """The delivery status an SQS message body reports, or None for events that change none.

    Bodies come wrapped in an SNS notification (`Message` holds the SES event as a string) or,
    with raw message delivery, as the SES event itself. Identity notifications name the kind in
    `notificationType`, configuration-set events in `eventType`.
    """
    try:
        envelope = json.loads(body)
        event = json.loads(envelope["Message"]) if "Message" in envelope else envelope
        kind = event.get("notificationType") or event.get("eventType")
        message_id = event["mail"]["messageId"]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise GarbledEvent(type(exc).__name__) from exc
    if not isinstance(message_id, str) or not message_id:
        raise GarbledEvent("no messageId")
    if kind == "Delivery":
        return DeliveryEvent(message_id, "delivered", None)
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        bounce_type = str(bounce.get("bounceType", ""))
        reason = f"bounce: {bounce_type} {bounce.get('bounceSubType', '')}".strip()
        if bounce_type == "Permanent":
            return DeliveryEvent(message_id, "permanent-failure", reason)
        return DeliveryEvent(message_id, "temporary-failure", reason)
    if kind == "Complaint":
        # The email arrived; the recipient reported it as spam. SES stops sending to them.
        return DeliveryEvent(message_id, "delivered", "complaint")
    if kind == "Reject":
        return DeliveryEvent(message_id, "permanent-failure", "rejected by SES")
    if isinstance(kind, str):
        return None  # Send, Open, Click, DeliveryDelay...: nothing for the outbox
    raise GarbledEvent("no event type")


@dataclass
class ConsumeResult:
    recorded: int = 0
    ignored: int = 0
    garbled: int = 0
    failed: int = 0

    @property
    def received(self) -> int:
        return self.recorded + self.ignored + self.garbled + self.failed


def sqs_client(region: str, endpoint_url: str = "") -> Any:
    return boto3.client("sqs", region_name=region, endpoint_url=endpoint_url or None)


def consume_batch(client: Any, queue_url: str, wait_seconds: int = 0) -> ConsumeResult:
    """Receive up to ten events, record each, delete those recorded. Needs an app context."""
    result = ConsumeResult()
    response = client.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
    )
    for message in response.get("Messages", []):
        try:
            event = parse_event(message["Body"])
        except GarbledEvent as exc:
            result.garbled += 1
            logger.warning(
                "unreadable SES event left for the dead-letter queue",
                extra={"sqs_message_id": message.get("MessageId"), "error": str(exc)},
            )
            continue
        try:
            if event is not None:
                record_delivery_status(event.provider_id, event.status, event.reason)
        except Exception:
            db.session.rollback()
            result.failed += 1
            logger.exception(
                "could not record an SES event; it stays in the queue",
                extra={"sqs_message_id": message.get("MessageId")},
            )
            continue
        client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if event is None:
            result.ignored += 1
        else:
            result.recorded += 1
    return result


def consume_until_empty(client: Any, queue_url: str) -> ConsumeResult:
    """Every event waiting now (for a scheduler's run, and the tests)."""
    total = ConsumeResult()
    while True:
        batch = consume_batch(client, queue_url)
        total.recorded += batch.recorded
        total.ignored += batch.ignored
        total.garbled += batch.garbled
        total.failed += batch.failed
        # Unread messages stay invisible until their visibility timeout: this pass is done.
        if batch.recorded + batch.ignored == 0:
            return total


class EventConsumer:
    """The long-running consumer: long-polls the queue until stopped (SIGTERM, Ctrl-C)."""

    def __init__(self, client: Any, queue_url: str, wait_seconds: int = 20) -> None:
        self.client, self.queue_url, self.wait_seconds = client, queue_url, wait_seconds
        self._stopping = threading.Event()

    def stop(self, *_args: object) -> None:
        self._stopping.set()

    def run(self) -> int:
        recorded = 0
        while not self._stopping.is_set():
            try:
                recorded += consume_batch(self.client, self.queue_url, self.wait_seconds).recorded
            except (BotoCoreError, ClientError):
                logger.exception("SES events queue unavailable; trying again")
                self._stopping.wait(5)
        return recorded
