"""Generic, translated error pages: nobody is turned away by a message they cannot read."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db, login_manager

logger = logging.getLogger(__name__)

PAGES = (400, 403, 404, 405, 413, 429, 500)


def render_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    template = f"errors/{code}.html" if code in PAGES else "errors/500.html"
    return render_template(template), code


def render_unexpected(error: Exception) -> tuple[str, int]:
    """Log the error and show the translated 500 page; if even that fails (say the database is
    down and the layout needs the signed-in user), show the page that needs nothing."""
    logger.exception("unhandled error", exc_info=error)
    db.session.rollback()
    try:
        return render_error(InternalServerError())
    except Exception:
        logger.exception("the error page itself failed")
        db.session.rollback()
        # Flask-Login would try to load the user again for the template context: treat this
        # request as anonymous instead.
        g._login_user = login_manager.anonymous_user()
        return render_template("errors/unavailable.html"), 500


def init_app(app: Flask) -> None:
    for code in PAGES:
        app.register_error_handler(code, render_error)
    app.register_error_handler(Exception, render_unexpected)
