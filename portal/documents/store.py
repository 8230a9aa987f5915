"""Uploading, listing, reading and removing an application's documents.

The order of an upload is what keeps storage and database in agreement: scan, clean, store the
object under a random key, then write the row in one transaction that also re-checks the limits
under a lock on the application. If anything fails after the object is stored, the object is
deleted again; if even that fails, the clean-up command finds it (an object with no row).

An upload sent with JavaScript carries a key made on the page for the chosen file. A connection
that drops after the row was written makes the page send the same file again with the same key:
that upload is recognised (before any work, and again under the lock) and answers with the
document already stored, so a retry never makes a second document.

Other capabilities reach this through documents.services, which publishes it with the direct
uploads (incoming) and the sending of files (serving); those build on this module, so they import
it, not services.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import BinaryIO
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.documents import rules, validation
from portal.documents.scanning import NoScanner, Scanner, ScannerUnavailable, scanner_for
from portal.documents.storage import LocalStorage, S3Storage, Storage, StorageError, new_key
from portal.extensions import db
from portal.keys import parse_key
from portal.models import (
    Application,
    Document,
    DocumentKind,
    InformationRequest,
    ScanResult,
    Status,
    User,
    utcnow,
)
from portal.security import allow_uploads_to
from portal.transactions import transactional

# Files that one answer to a request for more information may carry.
REQUEST_MAX_FILES = 6

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The upload was not kept; `reason` names why, for a translated message on the page."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class Upload:
    kind: DocumentKind
    part: str | None
    name: str
    stream: BinaryIO
    # The page's key for the chosen file (None without JavaScript): see the module's docstring.
    key: uuid.UUID | None = None


def init_app(app: Flask) -> None:
    """Build the storage backend and the scanner once: a bad setting stops the start, not an upload."""
    settings = app.config["PORTAL"]
    storage: Storage
    if settings.DOCUMENT_STORAGE == "s3":
        storage = S3Storage(
            bucket=settings.S3_BUCKET,
            region=settings.S3_REGION,
            endpoint_url=settings.S3_ENDPOINT_URL or None,
            sse=settings.S3_SSE,
            kms_key_id=settings.S3_KMS_KEY_ID or None,
        )
        # The upload page's form posts to the bucket: its pages may post there (signed here, no
        # request to AWS; the URL is the same for every key).
        url, _fields = storage.presigned_post(
            "incoming/origin", redirect=settings.BASE_URL, max_bytes=0, expires_in=60
        )
        parts = urlsplit(url)
        allow_uploads_to(app, f"{parts.scheme}://{parts.netloc}")
    else:
        storage = LocalStorage(
            settings.INSTANCE_PATH / "documents", parse_key(settings.DOCUMENT_KEY)
        )
    app.extensions["portal.documents"] = storage
    app.extensions["portal.scanner"] = scanner_for(
        settings.CLAMD_SOCKET or None,
        settings.CLAMD_HOST or None,
        settings.CLAMD_PORT,
        float(settings.CLAMD_TIMEOUT_SECONDS),
    )


def storage() -> Storage:
    return current_app.extensions["portal.documents"]


def scanner() -> Scanner:
    return current_app.extensions["portal.scanner"]


def scanning_configured() -> bool:
    """Whether files can be scanned now; without a scanner they wait as "not scanned"."""
    return not isinstance(scanner(), NoScanner)


def limits() -> validation.Limits:
    settings = current_app.config["PORTAL"]
    return validation.Limits(
        max_bytes=settings.DOCUMENT_MAX_BYTES,
        max_pixels=settings.IMAGE_MAX_PIXELS,
        max_side=settings.IMAGE_MAX_SIDE,
        pdf_max_pages=settings.PDF_MAX_PAGES,
    )


# Built once (the task list and check-your-answers ask on every view): SQLAlchemy keeps a built
# statement's cache key, which it otherwise computes again on every request (bench/floor.py).
_DOCUMENTS_OF = (
    select(Document)
    .where(Document.application_id == bindparam("application_id"))
    .order_by(Document.created_at)
)


def documents_of(application: Application) -> list[Document]:
    return list(db.session.scalars(_DOCUMENTS_OF, {"application_id": application.id}))


def counts(documents: list[Document]) -> dict[DocumentKind, int]:
    """Files per kind; an infected file counts for nothing, so it has to be replaced or removed
    before the application can be sent (and another may be added meanwhile)."""
    result: dict[DocumentKind, int] = {}
    for document in documents:
        if document.scan_enum is not ScanResult.INFECTED:
            result[document.kind_enum] = result.get(document.kind_enum, 0) + 1
    return result


def missing_kinds(application: Application) -> list[DocumentKind]:
    return rules.missing(application.answers, counts(documents_of(application)))


def find_by_key(application: Application, key: uuid.UUID | None) -> Document | None:
    """The document an earlier sending of the same chosen file stored, if there is one."""
    if key is None:
        return None
    return db.session.scalar(
        select(Document).where(
            Document.application_id == application.id, Document.upload_key == key
        )
    )


def upload_key_from(raw: str | None) -> uuid.UUID | None:
    """The upload key of a form, or None: a missing or malformed key means no retry protection,
    never a refused upload (the key only ever saves work; it decides nothing about the file)."""
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _one_document(document_id: str, owner: ColumnElement[bool]) -> Document | None:
    """The document of that id if `owner` holds for it, or None (a malformed id included)."""
    try:
        wanted = uuid.UUID(document_id)
    except ValueError:
        return None
    return db.session.scalar(select(Document).where(Document.id == wanted, owner))


def find(application: Application, document_id: str) -> Document | None:
    """A document of this application, or None: an id from the URL never reaches another's file."""
    return _one_document(document_id, Document.application_id == application.id)


def upload(
    application: Application,
    uploader: User,
    item: Upload,
    replace: Document | None = None,
    *,
    request: InformationRequest | None = None,
) -> Document:
    """Keep one file, or raise Refused and keep nothing of it.

    On a draft the file joins the application's documents; on a sent application only an open
    request for more information takes files (`request`), through the same scan, cleaning and
    storage, and they count against that request's own limits.
    """
    settings = current_app.config["PORTAL"]
    if (earlier := find_by_key(application, item.key)) is not None:
        return earlier
    kept = _kept(application, replace, request)
    _check_room(application, item.kind, kept, request)

    try:
        verdict = scanner().scan(item.stream)
    except ScannerUnavailable as exc:
        logger.warning("virus scanner unavailable", extra={"error": str(exc)})
        raise Refused("scanner_unavailable") from exc
    if verdict.infected:
        # Kept although the upload is refused: the log is where infected files are counted.
        audit.record_now(
            "document_infected",
            subject_type="application",
            subject_id=application.id,
            signature=verdict.signature,
            kind=item.kind.value,
        )
        raise Refused("infected")

    try:
        cleaned = validation.clean(item.stream, item.name, limits())
    except validation.Rejected as exc:
        raise Refused(exc.reason.value) from exc
    if not rules.fits_total(
        sum(d.size for d in kept), cleaned.size, settings.DOCUMENTS_TOTAL_MAX_BYTES
    ):
        raise Refused("total_too_large")

    document = Document(
        application_id=application.id,
        kind=item.kind.value,
        part=item.part,
        original_name=validation.sanitise_name(item.name),
        detected_type=cleaned.detected_type,
        content_type=cleaned.content_type,
        size=cleaned.size,
        sha256=cleaned.sha256,
        width=cleaned.width,
        height=cleaned.height,
        pages=cleaned.pages,
        storage_key=new_key(),
        thumbnail_key=new_key() if cleaned.thumbnail else None,
        uploaded_by_id=uploader.id,
        uploaded_by_role=uploader.role,
        scan_result=(ScanResult.CLEAN if verdict.scanned else ScanResult.NOT_SCANNED).value,
        information_request_id=request.id if request is not None else None,
        upload_key=item.key,
    )
    stored = _store(document, cleaned)
    try:
        earlier = _record_upload(application, item, document, replace, request)
    except IntegrityError:
        # Only the upload key is unique among what this commit writes; the lock taken in
        # _record_upload makes this a last resort, for a database that did not serialise the two
        # sendings.
        _delete_objects(stored)
        earlier = find_by_key(application, item.key)
        if earlier is None:
            raise
        return earlier
    except BaseException:
        _delete_objects(stored)
        raise
    if earlier is not None:
        _delete_objects(stored)
        return earlier
    if replace is not None:
        _delete_objects(_keys_of(replace))
    return document


@transactional
def _record_upload(
    application: Application,
    item: Upload,
    document: Document,
    replace: Document | None,
    request: InformationRequest | None,
) -> Document | None:
    """The upload's rows, one transaction committed before any stored object is deleted: the
    file that came first with the same key (nothing written then), or None once it is kept."""
    if request is None:
        _lock_draft(application)
    else:
        lock_open_request(application, request)
    if (earlier := find_by_key(application, item.key)) is not None:
        # The same file, sent again while this one was scanned: the first sending won.
        db.session.rollback()
        return earlier
    _check_room(application, item.kind, _kept(application, replace, request), request)
    if replace is not None:
        db.session.delete(replace)
    db.session.add(document)
    audit.record(
        "document_uploaded",
        subject_type="application",
        subject_id=application.id,
        document_id=str(document.id),
        kind=document.kind,
        sha256=document.sha256,
        replaced=str(replace.id) if replace is not None else None,
        information_request=str(request.id) if request is not None else None,
    )
    return None


def _kept(
    application: Application, replace: Document | None, request: InformationRequest | None
) -> list[Document]:
    """The files an upload is counted with: the draft's own, or those of the one request."""
    if request is None:
        return [d for d in documents_of(application) if replace is None or d.id != replace.id]
    return files_of_request(request)


def _check_room(
    application: Application,
    kind: DocumentKind,
    kept: list[Document],
    request: InformationRequest | None,
) -> None:
    if request is None:
        if not rules.may_add(application.answers, kind, counts(kept)):
            raise Refused("too_many_files", count=rules.rule(kind).max_files)
    elif len(kept) >= REQUEST_MAX_FILES:
        raise Refused("too_many_files", count=REQUEST_MAX_FILES)


def files_of_request(request: InformationRequest) -> list[Document]:
    return list(
        db.session.scalars(
            select(Document)
            .where(Document.information_request_id == request.id)
            .order_by(Document.created_at)
        )
    )


def lock_open_request(application: Application, request: InformationRequest) -> None:
    """Serialise the files and the answer of one request, and refuse once it is answered (or the
    application has moved on): after that, nothing more reaches a sent application.

    The conditional updates take the row locks (the write lock on SQLite), so an upload and the
    answer cannot cross: a file either makes it into the answer or is refused.
    """
    moved = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.status == Status.MORE_INFORMATION.value,
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    still_open = db.session.execute(
        update(InformationRequest)
        .where(
            InformationRequest.id == request.id,
            InformationRequest.application_id == application.id,
            InformationRequest.answered_at.is_(None),
        )
        .values(answered_at=None)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1 or still_open.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        raise Refused("request_closed")


def find_in_request(request: InformationRequest, document_id: str) -> Document | None:
    """A file of this request, or None: an id from the URL never reaches another's file."""
    return _one_document(document_id, Document.information_request_id == request.id)


def remove_from_request(
    application: Application, request: InformationRequest, document: Document
) -> None:
    """Take a file back out of an answer that is not sent yet; its stored objects go once the
    row's deletion has committed."""
    _delete_objects(_remove_from_request(application, request, document))


@transactional
def _remove_from_request(
    application: Application, request: InformationRequest, document: Document
) -> list[str]:
    lock_open_request(application, request)
    keys = _keys_of(document)
    audit.record(
        "document_removed",
        subject_type="application",
        subject_id=application.id,
        document_id=str(document.id),
        kind=document.kind,
        information_request=str(request.id),
    )
    db.session.delete(document)
    return keys


def _store(document: Document, cleaned: validation.Cleaned) -> list[str]:
    """Put the file (and its thumbnail); on failure remove what was put and refuse the upload."""
    stored: list[str] = []
    try:
        storage().put(document.storage_key, cleaned.content)
        stored.append(document.storage_key)
        if document.thumbnail_key and cleaned.thumbnail:
            storage().put(document.thumbnail_key, BytesIO(cleaned.thumbnail))
            stored.append(document.thumbnail_key)
    except StorageError as exc:
        logger.error("document storage failed", extra={"error": str(exc)})
        _delete_objects(stored)
        raise Refused("storage_unavailable") from exc
    return stored


def _lock_draft(application: Application) -> None:
    """Serialise changes to one application's files, and refuse once it is no longer a draft.

    The conditional update takes the row lock on PostgreSQL (and the write lock on SQLite), so
    two uploads at once cannot both pass the "how many files" check.
    """
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == Status.DRAFT.value)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        raise Refused("not_a_draft")


def remove(application: Application, document: Document) -> None:
    """Remove a draft's file; its stored objects go once the row's deletion has committed."""
    _delete_objects(_remove(application, document))


@transactional
def _remove(application: Application, document: Document) -> list[str]:
    _lock_draft(application)
    keys = _keys_of(document)
    audit.record(
        "document_removed",
        subject_type="application",
        subject_id=application.id,
        document_id=str(document.id),
        kind=document.kind,
    )
    db.session.delete(document)
    return keys


def delete_all(application: Application) -> list[str]:
    """Remove the rows of every file (the caller commits); returns the keys to delete afterwards."""
    keys: list[str] = []
    for document in documents_of(application):
        keys.extend(_keys_of(document))
        db.session.delete(document)
    return keys


def delete_objects(keys: list[str]) -> None:
    _delete_objects(keys)


def read(document: Document, *, thumbnail: bool = False) -> Iterator[bytes]:
    key = document.thumbnail_key if thumbnail else document.storage_key
    if key is None:
        raise KeyError("no thumbnail")
    return storage().open(key)


@dataclass(frozen=True)
class CleanUp:
    orphans: list[str]
    temporaries: int


def clean_up(older_than: datetime) -> CleanUp:
    """Delete what a crash left in storage: objects that no row names (a crash between object
    and row) and half-written temporary files (a crash during the write)."""
    temporaries = storage().remove_abandoned(older_than)
    known = set(db.session.scalars(select(Document.storage_key)))
    known.update(k for k in db.session.scalars(select(Document.thumbnail_key)) if k)
    removed = [key for key in storage().keys(older_than) if key not in known]
    _delete_objects(removed)
    return CleanUp(orphans=removed, temporaries=temporaries)


def _keys_of(document: Document) -> list[str]:
    return [k for k in (document.storage_key, document.thumbnail_key) if k]


def _delete_objects(keys: list[str]) -> None:
    for key in keys:
        try:
            storage().delete(key)
        except StorageError as exc:
            logger.error(
                "could not delete a stored document; the clean-up command will",
                extra={"error": str(exc)},
            )


def find_any(document_id: str) -> Document | None:
    """A sent application's document, for staff views (access-checked and audited by the caller,
    who opens it only if `staff_may_open`). Drafts stay the applicant's own until they are sent.
    """
    try:
        wanted = uuid.UUID(document_id)
    except ValueError:
        return None
    return db.session.scalar(
        select(Document)
        .join(Application, Application.id == Document.application_id)
        .where(Document.id == wanted, Application.status != Status.DRAFT.value)
    )
