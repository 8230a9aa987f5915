"""Health for the load balancer and the orchestrator.

/healthz (liveness): the process answers and reaches its database. /readyz (readiness): the
database, the document store and the checking queue are all reachable, so the instance can take
traffic; a failing dependency takes it out of the pool without restarting it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.documents import services as document_services
from portal.extensions import db
from portal.queue.backends import checking_queue

health = Blueprint("health", __name__)
logger = logging.getLogger(__name__)


def database_state() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        logger.exception("database health check failed")
        db.session.rollback()
        return "unavailable"
    return "ok"


@health.route("/healthz")
def healthz() -> Any:
    checks = {"database": database_state()}
    healthy = all(state == "ok" for state in checks.values())
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _state(check: Callable[[], bool], name: str) -> str:
    try:
        return "ok" if check() else "unavailable"
    except Exception:
        logger.exception("readiness check failed", extra={"dependency": name})
        return "unavailable"


@health.route("/readyz")
def readyz() -> Any:
    checks = {
        "database": database_state(),
        "storage": _state(lambda: document_services.storage().reachable(), "storage"),
        "queue": _state(lambda: checking_queue().reachable(), "queue"),
    }
    ready = all(state == "ok" for state in checks.values())
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
