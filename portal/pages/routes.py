"""The service's public pages: start, privacy, accessibility, cookies; and the root redirect."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for

from portal.i18n import guess_locale

pages = Blueprint("pages", __name__)
root = Blueprint("root", __name__)


@root.route("/")
def choose_language() -> Any:
    """Send a visitor to their language: remembered, else the browser's, else English."""
    locale = guess_locale(request.accept_languages, session.get("locale"))
    response = redirect(url_for("pages.start", locale=locale))
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


@pages.route("/")
def start() -> Any:
    return render_template("pages/start.html")


@pages.route("/privacy")
def privacy() -> Any:
    return render_template("pages/privacy.html")


@pages.route("/accessibility")
def accessibility() -> Any:
    return render_template("pages/accessibility.html")


@pages.route("/cookies")
def cookies() -> Any:
    return render_template("pages/cookies.html")
