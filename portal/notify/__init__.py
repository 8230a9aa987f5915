"""Email and SMS in the recipient's language: written to the messages outbox in the transaction of
the change that causes them, delivered by the sender worker (worker.py) through a backend chosen by
configuration."""

from __future__ import annotations

import base64
import logging
import threading
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale

from portal.config import PortalConfig
from portal.extensions import db
from portal.models import MessageStatus, Notification, utcnow
from portal.notify.backends import (
    Attachment,
    DeliveryError,
    LogBackend,
    NoSmsProvider,
    NotifyBackend,
    OutgoingMessage,
    PermanentDeliveryError,
    SmtpBackend,
    TemporaryDeliveryError,
)
from portal.notify.sms import plain_spaces

logger = logging.getLogger(__name__)

__all__ = [
    "Attachment",
    "DeliveryError",
    "LogBackend",
    "OutgoingMessage",
    "PermanentDeliveryError",
    "TemporaryDeliveryError",
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


# Context values that open something once (a link with a token, a code): pages show them masked,
# and the outbox row forgets them once the message is sent or given up.
SECRET_CONTEXT = frozenset({"confirm_url", "reset_url", "presence_url", "code"})
# Taken before everything else: a presence link lasts 24 hours, an appointment change or a code is
# awaited by someone looking at their phone.
TIME_CRITICAL = frozenset(
    {
        "application_submitted",
        "presence_link",
        "appointment_booked",
        "appointment_cancelled",
        "confirm_email",
        "reset_password",
        "claim_code",
        "contact_code",
    }
)


def send_email(
    recipient: str,
    template: str,
    locale: str,
    attachments: tuple[Attachment, ...] = (),
    **context: Any,
) -> Notification:
    """Render the message and add it to the outbox in the caller's transaction (no commit here).

    Nothing is handed to a provider now: the sender worker does that after the commit, so a
    change that rolls back sends nothing and a slow provider never slows a page.
    """
    message = render_message("email", recipient, template, locale, context, attachments)
    return _enqueue(message, context)


def send_sms(recipient: str, template: str, locale: str, **context: Any) -> Notification:
    """A text message from templates/notify/<template>.sms.txt; kept short for cheap phones."""
    with force_locale(locale):
        body = plain_spaces(render_template(f"notify/{template}.sms.txt", **context).strip())
    message = OutgoingMessage("sms", recipient, template, locale, "", body)
    return _enqueue(message, context)


def _enqueue(message: OutgoingMessage, context: dict[str, Any]) -> Notification:
    secrets = [
        str(value)
        for key, value in context.items()
        if key in SECRET_CONTEXT and value and str(value) in message.body
    ]
    record = Notification(
        channel=message.channel,
        recipient=message.recipient,
        template=message.template,
        locale=message.locale,
        subject=message.subject[:255],
        body=message.body,
        secrets=secrets or None,
        carries_secret=bool(secrets),
        attachments=[
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in message.attachments
        ]
        or None,
        priority=0 if message.template in TIME_CRITICAL else 1,
        status=MessageStatus.QUEUED.value,
        next_attempt_at=utcnow(),
        attempts=0,
    )
    db.session.add(record)
    return record


def outgoing(record: Notification) -> OutgoingMessage:
    """The message a row holds, as a backend takes it, with the row's id as its reference."""
    return OutgoingMessage(
        record.channel,
        record.recipient,
        record.template,
        record.locale,
        record.subject,
        record.body,
        tuple(
            Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
            for a in record.attachments or ()
        ),
        reference=str(record.id),
    )


def backend_for(channel: str) -> NotifyBackend:
    return sms_backend() if channel == "sms" else backend()


def init_app(app: Flask) -> None:
    """Choose the email and the SMS backend from the settings, and receive Notify's callbacks."""
    settings = app.config["PORTAL"]
    chosen = email_backend(settings)
    app.extensions["portal.notify"] = chosen
    app.extensions["portal.sms"] = sms_channel(settings, chosen)
    if settings.ENV == "development" and isinstance(chosen, LogBackend) and not app.testing:
        _send_from_the_server(app)
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


def _send_from_the_server(app: Flask) -> None:
    """`make run`: the development server sends its own messages to the log, from its first
    request on, so a newcomer sees them with no second process (production runs
    `send-messages` as its own service, and refuses the log backend). Only a process that serves
    requests starts the sender: a CLI command such as `init-db` does not."""
    started = threading.Lock()

    @app.before_request
    def start_sender() -> None:
        if started.acquire(blocking=False):
            from portal.notify.worker import start_in_background

            start_in_background(app)
