"""Amazon SES for email (the .ics attached, through SendRawEmail) and SNS for SMS, via boto3.

Neither service can look a message up by our reference, so `find` answers None: after an
ambiguous failure (the request may have reached AWS: a read timeout, a connection reset after
sending, a 5xx) the worker sends the message again, and the recipient may get a second copy
(portal/notify/worker.py says why that is the better risk, and how it is bounded). The reference
still travels: as a header and an SES message tag on email, so that a bounce or a duplicate can
be traced back to the outbox row by a person.
Delivery receipts for email come back as SES events through SNS and SQS (portal/notify/ses_events.py).
"""

from __future__ import annotations

import logging
import re
import threading
from email.message import EmailMessage
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from portal.notify.backends import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

logger = logging.getLogger(__name__)

# No retry inside botocore: it would resend a request whose answer was lost (a read timeout, a
# reset connection), a second copy that no attempt records. Each try is the worker's, recorded,
# with its backoff; throttling and 5xx come back to it (tests/integration/test_lost_answers.py).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=10
)

# Error codes that mean the request can never succeed as it is. Some are configuration
# (an unverified sender, a missing configuration set, a refused key): those are logged loudly.
_REFUSED = {"MessageRejected", "InvalidParameter", "InvalidParameterValue", "ValidationError"}
_CONFIGURATION = {
    "MailFromDomainNotVerified",
    "MailFromDomainNotVerifiedException",
    "ConfigurationSetDoesNotExist",
    "ConfigurationSetDoesNotExistException",
    "AccountSendingPausedException",
    "AuthorizationError",
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}
_TAG_VALUE = re.compile(r"[^A-Za-z0-9_.@-]")


class _ThreadClients:
    """One boto3 client per thread (boto3 clients and sessions are not thread-safe to create)."""

    def __init__(self, service: str, region: str, endpoint_url: str) -> None:
        self.service, self.region, self.endpoint_url = service, region, endpoint_url
        self._local = threading.local()

    def get(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = boto3.session.Session().client(
                self.service,
                region_name=self.region,
                endpoint_url=self.endpoint_url or None,
                config=CLIENT_CONFIG,
            )
            self._local.client = client
        return client


class SesEmailBackend:
    """Email through Amazon SES, as a raw MIME message so that attachments go with it."""

    finds_by_reference = False  # SES has no look-up of a sent message

    def __init__(
        self,
        sender: str,
        region: str,
        configuration_set: str = "",
        endpoint_url: str = "",
    ) -> None:
        self.sender, self.configuration_set = sender, configuration_set
        self._clients = _ThreadClients("ses", region, endpoint_url)

    def deliver(self, message: OutgoingMessage) -> str | None:
        if message.channel != "email":
            raise PermanentDeliveryError(f"the SES backend cannot send {message.channel}")
        request: dict[str, Any] = {
            "Source": self.sender,
            "Destinations": [message.recipient],
            "RawMessage": {"Data": mime_message(self.sender, message).as_bytes()},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if message.reference:
            request["Tags"] = [
                {"Name": "reference", "Value": _TAG_VALUE.sub("_", message.reference)[:256]}
            ]
        try:
            response = self._clients.get().send_raw_email(**request)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("ses", exc) from exc
        return str(response["MessageId"])

    def find(self, reference: str) -> str | None:
        return None


class SnsSmsBackend:
    """Text messages through Amazon SNS, sent as transactional (delivered before promotional)."""

    finds_by_reference = False  # SNS keeps no record of a text that can be asked for

    def __init__(self, region: str, sender_id: str = "", endpoint_url: str = "") -> None:
        self.sender_id = sender_id
        self._clients = _ThreadClients("sns", region, endpoint_url)

    def deliver(self, message: OutgoingMessage) -> str | None:
        if message.channel != "sms":
            raise PermanentDeliveryError(f"the SNS backend cannot send {message.channel}")
        attributes = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        }
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": self.sender_id,
            }
        try:
            response = self._clients.get().publish(
                PhoneNumber=message.recipient,
                Message=message.body,
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("sns", exc) from exc
        return str(response["MessageId"])

    def find(self, reference: str) -> str | None:
        return None


def mime_message(sender: str, message: OutgoingMessage) -> EmailMessage:
    """The email as SES will send it: text body in the recipient's language, files attached."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    for attachment in message.attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        email.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    # After set_content and add_attachment, which replace the Content-* headers.
    email["Content-Language"] = message.locale
    if message.reference:
        email["X-Portal-Reference"] = message.reference
    return email


def aws_error(service: str, exc: ClientError | BotoCoreError) -> DeliveryError:
    """An AWS failure as permanent or temporary, ambiguous when the request may have been taken."""
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return TemporaryDeliveryError(f"{service} unreachable: {type(exc).__name__}")
    if isinstance(exc, BotoCoreError):
        return TemporaryDeliveryError(f"{service} failed: {type(exc).__name__}", ambiguous=True)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    reason = f"{service} {status} {code}"
    if code in _CONFIGURATION or status == 403:
        logger.error(
            "AWS refused the request: check the portal's AWS settings and permissions",
            extra={"service": service, "code": code, "status": status},
        )
        return PermanentDeliveryError(reason)
    if code in _REFUSED:
        return PermanentDeliveryError(reason)
    if status >= 500 or status == 0:
        return TemporaryDeliveryError(reason, ambiguous=True)
    return TemporaryDeliveryError(reason)
