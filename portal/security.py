"""Security headers, caching rules for personal pages, and the friendly answer to a stale form."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, render_template, request, session
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from portal.extensions import db

logger = logging.getLogger(__name__)

# The key, in the database session's `info`, that makes every commit fail.
WRITES_REFUSED = "portal.writes_refused"


def content_security_policy(upload_origin: str | None = None) -> str:
    """No inline script or style anywhere: every script and stylesheet is a file under /assets/.

    With uploads sent straight to S3 the bucket's origin is the one other place a form may post
    to, and the upload script send to: it is named only then (portal/documents/incoming.py).
    """
    elsewhere = f" {upload_origin}" if upload_origin else ""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self'{elsewhere}",
            f"form-action 'self'{elsewhere}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
# Where the app keeps its own policy when it differs from the default (allow_uploads_to).
_POLICY = "portal.content_security_policy"

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), payment=(), geolocation=(self)",
}

View = TypeVar("View", bound=Callable[..., Any])

HSTS = "max-age=31536000; includeSubDomains"


def apply_security_headers(response: Response) -> Response:
    """Headers on every response; personal pages are never kept by browsers or proxies. A header
    the page set itself (a served document's sandbox policy) is kept: the names present are read
    once, where `Headers.setdefault` would search the list of headers for each of ours. The
    policy is this app's (it names the document bucket when uploads go there directly)."""
    present = {name.lower() for name, _ in response.headers.items()}
    policy = current_app.extensions.get(_POLICY, SECURITY_HEADERS["Content-Security-Policy"])
    response.headers.extend(
        [
            (name, policy if name == "Content-Security-Policy" else value)
            for name, value in SECURITY_HEADERS.items()
            if name.lower() not in present
        ]
    )
    if current_app.config["PORTAL"].is_production:
        response.headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "asset" and (
        # The cookie names a signed-in session: no need to load the user (or reach the database).
        session.get("_user_id") or request.method != "GET" or g.get("no_store")
    ):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def form_page(view: View) -> View:
    """Mark a view whose every action sits behind PortalForm.validate_on_submit().

    Only such a view is run again after its CSRF token was refused, to show the answers with a
    message: its form refuses to validate then, and the database refuses to commit anyway.
    """
    view.rerun_on_csrf_failure = True  # type: ignore[attr-defined]  # a mark on the function, read with getattr
    return view


class WritesRefused(RuntimeError):
    """Something tried to commit in a request whose CSRF token was refused."""


def csrf_failed() -> bool:
    """True for the rest of a request whose security token was refused: it may change nothing."""
    return bool(g.get("csrf_failed"))


def refuse_commit(session: Session) -> None:
    """The session's `before_commit` hook: a refused request never commits, whatever runs in it.

    Raising (rather than quietly rolling back) stops the code after the commit too, such as the
    removal of a deleted document's stored bytes, which must follow only a change that happened.
    """
    if session.info.get(WRITES_REFUSED):
        raise WritesRefused("a request whose CSRF token was refused tried to commit")


def handle_csrf_error(error: CSRFError) -> Any:
    """Answer a refused token without changing anything, and never with a 500.

    A form page is run again, with writes refused, to show the person their answers and a
    translated message (PortalForm refuses to validate). The answer keeps the status the view
    gives (a redirect, a 404 for an unknown page, a 429 for too many tries); a page it would show
    is a 400. Any other failure of that second run is the generic 400 page. The person's cookie
    session is put back as it was, so no flash message or sign-in state comes from the run.
    """
    g.csrf_failed = True
    db.session.rollback()
    db.session.info[WRITES_REFUSED] = True
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, "rerun_on_csrf_failure", False):
        return render_template("errors/400.html"), 400
    kept = dict(session)
    try:
        response = current_app.make_response(view(**(request.view_args or {})))  # type: ignore[arg-type]  # a view's return value is a response value
    except HTTPException as aborted:
        response = current_app.make_response(current_app.handle_http_exception(aborted))
    except Exception:
        logger.warning("a form page run again for a refused token failed", exc_info=True)
        response = current_app.make_response((render_template("errors/400.html"), 400))
    finally:
        db.session.rollback()
        if dict(session) != kept:
            session.clear()
            session.update(kept)
    if response.status_code < 300:
        response.status_code = 400
    return response


def end_refusal(error: BaseException | None) -> None:
    """The app context (and its database session) can outlive a request, in tests: the next
    request starts with writes allowed."""
    if g.pop("csrf_failed", False):
        db.session.info.pop(WRITES_REFUSED, None)


def allow_uploads_to(app: Flask, origin: str) -> None:
    """Let this app's pages post files to `origin` (the documents bucket), and nowhere else new."""
    app.extensions[_POLICY] = content_security_policy(origin)


def init_app(app: Flask) -> None:
    app.after_request(apply_security_headers)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.teardown_request(end_refusal)
    with app.app_context():
        event.listen(db.sessionmaker, "before_commit", refuse_commit)
