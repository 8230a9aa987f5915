"""Who may open an applicant's page, and with which application: every applicant page, in
apply/ and in the capabilities that add pages to the journey (documents, appointments), is
wrapped by these, so none of them imports another's routes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, redirect, url_for

from portal.apply import services
from portal.auth.access import signed_in_required
from portal.models import Application, Status
from portal.support import services as support


def applicant_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed in as an applicant, with the applicant's own application passed in (or None).

    Nobody ever reaches another person's application: the application is always the one that
    belongs to the signed-in applicant (or the applicant a support worker of their organisation is
    acting for, see support.services), never one named in the URL.
    """

    @signed_in_required
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        applicant = support.applicant_in_charge()
        if applicant is None:
            abort(404)
        g.applicant = applicant
        return view(services.current_application(applicant), *args, **kwargs)

    return wrapped


def draft_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """An applicant page that only makes sense while the application is a draft."""

    @applicant_view
    @wraps(view)
    def wrapped(application: Application | None, *args: Any, **kwargs: Any) -> Any:
        if application is None:
            return redirect(url_for("apply.start"))
        if application.status_enum is not Status.DRAFT:
            return redirect(url_for("apply.status"))
        return view(application, *args, **kwargs)

    return wrapped
