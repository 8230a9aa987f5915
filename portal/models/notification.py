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
    status: Mapped[str] = mapped_column(String(20), default="pending")
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(255))
    # The provider's id of the accepted message (Notify's notification id, SES's or SNS's
    # MessageId): how a delivery receipt finds its row.
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
