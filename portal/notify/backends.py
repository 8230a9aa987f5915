"""Where messages go: the log (development, tests) or an SMTP server. SES and SNS come later."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    recipient: str
    template: str
    locale: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class DeliveryError(RuntimeError):
    """The backend could not hand the message over; it is recorded as failed."""


class NotifyBackend(Protocol):
    def deliver(self, message: OutgoingMessage) -> None: ...


class LogBackend:
    """Writes each message to the log so that a developer can follow the links in it.

    Production refuses this backend (config.finalise), so links never reach production logs.
    The last messages are also kept in memory for the tests.
    """

    def __init__(self) -> None:
        self.sent: deque[OutgoingMessage] = deque(maxlen=200)

    def deliver(self, message: OutgoingMessage) -> None:
        self.sent.append(message)
        logger.info(
            "notification (log backend)",
            extra={
                "channel": message.channel,
                "to": message.recipient,
                "template": message.template,
                "subject": message.subject,
                "body": message.body,
            },
        )


class SmtpBackend:
    """Sends email through an SMTP server, over STARTTLS unless told otherwise."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def deliver(self, message: OutgoingMessage) -> None:
        if message.channel != "email":
            raise DeliveryError(f"the SMTP backend cannot send {message.channel}")
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email.set_content(message.body)
        for attachment in message.attachments:
            maintype, subtype = attachment.content_type.split("/", 1)
            email.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        # After set_content, which replaces every Content-* header.
        email["Content-Language"] = message.locale
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(type(exc).__name__) from exc


class NoSmsProvider:
    """Stands in where no SMS provider is configured: every message is recorded as failed."""

    def deliver(self, message: OutgoingMessage) -> None:
        raise DeliveryError("no SMS provider is configured")
