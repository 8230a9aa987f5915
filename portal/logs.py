"""JSON logs with a request id on every line. Log ids, never passwords, tokens or personal data.

Three guards keep personal data out even when code or a library slips:

- an exception is written as its traceback (files, lines, code) and its type, but its message
  only when the portal wrote it or its type describes code, not data: a database error's message
  quotes the row (PostgreSQL's "Key (email)=(...) already exists", "Failing row contains (...)"),
  and Python's own messages quote values (int("X123"), KeyError('amina@...'));
- email addresses, Argon2 hashes and phone numbers left in a message or a field are replaced;
- SQLAlchemy's row logging (DEBUG on sqlalchemy.engine) is dropped: rows hold the data itself.
  Statements are kept; their parameters are hidden by the engine (`hide_parameters`).
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
import sys
import time
import traceback
from types import TracebackType
from typing import Any, TextIO

from flask import Flask, Response, g, has_request_context, request
from jinja2 import TemplateError
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import DBAPIError

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# What must never be written, whatever field it ends up in: each pattern with a piece of text that
# every match contains, so that most fields (a logger's name, a module, an endpoint) are looked at
# once with `in` instead of three regular expressions (the access log line of every request).
_PERSONAL = (
    ("@", re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+\.[A-Za-z]{2,}"), "[email]"),
    ("$argon2", re.compile(r"\$argon2(?:id|i|d)\$[^\s'\"]+"), "[password hash]"),
    ("+", re.compile(r"\+\d[\d ]{7,16}\d"), "[phone]"),
)
# Exceptions whose messages describe the code (a missing template, a wrong attribute), not data.
_CODE_ERRORS = (TemplateError, AttributeError, NameError, ImportError, NotImplementedError)


def redact(text: str) -> str:
    """The text with email addresses, password hashes and phone numbers replaced."""
    for marker, pattern, replacement in _PERSONAL:
        if marker in text:
            text = pattern.sub(replacement, text)
    return text


def describe_exception(error: BaseException) -> str:
    """One line that names the error without any value it might quote."""
    name = f"{type(error).__module__}.{type(error).__qualname__}"
    if isinstance(error, DBAPIError):
        return f"{name}: {_database_details(error.orig)}"
    if isinstance(error, sqlite3.Error) or type(error).__module__.startswith("psycopg"):
        return f"{name}: {_database_details(error)}"
    if type(error).__module__.startswith("portal") or isinstance(error, _CODE_ERRORS):
        return redact(f"{name}: {error}")
    return f"{name} (message not logged: it may quote personal data)"


def _database_details(error: BaseException | None) -> str:
    """The error's code and the names of what it concerns (constraint, table, column)."""
    if error is None:
        return "no driver error"
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorname", type(error).__name__)
    diag = getattr(error, "diag", None)
    parts = [f"sqlstate={getattr(error, 'sqlstate', None)}"]
    for field in ("constraint_name", "table_name", "column_name"):
        value = getattr(diag, field, None)
        if value:
            parts.append(f"{field}={value}")
    return " ".join(parts)


def format_exception(
    error_type: type[BaseException] | None,
    error: BaseException | None,
    trace: TracebackType | None,
) -> str:
    """A traceback like Python's, chained causes included, with each message from describe_exception."""
    chain: list[BaseException] = []
    current = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    lines: list[str] = []
    for position, link in enumerate(reversed(chain)):
        if position:
            lines.append("\nThe above exception led to the following exception:\n\n")
        link_trace = trace if link is error else link.__traceback__
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(link_trace))
        lines.append(describe_exception(link) + "\n")
    return "".join(lines).rstrip("\n")


class PortalJsonFormatter(JsonFormatter):
    """JSON lines whose exceptions are written by format_exception."""

    def formatException(self, ei: Any) -> str:
        return format_exception(*ei)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class RedactFilter(logging.Filter):
    """Replace personal data left in a record's message or in its string fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "exc_text"):
                setattr(record, key, redact(value))
        return True


class NoRowsFilter(logging.Filter):
    """SQLAlchemy logs each fetched row at DEBUG: rows are the personal data itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """The handler every process logs through: one safe JSON line per record."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        PortalJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactFilter())
    return handler


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """One JSON line per record on stderr, for the platform's log collector."""
    root = logging.getLogger()
    root.handlers = [json_handler(stream)]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, NoRowsFilter) for f in engine_logger.filters):
        engine_logger.addFilter(NoRowsFilter())


def init_app(app: Flask) -> None:
    """Give each request an id (kept from a trusted X-Request-Id) and log one line when it ends."""
    access = logging.getLogger("portal.access")

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.endpoint != "asset":
            access.info(
                "request",
                extra={
                    "method": request.method,
                    "endpoint": request.endpoint,
                    "status": response.status_code,
                    "duration_ms": round(
                        (time.perf_counter() - g.get("request_started", time.perf_counter()))
                        * 1000,
                        1,
                    ),
                },
            )
        return response
