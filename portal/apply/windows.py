"""Application windows: when applications are accepted and how many places there are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from portal import audit, notify
from portal.apply import steps
from portal.extensions import db
from portal.models import Application, ApplicationWindow, Status, User
from portal.transactions import transactional


class WindowChangeRefused(Exception):
    """The change would break a rule of windows; the message says which, for the admin."""


def open_window(now: datetime) -> ApplicationWindow | None:
    """The window that accepts applications now: opened, not closed, not paused, places left."""
    return db.session.scalar(
        select(ApplicationWindow)
        .where(
            ApplicationWindow.paused_at.is_(None),
            ApplicationWindow.opens_at <= now,
            ApplicationWindow.closes_at > now,
            ApplicationWindow.places_taken < ApplicationWindow.places,
        )
        .order_by(ApplicationWindow.opens_at)
        .limit(1)
    )


def next_window(now: datetime) -> ApplicationWindow | None:
    """The next window to open, if one is planned (a paused one may not open, so is not named)."""
    return db.session.scalar(
        select(ApplicationWindow)
        .where(ApplicationWindow.opens_at > now, ApplicationWindow.paused_at.is_(None))
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
            ApplicationWindow.paused_at.is_(None),
            ApplicationWindow.places_taken < ApplicationWindow.places,
            ApplicationWindow.opens_at <= now,
            ApplicationWindow.closes_at > now,
        )
        .values(places_taken=ApplicationWindow.places_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult


def all_windows() -> list[ApplicationWindow]:
    return list(
        db.session.scalars(select(ApplicationWindow).order_by(ApplicationWindow.opens_at.desc()))
    )


@transactional
def create_window(
    name: str, opens_at: datetime, closes_at: datetime, places: int
) -> ApplicationWindow:
    window = ApplicationWindow(name=name, opens_at=opens_at, closes_at=closes_at, places=places)
    db.session.add(window)
    db.session.flush()
    audit.record("window_created", subject_type="window", subject_id=window.id, places=places)
    return window


@transactional
def close_now(window: ApplicationWindow, admin: User, now: datetime) -> None:
    """End an open window at once: submissions after this wait for the next window."""
    if window.opens_at > now:
        raise WindowChangeRefused(
            "This window has not opened yet, so it cannot be closed. Pause it instead."
        )
    was_closing_at = window.closes_at.isoformat()
    _conditional_change(
        window,
        (ApplicationWindow.closes_at > now,),
        {"closes_at": now},
        "This window is already closed.",
    )
    audit.record(
        "window_closed",
        actor_id=admin.id,
        subject_type="window",
        subject_id=window.id,
        was_closing_at=was_closing_at,
    )


@transactional
def change_window(
    window: ApplicationWindow, admin: User, closes_at: datetime, places: int, now: datetime
) -> None:
    """A new closing time or number of places; never fewer places than are taken (a conditional
    update, so a submission taking a place at the same moment cannot slip under it)."""
    if closes_at <= window.opens_at:
        raise WindowChangeRefused("The window must close after it opens.")
    if closes_at <= now and closes_at != window.closes_at:
        raise WindowChangeRefused(
            "The closing time must be in the future. To end the window now, close it."
        )
    before = {"closes_at": window.closes_at.isoformat(), "places": window.places}
    _conditional_change(
        window,
        (ApplicationWindow.places_taken <= places,),
        {"closes_at": closes_at, "places": places},
        f"{window.places_taken} places are already taken: the window cannot have fewer.",
    )
    audit.record(
        "window_changed",
        actor_id=admin.id,
        subject_type="window",
        subject_id=window.id,
        before=before,
        after={"closes_at": closes_at.isoformat(), "places": places},
    )


@transactional
def pause(window: ApplicationWindow, admin: User, now: datetime) -> None:
    """Stop submissions until the window is resumed; drafts are kept and told no window is open."""
    _conditional_change(
        window,
        (ApplicationWindow.paused_at.is_(None),),
        {"paused_at": now},
        "This window is already paused.",
    )
    audit.record("window_paused", actor_id=admin.id, subject_type="window", subject_id=window.id)


@transactional
def resume(window: ApplicationWindow, admin: User, now: datetime) -> None:
    """Take submissions again. People with a finished draft are told once more when it is open,
    as those who finished during the pause were waiting for it."""
    _conditional_change(
        window,
        (ApplicationWindow.paused_at.is_not(None),),
        {"paused_at": None, "opening_notified_at": None},
        "This window is not paused.",
    )
    audit.record("window_resumed", actor_id=admin.id, subject_type="window", subject_id=window.id)


def _conditional_change(
    window: ApplicationWindow,
    conditions: tuple[object, ...],
    values: dict[str, object],
    refusal: str,
) -> None:
    result = db.session.execute(
        update(ApplicationWindow)
        .where(ApplicationWindow.id == window.id, *conditions)  # type: ignore[arg-type]  # the callers pass SQL conditions
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        raise WindowChangeRefused(refusal)
    db.session.refresh(window)


@transactional
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
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
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
    return told
