"""Reminding a main applicant, before their window closes, that adults they listed have not applied.

Once per family group, never daily: the reminder is keyed in sent_reminders in the same
transaction as it is sent, so a second run (or two at once) sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.apply import families, lifecycle
from portal.extensions import db
from portal.models import ApplicationWindow, FamilyGroup, SentReminder
from portal.notify.applicants import tell_applicant
from portal.transactions import transactional

TEMPLATE = "family_reminder"


def reminder_key(group: FamilyGroup) -> str:
    return f"family-reminder:{group.id}"


def _first_time(key: str) -> bool:
    try:
        with db.session.begin_nested():
            db.session.add(SentReminder(key=key))
    except IntegrityError:
        return False
    return True


def remind_families(now: datetime) -> int:
    """Tell each main applicant whose window closes within PORTAL_FAMILY_REMINDER_DAYS, while it
    is open, that an adult they listed has not sent an application yet. Returns how many were told.

    A main application that is withdrawn or decided is left alone: the family cannot go on.
    """
    days = current_app.config["PORTAL"].FAMILY_REMINDER_DAYS
    groups = db.session.scalars(
        select(FamilyGroup)
        .join(ApplicationWindow, ApplicationWindow.id == FamilyGroup.window_id)
        .where(
            ApplicationWindow.opens_at <= now,
            ApplicationWindow.closes_at > now,
            ApplicationWindow.closes_at <= now + timedelta(days=days),
            ApplicationWindow.places_taken < ApplicationWindow.places,
        )
    ).all()
    return sum(_remind(group) for group in groups)


@transactional
def _remind(group: FamilyGroup) -> bool:
    """One family, one transaction: the reminder's key, the message and the audit entry commit
    together, and a failure with one family keeps the others' reminders."""
    progress = families.family_progress(group)
    main = progress.main
    if main is None or main.status_enum in lifecycle.FINAL or not progress.adults_not_sent:
        return False
    if not _first_time(reminder_key(group)):
        return False
    window = db.session.get(ApplicationWindow, group.window_id)
    tell_applicant(
        main,
        TEMPLATE,
        family_reference=group.reference,
        closes_at=window.closes_at if window else None,
    )
    audit.record(
        "family_reminder_sent",
        actor_id=None,
        subject_type="family_group",
        subject_id=group.id,
        not_sent=len(progress.adults_not_sent),
    )
    return True
