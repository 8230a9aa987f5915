"""Writing to the outbox: the queue message joins the transaction that changes the application, so
the two commit together or not at all. Nothing here talks to a queue service."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import update

from portal.documents import services as document_services
from portal.extensions import db
from portal.models import Application, QueueItem
from portal.queue import messages
from portal.queue.priority import priority_of

SUBMITTED = "application_submitted"
INFORMATION_PROVIDED = "information_provided"
# Back after the last missed biometric appointment allowed, for a caseworker to decide.
APPOINTMENTS_MISSED = "appointments_missed"


def enqueue(application: Application, kind: str, now: datetime) -> QueueItem:
    """Add the application's queue item to the current transaction (the caller commits)."""
    settings = current_app.config["PORTAL"]
    priority = priority_of(application.answers, settings.PRIORITY_NATIONALITIES)
    item_id = uuid.uuid4()
    submitted_at = application.submitted_at or now
    body = messages.build(
        item_id,
        kind,
        application,
        document_services.documents_of(application),
        priority.score,
        priority.reasons,
        submitted_at,
    )
    item = QueueItem(
        id=item_id,
        application_id=application.id,
        kind=kind,
        body=body,
        priority=priority.score,
        submitted_at=submitted_at,
        available_at=now,
    )
    db.session.add(item)
    return item


def leave_queue(application_id: uuid.UUID, now: datetime) -> int:
    """Finish every open queue item of an application that needs no more checking (withdrawn,
    decided), in the caller's transaction: the caseworker holding it holds it no more, and
    nobody can claim it. An SQS message still out there finds its row done and is deleted."""
    result = db.session.execute(
        update(QueueItem)
        .where(QueueItem.application_id == application_id, QueueItem.completed_at.is_(None))
        .values(completed_at=now, available_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
