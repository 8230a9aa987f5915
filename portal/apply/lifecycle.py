"""The one transition function that moves an application between states, and the rules it keeps.

Every state change goes through `transition`: it refuses illegal moves, is safe under concurrency
(a conditional update on the current state), and records who made the change and why. What staff
and applicants do to an application without changing its state (a check, an attendance mark, an
appointment moved) asks `permit` first, which keeps the same rule: nothing acts on a finished
application.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update

from portal import audit
from portal.extensions import db
from portal.models import Application, StatusChange, User, utcnow
from portal.models import Status as S
from portal.queue import outbox

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
    # Back to the checking queue (SUBMITTED) after the last missed appointment allowed: a
    # caseworker decides what happens next, so nobody is left waiting for nothing.
    S.APPOINTMENT_BOOKED: frozenset(
        {S.INVITED_TO_BIOMETRICS, S.BIOMETRICS_ENROLLED, S.SUBMITTED, S.WITHDRAWN}
    ),
    S.BIOMETRICS_ENROLLED: frozenset({S.SECURITY_CHECKS, S.INVITED_TO_BIOMETRICS, S.WITHDRAWN}),
    S.SECURITY_CHECKS: frozenset({S.APPROVED, S.REFUSED, S.WITHDRAWN}),
    **{status: frozenset() for status in FINAL},
}

# What other capabilities undo when an applicant withdraws, in the withdrawal's own transaction
# (appointments.booking gives a booked place back). Each registers here when its module is
# imported, as auth.sessions' companions do, so that apply, which they build on, imports none.
ON_WITHDRAWAL: list[Callable[[Application, User, datetime], None]] = []


def on_withdrawal(undo: Callable[[Application, User, datetime], None]) -> None:
    """Register what to undo, in the same transaction, when an application is withdrawn."""
    ON_WITHDRAWAL.append(undo)


class Action(enum.StrEnum):
    """What is done to an application besides moving it: each is allowed only in some states."""

    RECORD_CHECK = "record a check"
    DECIDE = "record a decision"
    REQUEST_INFORMATION = "ask for more information"
    FINAL_DECISION = "record the final decision"
    BOOK = "book, move or cancel an appointment"
    RECORD_ATTENDANCE = "record attendance"
    ANSWER_REQUEST = "answer a request for information"


# The states in which each action makes sense; no final state is in any of them.
WHEN: dict[Action, frozenset[S]] = {
    Action.RECORD_CHECK: frozenset({S.IN_CHECKS}),
    Action.DECIDE: frozenset({S.IN_CHECKS}),
    Action.REQUEST_INFORMATION: frozenset({S.IN_CHECKS}),
    Action.FINAL_DECISION: frozenset({S.BIOMETRICS_ENROLLED, S.SECURITY_CHECKS}),
    Action.BOOK: frozenset({S.INVITED_TO_BIOMETRICS, S.APPOINTMENT_BOOKED}),
    # Booked to mark; invited or enrolled to correct a mistaken mark the same day.
    Action.RECORD_ATTENDANCE: frozenset(
        {S.APPOINTMENT_BOOKED, S.INVITED_TO_BIOMETRICS, S.BIOMETRICS_ENROLLED}
    ),
    Action.ANSWER_REQUEST: frozenset({S.MORE_INFORMATION}),
}


class IllegalTransition(RuntimeError):
    """The move is not one the scheme allows, or the application changed state meanwhile."""


class NotNow(IllegalTransition):
    """The application is not in a state where this can be done; the message says which state,
    in the back office's English (applicant pages say it in their own words)."""

    def __init__(self, application: Application, doing: str) -> None:
        self.status = application.status_enum
        self.reference = application.reference or "This application"
        super().__init__(self.explain(doing))

    def explain(self, doing: str) -> str:
        return (
            f"Nothing was changed: {self.reference} is {_words(self.status)} now, "
            f"so you cannot {doing}."
        )


class Finished(NotNow):
    """The application is in a final state: nothing acts on it any more."""

    def explain(self, doing: str) -> str:
        return (
            f"Nothing was changed: {self.reference} is {_words(self.status)}. A finished "
            f"application cannot be changed, so you cannot {doing}."
        )


def _words(status: S) -> str:
    return status.value.replace("_", " ")


def refusal(application: Application, doing: str) -> NotNow:
    return (Finished if application.status_enum in FINAL else NotNow)(application, doing)


def can_move(current: S, target: S) -> bool:
    return target in ALLOWED[current]


def can_withdraw(current: S) -> bool:
    """Applicants may withdraw a sent application until a decision is made."""
    return can_move(current, S.WITHDRAWN)


def allows(application: Application, action: Action) -> bool:
    """Whether `action` makes sense in the application's state as loaded: for a page choosing
    what to offer (`permit` decides, under a lock, when the action is taken)."""
    return application.status_enum in WHEN[action]


def is_finished(application: Application) -> bool:
    return application.status_enum in FINAL


def permit(application: Application, action: Action) -> None:
    """Refuse `action` (NotNow, or Finished for a finished application) unless the application
    is in a state where it makes sense.

    The check is a conditional update that changes nothing but locks the row until the
    transaction ends, as `transition` does: a withdrawal or a decision committed at the same
    moment either happens before (and the action is refused) or waits until after it.
    """
    allowed = [status.value for status in WHEN[action]]
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status.in_(allowed))
        .values(status=Application.status, updated_at=Application.updated_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        db.session.refresh(application)
        raise refusal(application, action.value)


def transition(
    application: Application,
    target: S,
    *,
    actor_id: uuid.UUID | None,
    reason: str | None = None,
    **values: object,
) -> None:
    """Move the application to `target` in the current transaction, or raise IllegalTransition
    (Finished if the application is finished).

    `values` are other columns set in the same conditional update (reference, submitted_at...).
    An application that reaches a final state leaves the checking queue in the same transaction:
    whoever held it holds it no more, and nobody can claim it again.
    """
    current = application.status_enum
    if current in FINAL:
        raise Finished(application, f"move it to {_words(target)}")
    if not can_move(current, target):
        raise IllegalTransition(f"{current.value} -> {target.value}")
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == current.value)
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
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
    if target in FINAL:
        outbox.leave_queue(application.id, utcnow())
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


def last_decision_reason(application: Application) -> str | None:
    """Why the application reached its current status (the reason of that status change)."""
    return db.session.scalar(
        select(StatusChange.reason)
        .where(
            StatusChange.application_id == application.id,
            StatusChange.to_status == application.status,
        )
        .order_by(StatusChange.occurred_at.desc())
        .limit(1)
    )
