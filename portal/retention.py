"""Deleting what we no longer need: documents and personal data, a set time after a final
decision or a withdrawal.

What stays is an anonymised record for statistics (the reference, the status and its history,
the nationality, whether it was a main applicant or a family member, the window, the appointments'
times): enough to count, nothing to identify a person. Each application is done in its own
transaction with its audit entry; the stored files go after the commit, and one that cannot be
deleted then is found later by `documents-clean-up`, since no row names it any more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from portal import audit
from portal.apply.answers import answers_of
from portal.documents import services as document_services
from portal.extensions import db
from portal.models import (
    Application,
    Assistance,
    CheckRecord,
    ContactChange,
    InformationRequest,
    Notification,
    Status,
    StatusChange,
    User,
)
from portal.transactions import transactional

ENDED = (
    Status.APPROVED,
    Status.REFUSED,
    Status.INVALID,
    Status.INELIGIBLE,
    Status.WITHDRAWN,
)


@dataclass(frozen=True)
class Result:
    applications: int
    documents: int
    accounts: int


def due(now: datetime, retention: timedelta) -> list[Application]:
    """Applications whose decision or withdrawal is older than the retention period."""
    ended_at = (
        select(StatusChange.application_id, func.max(StatusChange.occurred_at).label("at"))
        .where(StatusChange.to_status.in_([status.value for status in ENDED]))
        .group_by(StatusChange.application_id)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(Application)
            .join(ended_at, ended_at.c.application_id == Application.id)
            .where(
                Application.status.in_([status.value for status in ENDED]),
                Application.anonymised_at.is_(None),
                ended_at.c.at < now - retention,
            )
            .order_by(ended_at.c.at)
        )
    )


def kept_until(application: Application, retention: timedelta) -> datetime | None:
    """When the retention command deletes a finished application's personal data (None while
    it is not finished): the applicant's copy stays available until then, and they are told."""
    if application.status_enum not in ENDED:
        return None
    ended_at = db.session.scalar(
        select(func.max(StatusChange.occurred_at)).where(
            StatusChange.application_id == application.id,
            StatusChange.to_status.in_([status.value for status in ENDED]),
        )
    )
    return ended_at + retention if ended_at is not None else None


def statistics_of(application: Application) -> dict[str, object]:
    answers = answers_of(application)
    return {
        "statistics": {
            "nationality": answers.nationality,
            "applicant_type": answers.applicant_type,
        }
    }


def recipients_of(application: Application, applicant: User | None) -> set[str]:
    answers = answers_of(application)
    found = {value for value in (answers.contact_email, answers.contact_mobile) if value}
    if applicant is not None and applicant.email:
        found.add(applicant.email)
    return found


def live_recipients(leaving: set[uuid.UUID]) -> set[str]:
    """Addresses and numbers that applications still kept use (all but those `leaving`): a phone
    shared by two people keeps its delivery records while one of them is still applying."""
    found: set[str] = set()
    rows = db.session.execute(
        select(Application, User)
        .join(User, User.id == Application.applicant_id)
        .where(Application.anonymised_at.is_(None), Application.id.not_in(leaving))
    )
    for application, applicant in rows:
        found |= recipients_of(application, applicant)
    return found


def anonymise(application: Application, now: datetime, keep: set[str]) -> tuple[int, bool]:
    """Remove one application's personal data; returns (files deleted, account closed).

    Delivery records go too, except for recipients in `keep` (still used by someone else). The
    stored files go once the rows' change has committed."""
    files, closed, keys = _anonymise_rows(application, now, keep)
    document_services.delete_objects(keys)
    return files, closed


@transactional
def _anonymise_rows(
    application: Application, now: datetime, keep: set[str]
) -> tuple[int, bool, list[str]]:
    applicant = db.session.get(User, application.applicant_id)
    recipients = recipients_of(application, applicant)
    documents = document_services.documents_of(application)
    keys = document_services.delete_all(application)
    application.answers = statistics_of(application)
    application.eligibility = {}
    application.anonymised_at = now
    db.session.execute(
        update(InformationRequest)
        .where(InformationRequest.application_id == application.id)
        .values(note="", answer=None)
    )
    db.session.execute(
        update(CheckRecord).where(CheckRecord.application_id == application.id).values(note="")
    )
    # A message about this application is its record whatever address it went to (the contact may
    # have changed since); one to an address of its own is too, unless someone else still uses it.
    owned = Notification.application_id == application.id
    own_recipients = recipients - keep
    if own_recipients:
        owned = or_(owned, Notification.recipient.in_(own_recipients))
    closed = applicant is not None and not _has_other_live_application(applicant.id, application)
    if closed and applicant is not None:
        # The account's own messages (codes, resets) and its contact changes, old addresses included.
        owned = or_(owned, Notification.user_id == applicant.id)
        db.session.execute(delete(ContactChange).where(ContactChange.user_id == applicant.id))
    db.session.execute(delete(Notification).where(owned))
    if closed and applicant is not None:
        applicant.email = None
        applicant.password_hash = None
        applicant.totp_secret = None
        applicant.active = False
        db.session.execute(
            update(Assistance)
            .where(Assistance.applicant_id == applicant.id)
            .values(label="", consent_text="")
        )
    audit.record(
        "retention.anonymised",
        actor_id=None,
        subject_type="application",
        subject_id=application.id,
        documents=len(documents),
        account_closed=closed,
    )
    return len(documents), closed, keys


def _has_other_live_application(applicant_id: uuid.UUID, application: Application) -> bool:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Application)
            .where(
                Application.applicant_id == applicant_id,
                Application.id != application.id,
                or_(
                    Application.anonymised_at.is_(None),
                    Application.status.not_in([status.value for status in ENDED]),
                ),
            )
        )
        or 0
    ) > 0


def run(now: datetime, retention: timedelta, *, dry_run: bool) -> Result:
    """Anonymise what is due; with dry_run, only count it (and say so in the audit log)."""
    found = due(now, retention)
    if dry_run:
        files = sum(len(document_services.documents_of(a)) for a in found)
        audit.record_now(
            "retention.dry_run", actor_id=None, applications=len(found), documents=files
        )
        return Result(len(found), files, 0)
    files = closed = 0
    keep = live_recipients({application.id for application in found})
    for application in found:
        deleted, account_closed = anonymise(application, now, keep)
        files += deleted
        closed += int(account_closed)
    return Result(len(found), files, closed)
