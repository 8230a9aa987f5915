"""Application windows: when applications are accepted and how many places there are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from portal import audit, notify
from portal.apply import steps
from portal.extensions import db
from portal.models import Application, ApplicationWindow, Status, User


def open_window(now: datetime) -> ApplicationWindow | None:
    """The window that accepts applications now: opened, not closed, with places left."""
    return db.session.scalar(
        select(ApplicationWindow)
        .where(
            ApplicationWindow.opens_at <= now,
            ApplicationWindow.closes_at > now,
            ApplicationWindow.places_taken < ApplicationWindow.places,
        )
        .order_by(ApplicationWindow.opens_at)
        .limit(1)
    )


def next_window(now: datetime) -> ApplicationWindow | None:
    """The next window to open, if one is planned."""
    return db.session.scalar(
        select(ApplicationWindow)
        .where(ApplicationWindow.opens_at > now)
        .order_by(ApplicationWindow.opens_at)
        .limit(1)
    )


def take_place(window: ApplicationWindow, now: datetime) -> bool:
    """Take one place with a conditional update: the window can never be over-filled, and it
    closes by itself when the last place is taken."""
    result = db.session.execute(
        update(ApplicationWindow)
        .where(
            ApplicationWindow.id == window.id,
            ApplicationWindow.places_taken < ApplicationWindow.places,
            ApplicationWindow.opens_at <= now,
            ApplicationWindow.closes_at > now,
        )
        .values(places_taken=ApplicationWindow.places_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def all_windows() -> list[ApplicationWindow]:
    return list(
        db.session.scalars(select(ApplicationWindow).order_by(ApplicationWindow.opens_at.desc()))
    )


def create_window(
    name: str, opens_at: datetime, closes_at: datetime, places: int
) -> ApplicationWindow:
    window = ApplicationWindow(name=name, opens_at=opens_at, closes_at=closes_at, places=places)
    db.session.add(window)
    db.session.flush()
    audit.record("window_created", subject_type="window", subject_id=window.id, places=places)
    db.session.commit()
    return window


def announce_open_windows(now: datetime) -> int:
    """Tell everyone with a finished draft that a window is open (once per window).

    Returns how many people were told. Safe to run again: a window is announced once.
    """
    window = open_window(now)
    if window is None or window.opening_notified_at is not None:
        return 0
    claimed = db.session.execute(
        update(ApplicationWindow)
        .where(ApplicationWindow.id == window.id, ApplicationWindow.opening_notified_at.is_(None))
        .values(opening_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return 0
    told = 0
    drafts = db.session.execute(
        select(Application, User)
        .join(User, User.id == Application.applicant_id)
        .where(Application.status == Status.DRAFT.value)
    )
    for application, user in drafts:
        if not steps.is_complete(application.answers):
            continue
        contact = application.answers.get("contact", {})
        locale = application.answers.get("languages", {}).get("message_language", user.locale)
        email = contact.get("email") or user.email
        if email:
            notify.send_email(email, "window_open", locale, closes_at=window.closes_at)
        if contact.get("mobile"):
            notify.send_sms(contact["mobile"], "window_open", locale)
        told += 1
    audit.record(
        "window_opening_announced",
        actor_id=None,
        subject_type="window",
        subject_id=window.id,
        told=told,
    )
    db.session.commit()
    return told
