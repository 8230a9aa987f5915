"""Assisted digital: a support worker helps an applicant, with consent, within their organisation.

The worker never signs in as the applicant. They act for them: while a worker's session names an
assistance of their own organisation that has not ended, the applicant's pages show and change that
applicant's application, and every audit entry of the request names who was helped and by which
organisation (see `audit.record`). Anything else, for a worker, is a page that does not exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from portal import audit, notify
from portal.apply import references
from portal.apply.access import NotAllowed, worker_organisation
from portal.apply.answers import answers_of, column
from portal.apply.services import active_application
from portal.auth import passwords
from portal.auth.services import (
    find_user,
    normalise_email,
    request_password_reset,
    send_confirmation,
)
from portal.auth.tokens import consume_token, issue_token, peek_token, revoke_tokens
from portal.extensions import db
from portal.models import (
    Application,
    Assistance,
    ConsentMethod,
    EndReason,
    Organisation,
    Role,
    Status,
    TokenPurpose,
    User,
    utcnow,
)
from portal.transactions import transactional
from portal.urls import absolute_url

CLAIM_CODE_LIFETIME = timedelta(days=14)
# The claim code is typed from paper or an SMS: the reference alphabet (no 0/O, 1/I/L), 12 long.
CLAIM_ALPHABET = references.ALPHABET
CLAIM_LENGTH = 12


def organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def workers_of(organisation: Organisation) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.organisation_id == organisation.id, User.role == Role.SUPPORT.value)
            .order_by(User.email)
        )
    )


@transactional
def start_assistance(
    worker: User,
    *,
    label: str,
    locale: str,
    method: ConsentMethod,
    consent_text: str,
    contact_through_organisation: bool,
) -> Assistance:
    """Record the applicant's consent, then make their account (no email, no password yet).

    Consent first: nothing about the applicant exists before it is recorded.
    """
    organisation = worker_organisation(worker)
    if organisation is None:
        raise NotAllowed
    now = utcnow()
    applicant = User(role=Role.APPLICANT.value, locale=locale)
    db.session.add(applicant)
    db.session.flush()
    assistance = Assistance(
        applicant_id=applicant.id,
        organisation_id=organisation.id,
        started_by_id=worker.id,
        label=label.strip(),
        consent_given_at=now,
        consent_locale=locale,
        consent_method=method.value,
        consent_text=consent_text,
        contact_through_organisation=contact_through_organisation,
    )
    db.session.add(assistance)
    db.session.flush()
    audit.record(
        "assistance.consent_recorded",
        actor_id=worker.id,
        subject_type="assistance",
        subject_id=assistance.id,
        organisation_id=str(organisation.id),
        locale=locale,
        method=method.value,
    )
    return assistance


def active_assistance(applicant: User) -> Assistance | None:
    return db.session.scalar(
        select(Assistance).where(
            Assistance.applicant_id == applicant.id, Assistance.ended_at.is_(None)
        )
    )


@transactional
def end_assistance(assistance: Assistance, by: User, reason: EndReason) -> None:
    """Ends the organisation's access at once; the application itself stays as it is."""
    if assistance.ended_at is not None:
        return
    assistance.ended_at = utcnow()
    assistance.ended_by_id = by.id
    assistance.end_reason = reason.value
    revoke_tokens(assistance.applicant, TokenPurpose.CLAIM_ACCOUNT)
    audit.record(
        "assistance.ended",
        actor_id=by.id,
        subject_type="assistance",
        subject_id=assistance.id,
        reason=reason.value,
    )


def assisted_applications(
    organisation: Organisation, *, status: str = "", query: str = ""
) -> list[tuple[Assistance, Application | None]]:
    """The organisation's current assistances with each applicant's application, filtered."""
    statement = (
        select(Assistance, Application)
        .outerjoin(
            Application,
            (Application.applicant_id == Assistance.applicant_id)
            & (Application.status != Status.WITHDRAWN.value),
        )
        .where(Assistance.organisation_id == organisation.id, Assistance.ended_at.is_(None))
        .order_by(Assistance.created_at.desc())
    )
    if status == "not_started":
        statement = statement.where(Application.id.is_(None))
    elif status:
        statement = statement.where(Application.status == status)
    text_query = query.strip()
    if text_query:
        pattern = f"%{text_query.lower()}%"
        given = column("given_names")
        family = column("family_name")
        statement = statement.where(
            or_(
                Application.reference == text_query.upper(),
                Assistance.label.ilike(pattern),
                given.ilike(pattern),
                family.ilike(pattern),
            )
        )
    return [(row[0], row[1]) for row in db.session.execute(statement.limit(500))]


def new_claim_code() -> str:
    raw = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(CLAIM_LENGTH))
    return "-".join(raw[index : index + 4] for index in range(0, CLAIM_LENGTH, 4))


def normalise_claim_code(text: str) -> str:
    """People copy codes with spaces, dashes and small letters; the code is its 12 characters."""
    kept = "".join(char for char in text.upper() if char.isalnum())
    return "-".join(kept[index : index + 4] for index in range(0, len(kept), 4))


@dataclass(frozen=True)
class ClaimCode:
    code: str
    sent_to: str | None


@transactional
def issue_claim_code(assistance: Assistance, worker: User) -> ClaimCode:
    """A new single-use code for the applicant to take over (older codes stop working), also
    texted to the mobile number of their application if it has one."""
    revoke_tokens(assistance.applicant, TokenPurpose.CLAIM_ACCOUNT)
    code = new_claim_code()
    issue_token(assistance.applicant, TokenPurpose.CLAIM_ACCOUNT, CLAIM_CODE_LIFETIME, raw=code)
    audit.record(
        "assistance.claim_code_issued",
        actor_id=worker.id,
        subject_type="assistance",
        subject_id=assistance.id,
    )
    application = active_application(assistance.applicant)
    mobile = answers_of(application).contact_mobile if application else None
    if mobile:
        locale = assistance.consent_locale
        notify.send_sms(mobile, "claim_code", locale, code=code, claim_url=claim_url(locale))
    return ClaimCode(code, mobile)


def claim_url(locale: str) -> str:
    return absolute_url("support.claim", locale=locale)


class NameTaken(Exception):
    """Another organisation has this name."""


@transactional
def create_organisation(
    admin: User, *, name: str, city: str, contact_email: str, contact_phone: str
) -> Organisation:
    organisation = Organisation(
        name=name, city=city, contact_email=contact_email, contact_phone=contact_phone
    )
    db.session.add(organisation)
    try:
        db.session.flush()
    except IntegrityError:
        raise NameTaken from None
    audit.record(
        "organisation.created",
        actor_id=admin.id,
        subject_type="organisation",
        subject_id=organisation.id,
    )
    return organisation


def claimable(code: str) -> User | None:
    return peek_token(normalise_claim_code(code), TokenPurpose.CLAIM_ACCOUNT)


class EmailTaken(Exception):
    """Another account uses this email address."""


@transactional
def claim(code: str, email: str, password: str) -> User | None:
    """Give the applicant their own sign-in; the code is used up whatever happens next.

    The email address is confirmed by the usual link before they can sign in with it.
    """
    normalised = normalise_email(email)
    existing = find_user(normalised)
    applicant = consume_token(normalise_claim_code(code), TokenPurpose.CLAIM_ACCOUNT)
    if applicant is None:
        db.session.rollback()
        return None
    if existing is not None and existing.id != applicant.id:
        db.session.rollback()
        raise EmailTaken
    applicant.email = normalised
    applicant.password_hash = passwords.hash_password(password)
    applicant.email_verified_at = None
    audit.record(
        "assistance.account_claimed",
        actor_id=applicant.id,
        subject_type="user",
        subject_id=applicant.id,
    )
    send_confirmation(applicant)
    return applicant


@transactional
def worker_added(organisation: Organisation, email: str, admin: User) -> User:
    """A support account in the organisation; a new one gets a link to choose its password."""
    user = find_user(email)
    if user is None:
        user = User(
            email=normalise_email(email),
            role=Role.SUPPORT.value,
            email_verified_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
    elif user.role_enum is not Role.SUPPORT:
        raise NotAllowed
    user.organisation_id = organisation.id
    audit.record(
        "organisation.worker_added",
        actor_id=admin.id,
        subject_type="user",
        subject_id=user.id,
        organisation_id=str(organisation.id),
    )
    if user.password_hash is None:
        request_password_reset(user.email or "")
    return user


@transactional
def worker_removed(worker: User, admin: User) -> None:
    """The worker keeps their account but helps nobody until an organisation takes them again."""
    organisation_id = worker.organisation_id
    worker.organisation_id = None
    audit.record(
        "organisation.worker_removed",
        actor_id=admin.id,
        subject_type="user",
        subject_id=worker.id,
        organisation_id=str(organisation_id),
    )
