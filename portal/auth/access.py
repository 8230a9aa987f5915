"""Who may see a page: signed in, staff with two-factor passed, a role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, url_for
from flask_login import current_user

from portal.extensions import login_manager
from portal.models import Role

__all__ = ["View", "second_factor_redirect", "signed_in_required", "staff_required"]

View = TypeVar("View", bound=Callable[..., Any])


def second_factor_redirect() -> Any:
    """Where staff go until they have passed two-factor authentication in this session."""
    if current_user.totp_confirmed_at is None:
        return redirect(url_for("auth.two_factor_setup"))
    return redirect(url_for("auth.two_factor"))


def signed_in_required(view: View) -> View:
    """Signed in, and for staff, past two-factor authentication."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.needs_second_factor:
            return second_factor_redirect()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]  # functools.wraps keeps the view's signature


def staff_required(*roles: Role) -> Callable[[View], View]:
    """Staff of one of the roles, past two-factor. Anyone else gets 404: the page is not theirs."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            role = current_user.role_enum
            if not role.is_staff or (roles and role not in roles):
                abort(404)
            if current_user.needs_second_factor:
                return second_factor_redirect()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]  # functools.wraps keeps the view's signature

    return decorator
