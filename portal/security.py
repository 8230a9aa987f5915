"""Security headers, caching rules for personal pages, and the friendly answer to a stale form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, render_template, request, session
from flask_wtf.csrf import CSRFError

# No inline script or style anywhere: every script and stylesheet is a file under /assets/.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)

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
    """Headers on every response; personal pages are never kept by browsers or proxies."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
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

    Only such a view may be run again after its CSRF token was refused (to show the answers with
    a message): running it again cannot do anything, because the form refuses to validate.
    """
    view.rerun_on_csrf_failure = True  # type: ignore[attr-defined]
    return view


def csrf_failed() -> bool:
    """True while a view is being re-run because its form's security token was refused."""
    return bool(g.get("csrf_failed"))


def handle_csrf_error(error: CSRFError) -> Any:
    """Re-render the page the form came from, with the answers typed and a translated message.

    The view runs again with `csrf_failed` set; PortalForm then refuses to validate, so nothing the
    form would do happens, and the person sees their answers with a request to send them again.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, "rerun_on_csrf_failure", False):
        return render_template("errors/400.html"), 400
    g.csrf_failed = True
    response = current_app.make_response(view(**(request.view_args or {})))
    # A redirect (to sign in again, say) stays one: a 400 with a Location leads nowhere.
    if not 300 <= response.status_code < 400:
        response.status_code = 400
    return response


def init_app(app: Flask) -> None:
    app.after_request(apply_security_headers)
    app.register_error_handler(CSRFError, handle_csrf_error)
