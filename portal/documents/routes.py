"""The caseworker's view of a stored file: to a caseworker past two-factor (audited), once a virus
scanner has passed it. A file found infected is opened by nobody. Anything else is a 404, and
logged. The applicant's documents pages are pages of their journey, in apply.document_pages.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user

from portal import audit
from portal.documents import serving, store
from portal.models import Role, ScanResult

logger = logging.getLogger(__name__)

staff_documents = Blueprint("staff_documents", __name__)


@staff_documents.route("/documents/<document_id>")
def staff_file(document_id: str) -> Any:
    """A caseworker past two-factor; anyone else, even a caseworker halfway through signing in, 404."""
    allowed = (
        current_user.is_authenticated
        and current_user.role_enum is Role.CASEWORKER
        and not current_user.needs_second_factor
    )
    document = store.find_any(document_id) if allowed else None
    if document is None:
        return serving.refuse(document_id)
    if not document.staff_may_open:
        logger.warning(
            "document not opened: no scanner has passed it",
            extra={"document_id": str(document.id), "scan_result": document.scan_result},
        )
        page = render_template(
            "documents/staff_not_openable.html",
            document=document,
            infected=document.scan_enum is ScanResult.INFECTED,
        )
        return page, 403
    audit.record_now(
        "document_viewed",
        subject_type="application",
        subject_id=document.application_id,
        document_id=str(document.id),
        kind=document.kind,
    )
    return serving.send(document, attachment=bool(request.args.get("download")))
