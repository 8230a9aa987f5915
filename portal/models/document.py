"""A file an applicant (or a support worker for them) uploaded: its record, never its bytes."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, HasCreatedAt, HasId


class DocumentKind(enum.StrEnum):
    IDENTITY = "identity"
    PHOTO = "photo"
    RELATIONSHIP = "relationship"
    OTHER = "other"


_KINDS = ", ".join(f"'{kind.value}'" for kind in DocumentKind)


class Document(HasId, HasCreatedAt, Base):
    """The bytes live in storage under `storage_key`, a random name; this row is what the portal knows.

    A row is only written after its object is stored, and an object without a row is removed by
    `flask --app portal documents-clean-up`, so the two never disagree for long.
    """

    __tablename__ = "documents"
    __table_args__ = (CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),)

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Which part of an identity document this file shows (front, back, data page).
    part: Mapped[str | None] = mapped_column(String(20))
    original_name: Mapped[str] = mapped_column(String(200))
    detected_type: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    pages: Mapped[int | None]
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_by_role: Mapped[str] = mapped_column(String(20))
    # "clean" when the scanner passed it, "not_scanned" where no scanner is configured.
    scan_result: Mapped[str] = mapped_column(String(20))

    @property
    def kind_enum(self) -> DocumentKind:
        return DocumentKind(self.kind)
