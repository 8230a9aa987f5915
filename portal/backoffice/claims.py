"""Claiming applications from the checking queue: who holds which application, and for how long.

A caseworker works on an application only while holding its queue item under a live lease;
claiming, keeping and releasing it go through the queue (portal.queue.backends).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal import audit
from portal.apply import lifecycle
from portal.extensions import db
from portal.models import (
    Application,
    QueueItem,
    Status,
    User,
    utcnow,
)
from portal.queue.backends import CheckingQueue, Claim, checking_queue
from portal.transactions import transactional


class NotHeld(Exception):
    """The caseworker does not hold this application's queue item (lease over, or never claimed)."""

    def __init__(self) -> None:
        super().__init__("You no longer hold this application. Claim it from the queue.")


def held_item(application: Application, worker: User) -> QueueItem | None:
    """The queue item this worker holds for the application, if its lease is still running."""
    return db.session.scalar(
        select(QueueItem).where(
            QueueItem.application_id == application.id,
            QueueItem.claimed_by_id == worker.id,
            QueueItem.completed_at.is_(None),
            QueueItem.dead_lettered_at.is_(None),
            QueueItem.available_at > utcnow(),
        )
    )


def claim_next(worker: User) -> Application | None:
    """Claim the next application to check. Items whose application moved on meanwhile (withdrawn,
    already decided) are completed and skipped: a message delivered twice is processed once."""
    queue = checking_queue()
    while (claim := queue.claim(worker.id)) is not None:
        application = db.session.get(Application, claim.application_id)
        if application is not None and _start_checks(application, worker, claim):
            return application
        if _skip(queue, claim, worker):
            queue.acknowledge(claim.item_id)
    return None


@transactional
def _skip(queue: CheckingQueue, claim: Claim, worker: User) -> bool:
    """Complete an item whose application moved on, committed before SQS is told."""
    return queue.complete(claim.item_id, worker.id)


@transactional
def _start_checks(application: Application, worker: User, claim: Claim) -> bool:
    status = application.status_enum
    if status is Status.IN_CHECKS:
        return True
    if status is not Status.SUBMITTED:
        return False
    try:
        lifecycle.transition(
            application, Status.IN_CHECKS, actor_id=worker.id, reason="claimed from the queue"
        )
    except lifecycle.IllegalTransition:
        db.session.rollback()
        return False
    audit.record(
        "queue_item_claimed",
        subject_type="application",
        subject_id=application.id,
        item=str(claim.item_id),
    )
    return True


def keep_working(application: Application, worker: User) -> datetime | None:
    """Extend the worker's lease while they work on the application."""
    item = held_item(application, worker)
    if item is None:
        return None
    return checking_queue().extend(item.id, worker.id)


@transactional
def release(application: Application, worker: User) -> bool:
    """Give the application back to the queue, unchanged, for someone else to check."""
    item = held_item(application, worker)
    if item is None:
        return False
    if application.status_enum is Status.IN_CHECKS:
        lifecycle.transition(
            application, Status.SUBMITTED, actor_id=worker.id, reason="released to the queue"
        )
    return checking_queue().release(item.id, worker.id)
