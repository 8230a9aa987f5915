"""The dead letters: applications that failed too many times in the checking queue.

A dead-lettered application is never claimed again, so without an admin returning it the
submission would be lost. The list comes from the outbox rows, whichever backend is in use.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import Application, QueueItem
from portal.queue.backends import checking_queue, dead_condition

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
    # What the queue itself holds (with SQS, messages in the dead-letter queue), which can include
    # copies of applications already being checked or done: returning clears those too.
    in_queue: int

    @property
    def truncated(self) -> bool:
        return len(self.applications) == LISTED

    @property
    def any(self) -> bool:
        return bool(self.applications) or self.in_queue > 0


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
        in_queue=queue.dead_letter_count(),
    )


def return_to_queue() -> int:
    """Put every dead letter back in the queue and record who did it; returns how many went back.

    The queue commits as it goes (with SQS, message by message), so the audit entry follows in
    its own commit with the count that actually went back."""
    returned = checking_queue().return_dead_letters()
    audit.record("dead_letters_returned", subject_type="queue", count=returned)
    db.session.commit()
    return returned


def returned_message(count: int) -> str:
    """What the admin is told after pressing the button."""
    noun = "application" if count == 1 else "applications"
    return f"{count:,} {noun} returned to the queue"
