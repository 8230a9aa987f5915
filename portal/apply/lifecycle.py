"""The one transition function that moves an application between states, and the rules it keeps.

Every state change goes through `transition`: it refuses illegal moves, is safe under concurrency
(a conditional update on the current state), and records who made the change and why.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from portal import audit
from portal.extensions import db
from portal.models import Application, StatusChange
from portal.models import Status as S

FINAL = frozenset({S.APPROVED, S.REFUSED, S.INVALID, S.INELIGIBLE, S.WITHDRAWN})

ALLOWED: dict[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.IN_CHECKS, S.INVALID, S.INELIGIBLE, S.WITHDRAWN}),
    S.IN_CHECKS: frozenset(
        {
            S.SUBMITTED,
            S.MORE_INFORMATION,
            S.INVITED_TO_BIOMETRICS,
            S.INVALID,
            S.INELIGIBLE,
            S.WITHDRAWN,
        }
    ),
    S.MORE_INFORMATION: frozenset({S.SUBMITTED, S.INVALID, S.INELIGIBLE, S.WITHDRAWN}),
    # Invited to enrolled, and back, only when the desk corrects a mistaken attendance mark.
    S.INVITED_TO_BIOMETRICS: frozenset(
        {S.APPOINTMENT_BOOKED, S.BIOMETRICS_ENROLLED, S.INVALID, S.WITHDRAWN}
    ),
    S.APPOINTMENT_BOOKED: frozenset({S.INVITED_TO_BIOMETRICS, S.BIOMETRICS_ENROLLED, S.WITHDRAWN}),
    S.BIOMETRICS_ENROLLED: frozenset({S.SECURITY_CHECKS, S.INVITED_TO_BIOMETRICS, S.WITHDRAWN}),
    S.SECURITY_CHECKS: frozenset({S.APPROVED, S.REFUSED, S.WITHDRAWN}),
    **{status: frozenset() for status in FINAL},
}


class IllegalTransition(RuntimeError):
    """The move is not one the scheme allows, or the application changed state meanwhile."""


def can_move(current: S, target: S) -> bool:
    return target in ALLOWED[current]


def can_withdraw(current: S) -> bool:
    """Applicants may withdraw a sent application until a decision is made."""
    return can_move(current, S.WITHDRAWN)


def transition(
    application: Application,
    target: S,
    *,
    actor_id: uuid.UUID | None,
    reason: str | None = None,
    **values: object,
) -> None:
    """Move the application to `target` in the current transaction, or raise IllegalTransition.

    `values` are other columns set in the same conditional update (reference, submitted_at...).
    """
    current = application.status_enum
    if not can_move(current, target):
        raise IllegalTransition(f"{current.value} -> {target.value}")
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == current.value)
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise IllegalTransition(f"{application.id} is no longer {current.value}")
    db.session.add(
        StatusChange(
            application_id=application.id,
            from_status=current.value,
            to_status=target.value,
            actor_id=actor_id,
            reason=reason,
        )
    )
    audit.record(
        "application_status_changed",
        actor_id=actor_id,
        subject_type="application",
        subject_id=application.id,
        from_status=current.value,
        to_status=target.value,
        reason=reason,
    )
    db.session.refresh(application)
