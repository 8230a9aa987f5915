"""Email and SMS in the recipient's language, through a backend chosen by configuration."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale

from portal.extensions import db
from portal.models import Notification, utcnow
from portal.notify.backends import (
    DeliveryError,
    LogBackend,
    NotifyBackend,
    OutgoingMessage,
    SmtpBackend,
)

logger = logging.getLogger(__name__)

__all__ = ["DeliveryError", "LogBackend", "OutgoingMessage", "backend", "init_app", "send_email"]


def render_message(
    channel: str, recipient: str, template: str, locale: str, context: dict[str, Any]
) -> OutgoingMessage:
    """Render templates/notify/<template>.{subject,body}.txt in the recipient's language."""
    with force_locale(locale):
        subject = render_template(f"notify/{template}.subject.txt", **context).strip()
        body = render_template(f"notify/{template}.body.txt", **context).strip() + "\n"
    return OutgoingMessage(channel, recipient, template, locale, subject, body)


def backend() -> NotifyBackend:
    return current_app.extensions["portal.notify"]


def send_email(recipient: str, template: str, locale: str, **context: Any) -> Notification:
    """Render, hand over, and record the message; a delivery failure is recorded, never raised.

    The caller's request must not fail because a mail server is slow or down: the person can ask
    for the message again, and the failure is visible in the notifications table.
    """
    message = render_message("email", recipient, template, locale, context)
    record = Notification(
        channel="email", recipient=recipient, template=template, locale=locale, status="pending"
    )
    try:
        backend().deliver(message)
    except DeliveryError as exc:
        record.status, record.error = "failed", str(exc)[:255]
        logger.warning("email delivery failed", extra={"template": template, "error": str(exc)})
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
