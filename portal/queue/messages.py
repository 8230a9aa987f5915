"""The queue message: built from an application, checked against the JSON Schema in docs/.

The schema is the contract with whatever reads the queue, so every message is validated before it
is written: a message that does not fit fails the submission's transaction rather than a consumer.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from portal.config import PROJECT_ROOT
from portal.models import Application, Document

SCHEMA_PATH = PROJECT_ROOT / "docs" / "queue-message.schema.json"
SCHEMA_VERSION = 1


class InvalidMessage(ValueError):
    """The message does not follow docs/queue-message.schema.json."""


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(message: dict[str, Any]) -> None:
    errors = sorted(validator().iter_errors(message), key=lambda error: list(error.path))
    if errors:
        raise InvalidMessage("; ".join(f"{list(e.path)}: {e.message}" for e in errors))


def build(
    message_id: uuid.UUID,
    kind: str,
    application: Application,
    documents: list[Document],
    priority: int,
    reasons: tuple[str, ...],
    submitted_at: datetime,
) -> dict[str, Any]:
    """References and checksums only: a checker fetches answers and files through the back office."""
    group = application.family_group
    message = {
        "schema_version": SCHEMA_VERSION,
        "message_id": str(message_id),
        "kind": kind,
        "application_id": str(application.id),
        "reference": application.reference,
        "family_reference": group.reference if group else None,
        "priority": priority,
        "priority_reasons": list(reasons),
        "submitted_at": submitted_at.isoformat(),
        "documents": [
            {
                "id": str(document.id),
                "kind": document.kind,
                "sha256": document.sha256,
                "size": document.size,
                "content_type": document.content_type,
            }
            for document in documents
        ],
    }
    validate(message)
    return message


def item_id_of(text: str) -> uuid.UUID:
    """The queue item a delivered message names. Anything that is not JSON, does not follow the
    schema (a number for `message_id`, a missing field, an unknown version) raises InvalidMessage:
    a consumer never guesses what a garbled message meant."""
    try:
        message = json.loads(text)
    except ValueError as error:
        raise InvalidMessage(f"not JSON: {error}") from error
    validate(message)
    try:
        return uuid.UUID(message["message_id"])
    except ValueError as error:
        raise InvalidMessage(f"['message_id']: {error}") from error
