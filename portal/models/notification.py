"""A record of every email and SMS sent, so that support staff can see what an applicant was told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, HasCreatedAt, HasId


class Notification(HasId, HasCreatedAt, Base):
    __tablename__ = "notifications"

    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(255))
