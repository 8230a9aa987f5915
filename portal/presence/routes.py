"""The presence-in-France page that the link in the confirmation message opens."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from portal.presence import checks

presence = Blueprint("presence", __name__)


@presence.route("/presence/<token>", methods=["GET", "POST"])
def check(token: str) -> Any:
    found = checks.find_check(token)
    if request.method == "GET":
        if not checks.is_usable(found):
            return render_template("presence/expired.html"), 410 if found else 404
        return render_template("presence/check.html")
    if found is None:
        abort(404)
    payload = request.get_json(silent=True) or {}
    if payload.get("refused"):
        outcome = checks.PresenceOutcome.REFUSED
        accuracy = None
    else:
        try:
            latitude, longitude = float(payload["latitude"]), float(payload["longitude"])
            accuracy = float(payload["accuracy"]) if payload.get("accuracy") is not None else None
        except (KeyError, TypeError, ValueError):
            abort(400)
        if accuracy is not None and not math.isfinite(accuracy):
            accuracy = None
        outcome = checks.judge_position(latitude, longitude)
    if not checks.record_outcome(found, outcome, accuracy):
        return jsonify(next=url_for("presence.check", token=token)), 409
    return jsonify(next=url_for("presence.result", token=token))


@presence.route("/presence/<token>/result")
def result(token: str) -> Any:
    found = checks.find_check(token)
    if found is None or found.outcome is None:
        abort(404)
    return render_template("presence/result.html", outcome=found.outcome)
