"""A GOV.UK Notify API on loopback, written from Notify's public API documentation, so that the
official client and our backend are tested over real HTTP as they run in production.

It checks what Notify checks: a JWT in the Authorization header (HS256, signed with the API key's
secret, `iss` the service id, `iat` within 30 seconds), the request bodies (template ids, missing
personalisation, phone numbers and email addresses, international permission, files sent by
link), and answers as Notify does: 201 with the notification, or Notify's error JSON
`{"status_code": ..., "errors": [{"error": ..., "message": ...}]}`. It keeps what it accepted,
so that `GET /v2/notifications?reference=` and `GET /v2/notifications/{id}` answer.

Faults for the tests: `fail_next(status, count)` (500, 503, 429...), `slow_after_accept(seconds)`
(the notification is created, the answer comes late: a client timeout that is ambiguous),
`stop()` (nothing listens: connection refused) and `invalid_numbers` (a number Notify refuses).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

SERVICE_ID = "5a2b6c51-2f7f-4f6b-9d59-7d7e1e6f7a01"
SECRET = "0b8f0a6e-6d2d-4a53-8a3a-0f6b0f4e7c11"
API_KEY = f"portal_test-{SERVICE_ID}-{SECRET}"
EMAIL_TEMPLATE_ID = "f2b9c3a4-1111-4c3e-9d7a-2b6a1e0c0e01"
SMS_TEMPLATE_ID = "f2b9c3a4-2222-4c3e-9d7a-2b6a1e0c0e02"

# Document download accepts these types only (a calendar file is not one of them).
FILE_TYPES = {"pdf", "csv", "txt", "doc", "docx", "xlsx", "odt", "rtf", "json"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PLACEHOLDER = re.compile(r"\(\(([^)]+)\)\)")


@dataclass
class Template:
    id: str
    type: str
    subject: str
    body: str

    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.subject + self.body))

    def render(self, text: str, personalisation: dict[str, Any]) -> str:
        return _PLACEHOLDER.sub(lambda m: str(personalisation.get(m.group(1), "")), text)


TEMPLATES = {
    EMAIL_TEMPLATE_ID: Template(EMAIL_TEMPLATE_ID, "email", "((subject))", "((body))"),
    SMS_TEMPLATE_ID: Template(SMS_TEMPLATE_ID, "sms", "", "((body))"),
}


class NotifyError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def body(self) -> dict[str, Any]:
        return {
            "status_code": self.status,
            "errors": [{"error": self.error, "message": self.message}],
        }


@dataclass
class NotifyState:
    """What the fake service holds and how it is told to misbehave."""

    notifications: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    delay_after_accept: float = 0.0
    international_sms: bool = True
    invalid_numbers: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_token(header: str | None) -> None:
    if not header or not header.startswith("Bearer "):
        raise NotifyError(401, "AuthError", "Unauthorized: authentication token must be provided")
    token = header[len("Bearer ") :]
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        if jwt.get_unverified_header(token).get("alg") != "HS256":
            raise NotifyError(403, "AuthError", "Invalid token: algorithm used is not HS256")
    except jwt.DecodeError as exc:
        raise NotifyError(403, "AuthError", "Invalid token: signature") from exc
    if unverified.get("iss") != SERVICE_ID:
        raise NotifyError(403, "AuthError", "Invalid token: service not found")
    try:
        claims = jwt.decode(token, key=SECRET, algorithms=["HS256"], options={"verify_iat": False})
    except jwt.InvalidTokenError as exc:
        raise NotifyError(403, "AuthError", "Invalid token: API key not found") from exc
    if "iat" not in claims:
        raise NotifyError(403, "AuthError", "Invalid token: iat field not provided")
    if abs(time.time() - int(claims["iat"])) > 30:
        raise NotifyError(
            403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds"
        )


def normalise_phone(number: str) -> tuple[str, bool]:
    """Digits with the country code, and whether the number is outside the UK."""
    digits = re.sub(r"[\s().-]", "", number)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("07"):
        digits = "44" + digits[1:]
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise NotifyError(
            400, "ValidationError", "phone_number Mobile number is the wrong length or not valid"
        )
    if digits.startswith("44") and not digits.startswith("447"):
        raise NotifyError(
            400, "ValidationError", "phone_number This does not look like a UK mobile number"
        )
    return digits, not digits.startswith("44")


def _template(body: dict[str, Any], kind: str) -> Template:
    template_id = body.get("template_id")
    if not isinstance(template_id, str) or not _UUID.match(template_id):
        raise NotifyError(400, "ValidationError", "template_id is not a valid UUID")
    template = TEMPLATES.get(template_id)
    if template is None or template.type != kind:
        raise NotifyError(400, "BadRequestError", "Template not found")
    personalisation = body.get("personalisation") or {}
    if not isinstance(personalisation, dict):
        raise NotifyError(400, "ValidationError", "personalisation is not of type object")
    missing = sorted(template.placeholders() - set(personalisation))
    if missing:
        raise NotifyError(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
    return template


def _check_files(personalisation: dict[str, Any]) -> None:
    for value in personalisation.values():
        if not isinstance(value, dict):
            continue
        try:
            data = base64.b64decode(value.get("file", ""), validate=True)
        except (binascii.Error, TypeError) as exc:
            raise NotifyError(400, "BadRequestError", "File did not pass the virus scan") from exc
        if len(data) > 2 * 1024 * 1024:
            raise NotifyError(400, "BadRequestError", "File is larger than 2MB")
        extension = str(value.get("filename") or "").rpartition(".")[2].lower()
        if extension not in FILE_TYPES:
            raise NotifyError(
                400,
                "BadRequestError",
                f"Unsupported file type '{extension}'. Supported types are: "
                + ", ".join(sorted(FILE_TYPES)),
            )


class NotifyHandler(BaseHTTPRequestHandler):
    server: NotifyHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        body: dict[str, Any] | None = None
        try:
            check_token(self.headers.get("Authorization"))
            if method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    parsed = json.loads(self.rfile.read(length) or b"null")
                except ValueError as exc:
                    raise NotifyError(
                        400, "BadRequestError", "Invalid JSON supplied in POST data"
                    ) from exc
                if not isinstance(parsed, dict):
                    raise NotifyError(400, "ValidationError", "POST data is not a JSON object")
                body = parsed
            with state.lock:
                state.requests.append((method, url.path, body))
                failure = state.failures.pop(0) if state.failures else None
            if failure is not None:
                raise _failure(failure)
            status, answer = self._route(method, url.path, parse_qs(url.query), body)
        except NotifyError as error:
            self._answer(error.status, error.body())
            return
        if status == 201 and state.delay_after_accept:
            time.sleep(state.delay_after_accept)
        # A client that gave up waiting gets nothing: the notification stays accepted, as at Notify.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(status, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v2/notifications/sms" and body is not None:
            return 201, self.server.send_sms(body)
        if method == "POST" and path == "/v2/notifications/email" and body is not None:
            return 201, self.server.send_email(body)
        if method == "GET" and path == "/v2/notifications":
            return 200, self.server.list_notifications(query)
        if method == "GET" and path.startswith("/v2/notifications/"):
            return 200, self.server.get_notification(path.rsplit("/", 1)[1])
        raise NotifyError(404, "ResourceNotFound", "The requested URL was not found on the server.")


def _failure(status: int) -> NotifyError:
    if status == 429:
        return NotifyError(
            429,
            "RateLimitError",
            "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
        )
    if status == 403:
        return NotifyError(403, "AuthError", "Invalid token: API key not found")
    return NotifyError(status, "Exception", "Internal server error")


class NotifyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: NotifyState) -> None:
        super().__init__(address, NotifyHandler)
        self.state = state

    def _create(
        self, kind: str, body: dict[str, Any], template: Template, to: str
    ) -> dict[str, Any]:
        personalisation = body.get("personalisation") or {}
        reference = body.get("reference")
        notification = {
            "id": str(uuid.uuid4()),
            "reference": reference,
            "type": kind,
            "email_address": to if kind == "email" else None,
            "phone_number": to if kind == "sms" else None,
            "status": "created",
            "template": {"id": template.id, "version": 1, "uri": f"/v2/template/{template.id}"},
            "body": template.render(template.body, personalisation),
            "subject": template.render(template.subject, personalisation)
            if kind == "email"
            else None,
            "created_at": _now(),
            "created_by_name": None,
            "sent_at": None,
            "completed_at": None,
            "scheduled_for": None,
            "personalisation": personalisation,
        }
        with self.state.lock:
            self.state.notifications.append(notification)
        return notification

    def send_sms(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("phone_number")
        if not isinstance(number, str):
            raise NotifyError(400, "ValidationError", "phone_number is a required property")
        template = _template(body, "sms")
        digits, international = normalise_phone(number)
        if international and not self.state.international_sms:
            raise NotifyError(400, "BadRequestError", "Cannot send to international mobile numbers")
        if f"+{digits}" in self.state.invalid_numbers:
            raise NotifyError(
                400,
                "ValidationError",
                "phone_number Number is not valid – double check the phone number you entered",
            )
        created = self._create("sms", body, template, number)
        return {
            "id": created["id"],
            "reference": created["reference"],
            "content": {"body": created["body"], "from_number": "GOVUK"},
            "uri": f"/v2/notifications/{created['id']}",
            "template": created["template"],
        }

    def send_email(self, body: dict[str, Any]) -> dict[str, Any]:
        address = body.get("email_address")
        if not isinstance(address, str):
            raise NotifyError(400, "ValidationError", "email_address is a required property")
        template = _template(body, "email")
        if not _EMAIL.match(address):
            raise NotifyError(400, "ValidationError", "email_address Not a valid email address")
        _check_files(body.get("personalisation") or {})
        created = self._create("email", body, template, address)
        return {
            "id": created["id"],
            "reference": created["reference"],
            "content": {
                "body": created["body"],
                "subject": created["subject"],
                "from_email": "portal@notifications.service.gov.uk",
                "one_click_unsubscribe_url": None,
            },
            "uri": f"/v2/notifications/{created['id']}",
            "template": created["template"],
        }

    def list_notifications(self, query: dict[str, list[str]]) -> dict[str, Any]:
        reference = (query.get("reference") or [None])[0]
        kind = (query.get("template_type") or [None])[0]
        status = (query.get("status") or [None])[0]
        with self.state.lock:
            found = [
                n
                for n in reversed(self.state.notifications)
                if (reference is None or n["reference"] == reference)
                and (kind is None or n["type"] == kind)
                and (status is None or n["status"] == status)
            ]
        return {
            "notifications": [_public(n) for n in found[:250]],
            "links": {"current": "/v2/notifications", "next": None},
        }

    def get_notification(self, notification_id: str) -> dict[str, Any]:
        if not _UUID.match(notification_id):
            raise NotifyError(400, "ValidationError", "notification_id is not a valid UUID")
        with self.state.lock:
            for notification in self.state.notifications:
                if notification["id"] == notification_id:
                    return _public(notification)
        raise NotifyError(404, "NoResultFound", "No result found")


def _public(notification: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in notification.items() if key != "personalisation"}


class NotifyServer:
    """The server in a thread on 127.0.0.1, at a random port, with its faults."""

    def __init__(self) -> None:
        self.state = NotifyState()
        self._server: NotifyHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = NotifyHTTPServer(("127.0.0.1", self.port), self.state)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Nothing listens on the port any more: a client's connection is refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, status: int, count: int = 1) -> None:
        with self.state.lock:
            self.state.failures.extend([status] * count)

    def slow_after_accept(self, seconds: float) -> None:
        self.state.delay_after_accept = seconds

    @property
    def notifications(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.notifications)

    def set_status(self, notification_id: str, status: str) -> dict[str, Any]:
        """Move a notification on, as Notify does, and return the callback Notify would send."""
        with self.state.lock:
            notification = next(n for n in self.state.notifications if n["id"] == notification_id)
            notification["status"] = status
            notification["sent_at"] = notification["sent_at"] or _now()
            notification["completed_at"] = _now()
        return {
            "id": notification["id"],
            "reference": notification["reference"],
            "to": notification["email_address"] or notification["phone_number"],
            "status": status,
            "created_at": notification["created_at"],
            "completed_at": notification["completed_at"],
            "sent_at": notification["sent_at"],
            "notification_type": notification["type"],
            "template_id": notification["template"]["id"],
            "template_version": 1,
        }

    def reset(self) -> None:
        with self.state.lock:
            self.state.notifications.clear()
            self.state.requests.clear()
            self.state.failures.clear()
        self.state.delay_after_accept = 0.0
        self.state.international_sms = True
        self.state.invalid_numbers.clear()


@pytest.fixture
def notify_server() -> Iterator[NotifyServer]:
    server = NotifyServer()
    try:
        yield server
    finally:
        server.state.delay_after_accept = 0.0
        server.stop()
