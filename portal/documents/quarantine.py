"""Files no scanner has seen yet: `scan-documents` scans them once a scanner is configured.

A file uploaded without a scanner is kept "not scanned": its uploader may open it, nobody else.
Each run claims one file at a time with a conditional update (so runs at the same time never
scan the same file, and a run that dies lets its claim run out), scans the stored bytes, and
records the verdict only over "not scanned" (so a verdict is written once, and a file removed
meanwhile is simply gone). A scanner that does not answer stops the run and leaves the file
"not scanned" for the next one: never "clean" for want of an answer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import BytesIO

from sqlalchemy import ColumnElement, func, or_, select, update

from portal import audit
from portal.documents.scanning import Scanner, ScannerUnavailable, Verdict
from portal.documents.storage import Storage, StorageError
from portal.extensions import db
from portal.models import Document, ScanResult, utcnow
from portal.transactions import transactional

logger = logging.getLogger(__name__)


@dataclass
class ScanRun:
    """What one run did; `stopped` says why it ended early (the scanner or storage failed)."""

    clean: int = 0
    infected: int = 0
    skipped: list[uuid.UUID] = field(default_factory=list)
    stopped: str | None = None

    @property
    def scanned(self) -> int:
        return self.clean + self.infected


def waiting() -> int:
    """How many files no scanner has seen yet."""
    return (
        db.session.scalar(
            select(func.count(Document.id)).where(
                Document.scan_result == ScanResult.NOT_SCANNED.value
            )
        )
        or 0
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    return (Document.scan_result == ScanResult.NOT_SCANNED.value) & or_(
        Document.scan_claimed_until.is_(None), Document.scan_claimed_until < now
    )


def claim_next(
    now: datetime, hold: timedelta, skip: frozenset[uuid.UUID] = frozenset()
) -> Document | None:
    """Take the oldest unscanned file nobody holds, for `hold`; committed, so others see it."""
    while True:
        query = select(Document.id).where(_claimable(now)).order_by(Document.created_at)
        if skip:
            query = query.where(Document.id.not_in(skip))
        candidate = db.session.scalar(query.limit(1))
        if candidate is None:
            db.session.commit()
            return None
        taken = db.session.execute(
            update(Document)
            .where(Document.id == candidate, _claimable(now))
            .values(scan_claimed_until=now + hold)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
            return db.session.get(Document, candidate)
        # Another run took it between the two statements: look for the next one.


@transactional
def record(document: Document, verdict: Verdict) -> bool:
    """Write the verdict if the file is still unscanned and still there; True when written."""
    result = ScanResult.INFECTED if verdict.infected else ScanResult.CLEAN
    written = db.session.execute(
        update(Document)
        .where(Document.id == document.id, Document.scan_result == ScanResult.NOT_SCANNED.value)
        .values(scan_result=result.value, scan_claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if written.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        return False
    if verdict.infected:
        audit.record(
            "document_infected",
            subject_type="application",
            subject_id=document.application_id,
            document_id=str(document.id),
            kind=document.kind,
            signature=verdict.signature,
        )
    return True


@transactional
def _release(document_id: uuid.UUID) -> None:
    """Let the next run have the file at once (it stays "not scanned")."""
    db.session.rollback()
    db.session.execute(
        update(Document)
        .where(Document.id == document_id)
        .values(scan_claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def scan_waiting(
    scanner: Scanner,
    storage: Storage,
    hold: timedelta = timedelta(minutes=5),
    clock: Callable[[], datetime] = utcnow,
) -> ScanRun:
    """Scan every unscanned file once; `hold` must be longer than one scan can take."""
    run = ScanRun()
    while (document := claim_next(clock(), hold, frozenset(run.skipped))) is not None:
        document_id = document.id
        try:
            content = BytesIO(b"".join(storage.open(document.storage_key)))
        except KeyError:
            # A row whose object is missing: nothing to scan, and nothing anyone can open.
            logger.error("unscanned document has no stored file", extra={"document": document_id})
            run.skipped.append(document_id)
            _release(document_id)
            continue
        except StorageError as exc:
            _release(document_id)
            run.stopped = f"storage failed: {exc}"
            break
        try:
            verdict = scanner.scan(content)
        except ScannerUnavailable as exc:
            logger.warning("virus scanner unavailable", extra={"error": str(exc)})
            _release(document_id)
            run.stopped = "the virus scanner did not answer"
            break
        if not verdict.scanned:
            _release(document_id)
            run.stopped = "no virus scanner is configured"
            break
        if record(document, verdict):
            if verdict.infected:
                run.infected += 1
            else:
                run.clean += 1
    return run
