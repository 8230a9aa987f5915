"""The interface every message backend keeps, and the two that need no provider: the log
(development, tests) and an SMTP server. GOV.UK Notify, SES and SNS live in providers/."""

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
    # The outbox row's id: sent as the provider's reference, so that after an ambiguous failure
    # the worker can ask whether the provider already accepted the message.
    reference: str = ""


class DeliveryError(RuntimeError):
    """The backend could not hand the message over.

    `reason` is short and carries no personal data (no address, number or message text), so it
    can be stored and logged.
    """

    def __init__(self, reason: str, *, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous


class TemporaryDeliveryError(DeliveryError):
    """Worth trying again later: a timeout, a server error, throttling, a provider down.

    `ambiguous` is true when the request may have reached the provider and been accepted (a
    timeout after sending, a lost connection, a 5xx): look the reference up before sending again.
    """


class PermanentDeliveryError(DeliveryError):
    """Trying again cannot help: an invalid number or address, a refused key or request."""


class NotifyBackend(Protocol):
    def deliver(self, message: OutgoingMessage) -> str | None:
        """Hand the message over; the provider's id for it, or None where there is none."""
        ...

    def find(self, reference: str) -> str | None:
        """The provider's id of a message already accepted with this reference, if any."""
        ...


class LogBackend:
    """Writes each message to the log so that a developer can follow the links in it.

    Production refuses this backend (config.finalise), so links never reach production logs.
    The last messages are also kept in memory for the tests.
    """

    def __init__(self) -> None:
        self.sent: deque[OutgoingMessage] = deque(maxlen=200)

    def deliver(self, message: OutgoingMessage) -> str | None:
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
        return None

    def find(self, reference: str) -> str | None:
        return None


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

    def deliver(self, message: OutgoingMessage) -> str | None:
        if message.channel != "email":
            raise PermanentDeliveryError(f"the SMTP backend cannot send {message.channel}")
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
        except smtplib.SMTPRecipientsRefused as exc:
            # 5xx for every recipient is a refusal; a 4xx (mailbox busy, greylisting) may pass later.
            if all(code >= 500 for code, _text in exc.recipients.values()):
                raise PermanentDeliveryError("SMTPRecipientsRefused") from exc
            raise TemporaryDeliveryError("SMTPRecipientsRefused") from exc
        except (OSError, smtplib.SMTPException) as exc:
            # SMTP has no reference to look up: a message lost mid-DATA may arrive twice.
            raise TemporaryDeliveryError(type(exc).__name__) from exc
        return None

    def find(self, reference: str) -> str | None:
        return None


class NoSmsProvider:
    """Stands in, in development only, where no SMS provider is configured: every message is
    recorded as failed. Production refuses to start without an SMS channel (config.finalise)."""

    def deliver(self, message: OutgoingMessage) -> str | None:
        raise PermanentDeliveryError("no SMS provider is configured")

    def find(self, reference: str) -> str | None:
        return None
