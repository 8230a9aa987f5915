"""When the desk may record attendance, and how a mistaken mark is put right.

Enrolled can be recorded from the appointment's start, "did not come" from its end: nobody is
marked absent before they could have come. A mark can be corrected the same day (Paris time) by
staff of the role that made it; the correction goes through the one transition function and is
audited, and the applicant is told.
"""

from __future__ import annotations

import enum
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from portal import audit
from portal.apply import lifecycle
from portal.appointments import booking, centres, messages
from portal.extensions import db
from portal.models import Appointment, AppointmentStatus, Slot, Status, User
from portal.notify.applicants import tell_applicant
from portal.transactions import transactional

PARIS = ZoneInfo("Europe/Paris")


class Mark(enum.StrEnum):
    ENROLLED = "enrolled"
    NO_SHOW = "no_show"
    CORRECT = "correct"


class AttendanceRefused(Exception):
    """The mark cannot be recorded now; the message says why, for the staff at the desk."""


def earliest(slot: Slot, mark: Mark) -> datetime:
    """Enrolled from the start of the appointment, "did not come" only once it has ended."""
    return slot.starts_at if mark is Mark.ENROLLED else slot.ends_at


def may_correct(
    appointment: Appointment, staff: User, marked_by: User | None, now: datetime
) -> bool:
    """The same day, in Paris, and by staff of the role that made the mark."""
    return (
        appointment.status_enum in (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW)
        and appointment.ended_at is not None
        and marked_by is not None
        and marked_by.role == staff.role
        and appointment.ended_at.astimezone(PARIS).date() == now.astimezone(PARIS).date()
    )


def available_marks(appointment: Appointment, staff: User, now: datetime) -> set[Mark]:
    """What the day list offers for this appointment now."""
    if appointment.status_enum is AppointmentStatus.BOOKED:
        return {
            mark
            for mark in (Mark.ENROLLED, Mark.NO_SHOW)
            if now >= earliest(appointment.slot, mark)
        }
    marked_by = db.session.get(User, appointment.ended_by_id) if appointment.ended_by_id else None
    return {Mark.CORRECT} if may_correct(appointment, staff, marked_by, now) else set()


def record(appointment: Appointment, staff: User, now: datetime, mark: Mark) -> None:
    """Enrolled or did not come, refused before its time (raises AttendanceRefused), or
    booking.BookingRefused if the appointment was already marked."""
    # A finished application is refused as such first: its time does not matter any more.
    lifecycle.permit(appointment.application, lifecycle.Action.RECORD_ATTENDANCE)
    if now < earliest(appointment.slot, mark):
        moment = earliest(appointment.slot, mark).astimezone(PARIS).strftime("%H:%M")
        if mark is Mark.ENROLLED:
            raise AttendanceRefused(
                f"Enrolment can be recorded from the start of the appointment ({moment}, Paris time)."
            )
        raise AttendanceRefused(
            f"'Did not come' can be recorded once the appointment has ended ({moment}, Paris time)."
        )
    centres.record_outcome(appointment, staff, now, enrolled=mark is Mark.ENROLLED)


@transactional
def correct(appointment: Appointment, staff: User, now: datetime) -> AppointmentStatus:
    """Turn enrolled into did not come, or the other way; returns the new mark."""
    marked_by = db.session.get(User, appointment.ended_by_id) if appointment.ended_by_id else None
    if not may_correct(appointment, staff, marked_by, now):
        raise AttendanceRefused(
            "This mark can only be corrected on the day it was made, by staff of the same role."
        )
    was = appointment.status_enum
    becomes = (
        AppointmentStatus.NO_SHOW
        if was is AppointmentStatus.ATTENDED
        else AppointmentStatus.ATTENDED
    )
    if becomes is AppointmentStatus.NO_SHOW and now < appointment.slot.ends_at:
        raise AttendanceRefused("'Did not come' can be recorded once the appointment has ended.")
    target = (
        Status.INVITED_TO_BIOMETRICS
        if becomes is AppointmentStatus.NO_SHOW
        else Status.BIOMETRICS_ENROLLED
    )
    # The application must still be where this mark left it: a new booking or a decision since
    # means the correction is no longer the desk's to make.
    left_at = (
        Status.BIOMETRICS_ENROLLED
        if was is AppointmentStatus.ATTENDED
        else Status.INVITED_TO_BIOMETRICS
    )
    try:
        if appointment.application.status_enum is not left_at:
            raise lifecycle.IllegalTransition(appointment.application.status)
        changed = db.session.execute(
            update(Appointment)
            .where(Appointment.id == appointment.id, Appointment.status == was.value)
            .values(status=becomes.value, ended_by_id=staff.id)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
            raise AttendanceRefused("Someone else changed this appointment. Look at it again.")
        lifecycle.transition(
            appointment.application,
            target,
            actor_id=staff.id,
            reason=f"attendance corrected: {was.value} to {becomes.value}",
        )
        audit.record(
            "appointment.corrected",
            actor_id=staff.id,
            subject_type="appointment",
            subject_id=appointment.id,
            was=was.value,
            becomes=becomes.value,
        )
        db.session.refresh(appointment)
        if becomes is AppointmentStatus.NO_SHOW:
            missed = booking.no_shows(appointment.application)
            messages.tell_missed(appointment, can_rebook=missed < booking.MAX_NO_SHOWS)
        else:
            tell_applicant(appointment.application, "application_updated")
    except lifecycle.IllegalTransition as exc:
        raise AttendanceRefused(
            "The application has moved on since (booked again, or decided), so this mark "
            "cannot be corrected here."
        ) from exc
    return becomes
