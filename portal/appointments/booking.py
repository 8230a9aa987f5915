"""Booking, moving and cancelling biometric appointments, and what happens at the centre.

A slot's `booked` count only changes through a conditional UPDATE checked by its row count, and an
application holds at most one booked appointment (a unique partial index): no read-then-write, so
no concurrency can overbook a slot or give one person two places. Each function does its whole
change in one transaction and either commits it or leaves the data as it was.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.apply import lifecycle
from portal.apply.answers import answers_of
from portal.apply.decisions import MISSED_APPOINTMENTS, Decision, reason_code
from portal.extensions import db
from portal.models import (
    Application,
    Appointment,
    AppointmentStatus,
    Centre,
    Slot,
    Status,
    StatusChange,
    User,
)
from portal.queue import outbox
from portal.transactions import transactional

MAX_NO_SHOWS = 2
# The reason the caseworker's invitation is recorded with (see backoffice.decisions.decide).
INVITED = Decision.INVITE.value
# The reason an application goes back to the checking queue after its last missed appointment.
BACK_AFTER_NO_SHOWS = reason_code(Status.SUBMITTED, MISSED_APPOINTMENTS)


class Refusal(enum.StrEnum):
    """Why a booking, move or cancellation was refused; the pages say each in the reader's words."""

    TAKEN = "taken"
    NOT_INVITED = "not_invited"
    TOO_LATE = "too_late"
    NO_SHOWS = "no_shows"


class BookingRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True)
class Rules:
    horizon: timedelta
    cutoff: timedelta

    @property
    def cutoff_hours(self) -> int:
        return int(self.cutoff.total_seconds() // 3600)


def rules() -> Rules:
    settings = current_app.config["PORTAL"]
    return Rules(
        horizon=timedelta(days=settings.BOOKING_HORIZON_DAYS),
        cutoff=timedelta(hours=settings.BOOKING_CUTOFF_HOURS),
    )


def active_centres() -> list[Centre]:
    return list(db.session.scalars(select(Centre).where(Centre.active).order_by(Centre.city)))


def _bookable(now: datetime, places: int) -> tuple[ColumnElement[bool], ...]:
    """What makes a slot bookable for `places` people: the same rule lists the free times and
    guards the conditional UPDATE that takes them."""
    return (
        Slot.closed.is_(False),
        Slot.starts_at > now,
        Slot.starts_at <= now + rules().horizon,
        Slot.booked + places <= Slot.capacity,
    )


def free_slots(centre: Centre, now: datetime, places: int = 1) -> list[Slot]:
    """Open slots with room for `places` people, from now to the booking horizon."""
    return list(
        db.session.scalars(
            select(Slot)
            .where(Slot.centre_id == centre.id, *_bookable(now, places))
            .order_by(Slot.starts_at)
        )
    )


def current_appointment(application: Application) -> Appointment | None:
    return db.session.scalar(
        select(Appointment).where(
            Appointment.application_id == application.id,
            Appointment.status == AppointmentStatus.BOOKED.value,
        )
    )


def appointments_of(application: Application) -> list[Appointment]:
    """Every appointment the application has had, newest first, for the caseworker."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.application_id == application.id)
            .order_by(Appointment.created_at.desc())
        )
    )


def no_shows(application: Application) -> int:
    """Appointments missed since the caseworker's latest invitation: inviting again after the
    missed ones (see mark_no_show) gives the applicant their bookings back."""
    invited_at = (
        select(func.max(StatusChange.occurred_at))
        .where(
            StatusChange.application_id == application.id,
            StatusChange.to_status == Status.INVITED_TO_BIOMETRICS.value,
            StatusChange.reason == INVITED,
        )
        .scalar_subquery()
    )
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.application_id == application.id,
                Appointment.status == AppointmentStatus.NO_SHOW.value,
                or_(invited_at.is_(None), Appointment.created_at > invited_at),
            )
        )
        or 0
    )


def can_book(application: Application) -> bool:
    return (
        application.status_enum is Status.INVITED_TO_BIOMETRICS
        and no_shows(application) < MAX_NO_SHOWS
    )


def is_main(application: Application) -> bool:
    return answers_of(application).is_main


def bookable_together(application: Application) -> list[Application]:
    """Whom the applicant may book for in one step: themselves, and if they are the main
    applicant, the members of their family group who are invited too."""
    if not can_book(application):
        return []
    if not is_main(application) or application.family_group is None:
        return [application]
    others = [
        member
        for member in application.family_group.applications
        if member.id != application.id and can_book(member)
    ]
    return [application, *others]


def can_change(appointment: Appointment, now: datetime) -> bool:
    """Moving or cancelling is allowed until the cut-off before the appointment."""
    return (
        appointment.status_enum is AppointmentStatus.BOOKED
        and appointment.slot.starts_at - now >= rules().cutoff
    )


def _take_places(slot_id: uuid.UUID, places: int, now: datetime) -> None:
    """Take places in a slot if it still has them: one conditional UPDATE, checked by row count."""
    taken = db.session.execute(
        update(Slot)
        .where(Slot.id == slot_id, *_bookable(now, places))
        .values(booked=Slot.booked + places)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        raise BookingRefused(Refusal.TAKEN)


def _free_places(slot_id: uuid.UUID, places: int) -> None:
    freed = db.session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked >= places)
        .values(booked=Slot.booked - places)
        .execution_options(synchronize_session=False)
    )
    if freed.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        raise BookingRefused(Refusal.TAKEN)


def _lock_in_order(*slot_ids: uuid.UUID) -> None:
    """Lock the slots a move touches in one order (by id), so two people swapping times wait for
    each other instead of deadlocking. SQLite has one writer at a time and no row locks."""
    db.session.execute(
        select(Slot.id).where(Slot.id.in_(slot_ids)).order_by(Slot.id).with_for_update()
    )


@transactional
def book(
    applications: Sequence[Application], slot_id: uuid.UUID, actor: User, now: datetime
) -> list[Appointment]:
    """Book one slot for the applicant and, for a family, the members booked with them."""
    _permit_booking(applications)
    if not applications or not all(can_book(application) for application in applications):
        raise BookingRefused(Refusal.NOT_INVITED)
    group = uuid.uuid4() if len(applications) > 1 else None
    try:
        _take_places(slot_id, len(applications), now)
        booked = [
            _new_appointment(application, slot_id, actor, group, _next_sequence(application))
            for application in applications
        ]
        for application in applications:
            lifecycle.transition(
                application, Status.APPOINTMENT_BOOKED, actor_id=actor.id, reason="booked"
            )
        db.session.flush()
    except (BookingRefused, lifecycle.IllegalTransition, IntegrityError) as failure:
        if isinstance(failure, BookingRefused):
            raise
        raise BookingRefused(Refusal.NOT_INVITED) from failure
    for appointment in booked:
        audit.record(
            "appointment.booked",
            actor_id=actor.id,
            subject_type="appointment",
            subject_id=appointment.id,
            slot_id=str(slot_id),
        )
    return booked


def _permit_booking(applications: Iterable[Application]) -> None:
    """Booking, moving and cancelling ask the transition function first: nothing is booked for
    a finished application (the pages say "you cannot book", as for anyone not invited)."""
    try:
        for application in applications:
            lifecycle.permit(application, lifecycle.Action.BOOK)
    except lifecycle.NotNow as refused:
        raise BookingRefused(Refusal.NOT_INVITED) from refused


def _next_sequence(application: Application) -> int:
    """Each booking, move or cancellation of an application's appointment updates one calendar
    event (its UID is the application's), so the sequence only grows."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.application_id == application.id)
        )
        or 0
    )


def _new_appointment(
    application: Application,
    slot_id: uuid.UUID,
    actor: User,
    group: uuid.UUID | None,
    sequence: int,
) -> Appointment:
    appointment = Appointment(
        id=uuid.uuid4(),
        application_id=application.id,
        slot_id=slot_id,
        booked_by_id=actor.id,
        group_booking_id=group,
        sequence=sequence,
        status=AppointmentStatus.BOOKED.value,
    )
    db.session.add(appointment)
    return appointment


def moved_together(appointment: Appointment, actor_application: Application) -> list[Appointment]:
    """A family booked together moves and cancels together when the main applicant acts; anyone
    else acts on their own appointment only."""
    if appointment.group_booking_id is None or not is_main(actor_application):
        return [appointment]
    return list(
        db.session.scalars(
            select(Appointment).where(
                Appointment.group_booking_id == appointment.group_booking_id,
                Appointment.slot_id == appointment.slot_id,
                Appointment.status == AppointmentStatus.BOOKED.value,
            )
        )
    )


@transactional
def move(
    appointments: Sequence[Appointment], slot_id: uuid.UUID, actor: User, now: datetime
) -> list[Appointment]:
    """Take the new slot and free the old one in one transaction: never both, never neither."""
    _permit_booking(appointment.application for appointment in appointments)
    if not all(can_change(appointment, now) for appointment in appointments):
        raise BookingRefused(Refusal.TOO_LATE)
    old_slot = appointments[0].slot_id
    if slot_id == old_slot:
        return list(appointments)
    try:
        _lock_in_order(old_slot, slot_id)
        _take_places(slot_id, len(appointments), now)
        _end(appointments, AppointmentStatus.MOVED, actor, now)
        _free_places(old_slot, len(appointments))
        # One member moving alone leaves the family's booking; the rest stay together.
        group = appointments[0].group_booking_id if len(appointments) > 1 else None
        moved = [
            _new_appointment(
                appointment.application,
                slot_id,
                actor,
                group,
                _next_sequence(appointment.application),
            )
            for appointment in appointments
        ]
        db.session.flush()
    except (BookingRefused, IntegrityError) as failure:
        if isinstance(failure, BookingRefused):
            raise
        raise BookingRefused(Refusal.TAKEN) from failure
    for before, after in zip(appointments, moved, strict=True):
        audit.record(
            "appointment.moved",
            actor_id=actor.id,
            subject_type="appointment",
            subject_id=after.id,
            moved_from=str(before.id),
        )
    return moved


def _end(
    appointments: Sequence[Appointment], status: AppointmentStatus, actor: User, now: datetime
) -> None:
    """Mark booked appointments as ended, conditionally, so two requests cannot both end one."""
    ended = db.session.execute(
        update(Appointment)
        .where(
            Appointment.id.in_([appointment.id for appointment in appointments]),
            Appointment.status == AppointmentStatus.BOOKED.value,
        )
        .values(status=status.value, ended_at=now, ended_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != len(appointments):  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        raise BookingRefused(Refusal.TAKEN)
    db.session.flush()
    for appointment in appointments:
        db.session.refresh(appointment)


@transactional
def cancel(
    appointments: Sequence[Appointment],
    actor: User,
    now: datetime,
    *,
    enforce_cutoff: bool = True,
    reason: str = "cancelled",
) -> None:
    """Give the places back and return each application to "invited", so it can book again."""
    _permit_booking(appointment.application for appointment in appointments)
    if enforce_cutoff and not all(can_change(appointment, now) for appointment in appointments):
        raise BookingRefused(Refusal.TOO_LATE)
    try:
        slot_id = appointments[0].slot_id
        _end(appointments, AppointmentStatus.CANCELLED, actor, now)
        _free_places(slot_id, len(appointments))
        for appointment in appointments:
            lifecycle.transition(
                appointment.application,
                Status.INVITED_TO_BIOMETRICS,
                actor_id=actor.id,
                reason=reason,
            )
            audit.record(
                "appointment.cancelled",
                actor_id=actor.id,
                subject_type="appointment",
                subject_id=appointment.id,
                reason=reason,
            )
    except (BookingRefused, lifecycle.IllegalTransition) as failure:
        raise BookingRefused(Refusal.TAKEN) from failure


def release_on_withdrawal(application: Application, actor: User, now: datetime) -> None:
    """A withdrawn application gives its place back, in the withdrawal's own transaction."""
    appointment = current_appointment(application)
    if appointment is not None:
        _end([appointment], AppointmentStatus.CANCELLED, actor, now)
        _free_places(appointment.slot_id, 1)
        audit.record(
            "appointment.cancelled",
            actor_id=actor.id,
            subject_type="appointment",
            subject_id=appointment.id,
            reason="withdrawn",
        )


lifecycle.on_withdrawal(release_on_withdrawal)


@transactional
def _mark(
    appointment: Appointment,
    staff: User,
    now: datetime,
    outcome: AppointmentStatus,
    target: Status | None,
) -> None:
    """Record what happened at the desk and move the application on (`target`), or, for the
    last missed appointment allowed (`target` None), back to the checking queue with its
    history, where a caseworker decides what happens next."""
    application = appointment.application
    lifecycle.permit(application, lifecycle.Action.RECORD_ATTENDANCE)
    _end([appointment], outcome, staff, now)
    if target is None:
        target = (
            Status.SUBMITTED
            if no_shows(application) >= MAX_NO_SHOWS
            else Status.INVITED_TO_BIOMETRICS
        )
    reason = BACK_AFTER_NO_SHOWS if target is Status.SUBMITTED else f"appointment {outcome.value}"
    lifecycle.transition(application, target, actor_id=staff.id, reason=reason)
    if target is Status.SUBMITTED:
        outbox.enqueue(application, outbox.APPOINTMENTS_MISSED, now)
    audit.record(
        f"appointment.{outcome.value}",
        actor_id=staff.id,
        subject_type="appointment",
        subject_id=appointment.id,
    )


def mark_attended(appointment: Appointment, staff: User, now: datetime) -> None:
    """Biometrics enrolled: the application moves on to the security check."""
    _mark(appointment, staff, now, AppointmentStatus.ATTENDED, Status.BIOMETRICS_ENROLLED)


def mark_no_show(appointment: Appointment, staff: User, now: datetime) -> int:
    """The applicant did not come: they may book once more, or after the last miss allowed the
    application goes back to a caseworker; returns their number of no-shows."""
    _mark(appointment, staff, now, AppointmentStatus.NO_SHOW, None)
    return no_shows(appointment.application)


def day_list(centre: Centre, first: datetime, last: datetime) -> list[Appointment]:
    """The appointments of a centre between two instants, by time, for the staff at the desk."""
    return list(
        db.session.scalars(
            select(Appointment)
            .join(Slot)
            .where(
                Slot.centre_id == centre.id,
                Slot.starts_at >= first,
                Slot.starts_at < last,
                Appointment.status.in_(
                    [
                        AppointmentStatus.BOOKED.value,
                        AppointmentStatus.ATTENDED.value,
                        AppointmentStatus.NO_SHOW.value,
                    ]
                ),
            )
            .order_by(Slot.starts_at)
        )
    )
