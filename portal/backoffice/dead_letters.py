"""The dead letters: applications that failed too many times in the checking queue, and messages
that SQS delivered but no one could read.

A dead-lettered application is never claimed again, so without an admin returning it the
submission would be lost. The list comes from the outbox rows, whichever backend is in use. An
unreadable message is kept with its body until an admin sends it back or discards it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import Application, QueueItem, UnreadableQueueMessage
from portal.queue import unreadable
from portal.queue.backends import SQS_ERRORS, SqsQueue, checking_queue, dead_condition
from portal.transactions import transactional

log = logging.getLogger(__name__)

# More than this many dead letters means something is broken for everyone: the oldest are enough
# to look into, and returning them all takes one press whatever the list shows.
LISTED = 500


@dataclass(frozen=True)
class DeadLetter:
    reference: str | None
    application_id: uuid.UUID
    submitted_at: datetime
    times_claimed: int
    dead_lettered_at: datetime | None


@dataclass(frozen=True)
class DeadLetters:
    applications: list[DeadLetter]
    unreadable: list[UnreadableQueueMessage]
    # Only SQS delivers messages; with the database queue a kept one can only be discarded.
    can_send_back: bool
    # What the queue itself holds (with SQS, messages in the dead-letter queue), which can include
    # copies of applications already being checked or done: returning clears those too.
    in_queue: int

    @property
    def truncated(self) -> bool:
        return len(self.applications) == LISTED

    @property
    def any(self) -> bool:
        return bool(self.applications) or self.in_queue > 0


def count(now: datetime) -> int:
    """Dead-lettered applications and unreadable messages: everything waiting for an admin."""
    queue = checking_queue()
    dead = db.session.scalar(
        select(func.count()).select_from(QueueItem).where(dead_condition(now, queue.max_receives))
    )
    return int(dead or 0) + unreadable.count()


def dead_letters(now: datetime) -> DeadLetters:
    """The dead-lettered, unfinished applications, oldest submission first."""
    queue = checking_queue()
    rows = db.session.execute(
        select(
            Application.reference,
            QueueItem.application_id,
            QueueItem.submitted_at,
            QueueItem.receive_count,
            QueueItem.dead_lettered_at,
        )
        .join(Application, Application.id == QueueItem.application_id)
        .where(dead_condition(now, queue.max_receives))
        .order_by(QueueItem.submitted_at, QueueItem.id)
        .limit(LISTED)
    )
    return DeadLetters(
        applications=[DeadLetter(*row) for row in rows],
        unreadable=unreadable.listed(),
        can_send_back=isinstance(queue, SqsQueue),
        in_queue=queue.dead_letter_count(),
    )


@transactional
def return_to_queue() -> int:
    """Put every dead letter back in the queue and record who did it; returns how many went back.

    The database queue joins this transaction; SQS commits as it goes (message by message), so
    the audit entry gives the count that actually went back."""
    returned = checking_queue().return_dead_letters()
    audit.record("dead_letters_returned", subject_type="queue", count=returned)
    return returned


def returned_message(count: int) -> str:
    """What the admin is told after pressing the button."""
    noun = "application" if count == 1 else "applications"
    return f"{count:,} {noun} returned to the queue"


# What the audit log keeps of a message's body: enough to tell what it was, never unbounded.
AUDITED_BODY = 2000


@transactional
def send_back(message_id: str) -> str:
    """Send a kept message back to its queue, as it was, and forget it; says what happened.

    Sent before it is forgotten: a failure in between leaves a second copy, kept again when read,
    never a message gone without trace."""
    kept = unreadable.find(message_id)
    queue = checking_queue()
    if kept is None:
        return "That message is no longer kept."
    if not isinstance(queue, SqsQueue):
        return "Only a message from SQS can go back: discard it instead."
    try:
        queue.send_unreadable(kept.queue_url, kept.body)
    except SQS_ERRORS:
        log.warning("an unreadable message could not be sent back", exc_info=True)
        return "SQS did not take the message back. Try again later."
    audit.record(
        "unreadable_message_returned",
        subject_type="queue_message",
        subject_id=kept.id,
        queue=kept.queue_url,
        problem=kept.problem,
    )
    db.session.delete(kept)
    return "The message was sent back to the queue."


@transactional
def discard(message_id: str) -> str:
    """Forget a kept message; the audit log keeps who did it and the start of its body."""
    kept = unreadable.find(message_id)
    if kept is None:
        return "That message is no longer kept."
    audit.record(
        "unreadable_message_discarded",
        subject_type="queue_message",
        subject_id=kept.id,
        problem=kept.problem,
        body=kept.body[:AUDITED_BODY],
    )
    db.session.delete(kept)
    return "The message was discarded."
