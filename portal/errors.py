"""Generic, translated error pages: nobody is turned away by a message they cannot read."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)

PAGES = (400, 403, 404, 405, 413, 429, 500)


def render_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    template = f"errors/{code}.html" if code in PAGES else "errors/500.html"
    return render_template(template), code


def render_unexpected(error: Exception) -> tuple[str, int]:
    logger.exception("unhandled error", exc_info=error)
    return render_error(InternalServerError())


def init_app(app: Flask) -> None:
    for code in PAGES:
        app.register_error_handler(code, render_error)
    app.register_error_handler(Exception, render_unexpected)
