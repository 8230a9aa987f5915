"""Sent applications and their queue items made straight in the database, for queue tests that
need hundreds of them (the pages are tested elsewhere)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from portal.apply import references
from portal.extensions import db
from portal.models import Application, QueueItem, Role, Status, UnreadableQueueMessage, User, utcnow
from portal.queue.backends import checking_queue
from tests.helpers import make_user


def queued_applications(
    app: Flask,
    count: int,
    *,
    priority_of: object = None,
    start: datetime | None = None,
) -> list[uuid.UUID]:
    """`count` sent applications, each with its queue item; returns the item ids, oldest first.

    `priority_of(index)` gives an item's priority (0 by default); item i was sent i seconds
    after `start`."""
    start = start or utcnow() - timedelta(hours=1)
    users, applications, items = [], [], []
    for index in range(count):
        user_id, application_id, item_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        sent = start + timedelta(seconds=index)
        reference = references.new_reference()
        priority = priority_of(index) if callable(priority_of) else 0
        users.append(
            {"id": user_id, "email": f"queued-{user_id.hex}@example.org", "role": Role.APPLICANT}
        )
        applications.append(
            {
                "id": application_id,
                "applicant_id": user_id,
                "status": Status.SUBMITTED.value,
                "answers": {"names": {"given_names": "Test", "family_name": f"Person {index}"}},
                "eligibility": {},
                "reference": reference,
                "submitted_at": sent,
            }
        )
        items.append(
            {
                "id": item_id,
                "application_id": application_id,
                "kind": "application_submitted",
                "body": {
                    "schema_version": 1,
                    "message_id": str(item_id),
                    "kind": "application_submitted",
                    "application_id": str(application_id),
                    "reference": reference,
                    "family_reference": None,
                    "priority": priority,
                    "priority_reasons": [],
                    "submitted_at": sent.isoformat(),
                    "documents": [],
                },
                "priority": priority,
                "submitted_at": sent,
                "available_at": sent,
            }
        )
    with app.app_context():
        for table, rows in ((User, users), (Application, applications), (QueueItem, items)):
            for chunk in range(0, len(rows), 500):
                db.session.execute(insert(table), rows[chunk : chunk + 500])
        db.session.commit()
    return [item["id"] for item in items]


def dead_letter(app, count: int = 1) -> list[uuid.UUID]:
    """`count` applications claimed the most times allowed, a day ago, each lease left to run out,
    until the database queue dead-letters them; returns their item ids, oldest first."""
    ids = queued_applications(app, count, start=utcnow() - timedelta(days=2))
    worker = make_user(app, f"slow-{uuid.uuid4().hex}@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        now = utcnow() - timedelta(days=1)
        while (claim := queue.claim(worker.id, now=now)) is not None:
            now = claim.lease_until + timedelta(seconds=1)
        rows = db.session.scalars(select(QueueItem).where(QueueItem.id.in_(ids)))
        assert all(row.dead_lettered_at is not None for row in rows)
        assert all(row.receive_count == queue.max_receives for row in rows)
    return ids


def assert_nothing_lost(app: Flask, now: datetime | None = None) -> None:
    """The invariant of the checking queue: each sent application is done, listed for admins as a
    dead letter, or claimable within one lease plus one visibility timeout from `now`."""
    from portal.backoffice.dead_letters import dead_letters
    from portal.queue.backends import SqsQueue
    from portal.queue.reconcile import reconcile
    from portal.queue.relay import relay_once

    with app.app_context():
        queue = checking_queue()
        # The claim sets each message's visibility timeout to the lease.
        later = (now or utcnow()) + queue.lease + queue.lease
        reconcile(queue, later)
        if isinstance(queue, SqsQueue):
            relay_once(queue, now=later)
        worker = make_user(app, f"invariant-{uuid.uuid4().hex}@example.org", Role.CASEWORKER)
        claimed = set()
        while (claim := queue.claim(worker.id, now=later)) is not None:
            claimed.add(claim.item_id)
        dead = {letter.application_id for letter in dead_letters(later).applications}
        rows = db.session.execute(
            select(QueueItem.id, QueueItem.application_id, QueueItem.completed_at)
        ).all()
        lost = [
            row.id
            for row in rows
            if row.completed_at is None and row.id not in claimed and row.application_id not in dead
        ]
        assert lost == [], f"queue items neither done, dead nor claimable: {lost}"


def kept_unreadable(app: Flask, body: str, problem: str = "not JSON") -> uuid.UUID:
    """An unreadable message as the SQS claim keeps it; returns its id."""
    with app.app_context():
        kept = UnreadableQueueMessage(
            queue_url="https://sqs.eu-west-2.amazonaws.com/123456789012/checking",
            sqs_message_id=str(uuid.uuid4()),
            body=body,
            problem=problem,
        )
        db.session.add(kept)
        db.session.commit()
        return kept.id
