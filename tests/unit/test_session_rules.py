"""When a signed-in session stops being usable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from portal.auth.sessions import SessionLimits, SessionState, session_state
from portal.models import UserSession

LIMITS = SessionLimits(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def row(created_ago: timedelta, seen_ago: timedelta, ended: bool = False) -> UserSession:
    return UserSession(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        created_at=NOW - created_ago,
        last_seen_at=NOW - seen_ago,
        ended_at=NOW if ended else None,
    )


@pytest.mark.parametrize(
    ("created_ago", "seen_ago", "ended", "expected"),
    [
        (timedelta(minutes=5), timedelta(minutes=1), False, SessionState.ACTIVE),
        (timedelta(minutes=40), timedelta(minutes=29, seconds=59), False, SessionState.ACTIVE),
        (timedelta(minutes=40), timedelta(minutes=30), False, SessionState.IDLE),
        (timedelta(hours=12), timedelta(minutes=1), False, SessionState.EXPIRED),
        (timedelta(hours=11, minutes=59), timedelta(minutes=1), False, SessionState.ACTIVE),
        (timedelta(minutes=5), timedelta(minutes=1), True, SessionState.ENDED),
    ],
)
def test_session_state(created_ago, seen_ago, ended, expected):
    assert session_state(row(created_ago, seen_ago, ended), LIMITS, NOW) is expected
