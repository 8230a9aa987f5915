"""A file an applicant (or a support worker for them) uploaded: its record, never its bytes."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, HasCreatedAt, HasId


class DocumentKind(enum.StrEnum):
    IDENTITY = "identity"
    PHOTO = "photo"
    RELATIONSHIP = "relationship"
    OTHER = "other"


class ScanResult(enum.StrEnum):
    """Where a file stands with the virus scanner: only `clean` may be opened by staff."""

    NOT_SCANNED = "not_scanned"
    CLEAN = "clean"
    INFECTED = "infected"


_KINDS = ", ".join(f"'{kind.value}'" for kind in DocumentKind)
_SCAN_RESULTS = ", ".join(f"'{result.value}'" for result in ScanResult)


class Document(HasId, HasCreatedAt, Base):
    """The bytes live in storage under `storage_key`, a random name; this row is what the portal knows.

    A row is only written after its object is stored, and an object without a row is removed by
    `flask --app portal documents-clean-up`, so the two never disagree for long.
    """

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        CheckConstraint(f"scan_result IN ({_SCAN_RESULTS})", name="scan_result_known"),
        # One document per chosen file: a retry after a lost answer finds the first upload.
        UniqueConstraint("application_id", "upload_key"),
    )

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
    # "clean" when the scanner passed it, "not_scanned" until one has seen it (no scanner was
    # configured at upload), "infected" when `scan-documents` found a virus in a stored file.
    scan_result: Mapped[str] = mapped_column(String(20), index=True)
    # A `scan-documents` run holds the file until then: a second run at the same time skips it,
    # and a run that died lets it go when this passes.
    scan_claimed_until: Mapped[datetime | None]
    # Set for a file sent in answer to a caseworker's request for more information: the only way
    # a file reaches an application once it is sent.
    information_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("information_requests.id"), index=True
    )
    # The key the upload page made for the chosen file (with JavaScript): the same file sent again
    # after a dropped connection is recognised instead of stored twice. None without JavaScript.
    upload_key: Mapped[uuid.UUID | None]

    @property
    def kind_enum(self) -> DocumentKind:
        return DocumentKind(self.kind)

    @property
    def scan_enum(self) -> ScanResult:
        return ScanResult(self.scan_result)

    @property
    def staff_may_open(self) -> bool:
        """Staff open only what a scanner passed; the uploader also opens what none has seen."""
        return self.scan_enum is ScanResult.CLEAN
