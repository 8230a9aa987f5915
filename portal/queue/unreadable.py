"""Messages that SQS delivered but the portal could not act on: kept with their bodies, so that an
admin sees them among the dead letters and sends each back or discards it.

Nothing is lost by keeping them: the application rows are the truth, and a row whose message was
garbled is published again by the reconciler. What is kept is the evidence of what went wrong.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import UnreadableQueueMessage

log = logging.getLogger(__name__)

# The most shown at once: more than a page of garbage means one cause, and the oldest show it.
LISTED = 100


def keep(queue_url: str, message: dict[str, Any], problem: str) -> None:
    """Add the message to the caller's transaction, once per SQS message (a second delivery of a
    message whose delete failed finds it kept already)."""
    sqs_id = str(message.get("MessageId") or uuid.uuid4())
    log.error(
        "unreadable queue message kept for the dead letters",
        extra={"queue": queue_url, "sqs_message_id": sqs_id, "problem": problem},
    )
    kept = db.session.scalar(
        select(UnreadableQueueMessage.id).where(UnreadableQueueMessage.sqs_message_id == sqs_id)
    )
    if kept is None:
        db.session.add(
            UnreadableQueueMessage(
                queue_url=queue_url,
                sqs_message_id=sqs_id,
                body=str(message.get("Body", "")),
                problem=problem,
            )
        )


def listed() -> list[UnreadableQueueMessage]:
    """The oldest kept messages first."""
    return list(
        db.session.scalars(
            select(UnreadableQueueMessage)
            .order_by(UnreadableQueueMessage.created_at, UnreadableQueueMessage.id)
            .limit(LISTED)
        )
    )


def count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(UnreadableQueueMessage)) or 0)


def find(message_id: str) -> UnreadableQueueMessage | None:
    """The kept message named in an admin's form; None for a malformed or unknown id."""
    try:
        key = uuid.UUID(message_id)
    except ValueError:
        return None
    return db.session.get(UnreadableQueueMessage, key)
