"""GOV.UK Notify's delivery receipts: Notify POSTs one JSON object per message that reaches a
final state, with the bearer token the service set in Notify's API integration settings.

A machine endpoint: no session, no CSRF token (Notify cannot have one), authenticated by the
token alone. It answers 200 to every well-formed receipt, known or not, so that Notify does not
retry one the portal will never match; only a wrong token or a malformed body is refused.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from portal.extensions import csrf
from portal.notify.providers.notify import delivery_status
from portal.notify.status import record_delivery_status

callbacks = Blueprint("notify_callbacks", __name__)
csrf.exempt(callbacks)
logger = logging.getLogger(__name__)

FAILURES = frozenset({"permanent-failure", "temporary-failure", "technical-failure"})


def bearer_token_matches(header: str | None, expected: str) -> bool:
    """Compared in constant time; an unset token refuses everything."""
    if not expected or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].encode(), expected.encode())


@callbacks.post("/callbacks/notify/delivery-status")
def notify_delivery_status() -> Any:
    expected = current_app.config["PORTAL"].NOTIFY_CALLBACK_TOKEN
    if not bearer_token_matches(request.headers.get("Authorization"), expected):
        return jsonify(error="unauthorised"), 401
    receipt = request.get_json(silent=True)
    if not isinstance(receipt, dict) or not isinstance(receipt.get("id"), str):
        return jsonify(error="expected a JSON object with an id"), 400
    notify_status = str(receipt.get("status", ""))
    status = delivery_status(notify_status)
    if status is None:
        logger.warning("Notify callback with an unknown status", extra={"status": notify_status})
        return jsonify(recorded=False)
    reason = notify_status if notify_status in FAILURES else None
    recorded = record_delivery_status(receipt["id"], status, reason)
    if not recorded:
        logger.info("Notify callback for an unknown notification", extra={"status": status})
    return jsonify(recorded=recorded)
