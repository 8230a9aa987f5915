"""Email and SMS in the recipient's language, through a backend chosen by configuration."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale

from portal.extensions import db
from portal.models import Notification, utcnow
from portal.notify.backends import (
    Attachment,
    DeliveryError,
    LogBackend,
    NoSmsProvider,
    NotifyBackend,
    OutgoingMessage,
    SmtpBackend,
)
from portal.notify.sms import plain_spaces

logger = logging.getLogger(__name__)

__all__ = [
    "Attachment",
    "DeliveryError",
    "LogBackend",
    "OutgoingMessage",
    "backend",
    "init_app",
    "send_email",
    "send_sms",
]


def render_message(
    channel: str,
    recipient: str,
    template: str,
    locale: str,
    context: dict[str, Any],
    attachments: tuple[Attachment, ...] = (),
) -> OutgoingMessage:
    """Render templates/notify/<template>.{subject,body}.txt in the recipient's language."""
    with force_locale(locale):
        subject = render_template(f"notify/{template}.subject.txt", **context).strip()
        body = render_template(f"notify/{template}.body.txt", **context).strip() + "\n"
    return OutgoingMessage(channel, recipient, template, locale, subject, body, attachments)


def backend() -> NotifyBackend:
    return current_app.extensions["portal.notify"]


def sms_backend() -> NotifyBackend:
    return current_app.extensions["portal.sms"]


def send_email(
    recipient: str,
    template: str,
    locale: str,
    attachments: tuple[Attachment, ...] = (),
    **context: Any,
) -> Notification:
    """Render, hand over, and record the message; a delivery failure is recorded, never raised.

    The caller's request must not fail because a mail server is slow or down: the person can ask
    for the message again, and the failure is visible in the notifications table.
    """
    message = render_message("email", recipient, template, locale, context, attachments)
    return _deliver(backend(), message)


def send_sms(recipient: str, template: str, locale: str, **context: Any) -> Notification:
    """A text message from templates/notify/<template>.sms.txt; kept short for cheap phones."""
    with force_locale(locale):
        body = plain_spaces(render_template(f"notify/{template}.sms.txt", **context).strip())
    message = OutgoingMessage("sms", recipient, template, locale, "", body)
    return _deliver(sms_backend(), message)


def _deliver(chosen: NotifyBackend, message: OutgoingMessage) -> Notification:
    record = Notification(
        channel=message.channel,
        recipient=message.recipient,
        template=message.template,
        locale=message.locale,
        status="pending",
    )
    try:
        chosen.deliver(message)
    except DeliveryError as exc:
        record.status, record.error = "failed", str(exc)[:255]
        logger.warning(
            "delivery failed",
            extra={"channel": message.channel, "template": message.template, "error": str(exc)},
        )
    else:
        record.status, record.sent_at = "sent", utcnow()
    db.session.add(record)
    return record


def init_app(app: Flask) -> None:
    settings = app.config["PORTAL"]
    chosen: NotifyBackend
    if settings.NOTIFY_BACKEND == "smtp":
        chosen = SmtpBackend(
            settings.SMTP_HOST,
            settings.SMTP_PORT,
            settings.MAIL_FROM,
            settings.SMTP_USERNAME,
            settings.SMTP_PASSWORD,
            settings.SMTP_STARTTLS,
        )
    elif settings.NOTIFY_BACKEND == "log":
        chosen = LogBackend()
    else:
        raise ValueError(f"unknown PORTAL_NOTIFY_BACKEND {settings.NOTIFY_BACKEND!r}")
    app.extensions["portal.notify"] = chosen
    # In development both channels share one log backend, so the tests read one list. With a real
    # email backend, SMS needs a provider of its own (none is configured yet): messages are
    # recorded as failed rather than written, with phone numbers and links, to the log.
    app.extensions["portal.sms"] = chosen if isinstance(chosen, LogBackend) else NoSmsProvider()
