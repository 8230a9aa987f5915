"""An applicant corrects their email address or mobile number, confirmed by a code sent to the new
one, without losing anything.

Where the contact lives: the account's email (`User.email`) is the sign-in identity and the address
of account messages; the application's contact answer (`answers["contact"]`: email, mobile in
E.164) is where messages about the application go (`notify.applicants.tell_applicant`: the
contact email, else the account's). One person has one email address here: a confirmed change of
email sets both, on every application of the account, so they sign in with the address their
messages reach and a password reset reaches them. A mobile number lives only in the answers.

The change commits only with the right code, in one transaction with everything that follows
from it: the answers and the account, the messages still waiting for the old contact (sent to the
new one instead), the history of messages kept attached to the applicant, a new presence link if
the last one never reached the old contact, the notice to the old contact, and the audit entry.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from portal import audit, notify
from portal.auth.services import find_user, normalise_email
from portal.extensions import db
from portal.models import (
    Application,
    ContactChange,
    MessageStatus,
    Notification,
    User,
    utcnow,
)
from portal.notify.applicants import message_locale
from portal.presence import links
from portal.transactions import transactional

# The code's life, and the wording of the messages and pages that say it (via `minutes`).
CODE_LIFETIME = timedelta(minutes=30)
CODE_DIGITS = 6
# Wrong codes before a code stops working: with five codes a day at most, 25 guesses a day
# against a million possible codes.
MAX_ATTEMPTS = 5
# Codes sent (first sends and re-sends alike), per account: each is a message to an address
# that is not yet proven, so the limits also keep the service from being used to pester one.
MAX_PER_HOUR = 3
MAX_PER_DAY = 5
# Messages that carried the link to prove presence in France.
PRESENCE_TEMPLATES = ("application_submitted", "presence_link")


class Kind(enum.StrEnum):
    EMAIL = "email"
    MOBILE = "mobile"

    @property
    def channel(self) -> str:
        return "email" if self is Kind.EMAIL else "sms"


class CodeAnswer(enum.Enum):
    SENT = "sent"
    TOO_MANY = "too_many"
    UNCHANGED = "unchanged"


class Outcome(enum.Enum):
    CHANGED = "changed"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    IN_USE = "in_use"
    NOTHING_WAITING = "nothing_waiting"


@dataclass(frozen=True)
class Contact:
    email: str | None
    mobile: str | None


def applications_of(user: User) -> list[Application]:
    """Every application of the account still holding personal data (a withdrawn one stays
    visible until retention empties it, and its contact must not point at a wrong address)."""
    return list(
        db.session.scalars(
            select(Application).where(
                Application.applicant_id == user.id, Application.anonymised_at.is_(None)
            )
        )
    )


def contact_of(user: User, application: Application | None) -> Contact:
    """The address and number messages go to now, as the status page shows them."""
    answers = (application.answers.get("contact") or {}) if application else {}
    return Contact(answers.get("email") or user.email, answers.get("mobile") or None)


def _digest(change_id: uuid.UUID, code: str) -> str:
    """HMAC-SHA256 under the application's secret key, bound to the row: a six-digit code's plain
    hash would be reversed from a copy of the database in a second; this one needs the key too."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{change_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _sent_since(user: User, since: datetime) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ContactChange)
            .where(ContactChange.user_id == user.id, ContactChange.created_at > since)
        )
        or 0
    )


def waiting_change(user: User) -> ContactChange | None:
    """The latest code sent that is neither used nor ended (it may have expired)."""
    return db.session.scalar(
        select(ContactChange)
        .where(
            ContactChange.user_id == user.id,
            ContactChange.confirmed_at.is_(None),
            ContactChange.ended_at.is_(None),
        )
        .order_by(ContactChange.created_at.desc())
        .limit(1)
    )


@transactional
def request_change(
    user: User,
    application: Application | None,
    kind: Kind,
    new_value: str,
    now: datetime | None = None,
) -> CodeAnswer:
    """Send a code to the new address or number (through the outbox, first in its queue); older
    codes stop working. One transaction.

    Whether another account uses the address is not checked here: answering "in use" to anyone
    who types an address would tell a signed-in stranger who has an account. It is checked once
    the code proves the person reads that mailbox, who may then learn it (see `confirm`).
    """
    now = now or utcnow()
    if kind is Kind.EMAIL:
        new_value = normalise_email(new_value)
    current = contact_of(user, application)
    if new_value == (current.email if kind is Kind.EMAIL else current.mobile):
        return CodeAnswer.UNCHANGED
    if (
        _sent_since(user, now - timedelta(hours=1)) >= MAX_PER_HOUR
        or _sent_since(user, now - timedelta(days=1)) >= MAX_PER_DAY
    ):
        audit.record(
            "contact_change_refused_too_many", subject_type="user", subject_id=user.id, kind=kind
        )
        return CodeAnswer.TOO_MANY
    _end_waiting(user, now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    change = ContactChange(
        id=uuid.uuid4(),
        user_id=user.id,
        kind=kind.value,
        new_value=new_value,
        expires_at=now + CODE_LIFETIME,
        attempts=0,
        created_at=now,
    )
    change.code_hash = _digest(change.id, code)
    db.session.add(change)
    locale = message_locale(application, user) if application else user.locale
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    if kind is Kind.EMAIL:
        message = notify.send_email(new_value, "contact_code", locale, code=code, minutes=minutes)
    else:
        message = notify.send_sms(new_value, "contact_code", locale, code=code, minutes=minutes)
    message.user_id = user.id
    message.application_id = application.id if application else None
    audit.record("contact_change_requested", subject_type="user", subject_id=user.id, kind=kind)
    return CodeAnswer.SENT


def send_again(user: User, application: Application | None) -> CodeAnswer | None:
    """A new code for the change waiting (None when none is): the same limits as a first one."""
    change = waiting_change(user)
    if change is None:
        return None
    return request_change(user, application, Kind(change.kind), change.new_value)


def _end_waiting(user: User, now: datetime) -> None:
    db.session.execute(
        update(ContactChange)
        .where(
            ContactChange.user_id == user.id,
            ContactChange.confirmed_at.is_(None),
            ContactChange.ended_at.is_(None),
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )


def _count_attempt(change: ContactChange) -> bool:
    """One more try, counted by a conditional update: two tries at once cannot both be the last."""
    counted = db.session.execute(
        update(ContactChange)
        .where(
            ContactChange.id == change.id,
            ContactChange.attempts < MAX_ATTEMPTS,
            ContactChange.confirmed_at.is_(None),
            ContactChange.ended_at.is_(None),
        )
        .values(attempts=ContactChange.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return counted.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult


@transactional
def confirm(
    user: User, application: Application | None, code: str, now: datetime | None = None
) -> tuple[Outcome, Kind | None]:
    """Check the code (compared in constant time) and, if right, make the change.
    One transaction: a wrong try is counted; a lost race for the address keeps no change.

    An email address another account signs in with is refused only now, to the person who proved
    they read that mailbox: they learn no more than its owner already knows. The database's unique
    index on the account email has the last word if two accounts race for one address.
    """
    now = now or utcnow()
    change = waiting_change(user)
    if change is None:
        return Outcome.NOTHING_WAITING, None
    kind = Kind(change.kind)
    if change.expires_at <= now:
        return Outcome.EXPIRED, kind
    if not _count_attempt(change):
        return Outcome.TOO_MANY_ATTEMPTS, kind
    if not hmac.compare_digest(_digest(change.id, code), change.code_hash):
        audit.record("contact_change_wrong_code", subject_type="user", subject_id=user.id)
        db.session.refresh(change)
        if change.attempts >= MAX_ATTEMPTS:
            return Outcome.TOO_MANY_ATTEMPTS, kind
        return Outcome.WRONG, kind
    if kind is Kind.EMAIL:
        other = find_user(change.new_value)
        if other is not None and other.id != user.id:
            return _refuse_in_use(user, change, now), kind
    _apply(user, application, change, kind, now)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        lost = db.session.get(ContactChange, change.id)
        if lost is None:
            return Outcome.NOTHING_WAITING, kind
        return _refuse_in_use(user, lost, now), kind
    return Outcome.CHANGED, kind


def _refuse_in_use(user: User, change: ContactChange, now: datetime) -> Outcome:
    change.ended_at = now
    audit.record("contact_change_refused_in_use", subject_type="user", subject_id=user.id)
    return Outcome.IN_USE


def _apply(
    user: User,
    application: Application | None,
    change: ContactChange,
    kind: Kind,
    now: datetime,
) -> None:
    before = contact_of(user, application)
    new = change.new_value
    applications = applications_of(user)
    field = kind.value
    if kind is Kind.EMAIL:
        olds = {value for value in (before.email, user.email) if value}
        for each in applications:
            contact = each.answers.get("contact") or {}
            if contact.get("email"):
                olds.add(contact["email"])
        user.email = new
        # The code reached the new address: proof enough, as a confirmation link would be.
        user.email_verified_at = now
    else:
        olds = {before.mobile} if before.mobile else set()
    for each in applications:
        contact = dict(each.answers.get("contact") or {})
        if not contact or (kind is Kind.EMAIL and not contact.get("email")):
            # No contact answer yet (a draft), or no email in it: messages use the account's.
            continue
        olds.update({contact[field]} if contact.get(field) else set())
        contact[field] = new
        each.answers = {**each.answers, "contact": contact}
    change.confirmed_at = now
    olds.discard(new)
    moved = _follow_new_contact(user, applications, kind, olds, new)
    db.session.flush()
    link_sent = _replace_lost_presence_link(application, kind, olds, now)
    _tell_old_contact(user, application, kind, olds)
    audit.record(
        "contact_changed",
        subject_type="user",
        subject_id=user.id,
        kind=kind,
        waiting_messages_moved=moved,
        presence_link_sent=link_sent,
    )


def _follow_new_contact(
    user: User, applications: list[Application], kind: Kind, olds: set[str], new: str
) -> int:
    """Keep the applicant's history theirs, and send what still waits for the old contact to the
    new one. Returns how many waiting messages now go to the new contact.

    Rows for the old contact without an owner (account emails, a window's opening) are adopted,
    so the status page still lists them once it no longer matches the old address. Only rows of
    this applicant move: a phone or an address shared with someone else keeps their messages. A
    row a sender has claimed (status "sending") is left to finish.
    """
    if not olds:
        return 0
    ids = [each.id for each in applications]
    own = or_(Notification.user_id == user.id, Notification.application_id.in_(ids))
    channel = Notification.channel == kind.channel
    if kind is Kind.EMAIL:
        db.session.execute(
            update(Notification)
            .where(channel, Notification.recipient.in_(olds), Notification.user_id.is_(None))
            .values(user_id=user.id)
            .execution_options(synchronize_session=False)
        )
    moved = db.session.execute(
        update(Notification)
        .where(
            channel,
            own,
            Notification.recipient.in_(olds),
            Notification.status.in_(
                (MessageStatus.QUEUED.value, MessageStatus.TEMPORARY_FAILURE.value)
            ),
            Notification.next_attempt_at.is_not(None),
        )
        .values(recipient=new, user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult


def _replace_lost_presence_link(
    application: Application | None, kind: Kind, olds: set[str], now: datetime
) -> bool:
    """If the last message carrying the presence link could not be delivered to the old contact,
    a new 24-hour link goes to the new one (unused links stop working), outside the limits on
    asking for links: the applicant may have spent them on a number that could never get it."""
    if application is None or not olds or not links.can_ask(application):
        return False
    last = db.session.scalar(
        select(Notification)
        .where(
            Notification.application_id == application.id,
            Notification.channel == kind.channel,
            Notification.template.in_(PRESENCE_TEMPLATES),
        )
        .order_by(Notification.created_at.desc())
        .limit(1)
    )
    if (
        last is None
        or last.recipient not in olds
        or last.status != MessageStatus.PERMANENT_FAILURE.value
    ):
        return False
    links.replace_link(application, now)
    return True


def _tell_old_contact(
    user: User,
    application: Application | None,
    kind: Kind,
    olds: set[str],
) -> None:
    """The notice of the change, to the old address or number, never saying the new one (the
    old one may be a stranger's). A mobile number added where there was none: to the email."""
    locale = message_locale(application, user) if application else user.locale
    rows = []
    if kind is Kind.EMAIL:
        rows = [notify.send_email(old, "email_changed", locale) for old in sorted(olds)]
    elif olds:
        rows = [notify.send_sms(old, "mobile_changed", locale) for old in sorted(olds)]
    elif user.email:
        rows = [notify.send_email(user.email, "mobile_changed", locale)]
    for row in rows:
        row.user_id = user.id
        row.application_id = application.id if application else None
