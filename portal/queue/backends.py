"""The two checking queues behind one interface: the database (the outbox row is the item) and SQS.

Both keep the item's holder and lease in its outbox row, so that the back office shows one picture
whichever backend is in use. Every method that takes or gives back an item is safe under
concurrency: a conditional update decides who wins, checked by its row count, never a read then a
write.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import ColumnElement, and_, func, or_, select, update

from portal.extensions import db
from portal.models import QueueItem, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    item_id: uuid.UUID
    application_id: uuid.UUID
    lease_until: datetime


class CheckingQueue(Protocol):
    lease: timedelta
    max_receives: int

    def claim(self, worker_id: uuid.UUID, now: datetime | None = None) -> Claim | None:
        """Reserve the next item for this worker under a lease, committed; None when none waits."""

    def extend(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> datetime | None:
        """Push the worker's lease on; None when the worker no longer holds the item."""

    def release(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        """Give the item back so that someone else can claim it at once."""

    def complete(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        """Mark the item done in the caller's transaction (the caller commits)."""

    def acknowledge(self, item_id: uuid.UUID) -> None:
        """After the caller's commit: tell the queue service the item is done."""

    def dead_letter_count(self) -> int:
        """Items that failed too many times and wait for an admin."""

    def return_dead_letters(self, now: datetime | None = None) -> int:
        """Put every dead-lettered, unfinished item back in the queue with a fresh set of
        receives; returns how many applications went back. Commits."""

    def reachable(self) -> bool:
        """Whether claims could be made now (for the readiness check)."""


def waiting_condition(now: datetime, max_receives: int) -> ColumnElement[bool]:
    """Claimable now: not done, not dead, lease (if any) over, receives left."""
    return and_(
        QueueItem.completed_at.is_(None),
        QueueItem.dead_lettered_at.is_(None),
        QueueItem.available_at <= now,
        QueueItem.receive_count < max_receives,
    )


def dead_condition(now: datetime, max_receives: int) -> ColumnElement[bool]:
    """Dead-lettered, or received the most times allowed and not finished when its lease ran out
    (the state in which SQS's redrive policy moves a message to the dead-letter queue)."""
    return and_(
        QueueItem.completed_at.is_(None),
        or_(
            QueueItem.dead_lettered_at.is_not(None),
            and_(QueueItem.receive_count >= max_receives, QueueItem.available_at <= now),
        ),
    )


def message_attributes(kind: str, body: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The SQS message attributes of a queue message, so a consumer can route on them unread."""
    return {
        "kind": {"DataType": "String", "StringValue": kind},
        "schema_version": {"DataType": "Number", "StringValue": str(body["schema_version"])},
    }


def _held_by(item_id: uuid.UUID, worker_id: uuid.UUID, now: datetime) -> ColumnElement[bool]:
    return and_(
        QueueItem.id == item_id,
        QueueItem.claimed_by_id == worker_id,
        QueueItem.completed_at.is_(None),
        QueueItem.dead_lettered_at.is_(None),
        QueueItem.available_at > now,
    )


class _Leases:
    """What both backends do in the outbox rows."""

    def __init__(self, lease: timedelta, max_receives: int) -> None:
        self.lease = lease
        self.max_receives = max_receives

    def _take(
        self,
        item_id: uuid.UUID,
        worker_id: uuid.UUID,
        now: datetime,
        condition: ColumnElement[bool],
        **values: Any,
    ) -> bool:
        result = db.session.execute(
            update(QueueItem)
            .where(QueueItem.id == item_id, condition)
            .values(
                claimed_by_id=worker_id,
                claimed_at=now,
                available_at=now + self.lease,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _extend_row(self, item_id: uuid.UUID, worker_id: uuid.UUID, now: datetime) -> bool:
        result = db.session.execute(
            update(QueueItem)
            .where(_held_by(item_id, worker_id, now))
            .values(available_at=now + self.lease)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _release_row(self, item_id: uuid.UUID, worker_id: uuid.UUID, now: datetime) -> bool:
        result = db.session.execute(
            update(QueueItem)
            .where(_held_by(item_id, worker_id, now))
            .values(available_at=now, claimed_by_id=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _return_rows(self, condition: ColumnElement[bool], now: datetime, **values: Any) -> int:
        """Give the matching rows a fresh set of receives, claimable at once, in one update."""
        result = db.session.execute(
            update(QueueItem)
            .where(condition)
            .values(
                dead_lettered_at=None,
                receive_count=0,
                claimed_by_id=None,
                claimed_at=None,
                receipt_handle=None,
                available_at=now,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)

    def complete(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        result = db.session.execute(
            update(QueueItem)
            .where(_held_by(item_id, worker_id, utcnow()))
            .values(completed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class DatabaseQueue(_Leases):
    """The outbox table as the queue. On PostgreSQL the next item is locked with
    `FOR UPDATE SKIP LOCKED`, so concurrent claims pass each other instead of queueing; on SQLite
    writes are serialised anyway and the conditional update settles any race."""

    ATTEMPTS = 20

    def claim(self, worker_id: uuid.UUID, now: datetime | None = None) -> Claim | None:
        now = now or utcnow()
        skip_locked = db.session.get_bind().dialect.name == "postgresql"
        try:
            for _attempt in range(self.ATTEMPTS):
                self._dead_letter_exhausted(now, skip_locked)
                query = (
                    select(QueueItem.id, QueueItem.application_id)
                    .where(waiting_condition(now, self.max_receives))
                    .order_by(QueueItem.priority.desc(), QueueItem.submitted_at, QueueItem.id)
                    .limit(1)
                )
                if skip_locked:
                    query = query.with_for_update(skip_locked=True)
                row = db.session.execute(query).first()
                if row is None:
                    db.session.commit()
                    return None
                taken = self._take(
                    row.id,
                    worker_id,
                    now,
                    waiting_condition(now, self.max_receives),
                    receive_count=QueueItem.receive_count + 1,
                )
                db.session.commit()
                if taken:
                    return Claim(row.id, row.application_id, now + self.lease)
        except Exception:
            db.session.rollback()
            raise
        return None

    def _dead_letter_exhausted(self, now: datetime, skip_locked: bool) -> None:
        """Items whose last allowed lease ran out go to the dead letters, once, when next seen."""
        exhausted = select(QueueItem.id).where(
            QueueItem.completed_at.is_(None),
            QueueItem.dead_lettered_at.is_(None),
            QueueItem.receive_count >= self.max_receives,
            QueueItem.available_at <= now,
        )
        if skip_locked:
            exhausted = exhausted.with_for_update(skip_locked=True)
        ids = list(db.session.scalars(exhausted.limit(100)))
        if ids:
            db.session.execute(
                update(QueueItem)
                .where(QueueItem.id.in_(ids), QueueItem.dead_lettered_at.is_(None))
                .values(dead_lettered_at=now, claimed_by_id=None)
                .execution_options(synchronize_session=False)
            )
            log.warning("queue items dead-lettered", extra={"count": len(ids)})

    def extend(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> datetime | None:
        now = utcnow()
        extended = self._extend_row(item_id, worker_id, now)
        db.session.commit()
        return now + self.lease if extended else None

    def release(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        released = self._release_row(item_id, worker_id, utcnow())
        db.session.commit()
        return released

    def acknowledge(self, item_id: uuid.UUID) -> None:
        """The database queue's item is done when the caller's transaction commits."""

    def reachable(self) -> bool:
        """The database queue is the database, which the readiness check tries on its own."""
        return True

    def dead_letter_count(self) -> int:
        return int(
            db.session.scalar(
                select(func.count())
                .select_from(QueueItem)
                .where(dead_condition(utcnow(), self.max_receives))
            )
            or 0
        )

    def return_dead_letters(self, now: datetime | None = None) -> int:
        """One conditional update: the dead rows are the dead letters, so a completed item (which
        `dead_condition` excludes) is never returned."""
        now = now or utcnow()
        try:
            returned = self._return_rows(dead_condition(now, self.max_receives), now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        log.warning("dead letters returned to the queue", extra={"count": returned})
        return returned


class SqsQueue(_Leases):
    """Amazon SQS: two queues (priority applications first) that redrive to one dead-letter queue.

    SQS hands out each message at least once, so a message whose outbox row is already done, or
    held by someone else, is deleted without being shown: a duplicate delivery is processed once.
    """

    RECEIVES_PER_CLAIM = 10
    # Moving the dead letters back: up to this many receives of 10 in one admin request (a few
    # seconds against SQS); whatever is left waits for the admin to press again.
    DEAD_LETTER_BATCHES = 50
    DEAD_LETTER_VISIBILITY_SECONDS = 60

    def __init__(
        self,
        client: Any,
        queue_url: str,
        priority_queue_url: str,
        dead_letter_queue_url: str,
        lease: timedelta,
        max_receives: int,
        probe_client: Any | None = None,
    ) -> None:
        super().__init__(lease, max_receives)
        self.client = client
        # The readiness check's client: one short try, so a hung SQS gives a 503 in seconds.
        self.probe_client = probe_client or client
        self.queue_url = queue_url
        self.priority_queue_url = priority_queue_url
        self.dead_letter_queue_url = dead_letter_queue_url

    def url_for(self, priority: int) -> str:
        return self.priority_queue_url if priority > 0 else self.queue_url

    def _messages(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for url in (self.priority_queue_url, self.queue_url):
            for _receive in range(self.RECEIVES_PER_CLAIM):
                answer = self.client.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=1,
                    VisibilityTimeout=int(self.lease.total_seconds()),
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                )
                received = answer.get("Messages") or []
                if not received:
                    break
                yield url, received[0]

    def claim(self, worker_id: uuid.UUID, now: datetime | None = None) -> Claim | None:
        for url, message in self._messages():
            now = now or utcnow()
            try:
                body = json.loads(message["Body"])
                item_id = uuid.UUID(body["message_id"])
            except (ValueError, KeyError, TypeError):
                log.error("unreadable queue message deleted", extra={"queue": url})
                self.client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                continue
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            condition = and_(
                QueueItem.completed_at.is_(None),
                QueueItem.dead_lettered_at.is_(None),
                QueueItem.available_at <= now,
            )
            taken = self._take(
                item_id,
                worker_id,
                now,
                condition,
                receive_count=receives,
                receipt_handle=f"{url} {message['ReceiptHandle']}",
            )
            application_id = db.session.scalar(
                select(QueueItem.application_id).where(QueueItem.id == item_id)
            )
            db.session.commit()
            if taken and application_id is not None:
                return Claim(item_id, application_id, now + self.lease)
            log.info("duplicate or finished queue message deleted", extra={"item": str(item_id)})
            self.client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            now = None
        return None

    def _receipt(self, item_id: uuid.UUID) -> tuple[str, str] | None:
        stored = db.session.scalar(select(QueueItem.receipt_handle).where(QueueItem.id == item_id))
        if not stored:
            return None
        url, _space, handle = stored.partition(" ")
        return url, handle

    def extend(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> datetime | None:
        now = utcnow()
        extended = self._extend_row(item_id, worker_id, now)
        receipt = self._receipt(item_id)
        db.session.commit()
        if not extended or receipt is None:
            return None
        url, handle = receipt
        self.client.change_message_visibility(
            QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=int(self.lease.total_seconds())
        )
        return now + self.lease

    def release(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        released = self._release_row(item_id, worker_id, utcnow())
        receipt = self._receipt(item_id)
        db.session.commit()
        if released and receipt is not None:
            url, handle = receipt
            self.client.change_message_visibility(
                QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
            )
        return released

    def acknowledge(self, item_id: uuid.UUID) -> None:
        """Delete the message; if this fails, the message comes back, finds its row done and is
        deleted then."""
        receipt = self._receipt(item_id)
        if receipt is None:
            return
        url, handle = receipt
        try:
            self.client.delete_message(QueueUrl=url, ReceiptHandle=handle)
        except Exception:
            log.exception("queue message not deleted; it will be dropped when seen again")

    def reachable(self) -> bool:
        try:
            self.probe_client.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
        except Exception:
            log.warning("the SQS queue is not reachable", exc_info=True)
            return False
        return True

    def return_dead_letters(self, now: datetime | None = None) -> int:
        """Move the dead-letter queue's messages back by hand (moto, unlike SQS, has no
        StartMessageMoveTask), then reset the rows still counted as dead.

        Each message is sent again before it is deleted from the dead-letter queue: a failure in
        between leaves a duplicate, which `claim` drops, never a lost application.
        """
        now = now or utcnow()
        returned: set[uuid.UUID] = set()
        emptied = self._drain_dead_letters(now, returned) if self.dead_letter_queue_url else True
        count = len(returned)
        if emptied:
            count += self._return_stranded_rows(now)
        else:
            log.warning("the dead-letter queue was not emptied in one pass; return again")
        log.warning("dead letters returned to the queue", extra={"count": count})
        return count

    def _drain_dead_letters(self, now: datetime, returned: set[uuid.UUID]) -> bool:
        """Receive the dead-letter queue in batches until it answers empty (True) or the bound is
        reached (False), adding the ids of the items sent back to `returned`."""
        for _batch in range(self.DEAD_LETTER_BATCHES):
            answer = self.client.receive_message(
                QueueUrl=self.dead_letter_queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=self.DEAD_LETTER_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
            )
            received = answer.get("Messages") or []
            if not received:
                return True
            for message in received:
                item_id = self._return_message(message, now, returned)
                if item_id is not None:
                    returned.add(item_id)
        return False

    def _return_message(
        self, message: dict[str, Any], now: datetime, returned: set[uuid.UUID]
    ) -> uuid.UUID | None:
        """Send one dead letter back to its queue if its row still waits for a caseworker; delete
        it from the dead-letter queue either way. Returns the item's id when it went back."""
        handle = message["ReceiptHandle"]
        try:
            body = json.loads(message["Body"])
            item_id = uuid.UUID(body["message_id"])
        except (ValueError, KeyError, TypeError):
            log.error("unreadable dead letter deleted")
            self._delete_dead_letter(handle)
            return None
        if item_id in returned:
            # A second copy of a message already sent back in this pass.
            self._delete_dead_letter(handle)
            return None
        # Not finished and not held under a live lease (the condition `claim` takes an item
        # under): a held row's caseworker has another copy of this message.
        waiting = and_(
            QueueItem.id == item_id,
            QueueItem.completed_at.is_(None),
            QueueItem.available_at <= now,
        )
        try:
            reset = self._return_rows(waiting, now) == 1
            row = db.session.execute(
                select(QueueItem.priority, QueueItem.kind).where(QueueItem.id == item_id)
            ).first()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if not reset or row is None:
            log.info("dead letter of a finished or held item deleted", extra={"item": str(item_id)})
            self._delete_dead_letter(handle)
            return None
        self.client.send_message(
            QueueUrl=self.url_for(row.priority),
            MessageBody=message["Body"],
            MessageAttributes=message_attributes(row.kind, body),
        )
        self._delete_dead_letter(handle)
        return item_id

    def _delete_dead_letter(self, handle: str) -> None:
        self.client.delete_message(QueueUrl=self.dead_letter_queue_url, ReceiptHandle=handle)

    def _return_stranded_rows(self, now: datetime) -> int:
        """Rows counted as dead whose message was not in the dead-letter queue: still in the main
        queue waiting for SQS to move it on its next receive, or gone (the dead-letter queue's
        retention ran out). Marked unsent, so the relay publishes a fresh copy; an old copy that
        turns up later, in either queue, is dropped once its row is taken or done."""
        try:
            stranded = self._return_rows(
                dead_condition(now, self.max_receives), now, relayed_at=None
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return stranded

    def dead_letter_count(self) -> int:
        if not self.dead_letter_queue_url:
            return 0
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))


def sqs_client(app: Flask, probe: bool = False) -> Any:
    """A client that gives up within seconds: a caseworker waits on claims, and the relay
    simply tries again on its next pass. The probe (for the readiness check) gives up sooner."""
    import boto3
    from botocore.config import Config

    settings = app.config["PORTAL"]
    if probe:
        config = Config(
            connect_timeout=2, read_timeout=2, retries={"mode": "standard", "max_attempts": 1}
        )
    else:
        config = Config(
            connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2}
        )
    return boto3.client(
        "sqs",
        region_name=settings.SQS_REGION,
        endpoint_url=settings.SQS_ENDPOINT_URL or None,
        config=config,
    )


def init_app(app: Flask) -> None:
    settings = app.config["PORTAL"]
    lease = timedelta(seconds=settings.QUEUE_LEASE_SECONDS)
    backend: CheckingQueue
    if settings.QUEUE == "sqs":
        backend = SqsQueue(
            sqs_client(app),
            settings.SQS_QUEUE_URL,
            settings.SQS_PRIORITY_QUEUE_URL,
            settings.SQS_DEAD_LETTER_QUEUE_URL,
            lease,
            settings.QUEUE_MAX_RECEIVES,
            probe_client=sqs_client(app, probe=True),
        )
    else:
        backend = DatabaseQueue(lease, settings.QUEUE_MAX_RECEIVES)
    app.extensions["checking_queue"] = backend


def checking_queue() -> CheckingQueue:
    return current_app.extensions["checking_queue"]  # type: ignore[no-any-return]
