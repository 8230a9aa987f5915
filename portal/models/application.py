"""The Expression of Interest: a draft, then a submitted application moving through its states."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, HasCreatedAt, HasId, utcnow


class Status(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_CHECKS = "in_checks"
    MORE_INFORMATION = "more_information"
    INVITED_TO_BIOMETRICS = "invited_to_biometrics"
    APPOINTMENT_BOOKED = "appointment_booked"
    BIOMETRICS_ENROLLED = "biometrics_enrolled"
    SECURITY_CHECKS = "security_checks"
    APPROVED = "approved"
    REFUSED = "refused"
    INVALID = "invalid"
    INELIGIBLE = "ineligible"
    WITHDRAWN = "withdrawn"


class ApplicantType(enum.StrEnum):
    MAIN = "main"
    FAMILY_MEMBER = "family_member"


_STATUS_VALUES = ", ".join(f"'{status.value}'" for status in Status)


class ApplicationWindow(HasId, HasCreatedAt, Base):
    """A period when applications are accepted, with a number of places."""

    __tablename__ = "application_windows"
    __table_args__ = (
        CheckConstraint("places_taken <= places", name="places_not_exceeded"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
    )

    name: Mapped[str] = mapped_column(String(100))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    places: Mapped[int]
    places_taken: Mapped[int] = mapped_column(default=0)
    opening_notified_at: Mapped[datetime | None]
    # Set while an admin has paused the window (to check parity, say): it takes no submissions.
    paused_at: Mapped[datetime | None]

    def is_open(self, now: datetime) -> bool:
        return (
            self.paused_at is None
            and self.opens_at <= now < self.closes_at
            and self.places_taken < self.places
        )


class FamilyGroup(HasId, HasCreatedAt, Base):
    """The main applicant and the adult family members who apply with the family reference."""

    __tablename__ = "family_groups"

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    window_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("application_windows.id"))

    applications: Mapped[list[Application]] = relationship(
        back_populates="family_group", order_by="Application.submitted_at"
    )


class Application(HasId, HasCreatedAt, Base):
    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status_known"),
        # A person has at most one application that is not withdrawn.
        Index(
            "uq_applications_one_active_per_applicant",
            "applicant_id",
            unique=True,
            postgresql_where=text("status <> 'withdrawn'"),
            sqlite_where=text("status <> 'withdrawn'"),
        ),
    )

    applicant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default=Status.DRAFT.value, index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    eligibility: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Set once, at submission, by a conditional update (see apply.submission).
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[datetime | None]
    window_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("application_windows.id"))
    family_group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("family_groups.id"))
    # Set when the retention command has removed the personal data (see portal.retention).
    anonymised_at: Mapped[datetime | None]

    family_group: Mapped[FamilyGroup | None] = relationship(back_populates="applications")
    window: Mapped[ApplicationWindow | None] = relationship()
    status_changes: Mapped[list[StatusChange]] = relationship(
        back_populates="application", order_by="StatusChange.occurred_at"
    )

    @property
    def status_enum(self) -> Status:
        return Status(self.status)


class StatusChange(HasId, Base):
    """Every move between states, with who made it and why (the transition function writes it)."""

    __tablename__ = "status_changes"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[uuid.UUID | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="status_changes")


class PresenceCheck(HasId, HasCreatedAt, Base):
    """A single-use link to prove presence in France. Only the outcome is kept, never the position:
    where someone sleeps is nobody's business."""

    __tablename__ = "presence_checks"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    accuracy_metres: Mapped[int | None]
