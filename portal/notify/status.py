"""What the providers say happened to a message after they accepted it.

GOV.UK Notify's callbacks and the SES events consumer both land here. The row is found by the
provider's id that delivery stored; a receipt for an id the portal does not know (another
service's message, a row since deleted by retention) changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification

DELIVERY_STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "temporary-failure",
    "permanent-failure",
)
# Receipts can arrive out of order (a retried callback, an SES complaint after the delivery):
# once a message is known delivered or failed for good, a later non-final status is history.
FINAL = frozenset({"delivered", "permanent-failure"})


def record_delivery_status(provider_id: str, status: str, reason: str | None) -> bool:
    """Record a provider's status on the message it names; False when no message has that id.

    The caller commits, with the rest of its unit of work.
    """
    if status not in DELIVERY_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    record = db.session.scalars(
        select(Notification).where(Notification.provider_id == provider_id).limit(1)
    ).first()
    if record is None:
        return False
    if record.status in FINAL and status not in FINAL:
        return True
    record.status = status
    record.error = reason[:255] if reason else None
    return True
