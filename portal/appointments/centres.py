"""What admins do to centres and slots, and the reminders a scheduler runs.

Slots are made from a weekly pattern (see slots.generate) and are never deleted once anyone has
booked them: a slot that cannot go ahead is closed, and everyone booked in it is told and may
book again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal import audit
from portal.appointments import access, booking, messages
from portal.appointments.slots import WeeklyPattern, generate
from portal.extensions import db
from portal.models import (
    Application,
    Appointment,
    AppointmentStatus,
    Centre,
    SentReminder,
    Slot,
    Status,
    StatusChange,
    User,
    utcnow,
)
from portal.transactions import transactional

DEMO_CENTRES = (
    ("Paris", "Centre de Paris", "12 rue de la Chapelle, 75018 Paris"),
    ("Lille", "Centre de Lille", "20 rue Jean Sans Peur, 59000 Lille"),
    ("Calais", "Centre de Calais", "5 boulevard Jacquard, 62100 Calais"),
    ("Lyon", "Centre de Lyon", "8 rue de la Part-Dieu, 69003 Lyon"),
    ("Marseille", "Centre de Marseille", "30 rue de la République, 13002 Marseille"),
)


@transactional
def save_centre(centre: Centre, action: str) -> None:
    """A new centre, or the changes made to one, with its audit entry."""
    db.session.add(centre)
    db.session.flush()
    audit.record(action, subject_type="centre", subject_id=centre.id)


@transactional
def create_slots(
    centre: Centre,
    pattern: WeeklyPattern,
    first: date,
    last: date,
    closures: Iterable[date],
    admin: User,
) -> int:
    """Add the pattern's slots that do not exist yet; returns how many were added."""
    times = generate(pattern, first, last, timezone=centre.timezone, closures=closures)
    existing = set(
        db.session.scalars(
            select(Slot.starts_at).where(
                Slot.centre_id == centre.id,
                Slot.starts_at.in_([time.starts_at for time in times]),
            )
        )
    )
    added = [
        Slot(
            centre_id=centre.id,
            starts_at=time.starts_at,
            ends_at=time.ends_at,
            capacity=time.capacity,
        )
        for time in times
        if time.starts_at not in existing
    ]
    db.session.add_all(added)
    audit.record(
        "slots.created",
        actor_id=admin.id,
        subject_type="centre",
        subject_id=centre.id,
        count=len(added),
        first=first.isoformat(),
        last=last.isoformat(),
    )
    return len(added)


def upcoming_slots(centre: Centre, now: datetime, days: int = 28) -> list[Slot]:
    return list(
        db.session.scalars(
            select(Slot)
            .where(
                Slot.centre_id == centre.id,
                Slot.starts_at > now,
                Slot.starts_at <= now + timedelta(days=days),
            )
            .order_by(Slot.starts_at)
        )
    )


@transactional
def close_slot(slot: Slot, admin: User, now: datetime) -> int:
    """Close the slot, cancel its bookings and tell each applicant; returns how many were told."""
    booked = list(
        db.session.scalars(
            select(Appointment).where(
                Appointment.slot_id == slot.id,
                Appointment.status == AppointmentStatus.BOOKED.value,
            )
        )
    )
    slot.closed = True
    audit.record("slot.closed", actor_id=admin.id, subject_type="slot", subject_id=slot.id)
    if booked:
        booking.cancel(booked, admin, now, enforce_cutoff=False, reason="slot_closed")
        for appointment in booked:
            messages.tell_cancelled(appointment, by_centre=True)
    return len(booked)


@transactional
def record_outcome(appointment: Appointment, staff: User, now: datetime, *, enrolled: bool) -> None:
    """At the desk: enrolled moves the application on; a no-show is told to the applicant, who
    may book once more (raises BookingRefused if the appointment was already marked)."""
    if enrolled:
        booking.mark_attended(appointment, staff, now)
        return
    missed = booking.mark_no_show(appointment, staff, now)
    messages.tell_missed(appointment, can_rebook=missed < booking.MAX_NO_SHOWS)


@transactional
def delete_slot(slot: Slot, admin: User) -> bool:
    """Only a slot nobody ever booked can go: appointments keep pointing at their slot."""
    used = db.session.scalar(
        select(func.count()).select_from(Appointment).where(Appointment.slot_id == slot.id)
    )
    if used:
        return False
    audit.record("slot.deleted", actor_id=admin.id, subject_type="slot", subject_id=slot.id)
    db.session.delete(slot)
    return True


@transactional
def seed_demo_centres() -> list[Centre]:
    """The five centres of the pilot (idempotent), for development and the demo."""
    centres = []
    for city, name, address in DEMO_CENTRES:
        centre = db.session.scalar(select(Centre).where(Centre.name == name))
        if centre is None:
            centre = Centre(
                name=name,
                address=address,
                city=city,
                opening_hours="Monday to Friday, 9am to 5pm",
                accessibility=access.store(["step_free", "lift", "staff_help"]),
            )
            db.session.add(centre)
        centres.append(centre)
    return centres


@dataclass(frozen=True)
class RemindersSent:
    reminders: int
    nudges: int


def _first_time(key: str) -> bool:
    """Record that a reminder goes out; False if it already went (unique key).

    An INSERT that skips an existing key, not a savepoint: pysqlite commits a savepoint released
    outside a transaction, which would mark the reminder sent before its outbox row commits."""
    dialect = db.session.get_bind().dialect.name
    chosen = postgresql_insert if dialect == "postgresql" else sqlite_insert
    inserted = db.session.execute(
        chosen(SentReminder)
        .values(id=uuid.uuid4(), key=key, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(SentReminder.id)
    )
    return inserted.scalar_one_or_none() is not None


def send_reminders(now: datetime) -> RemindersSent:
    """Remind those with an appointment soon, nudge those invited who have not booked.

    Each message is keyed (the appointment, or the invitation's status change) in the same
    transaction as it is sent: a second run, or two at once, sends nothing twice.
    """
    settings = current_app.config["PORTAL"]
    due = db.session.scalars(
        select(Appointment)
        .join(Slot)
        .where(
            Appointment.status == AppointmentStatus.BOOKED.value,
            Slot.starts_at > now,
            Slot.starts_at <= now + timedelta(days=settings.REMINDER_DAYS),
        )
    ).all()
    reminders = sum(_remind(appointment) for appointment in due)
    invitations = db.session.execute(
        select(Application, func.max(StatusChange.occurred_at))
        .join(StatusChange, StatusChange.application_id == Application.id)
        .where(
            Application.status == Status.INVITED_TO_BIOMETRICS.value,
            StatusChange.to_status == Status.INVITED_TO_BIOMETRICS.value,
        )
        .group_by(Application.id)
    ).all()
    nudges = sum(
        _nudge(application, f"nudge:{application.id}:{invited_at.isoformat()}")
        for application, invited_at in invitations
        if invited_at <= now - timedelta(days=settings.NUDGE_DAYS)
    )
    return RemindersSent(reminders, nudges)


@transactional
def _remind(appointment: Appointment) -> bool:
    """One reminder, one transaction: its key and its outbox row commit together."""
    if not _first_time(f"reminder:{appointment.id}"):
        return False
    messages.tell_reminder(appointment)
    return True


@transactional
def _nudge(application: Application, key: str) -> bool:
    """One nudge, one transaction: its key and its outbox row commit together."""
    if not (booking.can_book(application) and _first_time(key)):
        return False
    messages.tell_nudge(application)
    return True
