"""GOV.UK Notify, the UK government's email and SMS service, through its official Python client.

Notify sends from templates. The portal renders every message itself, in the recipient's
language, so it needs only two templates in Notify: an email template whose subject is
`((subject))` and whose body is `((body))`, and a text message template whose body is
`((body))`. Their ids are settings (README, "GOV.UK Notify").

Each message carries the outbox row's id as Notify's `reference`, so that after an ambiguous
failure `find` can tell whether Notify already accepted it. Delivery receipts come back through
Notify's callbacks (portal/notify/callbacks.py).

Attachments are not sent. Notify sends files only as a link to its document download service,
which accepts PDF, CSV, text and office documents but not `text/calendar`; the appointment
email's .ics stays available on the portal's own appointment page, which the email links to.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests
from notifications_python_client import NotificationsAPIClient
from notifications_python_client.errors import APIError
from urllib3.exceptions import ConnectTimeoutError

from portal.notify.backends import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

logger = logging.getLogger(__name__)

PRODUCTION_URL = "https://api.notifications.service.gov.uk"

# Notify's statuses, as the outbox records them. `sent` is an international text message that
# left Notify but whose network gives no delivery receipt (most of France's): it stays `sent`.
# A technical failure is Notify's own fault, nothing was sent: trying again later may succeed.
NOTIFY_STATUSES = {
    "created": "sending",
    "sending": "sending",
    "pending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "permanent-failure": "permanent-failure",
    "temporary-failure": "temporary-failure",
    "technical-failure": "temporary-failure",
}


def delivery_status(notify_status: str) -> str | None:
    """The outbox's status for one of Notify's, or None for a status Notify may add later."""
    return NOTIFY_STATUSES.get(notify_status)


class GovukNotifyBackend:
    """Email and SMS through GOV.UK Notify.

    The official client keeps a requests session and is not thread-safe: each thread that
    sends (the worker may run several) gets a client of its own.
    """

    finds_by_reference = True

    def __init__(
        self,
        api_key: str,
        email_template_id: str,
        sms_template_id: str,
        base_url: str = PRODUCTION_URL,
        timeout: float = 10.0,
    ) -> None:
        self.api_key, self.base_url, self.timeout = api_key, base_url, timeout
        self.email_template_id, self.sms_template_id = email_template_id, sms_template_id
        self._local = threading.local()

    def client(self) -> NotificationsAPIClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = NotificationsAPIClient(
                self.api_key, base_url=self.base_url, timeout=self.timeout
            )
            self._local.client = client
        return client

    def deliver(self, message: OutgoingMessage) -> str | None:
        reference = message.reference or None
        try:
            if message.channel == "email":
                response = self.client().send_email_notification(
                    email_address=message.recipient,
                    template_id=self.email_template_id,
                    personalisation={"subject": message.subject, "body": message.body},
                    reference=reference,
                )
            elif message.channel == "sms":
                response = self.client().send_sms_notification(
                    phone_number=message.recipient,
                    template_id=self.sms_template_id,
                    personalisation={"body": message.body},
                    reference=reference,
                )
            else:
                raise PermanentDeliveryError(f"GOV.UK Notify cannot send {message.channel}")
        except APIError as exc:
            raise delivery_error(exc) from exc
        return _notification_id(response)

    def find(self, reference: str) -> str | None:
        """The newest notification Notify holds with this reference.

        A lookup that fails raises TemporaryDeliveryError rather than answering None: None would
        make the worker send a second copy of a message that Notify may already have.
        """
        try:
            response = self.client().get_all_notifications(reference=reference)
        except APIError as exc:
            error = delivery_error(exc)
            raise TemporaryDeliveryError(f"lookup failed: {error.reason}", ambiguous=True) from exc
        notifications = response.get("notifications") if isinstance(response, dict) else None
        if not notifications:
            return None
        return str(notifications[0]["id"])

    def status(self, provider_id: str) -> str | None:
        """The outbox status of one notification as Notify reports it now (reconciliation)."""
        try:
            response = self.client().get_notification_by_id(provider_id)
        except APIError as exc:
            raise delivery_error(exc) from exc
        return delivery_status(str(response.get("status", "")))


def delivery_error(exc: APIError) -> DeliveryError:
    """Notify's answer as a permanent or temporary failure, with a reason free of personal data.

    Notify's error messages name the field and the rule ("phone_number Number is not valid"),
    never the value, so the first one is kept for whoever reads the failure.
    """
    status = exc.status_code
    if exc.response is None:
        cause = exc.__cause__
        never_sent = _never_sent(cause)
        reason = f"notify unreachable: {type(cause).__name__}"
        return TemporaryDeliveryError(reason, ambiguous=not never_sent)
    reason = f"notify {status}: {_first_error(exc)}"[:255]
    if status == 403:
        logger.error(
            "GOV.UK Notify refused the API key: check NOTIFY_API_KEY and the server clock",
            extra={"status": status, "error": reason},
        )
        return PermanentDeliveryError(reason)
    if status == 429:
        return TemporaryDeliveryError(reason)
    if status >= 500 or status < 400:
        return TemporaryDeliveryError(reason, ambiguous=True)
    return PermanentDeliveryError(reason)


def _never_sent(cause: BaseException | None) -> bool:
    """True when the request cannot have reached Notify: no connection was ever made."""
    if isinstance(cause, requests.ConnectTimeout):
        return True
    if isinstance(cause, requests.ConnectionError) and cause.args:
        return isinstance(getattr(cause.args[0], "reason", None), ConnectTimeoutError)
    return False


def _first_error(exc: APIError) -> str:
    message: Any = exc.message
    if isinstance(message, list) and message and isinstance(message[0], dict):
        first = message[0]
        return f"{first.get('error', '')} {first.get('message', '')}".strip()
    return str(message)


def _notification_id(response: Any) -> str:
    if not isinstance(response, dict) or not response.get("id"):
        raise TemporaryDeliveryError("notify answered without a notification id", ambiguous=True)
    return str(response["id"])
