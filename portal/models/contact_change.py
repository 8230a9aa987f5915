"""A correction of an applicant's email address or mobile number, waiting for its code."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, HasCreatedAt, HasId


class ContactChange(HasId, HasCreatedAt, Base):
    """One code sent to a new address or number: each (re)send is a row, so the rows of the last
    hour and day are the sends the limits count. Only a keyed hash of the code is kept."""

    __tablename__ = "contact_changes"
    __table_args__ = (CheckConstraint("kind IN ('email', 'mobile')", name="kind_known"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    new_value: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    # Set when the code was right and the change committed, or when a newer code, too many wrong
    # codes or an address in use ended it: an ended row never changes anything again.
    confirmed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
