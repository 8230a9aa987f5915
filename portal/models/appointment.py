"""Biometric enrolment: centres in France, their slots, and the appointments booked in them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.application import Application
from portal.models.base import Base, HasCreatedAt, HasId


class Centre(HasId, HasCreatedAt, Base):
    """A visa application centre where invited applicants enrol fingerprints and a photo."""

    __tablename__ = "centres"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(80))
    opening_hours: Mapped[str] = mapped_column(Text)
    accessibility: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Paris")
    active: Mapped[bool] = mapped_column(default=True)


class Slot(HasId, HasCreatedAt, Base):
    """A time at a centre with a number of places; `booked` only moves by conditional updates."""

    __tablename__ = "slots"
    __table_args__ = (
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        UniqueConstraint("centre_id", "starts_at", name="uq_slots_centre_start"),
    )

    centre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("centres.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)
    closed: Mapped[bool] = mapped_column(default=False)

    centre: Mapped[Centre] = relationship()


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


_APPOINTMENT_STATUSES = ", ".join(f"'{status.value}'" for status in AppointmentStatus)


class Appointment(HasId, HasCreatedAt, Base):
    """One application's place in one slot. A move writes a new row and marks this one moved,
    so the history of what was booked, by whom, stays readable."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(f"status IN ({_APPOINTMENT_STATUSES})", name="status_known"),
        # An application never holds two active appointments, whatever the concurrency.
        Index(
            "uq_appointments_one_active_per_application",
            "application_id",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slots.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.BOOKED.value)
    booked_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # Members of a family booked together in one step share this; each keeps its own row.
    group_booking_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    application: Mapped[Application] = relationship()
    slot: Mapped[Slot] = relationship()

    @property
    def status_enum(self) -> AppointmentStatus:
        return AppointmentStatus(self.status)


class SentReminder(HasId, HasCreatedAt, Base):
    """A reminder that has gone out, keyed so that the unique constraint makes sending once a
    database fact rather than a hope: running the command twice, or two at once, sends once."""

    __tablename__ = "sent_reminders"

    key: Mapped[str] = mapped_column(String(120), unique=True)
