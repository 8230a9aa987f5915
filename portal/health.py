"""Liveness for the load balancer: is the process up and can it reach its database?"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db

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
