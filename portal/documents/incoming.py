"""Uploads sent by the browser straight to S3, so that no web worker waits on a slow phone.

With S3 storage the upload page is a plain form whose action is the bucket: a presigned POST
that may write one new key, `incoming/<application>/<random>`, and nothing else (docs/capacity.md,
"Uploads hold a worker thread"). S3 then redirects the browser to the portal's check URL with a
signed ticket that names the application, the kind, the part, the key and when it expires. Only
that check makes the file count: the object is read back, then goes through exactly the same
scan, cleaning and encrypted storage as a file posted to the portal (`store.upload`), and the
incoming object is deleted whatever the outcome. The random part of the key is the document's
upload key, so a second arrival of the same redirect (back, refresh) finds the document the first
one made instead of making another.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from portal.documents import store
from portal.documents.storage import S3Storage, StorageError
from portal.models import Application, Document, DocumentKind, User

PREFIX = "incoming/"
# How long the form may be sent after the page was shown (the POST policy's expiry).
FORM_SECONDS = 3600
# The ticket outlives the form by this much: a form sent in its last minute on a slow connection
# still reaches the check.
TICKET_GRACE_SECONDS = 3600
# S3's own ceiling for one POST. Anything S3 refuses is answered with its XML page, untranslated,
# so the form lets S3 take any file and the portal's own limit is applied at the check, in the
# applicant's language; only the first PORTAL_DOCUMENT_MAX_BYTES + 1 bytes are ever read back.
POLICY_MAX_BYTES = 5 * 1024**3
# Spooled to disk beyond this: a check holds at most a small buffer in memory.
_SPOOL_BYTES = 1024 * 1024
_SALT = "portal.documents.incoming"
_KEY = re.compile(r"incoming/([0-9a-f-]{36})/([0-9a-f]{32})")


class NotAccepted(Exception):
    """The check cannot go on: `reason` is "expired" (an old form or ticket), "invalid" (forged,
    altered, or another application's) or "missing" (no object under the key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Ticket:
    """What the check URL carries, signed: which upload of which application it may complete."""

    application: str
    kind: str
    part: str | None
    key: str
    replace: str | None
    expires: int

    @property
    def upload_key(self) -> uuid.UUID:
        return uuid.UUID(self.key.rsplit("/", 1)[1])


@dataclass(frozen=True)
class DirectForm:
    """The plain HTML form's action and hidden fields (the file comes last, after them), and
    what the page's script sends instead: the same key, answered with a 201 rather than a
    redirect (a script's request that S3 redirected would reach the check without the session
    cookie), after which the script opens `check_url` itself."""

    url: str
    fields: dict[str, str]
    script_fields: dict[str, str]
    check_url: str


def enabled() -> bool:
    """Whether uploads go to the bucket (S3 storage); local storage keeps the form to the portal."""
    return isinstance(store.storage(), S3Storage)


def new_ticket(
    application: Application, kind: DocumentKind, part: str | None, replace: Document | None
) -> Ticket:
    return Ticket(
        application=str(application.id),
        kind=kind.value,
        part=part,
        key=f"{PREFIX}{application.id}/{secrets.token_hex(16)}",
        replace=str(replace.id) if replace is not None else None,
        expires=int(time.time()) + FORM_SECONDS + TICKET_GRACE_SECONDS,
    )


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def sign(ticket: Ticket) -> str:
    return _serializer().dumps(asdict(ticket))


def read(token: str | None, kind: DocumentKind, now: float | None = None) -> Ticket:
    """The ticket of a check URL, or NotAccepted: a token that was not signed here, names another
    kind than the page's, or has expired is never acted on."""
    if not token:
        raise NotAccepted("invalid")
    try:
        data: Any = _serializer().loads(token)
        ticket = Ticket(**data)
    except (BadData, TypeError):
        raise NotAccepted("invalid") from None
    if ticket.kind != kind.value or not _KEY.fullmatch(ticket.key):
        raise NotAccepted("invalid")
    if ticket.expires < (time.time() if now is None else now):
        raise NotAccepted("expired")
    return ticket


def form(ticket: Ticket, check_url: str) -> DirectForm:
    """The presigned POST for the ticket's key, redirecting to `check_url` once S3 has the file."""
    storage = store.storage()
    assert isinstance(storage, S3Storage), "direct uploads need S3 storage"
    url, fields = storage.presigned_post(
        ticket.key, redirect=check_url, max_bytes=POLICY_MAX_BYTES, expires_in=FORM_SECONDS
    )
    _url, script_fields = storage.presigned_post(
        ticket.key, redirect=None, max_bytes=POLICY_MAX_BYTES, expires_in=FORM_SECONDS
    )
    return DirectForm(url, fields, script_fields, check_url)


def receive(application: Application, uploader: User, ticket: Ticket, name: str) -> Document:
    """Keep the file S3 holds for this ticket, exactly as an upload to the portal would be kept,
    or raise NotAccepted / store.Refused with nothing kept and the incoming object deleted.

    `application` is the one the signed-in person may change (the access check of the upload
    page): a ticket made for another application is refused before anything is read.
    """
    match = _KEY.fullmatch(ticket.key)
    if (
        ticket.application != str(application.id)
        or not match
        or match.group(1) != ticket.application
    ):
        raise NotAccepted("invalid")
    if (earlier := store.find_by_key(application, ticket.upload_key)) is not None:
        return earlier
    replace = store.find(application, ticket.replace) if ticket.replace else None
    item_kind = DocumentKind(ticket.kind)
    try:
        with _fetched(ticket.key) as stream:
            item = store.Upload(item_kind, ticket.part, name, stream, ticket.upload_key)
            return store.upload(application, uploader, item, replace)
    except NotAccepted:
        # A repeated redirect that crossed the first one: that one kept the file and deleted it.
        if (earlier := store.find_by_key(application, ticket.upload_key)) is not None:
            return earlier
        raise
    finally:
        store.delete_objects([ticket.key])


@contextmanager
def _fetched(key: str) -> Iterator[BinaryIO]:
    """The incoming object in a seekable temporary file, cut one byte past the portal's limit (so
    the validation says "too large" without the rest of a huge file ever being read)."""
    limit = current_app.config["PORTAL"].DOCUMENT_MAX_BYTES + 1
    try:
        chunks = store.storage().open(key)
    except KeyError:
        raise NotAccepted("missing") from None
    except StorageError as exc:
        raise store.Refused("storage_unavailable") from exc
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        try:
            received = 0
            for chunk in chunks:
                spool.write(chunk[: limit - received])
                received += len(chunk)
                if received >= limit:
                    break
        except StorageError as exc:
            raise store.Refused("storage_unavailable") from exc
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        spool.seek(0)
        yield spool  # type: ignore[misc]  # a SpooledTemporaryFile is a binary file object
