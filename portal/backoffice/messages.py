"""The caseworker's view of an application's messages, and sending one again. English only, like
the rest of the back office; every view is audited (it shows addresses and texts)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for

from portal import audit
from portal.auth.access import staff_required
from portal.models import Application
from portal.notify import services as notify_services
from portal.staff_access import CASEWORK, english_only, object_or_404

staff_messages = Blueprint("staff_messages", __name__)
staff_messages.before_request(english_only)


@staff_messages.app_template_global()
def undelivered_messages(application: Application) -> list[Any]:
    """For the application page: presence links and appointment messages that never arrived."""
    return notify_services.undelivered(application)


@staff_messages.route("/applications/<application_id>/messages")
@staff_required(*CASEWORK)
def messages(application_id: str) -> Any:
    application = object_or_404(Application, application_id)
    listed = notify_services.messages_of(application)
    audit.record_now(
        "application_messages_viewed", subject_type="application", subject_id=application.id
    )
    return render_template(
        "backoffice/messages.html",
        application=application,
        messages=listed,
        masked=notify_services.masked,
        can_resend=notify_services.can_resend,
    )


@staff_messages.route(
    "/applications/<application_id>/messages/<message_id>/resend", methods=["POST"]
)
@staff_required(*CASEWORK)
def resend(application_id: str, message_id: str) -> Any:
    application = object_or_404(Application, application_id)
    if notify_services.resend(application, message_id) is None:
        flash(
            "That message cannot be sent again. A link or code is never resent: the applicant asks for a new one."
        )
    else:
        flash("The message is queued to be sent again.")
    return redirect(url_for("staff_messages.messages", application_id=application.id))
