"""Reading a stored file back as a response: the only way one ever leaves the portal, for the
applicant who owns it (apply.document_pages) and for a caseworker (documents.routes).

Files are never served from a public path. A refused request looks like a missing page, and is
logged for whoever watches.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any
from urllib.parse import quote

from flask import Response, abort
from flask_login import current_user

from portal.documents import store
from portal.models import Document

logger = logging.getLogger(__name__)

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


def refuse(document_id: str) -> Any:
    """Every refused request looks like a missing page, and is logged for whoever watches."""
    logger.warning(
        "document access refused",
        extra={
            "document_id": document_id[:64],
            "user_id": str(current_user.id) if current_user.is_authenticated else None,
        },
    )
    abort(404)


def send(document: Document, *, thumbnail: bool = False, attachment: bool = False) -> Response:
    chunks = store.read(document, thumbnail=thumbnail)
    first = next(chunks, b"")

    def body() -> Any:
        yield first
        yield from chunks

    mimetype = "image/jpeg" if thumbnail else document.content_type
    disposition = "attachment" if attachment or mimetype == "application/pdf" else "inline"
    response = Response(body(), mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(
        disposition, _download_name(document)
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    if not thumbnail:
        response.headers["Content-Length"] = str(document.size)
    return response


def _download_name(document: Document) -> str:
    stem = document.original_name.rsplit(".", 1)[0] or "document"
    return f"{stem}.{_EXTENSIONS.get(document.content_type, 'bin')}"


def content_disposition(disposition: str, name: str) -> str:
    """An ASCII fallback name and the exact UTF-8 one (RFC 6266), with nothing that breaks out."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c for c in fallback if c.isalnum() or c in " ._-").strip() or "document"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
