"""Writing to the outbox: the queue message joins the transaction that changes the application, so
the two commit together or not at all. Nothing here talks to a queue service."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app

from portal.documents import services as document_services
from portal.extensions import db
from portal.models import Application, QueueItem
from portal.queue import messages
from portal.queue.priority import priority_of

SUBMITTED = "application_submitted"
INFORMATION_PROVIDED = "information_provided"


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
