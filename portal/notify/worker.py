"""The sender: hands due outbox rows to their provider, after the change that wrote them committed.

A pass claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL; everywhere, a conditional update that
only takes a row still due), marks them `sending` for a claim time, commits, then delivers each and
records the attempt. Two workers never hold one row; a worker that dies leaves its rows `sending`
until the claim time passes, then they are due again. Before sending a row a second time the
worker asks the provider for a message already accepted under the row's id (`find`), so a lost
answer does not make a second copy where the provider can tell.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from portal.extensions import db
from portal.models import MessageStatus, Notification, NotificationAttempt, utcnow
from portal.notify import backend_for, outgoing
from portal.notify.backends import DeliveryError, PermanentDeliveryError

log = logging.getLogger(__name__)

WAITING = (MessageStatus.QUEUED.value, MessageStatus.TEMPORARY_FAILURE.value)


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
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.claimed_by == token)
            .order_by(Notification.priority, Notification.next_attempt_at)
        )
    )


def deliver(row: Notification, retry: Retry, now: datetime | None = None) -> str:
    """Hand one claimed row to its provider and record the outcome; returns the new status."""
    message = outgoing(row)
    chosen = backend_for(row.channel)
    provider_id: str | None = None
    outcome = MessageStatus.SENT
    reason: str | None = None
    try:
        # Tried before: the provider may hold it already (a lost answer, a worker killed).
        if row.attempts > 1:
            provider_id = chosen.find(message.reference)
            if provider_id is not None:
                reason = "found at the provider: not sent again"
        if provider_id is None:
            provider_id = chosen.deliver(message)
    except PermanentDeliveryError as exc:
        outcome, reason = MessageStatus.PERMANENT_FAILURE, exc.reason
    except DeliveryError as exc:
        outcome, reason = MessageStatus.TEMPORARY_FAILURE, exc.reason
    except Exception as exc:  # a fault in a backend must not stop the other messages
        log.exception("message backend failed", extra={"template": row.template})
        outcome, reason = MessageStatus.TEMPORARY_FAILURE, type(exc).__name__
    return record(row, outcome, reason, provider_id, retry, now or utcnow())


def record(
    row: Notification,
    outcome: MessageStatus,
    reason: str | None,
    provider_id: str | None,
    retry: Retry,
    now: datetime,
) -> str:
    """Write the attempt and the row's new state, only if this worker still holds the row."""
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
    try:
        held = db.session.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.claimed_by == row.claimed_by)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if held.rowcount:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
            db.session.add(
                NotificationAttempt(
                    notification_id=row.id,
                    attempted_at=now,
                    outcome=outcome.value,
                    reason=values["reason"],
                    provider_id=provider_id,
                )
            )
        else:
            log.warning("message claim ran out before its outcome was recorded")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if outcome is not MessageStatus.SENT:
        log.warning(
            "message not sent",
            extra={"template": row.template, "status": outcome.value, "reason": values["reason"]},
        )
    return outcome.value


def send_due(limit: int = 100, now: datetime | None = None) -> int:
    """One pass: claim up to `limit` due rows and deliver them; returns how many were claimed."""
    retry = Retry.from_settings()
    now = now or utcnow()
    rows = claim(limit, now, timedelta(seconds=retry.claim_seconds))
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
