"""Writing to the audit log. Every authentication event and every staff view of personal data."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, has_request_context
from flask_login import current_user

from portal.extensions import db
from portal.models import AuditEvent
from portal.transactions import transactional


def record(
    action: str,
    *,
    actor_id: uuid.UUID | None = None,
    subject_type: str | None = None,
    subject_id: object | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction, so it commits (or not) with the change."""
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    helping = g.get("acting_assistance") if has_request_context() else None
    if helping is not None:
        # A support worker acting for an applicant: the entry says for whom, and through which
        # organisation, as well as who (the actor).
        details = {
            **details,
            "on_behalf_of": str(helping.applicant_id),
            "organisation_id": str(helping.organisation_id),
        }
    event = AuditEvent(
        action=action,
        actor_id=actor_id,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        request_id=g.get("request_id") if has_request_context() else None,
        details=details,
    )
    db.session.add(event)
    return event


@transactional
def record_now(
    action: str,
    *,
    actor_id: uuid.UUID | None = None,
    subject_type: str | None = None,
    subject_id: object | None = None,
    **details: Any,
) -> AuditEvent:
    """An audit entry that is a whole change by itself: a staff view of personal data, kept
    before the page that shows the data is rendered (within a service, `record` joins its
    transaction instead)."""
    return record(
        action, actor_id=actor_id, subject_type=subject_type, subject_id=subject_id, **details
    )
