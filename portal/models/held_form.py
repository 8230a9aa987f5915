"""What someone typed into a form that reached the portal after their session had timed out."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, HasCreatedAt, HasId


class HeldForm(HasId, HasCreatedAt, Base):
    """A posted form kept for the account its expired session named, until that person signs in
    again and the page puts it back (never saved until they press Save with a fresh token)."""

    __tablename__ = "held_forms"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The page's path without the locale (/application/questions/names), so any language restores it.
    page: Mapped[str] = mapped_column(String(200))
    # The posted fields as [name, value] pairs, in order (a checkbox group posts a name twice).
    fields: Mapped[list[list[str]]] = mapped_column(JSON)
    expires_at: Mapped[datetime]
