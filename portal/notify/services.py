"""The messages the service sent about an application, as its applicant and caseworkers see them.

The applicant's status page lists every one (a message not in the list is not from the service);
the caseworker sees the same rows, with their states, and can send one again.

This is notify's door for the other capabilities' pages (apply's status page, the back office's
messages page): what they may use is in `__all__`. Sending is notify's package itself
(`notify.send` and the backends, in __init__), used by the services that cause a message, not
by pages. tests/unit/test_published_interfaces.py keeps it so.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select

from portal import audit
from portal.apply.answers import answers_of
from portal.extensions import db
from portal.models import Application, MessageStatus, Notification, User, utcnow
from portal.transactions import transactional

__all__ = [
    "MAX_LISTED",
    "MUST_ARRIVE",
    "can_resend",
    "masked",
    "messages_of",
    "resend",
    "undelivered",
]

MAX_LISTED = 200
# A permanent failure of these leaves the applicant unable to act: the caseworker must see it.
MUST_ARRIVE = frozenset(
    {
        "application_submitted",
        "presence_link",
        "appointment_booked",
        "appointment_cancelled",
        "appointment_reminder",
    }
)


def messages_of(application: Application) -> list[Notification]:
    """Every message about this application or to its applicant, newest first."""
    user = db.session.get(User, application.applicant_id)
    contact_email = answers_of(application).contact_email
    addresses = {value for value in (user and user.email, contact_email) if value}
    conditions = [
        Notification.application_id == application.id,
        Notification.user_id == application.applicant_id,
    ]
    if addresses:
        conditions.append(Notification.recipient.in_(addresses))
    return list(
        db.session.scalars(
            select(Notification)
            .where(or_(*conditions))
            .order_by(Notification.created_at.desc())
            .limit(MAX_LISTED)
        )
    )


def masked(recipient: str) -> str:
    """Enough of an address or number to recognise it, not enough to learn it from a screen."""
    if "@" in recipient:
        name, _, domain = recipient.partition("@")
        return f"{name[:1]}•••@{domain}"
    return f"{recipient[:3]}•••••{recipient[-2:]}"


def undelivered(application: Application) -> list[Notification]:
    """Messages that must arrive (presence link, appointments) and never will, for the caseworker."""
    return [
        message
        for message in messages_of(application)
        if message.status == MessageStatus.PERMANENT_FAILURE.value
        and message.template in MUST_ARRIVE
    ]


def can_resend(message: Notification) -> bool:
    """A one-time link or code is never sent again from the record: the applicant asks for a
    new one instead, which makes a fresh secret."""
    return not message.carries_secret


@transactional
def resend(application: Application, message_id: str) -> Notification | None:
    """Queue a copy of one of the application's messages (audited); None if it cannot be."""
    try:
        wanted = uuid.UUID(message_id)
    except ValueError:
        return None
    original = next((m for m in messages_of(application) if m.id == wanted), None)
    if original is None or not can_resend(original):
        return None
    copy = Notification(
        channel=original.channel,
        recipient=original.recipient,
        template=original.template,
        locale=original.locale,
        subject=original.subject,
        body=original.body,
        attachments=original.attachments,
        application_id=application.id,
        user_id=original.user_id,
        priority=original.priority,
        status=MessageStatus.QUEUED.value,
        next_attempt_at=utcnow(),
        attempts=0,
        resent_from_id=original.id,
    )
    db.session.add(copy)
    db.session.flush()
    audit.record(
        "message_resent",
        subject_type="application",
        subject_id=application.id,
        message_id=str(original.id),
        copy_id=str(copy.id),
        template=original.template,
    )
    return copy
