"""Assisted digital: approved organisations, and the help their workers give an applicant."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, HasCreatedAt, HasId
from portal.models.user import User


class Organisation(HasId, HasCreatedAt, Base):
    """A charity, legal advice service or day centre approved to help applicants apply."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    city: Mapped[str] = mapped_column(String(80))
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)


class ConsentMethod(enum.StrEnum):
    READ = "read"
    READ_ALOUD = "read_aloud"
    INTERPRETED = "interpreted"


class EndReason(enum.StrEnum):
    APPLICANT = "applicant"
    ADMIN = "admin"
    CONSENT_WITHDRAWN = "consent_withdrawn"


class Assistance(HasId, HasCreatedAt, Base):
    """One organisation helping one applicant, from their recorded consent until it ends.

    The consent is recorded before the applicant's account or any answer exists, with who
    recorded it, when, how it was given and in which language it was shown.
    """

    __tablename__ = "assistances"
    __table_args__ = (
        # An applicant is helped by at most one organisation at a time.
        Index(
            "uq_assistances_one_active_per_applicant",
            "applicant_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    applicant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    started_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    label: Mapped[str] = mapped_column(String(200))
    consent_given_at: Mapped[datetime]
    consent_locale: Mapped[str] = mapped_column(String(8))
    consent_method: Mapped[str] = mapped_column(String(20))
    consent_text: Mapped[str] = mapped_column(Text)
    contact_through_organisation: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(String(32))

    organisation: Mapped[Organisation] = relationship()
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    started_by: Mapped[User] = relationship(foreign_keys=[started_by_id])
