"""Sending an application: once, whatever the double clicks, retries and races.

The draft becomes "submitted" by a conditional update (WHERE status = 'draft') carrying a per-form
submission key that is unique in the database. A second request with the same form (double click,
retry, refresh) or a concurrent one finds the application already sent and is shown the same
reference. A place in the open window and the checking queue's message (the outbox) are written in
the same transaction, so a failure anywhere leaves the draft as it was and sends nothing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from portal.apply import lifecycle, references, steps, windows
from portal.apply.families import family_group_for
from portal.documents import services as document_services
from portal.extensions import db
from portal.metrics import SUBMISSIONS
from portal.models import (
    Application,
    ApplicationWindow,
    FamilyGroup,
    Status,
    User,
    utcnow,
)
from portal.notify.applicants import locale_of, tell_applicant
from portal.presence.checks import issue_presence_check
from portal.queue import outbox
from portal.transactions import transactional
from portal.urls import absolute_url

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    SUBMITTED = "submitted"
    ALREADY_SUBMITTED = "already_submitted"
    NO_WINDOW = "no_window"
    INCOMPLETE = "incomplete"
    FAMILY_WINDOW_MISMATCH = "family_window_mismatch"
    FAILED = "failed"


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    application: Application


def submit(
    application: Application, actor: User, submission_key: str, now: datetime | None = None
) -> SubmitResult:
    """Send the draft, or say why not. Idempotent for a given application.

    The actor is the applicant, or the support worker sending it with them: the record says which.
    """
    now = now or utcnow()
    if application.status_enum is not Status.DRAFT:
        return SubmitResult(Outcome.ALREADY_SUBMITTED, application)
    if not steps.is_complete(application.answers) or document_services.missing_kinds(application):
        return SubmitResult(Outcome.INCOMPLETE, application)
    window = windows.open_window(now)
    if window is None:
        return SubmitResult(Outcome.NO_WINDOW, application)

    group: FamilyGroup | None = None
    family_reference = (application.answers.get("family_reference") or {}).get("family_reference")
    if family_reference:
        group = family_group_for(family_reference)
        if group is None or group.window_id != window.id:
            return SubmitResult(Outcome.FAMILY_WINDOW_MISMATCH, application)

    try:
        _send(application, actor, submission_key, window, group, now)
    except lifecycle.IllegalTransition:
        # The conditional update found it sent: a double click, a retry or a race got there first.
        return SubmitResult(Outcome.ALREADY_SUBMITTED, _reload(application))
    except _NoPlaceLeft:
        return SubmitResult(Outcome.NO_WINDOW, _reload(application))
    except IntegrityError:
        reloaded = _reload(application)
        if reloaded.status_enum is not Status.DRAFT:
            # The same form's key, committed by the request that won: already sent.
            return SubmitResult(Outcome.ALREADY_SUBMITTED, reloaded)
        # Any other refusal (a reference drawn twice, a constraint a change broke) is a failure
        # that the applicant is told about and that is logged; the draft is as it was.
        logger.exception(
            "submission refused by the database", extra={"application": str(application.id)}
        )
        return SubmitResult(Outcome.FAILED, reloaded)
    SUBMISSIONS.inc()
    return SubmitResult(Outcome.SUBMITTED, application)


class _NoPlaceLeft(Exception):
    """The window filled between the check and the sending: nothing of the sending is kept."""


@transactional
def _send(
    application: Application,
    actor: User,
    submission_key: str,
    window: ApplicationWindow,
    group: FamilyGroup | None,
    now: datetime,
) -> None:
    """The sending itself, one transaction: the status, the window's place, the family group, the
    queue's outbox row and the confirmation message commit together or not at all."""
    lifecycle.transition(
        application,
        Status.SUBMITTED,
        actor_id=actor.id,
        reason="sent by the applicant"
        if actor.id == application.applicant_id
        else "sent with the help of a support worker",
        reference=references.new_reference(),
        submission_key=submission_key,
        submitted_at=now,
        window_id=window.id,
    )
    if not windows.take_place(window, now):
        raise _NoPlaceLeft
    if group is None and application.answers["applicant_type"]["applicant_type"] == "main":
        group = FamilyGroup(
            reference=references.new_reference(references.FAMILY_PREFIX), window_id=window.id
        )
        db.session.add(group)
        db.session.flush()
    if group is not None:
        application.family_group = group
    outbox.enqueue(application, outbox.SUBMITTED, now)
    _send_confirmation(application)


def _reload(application: Application) -> Application:
    db.session.expire_all()
    return db.session.get(Application, application.id) or application


def _send_confirmation(application: Application) -> None:
    locale = locale_of(application)
    presence_token = issue_presence_check(application)
    family_reference = application.family_group.reference if application.family_group else None
    main = application.answers["applicant_type"]["applicant_type"] == "main"
    tell_applicant(
        application,
        "application_submitted",
        family_reference=family_reference if main else None,
        presence_url=absolute_url("presence.check", locale=locale, token=presence_token),
    )
