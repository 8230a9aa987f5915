"""Delivery receipts: what the provider later says became of a message it accepted.

Callback receivers (GOV.UK Notify's callback, SES and SNS events) call `record_delivery_status`
with the provider's id of the message. A receipt never moves a message backwards: a late
"sent" after "delivered" changes nothing, and an unknown id is ignored (it may belong to another
environment sharing the provider account).
"""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import MessageStatus, Notification, utcnow
from portal.transactions import transactional

# What a receipt may say, and how far along each state is.
_PROGRESS = {
    MessageStatus.SENT: 1,
    MessageStatus.TEMPORARY_FAILURE: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.PERMANENT_FAILURE: 3,
}


@transactional
def record_delivery_status(provider_id: str, status: str, reason: str | None) -> bool:
    """Record a provider's receipt; True if a message changed. One transaction; call it only once
    the receipt is known to be genuine."""
    try:
        reported = MessageStatus(status)
    except ValueError:
        raise ValueError(f"unknown delivery status {status!r}") from None
    if reported not in _PROGRESS:
        raise ValueError(f"a receipt cannot say {status!r}")
    message = db.session.scalar(select(Notification).where(Notification.provider_id == provider_id))
    if message is None:
        return False
    current = MessageStatus(message.status)
    if current in (MessageStatus.DELIVERED, MessageStatus.PERMANENT_FAILURE):
        return False
    if _PROGRESS.get(current, 0) > _PROGRESS[reported]:
        return False
    message.status = reported.value
    message.reason = reason[:255] if reason else None
    message.updated_at = utcnow()
    if reported is MessageStatus.TEMPORARY_FAILURE:
        # Accepted by the provider, which keeps trying (a phone switched off): not ours to resend.
        message.next_attempt_at = None
    return True
