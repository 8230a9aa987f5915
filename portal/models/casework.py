"""The back office's records: the checking queue (outbox), checks, requests for information and the
returns list."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.application import Application
from portal.models.base import Base, HasCreatedAt, HasId, utcnow


class QueueItem(HasId, HasCreatedAt, Base):
    """One message of the checking queue, written in the transaction that changes the application.

    With the database queue this row is the queue item: `available_at` is when it may next be
    claimed (the lease's end while a caseworker holds it). With SQS the relay publishes it and
    sets `relayed_at`; the row still records who holds it, so that both backends answer alike.
    """

    __tablename__ = "queue_items"
    __table_args__ = (
        Index(
            "ix_queue_items_waiting",
            "priority",
            "submitted_at",
            postgresql_where=text("completed_at IS NULL AND dead_lettered_at IS NULL"),
            sqlite_where=text("completed_at IS NULL AND dead_lettered_at IS NULL"),
        ),
        Index(
            "ix_queue_items_unrelayed",
            "created_at",
            postgresql_where=text("relayed_at IS NULL"),
            sqlite_where=text("relayed_at IS NULL"),
        ),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime]
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    receive_count: Mapped[int] = mapped_column(default=0)
    receipt_handle: Mapped[str | None] = mapped_column(Text)
    relayed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    dead_lettered_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship()


class UnreadableQueueMessage(HasId, HasCreatedAt, Base):
    """A message that SQS delivered but the portal could not act on (not JSON, not the schema, or
    naming no queue item), kept with its body for an admin to send back or discard: deleting it
    from SQS with only a log line would hide it from everyone who could tell what it was."""

    __tablename__ = "unreadable_queue_messages"

    # The queue to send it back to (the one it was read from, or the checking queue for one found
    # in the dead-letter queue); SQS's own id, so that a second delivery of the same message (its
    # delete failed) is kept once.
    queue_url: Mapped[str] = mapped_column(Text)
    sqs_message_id: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    problem: Mapped[str] = mapped_column(Text)


class CheckName(enum.StrEnum):
    IDENTITY = "identity"
    ELIGIBILITY = "eligibility"
    PRESENCE = "presence"
    RETURNS_LIST = "returns_list"
    DUPLICATES = "duplicates"
    SUITABILITY = "suitability"
    SECURITY = "security"


class CheckOutcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CLEAR = "not_clear"


class CheckRecord(HasId, Base):
    """A caseworker's finding on one check; the latest record of each check is the current one."""

    __tablename__ = "check_records"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    check: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class InformationRequest(HasId, Base):
    """What a caseworker asked the applicant for, and the applicant's answer."""

    __tablename__ = "information_requests"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    topics: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]


class ReturnedPerson(HasId, HasCreatedAt, Base):
    """Someone returned to France under the scheme: not eligible, and counted for parity."""

    __tablename__ = "returned_people"

    given_names: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(index=True)
    nationality: Mapped[str] = mapped_column(String(2))
    document_number: Mapped[str | None] = mapped_column(String(40), index=True)
    returned_on: Mapped[date]
    imported_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
