"""Finding sent applications: by id, or by reference, name, date of birth or document number."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select

from portal.apply.answers import column
from portal.apply.references import InvalidReference, parse_reference
from portal.extensions import db
from portal.models import (
    Application,
    Status,
)
from portal.returns import services as returns
from portal.returns.matching import normalise_document_number


def search(text: str, limit: int = 50) -> list[Application]:
    """Sent applications by reference, name, date of birth (YYYY-MM-DD) or document number."""
    text = text.strip()
    if not text:
        return []
    query = select(Application).where(Application.status != Status.DRAFT.value)
    try:
        reference = parse_reference(text)
    except InvalidReference:
        reference = None
    document = normalise_document_number(text)
    pattern = f"%{text.lower()}%"
    given, family = column("given_names"), column("family_name")
    conditions = [
        func.lower(given).like(pattern),
        func.lower(family).like(pattern),
        func.lower(func.coalesce(given, "") + " " + func.coalesce(family, "")).like(pattern),
        column("date_of_birth") == text,
    ]
    if reference:
        conditions.append(Application.reference == reference)
    if document:
        conditions.append(returns.has_document_number(document))
    query = query.where(or_(*conditions)).order_by(Application.submitted_at.desc()).limit(limit)
    return list(db.session.scalars(query))


def application_by_id(application_id: str) -> Application | None:
    try:
        key = uuid.UUID(application_id)
    except ValueError:
        return None
    application = db.session.get(Application, key)
    if application is None or application.status_enum is Status.DRAFT:
        return None
    return application
