"""A new link to prove presence in France, for an applicant whose link expired or never arrived.

A new link replaces the ones not yet used (they stop working), lasts 24 hours like the first, and
goes out through the messages outbox with the change that made it. A few an hour and a day at
most: each one is an email and a text message, and a link is a key to the check.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from portal import audit
from portal.extensions import db
from portal.models import Application, PresenceCheck, Status, utcnow
from portal.notify.applicants import locale_of, tell_applicant
from portal.presence.checks import PresenceOutcome, issue_presence_check
from portal.transactions import transactional
from portal.urls import absolute_url

MAX_PER_HOUR = 3
MAX_PER_DAY = 5
# Before checks end, presence is still worth proving; after a decision it no longer matters.
STILL_USEFUL = frozenset({Status.SUBMITTED, Status.IN_CHECKS, Status.MORE_INFORMATION})


class LinkAnswer(enum.Enum):
    SENT = "sent"
    TOO_MANY = "too_many"
    NOT_NEEDED = "not_needed"


def can_ask(application: Application) -> bool:
    """The status page offers a new link while presence is still to be shown."""
    if application.status_enum not in STILL_USEFUL:
        return False
    proven = db.session.scalar(
        select(func.count())
        .select_from(PresenceCheck)
        .where(
            PresenceCheck.application_id == application.id,
            PresenceCheck.outcome == PresenceOutcome.INSIDE.value,
        )
    )
    return not proven


def _issued_since(application: Application, since: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(PresenceCheck)
            .where(PresenceCheck.application_id == application.id, PresenceCheck.created_at > since)
        )
        or 0
    )


def replace_link(application: Application, now: datetime) -> None:
    """End the links still open and queue a new 24-hour one by email and SMS, in the caller's
    transaction: only the newest link works, so a lost or forwarded message proves nothing."""
    db.session.execute(
        update(PresenceCheck)
        .where(
            PresenceCheck.application_id == application.id,
            PresenceCheck.used_at.is_(None),
            PresenceCheck.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    raw = issue_presence_check(application)
    tell_applicant(
        application,
        "presence_link",
        presence_url=absolute_url("presence.check", locale=locale_of(application), token=raw),
    )


@transactional
def send_new_link(application: Application, now: datetime | None = None) -> LinkAnswer:
    """Make a new 24-hour link and queue it by email and SMS, in one transaction."""
    now = now or utcnow()
    if not can_ask(application):
        return LinkAnswer.NOT_NEEDED
    if (
        _issued_since(application, now - timedelta(hours=1)) >= MAX_PER_HOUR
        or _issued_since(application, now - timedelta(days=1)) >= MAX_PER_DAY
    ):
        return LinkAnswer.TOO_MANY
    replace_link(application, now)
    audit.record("presence_link_requested", subject_type="application", subject_id=application.id)
    return LinkAnswer.SENT
