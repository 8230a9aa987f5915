"""Messages to an applicant about their application, on every channel they gave us."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from portal import notify
from portal.apply.answers import answers_of
from portal.extensions import db
from portal.models import Application, Assistance, User
from portal.urls import absolute_url


def message_locale(application: Application, user: User) -> str:
    return answers_of(application).message_language or user.locale


def organisation_copy(applicant_id: uuid.UUID) -> str | None:
    """Where a copy of the applicant's messages goes when they chose to be reached through the
    organisation helping them (no email of their own, or a phone they share)."""
    assistance = db.session.scalar(
        select(Assistance).where(
            Assistance.applicant_id == applicant_id,
            Assistance.ended_at.is_(None),
            Assistance.contact_through_organisation.is_(True),
        )
    )
    return assistance.organisation.contact_email if assistance else None


def tell_applicant(
    application: Application,
    template: str,
    attachments: tuple[notify.Attachment, ...] = (),
    **context: Any,
) -> None:
    """Email and text the applicant in the language they chose for messages.

    The email goes to the contact address of the application, else the account's; the text to the
    mobile number they gave; a copy to the organisation helping them if they asked for that.
    Every message carries the reference and a link to the status page.
    """
    user = db.session.get(User, application.applicant_id)
    if user is None:
        return
    locale = message_locale(application, user)
    answers = answers_of(application)
    context = {
        "reference": application.reference,
        "status_url": absolute_url("apply.status", locale=locale),
        **context,
    }
    email = answers.contact_email or user.email
    rows = []
    if email:
        rows.append(notify.send_email(email, template, locale, attachments, **context))
    if answers.contact_mobile:
        rows.append(notify.send_sms(answers.contact_mobile, template, locale, **context))
    copy_to = organisation_copy(application.applicant_id)
    if copy_to and copy_to != email:
        rows.append(notify.send_email(copy_to, template, locale, attachments, **context))
    for row in rows:
        # So the status page and the caseworker's panel list it with the application.
        row.application_id, row.user_id = application.id, user.id


def locale_of(application: Application) -> str:
    """The language of the applicant's messages, for text rendered outside a template."""
    user = db.session.get(User, application.applicant_id)
    return message_locale(application, user) if user else "en"
