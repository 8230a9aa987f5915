"""Who may open an applicant's page, and with which application: every applicant page, in
apply/ and in the capabilities that add pages to the journey (documents, appointments), is
wrapped by these, so none of them imports another's routes.

The applicant in charge is the signed-in applicant, or the applicant a support worker of their
organisation is acting for: support's pages start and stop the acting, checked here at every
request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, has_request_context, redirect, session, url_for
from flask_login import current_user

from portal import audit
from portal.apply import services
from portal.auth.access import signed_in_required
from portal.extensions import db
from portal.models import Application, Assistance, Organisation, Role, Status, User
from portal.transactions import transactional

__all__ = [
    "ACTING_KEY",
    "NotAllowed",
    "acting_assistance",
    "applicant_in_charge",
    "applicant_view",
    "assistance_for_worker",
    "begin_acting",
    "draft_view",
    "stop_acting",
    "worker_organisation",
]

ACTING_KEY = "acting_for"


class NotAllowed(Exception):
    """The worker may not act for this applicant (another organisation, ended, removed)."""


def applicant_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed in as an applicant, with the applicant's own application passed in (or None).

    Nobody ever reaches another person's application: the application is always the one that
    belongs to the signed-in applicant (or the applicant a support worker of their organisation is
    acting for), never one named in the URL.
    """

    @signed_in_required
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        applicant = applicant_in_charge()
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


def worker_organisation(worker: User) -> Organisation | None:
    """The worker's organisation if both are active; otherwise the worker may help nobody."""
    if worker.role_enum is not Role.SUPPORT or worker.organisation_id is None:
        return None
    organisation = db.session.get(Organisation, worker.organisation_id)
    return organisation if organisation is not None and organisation.active else None


def assistance_for_worker(worker: User, assistance_id: str) -> Assistance:
    """An assistance of the worker's organisation that has not ended, or NotAllowed (logged)."""
    organisation = worker_organisation(worker)
    try:
        assistance = db.session.get(Assistance, uuid.UUID(assistance_id))
    except ValueError:
        assistance = None
    if (
        organisation is None
        or assistance is None
        or assistance.organisation_id != organisation.id
        or assistance.ended_at is not None
    ):
        # Kept although the request goes no further: a refusal is what the log is for.
        audit.record_now(
            "assistance.access_refused",
            actor_id=worker.id,
            subject_type="assistance",
            subject_id=assistance_id[:64],
        )
        raise NotAllowed
    return assistance


@transactional
def begin_acting(worker: User, assistance: Assistance) -> None:
    session[ACTING_KEY] = str(assistance.id)
    audit.record(
        "assistance.acting_started",
        actor_id=worker.id,
        subject_type="assistance",
        subject_id=assistance.id,
    )


def stop_acting() -> None:
    session.pop(ACTING_KEY, None)


def acting_assistance() -> Assistance | None:
    """The assistance the signed-in worker is acting under in this request, checked every time:
    a worker removed from the organisation, or help that ended, stops at the next request."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    if current_user.role_enum is not Role.SUPPORT:
        return None
    if "acting_assistance" in g:
        return g.acting_assistance
    chosen = session.get(ACTING_KEY)
    assistance = None
    if chosen:
        try:
            assistance = assistance_for_worker(current_user, chosen)
        except NotAllowed:
            stop_acting()
    g.acting_assistance = assistance
    return assistance


def applicant_in_charge() -> User | None:
    """Whose application the applicant's pages are about: the signed-in applicant, or the
    applicant a support worker is acting for; None for anyone else."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    if current_user.role_enum is Role.APPLICANT:
        return current_user
    assistance = acting_assistance()
    return assistance.applicant if assistance is not None else None
