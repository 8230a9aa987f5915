"""The figures on the caseworker's dashboard, each one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.apply import windows
from portal.backoffice import dead_letters
from portal.backoffice.decisions import Parity, parity_now
from portal.extensions import db
from portal.models import Application, PresenceCheck, QueueItem, User
from portal.queue.backends import SqsQueue, checking_queue, waiting_condition


@dataclass(frozen=True)
class InProgress:
    reference: str
    application_id: str
    caseworker: str
    lease_until: datetime


@dataclass(frozen=True)
class Figures:
    waiting_by_priority: list[tuple[int, int]]
    waiting: int
    oldest_wait: timedelta | None
    in_progress: list[InProgress]
    dead_letters: int
    not_relayed: int
    places_left: int | None
    window_name: str | None
    parity: Parity


def figures(now: datetime) -> Figures:
    queue = checking_queue()
    waiting = waiting_condition(now, queue.max_receives)
    by_priority = [
        (int(priority), int(count))
        for priority, count in db.session.execute(
            select(QueueItem.priority, func.count())
            .where(waiting)
            .group_by(QueueItem.priority)
            .order_by(QueueItem.priority.desc())
        )
    ]
    oldest = db.session.scalar(select(func.min(QueueItem.submitted_at)).where(waiting))
    held = db.session.execute(
        select(Application.reference, Application.id, User.email, QueueItem.available_at)
        .join(Application, Application.id == QueueItem.application_id)
        .join(User, User.id == QueueItem.claimed_by_id)
        .where(
            QueueItem.completed_at.is_(None),
            QueueItem.dead_lettered_at.is_(None),
            QueueItem.available_at > now,
        )
        .order_by(QueueItem.available_at)
    )
    not_relayed = 0
    if isinstance(queue, SqsQueue):
        not_relayed = (
            db.session.scalar(
                select(func.count()).select_from(QueueItem).where(QueueItem.relayed_at.is_(None))
            )
            or 0
        )
    window = windows.open_window(now)
    return Figures(
        waiting_by_priority=by_priority,
        waiting=sum(count for _priority, count in by_priority),
        oldest_wait=now - oldest if oldest else None,
        in_progress=[InProgress(r, str(i), e, until) for r, i, e, until in held],
        dead_letters=dead_letters.count(now),
        not_relayed=not_relayed,
        places_left=window.places - window.places_taken if window else None,
        window_name=window.name if window else None,
        parity=parity_now(),
    )


def presence_of(application: Application) -> str | None:
    """The outcome of the applicant's presence-in-France check, if they have used the link."""
    return db.session.scalar(
        select(PresenceCheck.outcome)
        .where(PresenceCheck.application_id == application.id, PresenceCheck.outcome.is_not(None))
        .order_by(PresenceCheck.used_at.desc())
        .limit(1)
    )
