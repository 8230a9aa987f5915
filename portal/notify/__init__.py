"""Email and SMS in the recipient's language, through a backend chosen by configuration."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale

from portal.config import PortalConfig
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
    """Choose the email and the SMS backend from the settings, and receive Notify's callbacks."""
    settings = app.config["PORTAL"]
    chosen = email_backend(settings)
    app.extensions["portal.notify"] = chosen
    app.extensions["portal.sms"] = sms_channel(settings, chosen)
    from portal.notify.callbacks import callbacks

    # Delivery receipts from GOV.UK Notify: a machine endpoint, outside the locale prefix.
    app.register_blueprint(callbacks)


def email_backend(settings: PortalConfig) -> NotifyBackend:
    if settings.NOTIFY_BACKEND == "smtp":
        return SmtpBackend(
            settings.SMTP_HOST,
            settings.SMTP_PORT,
            settings.MAIL_FROM,
            settings.SMTP_USERNAME,
            settings.SMTP_PASSWORD,
            settings.SMTP_STARTTLS,
        )
    if settings.NOTIFY_BACKEND == "notify":
        return govuk_notify(settings)
    if settings.NOTIFY_BACKEND == "aws":
        from portal.notify.providers.aws import SesEmailBackend

        return SesEmailBackend(
            settings.MAIL_FROM,
            settings.SES_REGION,
            settings.SES_CONFIGURATION_SET,
            settings.SES_ENDPOINT_URL,
        )
    if settings.NOTIFY_BACKEND == "log":
        return LogBackend()
    raise ValueError(f"unknown PORTAL_NOTIFY_BACKEND {settings.NOTIFY_BACKEND!r}")


def sms_channel(settings: PortalConfig, email: NotifyBackend) -> NotifyBackend:
    """The SMS backend; the email one itself where both are the same provider.

    In development both channels share one log backend, so the tests read one list. Without an
    SMS provider (development with smtp email only; production refuses to start so) messages are
    recorded as failed rather than written, with phone numbers and links, to the log.
    """
    chosen = settings.sms_backend()
    if chosen == settings.NOTIFY_BACKEND and chosen in ("log", "notify"):
        return email
    if chosen == "log":
        return LogBackend()
    if chosen == "notify":
        return govuk_notify(settings)
    if chosen == "aws":
        from portal.notify.providers.aws import SnsSmsBackend

        return SnsSmsBackend(settings.SNS_REGION, settings.SNS_SENDER_ID, settings.SNS_ENDPOINT_URL)
    return NoSmsProvider()


def govuk_notify(settings: PortalConfig) -> NotifyBackend:
    from portal.notify.providers.notify import GovukNotifyBackend

    return GovukNotifyBackend(
        settings.NOTIFY_API_KEY,
        settings.NOTIFY_EMAIL_TEMPLATE_ID,
        settings.NOTIFY_SMS_TEMPLATE_ID,
        settings.NOTIFY_BASE_URL,
        timeout=settings.NOTIFY_TIMEOUT_SECONDS,
    )
