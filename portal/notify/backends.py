"""Where messages go: the log (development, tests) or an SMTP server; GOV.UK Notify, SES and SNS in
providers/. The sender worker (portal/notify/worker.py) is the only caller of `deliver`."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

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
    # The outbox row's id: providers send it as their reference / idempotency key, so that a retry
    # can find a message that was accepted before the answer was lost.
    reference: str = ""


class DeliveryError(RuntimeError):
    """The backend could not hand the message over. `reason` is short and holds no personal data."""

    def __init__(self, reason: str, *, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:255]
        # True when the provider may have accepted the message before the failure (a timeout after
        # the request was sent): the worker asks `find(reference)` before sending it again.
        self.ambiguous = ambiguous


class TemporaryDeliveryError(DeliveryError):
    """Timeouts, 5xx, throttling: worth trying again later."""


class PermanentDeliveryError(DeliveryError):
    """Invalid number, bad address, refused: trying again would fail the same way."""


class NotifyBackend(Protocol):
    # True when `find` can answer: after an ambiguous failure the worker asks before sending
    # again. False (SES, SNS, SMTP): it sends again, and a second copy is possible (worker.py).
    finds_by_reference: bool

    def deliver(self, message: OutgoingMessage) -> str | None:
        """Hand the message over; the provider's id for it (None where there is none)."""
        ...

    def find(self, reference: str) -> str | None:
        """The provider's id of a message accepted with this reference, or None if the provider
        has none or cannot look one up (then the worker sends again)."""
        ...


class LogBackend:
    """Writes each message to the log so that a developer can follow the links in it.

    Production refuses this backend (config.finalise), so links never reach production logs.
    The last messages are also kept in memory for the tests.
    """

    finds_by_reference = True

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
        return f"log-{message.reference}" if message.reference else None

    def find(self, reference: str) -> str | None:
        """What was logged under this reference, while this process remembers it."""
        if reference and any(message.reference == reference for message in self.sent):
            return f"log-{reference}"
        return None


class _SmtpSession(smtplib.SMTP):
    """An SMTP connection that knows whether the message's content has been handed over: a
    connection lost after that may follow the server's acceptance, so the worker must not assume
    it was not sent (worker.py)."""

    content_sent = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.content_sent = True
        return super().data(msg)

    def leave(self) -> None:
        """Say goodbye, or just close: once the server has answered DATA, the message's fate is
        settled, and a refused or lost QUIT must not make it a failure (and a second copy)."""
        try:
            self.quit()
        except (OSError, smtplib.SMTPException):
            self.close()


class SmtpBackend:
    """Sends email through an SMTP server, over STARTTLS unless told otherwise."""

    finds_by_reference = False

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
        if message.reference:
            email["Message-ID"] = f"<{message.reference}@eoi-portal>"
        try:
            smtp = _SmtpSession(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(type(exc).__name__) from exc
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError("recipient refused") from exc
        except smtplib.SMTPResponseException as exc:
            # The server answered: whatever it said, it said it about this message.
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(f"SMTP {exc.smtp_code}") from exc
            raise TemporaryDeliveryError(f"SMTP {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            # No answer. Once the content has gone, the server may have queued it.
            reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise TemporaryDeliveryError(reason, ambiguous=smtp.content_sent) from exc
        finally:
            smtp.leave()
        if refused:
            raise PermanentDeliveryError("recipient refused")
        return None

    def find(self, reference: str) -> str | None:
        """SMTP cannot be asked what it accepted: the worker sends again."""
        return None


class NoSmsProvider:
    """Stands in where no SMS provider is configured: every message is recorded as failed."""

    finds_by_reference = False

    def deliver(self, message: OutgoingMessage) -> str | None:
        raise PermanentDeliveryError("no SMS provider is configured")

    def find(self, reference: str) -> str | None:
        return None
