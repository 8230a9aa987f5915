"""Proving presence in France: a single-use link opened on the phone, its location checked.

Only the outcome is stored (inside, outside, refused), never the coordinates. When the link
expires or the person refuses, a caseworker resolves it by other means.
"""

from __future__ import annotations

import enum
import hashlib
import math
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from portal import audit
from portal.extensions import db
from portal.models import Application, PresenceCheck, utcnow
from portal.presence.territory import load_territory
from portal.transactions import transactional

PRESENCE_LINK_LIFETIME = timedelta(hours=24)


class PresenceOutcome(enum.StrEnum):
    INSIDE = "inside"
    OUTSIDE = "outside"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"


def issue_presence_check(application: Application) -> str:
    """A single-use link, valid 24 hours, to prove presence in France from the phone."""
    # 128 random bits: unguessable, and short enough to keep the SMS that carries it in three parts.
    raw = secrets.token_urlsafe(16)
    db.session.add(
        PresenceCheck(
            application_id=application.id,
            token_hash=hashlib.sha256(raw.encode()).hexdigest(),
            expires_at=utcnow() + PRESENCE_LINK_LIFETIME,
        )
    )
    return raw


def find_check(raw: str) -> PresenceCheck | None:
    """The check behind a link, if the link is known (used or not, expired or not)."""
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return db.session.scalar(select(PresenceCheck).where(PresenceCheck.token_hash == digest))


def is_usable(check: PresenceCheck | None) -> bool:
    return check is not None and check.used_at is None and check.expires_at > utcnow()


def judge_position(latitude: float, longitude: float) -> PresenceOutcome:
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return PresenceOutcome.UNAVAILABLE
    inside = load_territory().contains(latitude, longitude)
    return PresenceOutcome.INSIDE if inside else PresenceOutcome.OUTSIDE


@transactional
def record_outcome(
    check: PresenceCheck, outcome: PresenceOutcome, accuracy: float | None = None
) -> bool:
    """Use the link up and keep its outcome; False if it was already used or has expired."""
    now = utcnow()
    kept_accuracy = round(accuracy) if accuracy is not None and math.isfinite(accuracy) else None
    result = db.session.execute(
        update(PresenceCheck)
        .where(
            PresenceCheck.id == check.id,
            PresenceCheck.used_at.is_(None),
            PresenceCheck.expires_at > now,
        )
        .values(used_at=now, outcome=outcome.value, accuracy_metres=kept_accuracy)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        return False
    audit.record(
        "presence_checked",
        actor_id=None,
        subject_type="application",
        subject_id=check.application_id,
        outcome=outcome.value,
    )
    return True
