"""The decisions as CSV for reporting: references, nationality and decisions, no personal details."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from portal.apply.answers import ApplicationAnswers
from portal.extensions import db
from portal.models import (
    Application,
    Status,
    StatusChange,
    User,
)

DECIDED = (
    Status.INVITED_TO_BIOMETRICS,
    Status.MORE_INFORMATION,
    Status.INVALID,
    Status.INELIGIBLE,
    Status.APPROVED,
    Status.REFUSED,
)


def decisions_csv() -> str:
    """Every decision for reporting: references, nationality, decision, rule, when, by whom.
    No names, dates of birth or contact details."""
    rows = db.session.execute(
        select(
            Application.reference,
            Application.answers,
            StatusChange.to_status,
            StatusChange.reason,
            StatusChange.occurred_at,
            User.email,
        )
        .join(StatusChange, StatusChange.application_id == Application.id)
        .outerjoin(User, User.id == StatusChange.actor_id)
        .where(StatusChange.to_status.in_([s.value for s in DECIDED]))
        .order_by(StatusChange.occurred_at)
    )
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(
        ["reference", "nationality", "decision", "rule", "decided_at_utc", "decided_by"]
    )
    for reference, answers, status, reason, occurred_at, email in rows:
        rule = reason.partition(":")[2] if reason and ":" in reason else ""
        writer.writerow(
            [
                reference,
                ApplicationAnswers(answers or {}).nationality or "",
                status,
                rule,
                occurred_at.isoformat(timespec="seconds"),
                email or "",
            ]
        )
    return output.getvalue()
