"""The messages outbox: every email and SMS, written in the transaction of the change that causes it.

A row is the message itself (its rendered text and attachments), its place in the sender's queue
(due time, claim) and its delivery record (state, the provider's reason and id). The applicant's
status page and the caseworker's panel read the same rows: a message not listed is not from us.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, HasCreatedAt, HasId, utcnow


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"


class Notification(HasId, HasCreatedAt, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The sender's scan: rows still to send, most urgent and longest waiting first.
        Index(
            "ix_notifications_due",
            "priority",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'sending', 'temporary-failure')"),
            sqlite_where=text("status IN ('queued', 'sending', 'temporary-failure')"),
        ),
    )

    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(255), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # Values in `body` that must not outlive delivery (one-time links, codes): pages show them
    # masked, and they are wiped from the row once the message is sent or given up.
    secrets: Mapped[list[str] | None] = mapped_column(JSON)
    carries_secret: Mapped[bool] = mapped_column(default=False)
    # [{"filename", "content_type", "data" (base64)}]: the .ics file is small and must be the
    # one that was true when the change committed.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # 0 is time-critical (presence link, appointment changes, codes), taken before 1.
    priority: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.QUEUED.value)
    reason: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who asked for it again (a caseworker's resend), for the audit trail beside it.
    resent_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notifications.id"))

    @property
    def status_enum(self) -> MessageStatus:
        return MessageStatus(self.status)

    @property
    def shown_body(self) -> str:
        """The text as pages show it: one-time links and codes masked."""
        shown = self.body
        for secret in self.secrets or ():
            shown = shown.replace(secret, "••••••")
        return shown


class NotificationAttempt(HasId, Base):
    """One try at handing a message to its provider, and what came of it."""

    __tablename__ = "notification_attempts"

    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(255))
    provider_id: Mapped[str | None] = mapped_column(String(255))
