"""The two checking queues behind one interface: the database (the outbox row is the item) and SQS.

Both keep the item's holder and lease in its outbox row, so that the back office shows one picture
whichever backend is in use. Every method that takes or gives back an item is safe under
concurrency: a conditional update decides who wins, checked by its row count, never a read then a
write.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, current_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, and_, func, or_, select, update

from portal import metrics
from portal.extensions import db
from portal.models import QueueItem, utcnow
from portal.queue import messages, unreadable
from portal.transactions import transactional

log = logging.getLogger(__name__)

# What an SQS call raises when the service refuses it or cannot be reached.
SQS_ERRORS = (BotoCoreError, ClientError)


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

    # Claims lost to a concurrent claim before giving up (each loss means another got a row).
    ATTEMPTS = 20

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
        return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult

    def _extend_row(self, item_id: uuid.UUID, worker_id: uuid.UUID, now: datetime) -> bool:
        result = db.session.execute(
            update(QueueItem)
            .where(_held_by(item_id, worker_id, now))
            .values(available_at=now + self.lease)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult

    def _release_row(self, item_id: uuid.UUID, worker_id: uuid.UUID, now: datetime) -> bool:
        result = db.session.execute(
            update(QueueItem)
            .where(_held_by(item_id, worker_id, now))
            .values(available_at=now, claimed_by_id=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult

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
        return int(result.rowcount)  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult

    def _claim_from_database(self, worker_id: uuid.UUID, now: datetime) -> Claim | None:
        """The next waiting row by priority and age, taken under a lease; commits. On PostgreSQL
        the candidate is locked with `FOR UPDATE SKIP LOCKED`, so concurrent claims pass each
        other instead of queueing; on SQLite writes are serialised and the update settles it."""
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

    def complete(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        result = db.session.execute(
            update(QueueItem)
            .where(_held_by(item_id, worker_id, utcnow()))
            .values(completed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult


class DatabaseQueue(_Leases):
    """The outbox table as the queue: every claim is a claim from the database."""

    def claim(self, worker_id: uuid.UUID, now: datetime | None = None) -> Claim | None:
        return self._claim_from_database(worker_id, now or utcnow())

    @transactional
    def extend(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> datetime | None:
        now = utcnow()
        extended = self._extend_row(item_id, worker_id, now)
        return now + self.lease if extended else None

    @transactional
    def release(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        released = self._release_row(item_id, worker_id, utcnow())
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

    @transactional
    def return_dead_letters(self, now: datetime | None = None) -> int:
        """One conditional update: the dead rows are the dead letters, so a completed item (which
        `dead_condition` excludes) is never returned."""
        now = now or utcnow()
        returned = self._return_rows(dead_condition(now, self.max_receives), now)
        log.warning("dead letters returned to the queue", extra={"count": returned})
        return returned


class SqsQueue(_Leases):
    """Amazon SQS: two queues (priority applications first) that redrive to one dead-letter queue.

    The outbox row is the truth; a message is only a hint that its row waits. A claim deletes a
    message only when its row needs nothing more (done, or dead and listed for admins) or when it
    cannot be read (kept first, with its body, for admins); a message for a row that someone holds
    is hidden until their lease ends, never deleted. Calls to SQS after a commit may fail without
    harm: the next receive or the reconciler (portal/queue/reconcile.py) does what they would
    have done. When SQS hands over nothing claimable, the claim takes the next waiting row from
    the database, so it never answers "none waiting" while a row waits.
    """

    # Single-message receives per queue and claim: enough to read past a relay's batch of
    # duplicates and some garbage; beyond that the database decides. One at a time, so that no
    # message is received (and counted towards its redrive) only to be handed back.
    RECEIVES_PER_QUEUE = 25
    MAX_VISIBILITY_SECONDS = 12 * 3600
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

    def claim(self, worker_id: uuid.UUID, now: datetime | None = None) -> Claim | None:
        now = now or utcnow()
        try:
            for url in (self.priority_queue_url, self.queue_url):
                claim = self._claim_from(url, worker_id, now)
                if claim is not None:
                    return claim
        except SQS_ERRORS:
            log.warning("SQS did not answer a claim; the database decides", exc_info=True)
        return self._claim_from_database(worker_id, now)

    def _claim_from(self, url: str, worker_id: uuid.UUID, now: datetime) -> Claim | None:
        for _receive in range(self.RECEIVES_PER_QUEUE):
            received = self.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=1,
                VisibilityTimeout=int(self.lease.total_seconds()),
                WaitTimeSeconds=0,
            ).get("Messages")
            if not received:
                return None
            claim = self._consider(url, received[0], worker_id, now)
            if claim is not None:
                return claim
        return None

    def _consider(
        self, url: str, message: dict[str, Any], worker_id: uuid.UUID, now: datetime
    ) -> Claim | None:
        """Take the message's row if it waits; otherwise do with the message what its row says."""
        handle = message["ReceiptHandle"]
        try:
            item_id = messages.item_id_of(message["Body"])
        except messages.InvalidMessage as problem:
            self._keep_unreadable(url, message, str(problem))
            return None
        try:
            taken = self._take(
                item_id,
                worker_id,
                now,
                waiting_condition(now, self.max_receives),
                receive_count=QueueItem.receive_count + 1,
                receipt_handle=f"{url} {handle}",
            )
            row = db.session.execute(
                select(
                    QueueItem.application_id,
                    QueueItem.completed_at,
                    QueueItem.dead_lettered_at,
                    QueueItem.available_at,
                    QueueItem.receive_count,
                ).where(QueueItem.id == item_id)
            ).first()
            if row is not None and not taken and row.available_at > now:
                # Held: the newest delivery's handle is the one SQS honours for the holder.
                db.session.execute(
                    update(QueueItem)
                    .where(QueueItem.id == item_id, QueueItem.available_at > now)
                    .values(receipt_handle=f"{url} {handle}")
                    .execution_options(synchronize_session=False)
                )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if row is None:
            self._keep_unreadable(url, message, "no queue item has this message_id")
        elif taken:
            return Claim(item_id, row.application_id, now + self.lease)
        elif row.completed_at is not None or row.dead_lettered_at is not None:
            self._delete(url, handle)
        elif row.receive_count >= self.max_receives and row.available_at <= now:
            self._delete(url, handle)  # dead: listed for admins, and sent afresh if returned
        elif row.available_at > now:
            hidden = math.ceil((row.available_at - now).total_seconds())
            self._set_visibility(url, handle, min(hidden, self.MAX_VISIBILITY_SECONDS))
        else:
            self._set_visibility(url, handle, 0)
        return None

    def _keep_unreadable(
        self, url: str, message: dict[str, Any], problem: str, send_back_to: str | None = None
    ) -> None:
        """Keep the message for admins, committed, before deleting it from the queue at `url`."""
        try:
            unreadable.keep(send_back_to or url, message, problem)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        self._delete(url, message["ReceiptHandle"])

    def _delete(self, url: str, handle: str) -> None:
        try:
            self.client.delete_message(QueueUrl=url, ReceiptHandle=handle)
        except SQS_ERRORS:
            log.warning("queue message not deleted; it is sorted again when next received")

    def _set_visibility(self, url: str, handle: str, seconds: int) -> None:
        try:
            self.client.change_message_visibility(
                QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=seconds
            )
        except SQS_ERRORS:
            log.warning(
                "queue message visibility not changed; the database lease still holds",
                extra={"seconds": seconds},
            )

    def _receipt(self, item_id: uuid.UUID) -> tuple[str, str] | None:
        stored = db.session.scalar(select(QueueItem.receipt_handle).where(QueueItem.id == item_id))
        if not stored:
            return None
        url, _space, handle = stored.partition(" ")
        return url, handle

    def extend(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> datetime | None:
        """The database lease is what counts; keeping the message hidden as long is a courtesy
        that may fail (a stale handle, SQS away) without harm to the caseworker."""
        now = utcnow()
        extended = self._extend_row(item_id, worker_id, now)
        receipt = self._receipt(item_id)
        db.session.commit()
        if not extended:
            return None
        if receipt is not None:
            self._set_visibility(*receipt, int(self.lease.total_seconds()))
        return now + self.lease

    def release(self, item_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
        released = self._release_row(item_id, worker_id, utcnow())
        receipt = self._receipt(item_id)
        db.session.commit()
        if released and receipt is not None:
            self._set_visibility(*receipt, 0)
        return released

    def acknowledge(self, item_id: uuid.UUID) -> None:
        """Delete the message; if this fails, the message comes back, finds its row done and is
        deleted then."""
        receipt = self._receipt(item_id)
        if receipt is not None:
            self._delete(*receipt)

    def reachable(self) -> bool:
        try:
            self.probe_client.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
        except Exception:
            log.warning("the SQS queue is not reachable", exc_info=True)
            return False
        return True

    def send_unreadable(self, url: str, body: str) -> None:
        """Send an unreadable message's body back to the queue it was read from, as it was."""
        self.client.send_message(QueueUrl=url, MessageBody=body)

    def return_dead_letters(self, now: datetime | None = None) -> int:
        """Reset the dead rows, unsent, so that the relay publishes each afresh to its own queue;
        then empty the dead-letter queue, whose copies are no longer needed (an unreadable one is
        kept for admins, and one whose row waits has its row sent again too).

        The database is reset first: if SQS fails while the dead-letter queue is read, every
        dead application has still gone back, and pressing again clears the rest."""
        now = now or utcnow()
        try:
            returned = self._return_rows(
                dead_condition(now, self.max_receives), now, relayed_at=None
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if self.dead_letter_queue_url:
            try:
                returned += self._drain_dead_letters(now)
            except SQS_ERRORS:
                log.warning("the dead-letter queue was not emptied; return again", exc_info=True)
        log.warning("dead letters returned to the queue", extra={"count": returned})
        return returned

    def _drain_dead_letters(self, now: datetime) -> int:
        """Read the dead-letter queue in batches until it answers empty or the bound is reached;
        returns how many waiting rows were marked to be sent again."""
        marked = 0
        for _batch in range(self.DEAD_LETTER_BATCHES):
            received = self.client.receive_message(
                QueueUrl=self.dead_letter_queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=self.DEAD_LETTER_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
            ).get("Messages")
            if not received:
                return marked
            for message in received:
                marked += self._clear_dead_letter(message, now)
        log.warning("the dead-letter queue was not emptied in one pass; return again")
        return marked

    def _clear_dead_letter(self, message: dict[str, Any], now: datetime) -> int:
        try:
            item_id = messages.item_id_of(message["Body"])
        except messages.InvalidMessage as problem:
            # Kept to go back to the checking queue: the dead-letter queue is read only here.
            self._keep_unreadable(
                self.dead_letter_queue_url, message, str(problem), send_back_to=self.queue_url
            )
            return 0
        try:
            # Redriven while its row still waits (copies received while held count too): send
            # the row again now rather than when the reconciler finds it.
            marked = db.session.execute(  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
                update(QueueItem)
                .where(
                    QueueItem.id == item_id,
                    waiting_condition(now, self.max_receives),
                    QueueItem.relayed_at.is_not(None),
                )
                .values(relayed_at=None, receipt_handle=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        self._delete(self.dead_letter_queue_url, message["ReceiptHandle"])
        return int(marked)

    def dead_letter_count(self) -> int:
        """What the dead-letter queue holds (copies included); 0 when SQS does not answer."""
        if not self.dead_letter_queue_url:
            return 0
        try:
            attributes = self.client.get_queue_attributes(
                QueueUrl=self.dead_letter_queue_url,
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]
        except SQS_ERRORS:
            log.warning("the dead-letter queue did not answer", exc_info=True)
            return 0
        return int(attributes.get("ApproximateNumberOfMessages", 0))


def sqs_client(app: Flask, probe: bool = False) -> Any:
    """A client that gives up within seconds: a caseworker waits on claims, and the relay
    simply tries again on its next pass. The probe (for the readiness check) gives up sooner."""
    import boto3
    from botocore.config import Config

    settings = app.config["PORTAL"]
    if probe:
        config = Config(
            connect_timeout=2, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 1}
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
    return current_app.extensions["checking_queue"]


class QueueCollector(Collector):
    """The checking queue as it is now: waiting items, the oldest one's age, dead letters."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.app.app_context():
            queue = checking_queue()
            now = utcnow()
            waiting = waiting_condition(now, queue.max_receives)
            depth, oldest = db.session.execute(
                select(func.count(), func.min(QueueItem.submitted_at)).where(waiting)
            ).one()
            dead = queue.dead_letter_count()
            db.session.rollback()
        yield GaugeMetricFamily("portal_queue_depth", "Applications waiting to be checked", depth)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "portal_queue_oldest_seconds", "How long the oldest waiting application has waited", age
        )
        yield GaugeMetricFamily("portal_queue_dead_letters", "Items that failed too often", dead)


metrics.read_at_scrape(QueueCollector)
