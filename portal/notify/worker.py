"""The sender: hands due outbox rows to their provider, after the change that wrote them committed.

A pass claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL; everywhere, a conditional update that
only takes a row still due), marks them `sending` for a claim time, commits, then delivers each and
records the attempt. Two workers never hold one row; a worker that dies leaves its rows `sending`
until the claim time passes, then they are due again. Before sending a row a second time the
worker asks the provider for a message already accepted under the row's id (`find`), so a lost
answer does not make a second copy where the provider can tell (GOV.UK Notify).

SES, SNS and SMTP cannot be asked. When their answer is lost after the request may have reached
them (a read timeout, a connection reset after sending, a 5xx: `ambiguous`), the worker cannot
know whether the message left, and it sends it again at the next try. A presence link that never
arrives costs a person their application (it lasts 24 hours, and nothing else tells them to open
it); a second copy of the same message (the same row: the same text, the same link or code) costs
them a moment's doubt. So the doubt is resolved towards delivery, and stated and bounded rather
than hidden:
- each try is one request: boto3 does not retry inside a try (providers/aws.py), so every copy
  that may exist has an attempt row;
- the attempt and the row say "answer lost, may have been accepted", and the try that then
  succeeds says "a second copy is possible": the caseworker sees it beside the message;
- copies are at most one per try, and tries at most PORTAL_SEND_MAX_ATTEMPTS; in practice a lost
  answer is rare and followed by one more copy (tests/integration/test_lost_answers.py).
Waiting instead for a delivery event to confirm the first copy was weighed and not chosen: SNS
gives no event by our reference, SES gives one only with a configuration set, and a message held
for a confirmation that does not come would be the lost link this design exists to avoid.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, and_, insert, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from portal.extensions import db
from portal.models import MessageStatus, Notification, NotificationAttempt, utcnow
from portal.notify import backend_for, outgoing
from portal.notify.backends import DeliveryError, PermanentDeliveryError
from portal.transactions import transactional

log = logging.getLogger(__name__)

WAITING = (MessageStatus.QUEUED.value, MessageStatus.TEMPORARY_FAILURE.value)
# Leads the reason of a try whose answer was lost at a provider that cannot be asked, and is
# carried by the later failures of that row, so that the try that succeeds can say so.
UNCONFIRMED = "answer lost, may have been accepted"
SECOND_COPY = "sent again after an answer was lost: a second copy is possible"


@dataclass(frozen=True)
class Retry:
    """How temporary failures are retried: settings PORTAL_SEND_*."""

    max_attempts: int
    backoff_seconds: int
    backoff_max_seconds: int
    claim_seconds: int

    @classmethod
    def from_settings(cls) -> Retry:
        settings = current_app.config["PORTAL"]
        return cls(
            settings.SEND_MAX_ATTEMPTS,
            settings.SEND_BACKOFF_SECONDS,
            settings.SEND_BACKOFF_MAX_SECONDS,
            settings.SEND_CLAIM_SECONDS,
        )

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter: between half and all of base·2^(n-1), capped, so
        that messages failed together do not all come back at the same instant."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter


def due_condition(now: datetime) -> ColumnElement[bool]:
    """Rows to send now: waiting and due, or held by a worker whose claim ran out."""
    return or_(
        and_(Notification.status.in_(WAITING), Notification.next_attempt_at <= now),
        and_(Notification.status == MessageStatus.SENDING.value, Notification.claimed_until < now),
    )


def claim(limit: int, now: datetime, claim_for: timedelta) -> list[Notification]:
    """Take up to `limit` due rows, time-critical first, then the longest waiting. Commits."""
    token = uuid.uuid4().hex
    query = (
        select(Notification.id)
        .where(due_condition(now))
        .order_by(Notification.priority, Notification.next_attempt_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    try:
        ids = list(db.session.scalars(query))
        if ids:
            db.session.execute(
                update(Notification)
                .where(Notification.id.in_(ids), due_condition(now))
                .values(
                    status=MessageStatus.SENDING.value,
                    claimed_by=token,
                    claimed_until=now + claim_for,
                    attempts=Notification.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if not ids:
        return []
    rows = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.claimed_by == token)
            .order_by(Notification.priority, Notification.next_attempt_at)
            # The claim's UPDATE bypassed the ORM: a row this session already holds is read anew.
            .execution_options(populate_existing=True)
        )
    )
    # Detached, as read at the claim: each outcome is committed on its own (below), and nothing
    # should read the rows still waiting again before their turn (a query per message, a quarter
    # of a worker's time on loopback; bench/messages_throughput.py).
    # Nothing else changes them while this worker holds the claim.
    for row in rows:
        db.session.expunge(row)
    db.session.commit()  # ends the read: no transaction left open while the batch is sent
    return rows


def deliver(
    row: Notification,
    retry: Retry,
    now: datetime | None = None,
    connection: Connection | None = None,
) -> str:
    """Hand one claimed row to its provider and record the outcome; returns the new status.
    `connection`: an autocommit connection to record it with (PostgreSQL, see `record`)."""
    message = outgoing(row)
    chosen = backend_for(row.channel)
    provider_id: str | None = None
    outcome = MessageStatus.SENT
    reason: str | None = None
    # A copy may exist already, and this provider cannot tell us (see the module's docstring).
    in_doubt = UNCONFIRMED in (row.reason or "")
    try:
        # Tried before: the provider may hold it already (a lost answer, a worker killed).
        if row.attempts > 1 and chosen.finds_by_reference:
            provider_id = chosen.find(message.reference)
            if provider_id is not None:
                reason = "found at the provider: not sent again"
        if provider_id is None:
            provider_id = chosen.deliver(message)
            if in_doubt:
                reason = SECOND_COPY
    except PermanentDeliveryError as exc:
        outcome, reason = MessageStatus.PERMANENT_FAILURE, exc.reason
    except DeliveryError as exc:
        outcome, reason = MessageStatus.TEMPORARY_FAILURE, exc.reason
        if in_doubt or (exc.ambiguous and not chosen.finds_by_reference):
            reason = f"{UNCONFIRMED}: {exc.reason}"
    except Exception as exc:  # a fault in a backend must not stop the other messages
        log.exception("message backend failed", extra={"template": row.template})
        outcome, reason = MessageStatus.TEMPORARY_FAILURE, type(exc).__name__
    return record(row, outcome, reason, provider_id, retry, now or utcnow(), connection)


def record(
    row: Notification,
    outcome: MessageStatus,
    reason: str | None,
    provider_id: str | None,
    retry: Retry,
    now: datetime,
    connection: Connection | None = None,
) -> str:
    """Write the attempt and the row's new state, only if this worker still holds the row.

    Each outcome is committed before the next message goes, so that a worker killed mid-batch
    leaves at most the message in flight unrecorded. With `connection` (PostgreSQL, autocommit)
    that is one statement, its own transaction: the row's update and, only if it matched, the
    attempt. Elsewhere (SQLite) it is the session's update, insert and commit. On a loaded
    machine every round trip to the database waits for the scheduler, and four of them cost the
    worker more than the provider's call (bench/messages_throughput.py)."""
    values: dict[str, object] = {
        "reason": reason[:255] if reason else None,
        "claimed_by": None,
        "claimed_until": None,
        "updated_at": now,
    }
    if outcome is MessageStatus.TEMPORARY_FAILURE and row.attempts >= retry.max_attempts:
        outcome = MessageStatus.PERMANENT_FAILURE
        values["reason"] = f"gave up after {row.attempts} tries: {reason}"[:255]
    values["status"] = outcome.value
    if outcome is MessageStatus.TEMPORARY_FAILURE:
        values["next_attempt_at"] = now + retry.delay(row.attempts)
    else:
        values["next_attempt_at"] = None
        # Done with: the one-time links and codes in it need not be kept any longer.
        values["body"] = row.shown_body
        values["secrets"] = None
    if outcome is MessageStatus.SENT:
        values["sent_at"] = now
        values["provider_id"] = provider_id
    attempt = {
        "id": uuid.uuid4(),
        "notification_id": row.id,
        "attempted_at": now,
        "outcome": outcome.value,
        "reason": values["reason"],
        "provider_id": provider_id,
    }
    change = (
        update(Notification)
        .where(Notification.id == row.id, Notification.claimed_by == row.claimed_by)
        .values(**values)
    )
    if connection is not None:
        held = _record_in_one_statement(connection, change, attempt)
    else:
        held = _record_in_session(change, attempt)
    if not held:
        log.warning("message claim ran out before its outcome was recorded")
    if outcome is not MessageStatus.SENT:
        log.warning(
            "message not sent",
            extra={"template": row.template, "status": outcome.value, "reason": values["reason"]},
        )
    return outcome.value


def _record_in_one_statement(connection: Connection, change: Any, attempt: dict[str, Any]) -> bool:
    """WITH changed AS (UPDATE ... RETURNING id) INSERT INTO notification_attempts SELECT ..."""
    changed = change.returning(Notification.id).cte("changed")
    columns = NotificationAttempt.__table__.c
    source = select(
        *(
            changed.c.id if name == "notification_id" else literal(value, columns[name].type)
            for name, value in attempt.items()
        )
    )
    result = connection.execute(insert(NotificationAttempt).from_select(list(attempt), source))
    return bool(result.rowcount)


@transactional
def _record_in_session(change: Any, attempt: dict[str, Any]) -> bool:
    held = bool(
        db.session.execute(change.execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
    )
    if held:
        db.session.add(NotificationAttempt(**attempt))
    return held


def send_due(limit: int = 100, now: datetime | None = None) -> int:
    """One pass: claim up to `limit` due rows and deliver them; returns how many were claimed."""
    retry = Retry.from_settings()
    now = now or utcnow()
    rows = claim(limit, now, timedelta(seconds=retry.claim_seconds))
    if rows and db.session.get_bind().dialect.name == "postgresql":
        with db.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for row in rows:
                deliver(row, retry, now, autocommit)
    else:
        for row in rows:
            deliver(row, retry, now)
    return len(rows)


def send_all_due(limit: int = 100, now: datetime | None = None) -> int:
    """Passes until nothing is due (`send-messages --once`, the tests); returns rows claimed."""
    total = 0
    while claimed := send_due(limit, now):
        total += claimed
    return total


class Sender:
    """The long-running loop: sends until told to stop, sleeping when nothing is due or the
    database does not answer. A stop request ends it after the current pass."""

    def __init__(self, app: Flask, interval: float = 1.0, limit: int = 100) -> None:
        self.app = app
        self.interval = interval
        self.limit = limit
        self.stopping = threading.Event()

    def stop(self, *_signal: object) -> None:
        self.stopping.set()

    def run(self) -> int:
        total = 0
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    claimed = send_due(self.limit)
            except Exception:
                log.exception("send pass failed; retrying")
                claimed = 0
            total += claimed
            if claimed < self.limit:
                self.stopping.wait(self.interval)
        return total


def start_in_background(app: Flask, interval: float = 1.0) -> Sender:
    """The embedded default: the development server sends its own messages (to the log), so a
    newcomer sees them with no second process to start."""
    sender = Sender(app, interval=interval)
    threading.Thread(target=sender.run, name="send-messages", daemon=True).start()
    return sender
