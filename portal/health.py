"""Health for the orchestrator and the load balancer: two questions, two endpoints.

/livez (the container's check): is this process alive and answering? It touches nothing else, so
a database failover, a slow S3 or a burst of traffic never makes the orchestrator kill healthy
processes (replacing every task at once turned a 60-second failover into minutes of 502s).

/readyz (the load balancer's check): can this instance serve requests now? The database, the
document store and the checking queue each answer within a few seconds or count as unavailable,
so a hung dependency gives a quick 503, never a check that hangs. The target group's thresholds
(infra/cloudformation.yaml) ride out a Multi-AZ failover before the instance is replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from portal.documents import services as document_services
from portal.extensions import db
from portal.queue import services as queue_services

health = Blueprint("health", __name__)
logger = logging.getLogger(__name__)

# The database's answer to SELECT 1 within this; connecting is bounded by the engine's
# connect_timeout (portal.config.engine_options).
STATEMENT_TIMEOUT_MS = 2000


@health.route("/livez")
def livez() -> Any:
    return _no_store(jsonify(status="ok"))


def database_reachable() -> bool:
    """SELECT 1, given at most STATEMENT_TIMEOUT_MS on PostgreSQL; the transaction ends here."""
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        db.session.execute(text("SELECT 1"))
        return True
    finally:
        db.session.rollback()


def _state(check: Callable[[], bool], name: str) -> str:
    try:
        return "ok" if check() else "unavailable"
    except Exception:
        logger.warning("readiness check failed", extra={"dependency": name}, exc_info=True)
        return "unavailable"


@health.route("/readyz")
def readyz() -> Any:
    checks = {
        "database": _state(database_reachable, "database"),
        "storage": _state(lambda: document_services.storage().reachable(), "storage"),
        "queue": _state(lambda: queue_services.checking_queue().reachable(), "queue"),
    }
    ready = all(state == "ok" for state in checks.values())
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    return _no_store(response)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
