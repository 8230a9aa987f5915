"""Signed-in sessions kept on the server, so that signing out or a timeout really ends them.

The browser's cookie holds only the session's random id (in Flask's signed cookie); each request
checks the row: ended, idle for too long, or older than the absolute limit means signed out.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from portal.extensions import db
from portal.models import User, UserSession, utcnow


@dataclass(frozen=True)
class Companion:
    """A row that every signed-in page of another capability reads, brought by the session
    check's own SELECT (auth.routes.load_user): one round trip on every request instead of two.

    `entity` is outer-joined on `on(User.id)`; `receive(user, row)` is given what was found. A
    capability registers it (the applicant's application, apply.services), so that auth, which
    every capability uses, needs none of them."""

    entity: Any
    on: Callable[[Any], Any]
    receive: Callable[[User, Any], None]


COMPANIONS: list[Companion] = []


def bring_with_session(companion: Companion) -> None:
    """Register a companion; done once, when the capability's module is imported."""
    COMPANIONS.append(companion)


# Write last_seen_at at most this often: one write a minute, not one per request.
TOUCH_INTERVAL = timedelta(seconds=60)


class SessionState(enum.Enum):
    ACTIVE = "active"
    ENDED = "ended"
    IDLE = "idle"
    EXPIRED = "expired"


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


def session_state(row: UserSession, limits: SessionLimits, now: datetime) -> SessionState:
    """Whether a session may still be used (a rule, tested without a request)."""
    if row.ended_at is not None:
        return SessionState.ENDED
    if now - row.created_at >= limits.absolute:
        return SessionState.EXPIRED
    if now - row.last_seen_at >= limits.idle:
        return SessionState.IDLE
    return SessionState.ACTIVE


def start_session(user: User) -> UserSession:
    now = utcnow()
    row = UserSession(user_id=user.id, created_at=now, last_seen_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def touch_due(row: UserSession, now: datetime) -> bool:
    """Whether the session's last request time is old enough to be written again."""
    return now - row.last_seen_at >= TOUCH_INTERVAL


def touch(row: UserSession, now: datetime, force: bool = False) -> None:
    if force or touch_due(row, now):
        row.last_seen_at = now


def end_session(session_id: uuid.UUID) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def end_all_sessions(user: User) -> None:
    """After a password reset nobody who had the old password stays signed in."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
