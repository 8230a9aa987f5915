"""Applications in any state, built through the service layer rather than page by page.

Filling in the form through the pages (tests/apply_helpers.py) costs about sixty requests per
application, each rendered and parsed: right for the tests of the journey itself, but most tests
only need an application that exists and is sent, with or without a family, to test what comes
after. These factories run the same code the pages run, in the same order, minus the HTTP: each
page's answers go through its own form (so they are saved exactly as the page saves them) and
`save_step`; files through `documents.services.upload` (scanned, cleaned and stored as uploaded);
sending through `submission.submit` (reference, place in the window, queue message, confirmation
message). Audit entries name the applicant as their actor, as on the pages: the work runs in a
request context where the applicant is signed in.

The test client is then signed in through the sign-in page, as the page-by-page helpers leave it,
so a test goes on from the same place whichever helper built its application.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.apply import services, steps, submission
from portal.apply.forms import FamilyMemberForm
from portal.documents import rules as document_rules
from portal.documents import services as document_services
from portal.extensions import db
from portal.models import Application, DocumentKind, User
from tests.apply_helpers import (
    ELIGIBLE,
    MAIN_APPLICANT_ALONE,
    open_a_window,
    pdf_bytes,
    photo_bytes,
)
from tests.helpers import make_user, sign_in

Pages = Iterable[tuple[str, dict[str, str | list[str]]]]


@contextmanager
def signed_in_as(app: Flask, email: str, locale: str = "en") -> Iterator[User]:
    """A request context of `email`'s, signed in, for the service calls a page would make."""
    with app.test_request_context(f"/{locale}/application/tasks"):
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, f"no account for {email}"
        # Flask-Login's current user for this context (a real sign-in needs a session row, which
        # the sign-in page makes afterwards): audit entries then name the applicant, as on a page.
        g._login_user = user
        yield user


def page_answer(name: str, data: dict[str, str | list[str]]) -> dict[str, Any]:
    """One page's answer as the page saves it: the form data through the page's own form."""
    form = steps.step(name).form(formdata=MultiDict(data), meta={"csrf": False})
    assert form.validate(), (name, form.errors)
    return services.answers_from_form(form)


def answer_pages(application: Application, pages: Pages) -> None:
    """Save each page's answers in turn, as pressing "Save and continue" on each would."""
    for name, data in pages:
        if name == "family_members":
            raise ValueError("family members are added with add_family_members")
        services.save_step(application, name, page_answer(name, data))


def add_family_members(application: Application, members: list[dict[str, Any]]) -> None:
    """The "add another" page: each person added, then the list marked complete."""
    for member in members:
        form = FamilyMemberForm(formdata=MultiDict(member), meta={"csrf": False})
        assert form.validate(), form.errors
        services.add_family_member(application, services.answers_from_form(form))
    assert services.complete_family_members(application)


def upload_required_documents(application: Application, user: User) -> None:
    """The files the answers ask for, as the page-by-page helper uploads them: the passport's
    data page and a photo, and a relationship certificate wherever the page offers one."""
    files = [
        (DocumentKind.IDENTITY, "data_page", photo_bytes(), "passport.jpg"),
        (DocumentKind.PHOTO, None, photo_bytes(colour="orange"), "face.jpg"),
        (DocumentKind.RELATIONSHIP, None, pdf_bytes(), "certificate.pdf"),
    ]
    for kind, part, content, name in files:
        counts = document_services.counts(document_services.documents_of(application))
        if kind is DocumentKind.RELATIONSHIP and not document_rules.may_add(
            application.answers, kind, counts
        ):
            continue
        document_services.upload(
            application,
            user,
            document_services.Upload(kind=kind, part=part, name=name, stream=io.BytesIO(content)),
        )
    assert not document_services.missing_kinds(application), document_services.missing_kinds(
        application
    )


def send(application: Application, user: User) -> None:
    """Press "send" on the complete draft."""
    result = submission.submit(application, user, submission_key=uuid.uuid4().hex)
    assert result.outcome is submission.Outcome.SUBMITTED, result.outcome


def draft(
    app: Flask,
    email: str = "amina@example.org",
    pages: Pages = MAIN_APPLICANT_ALONE,
    *,
    locale: str = "en",
    members: list[dict[str, Any]] | None = None,
    documents: bool = True,
) -> uuid.UUID:
    """A new account with a draft: eligible, these pages answered (family members added after
    the first two pages when given) and, when the pages finish the form, its files uploaded.
    Returns the application's id."""
    make_user(app, email)
    pages = list(pages)
    with signed_in_as(app, email, locale) as user:
        application = services.start_draft(user, ELIGIBLE)
        if members is not None:
            answer_pages(application, pages[:2])
            add_family_members(application, members)
            pages = pages[2:]
        answer_pages(application, pages)
        if documents and pages and pages[-1][0] == "languages":
            upload_required_documents(application, user)
        return application.id


def sent(
    app: Flask,
    email: str = "amina@example.org",
    pages: Pages = MAIN_APPLICANT_ALONE,
    *,
    locale: str = "en",
    members: list[dict[str, Any]] | None = None,
) -> uuid.UUID:
    """A sent application (a window must be open): `draft`, then sent. Returns its id."""
    application_id = draft(app, email, pages, locale=locale, members=members)
    with signed_in_as(app, email, locale) as user:
        application = db.session.get(Application, application_id)
        assert application is not None
        send(application, user)
    return application_id


def send_application(client: FlaskClient, app: Flask, email: str = "amina@example.org") -> None:
    """What apply_helpers.send_application leaves (a window open, a main applicant alone whose
    application is sent, the client signed in as them), built through the services."""
    open_a_window(app)
    sent(app, email)
    response = sign_in(client, email)
    assert response.status_code == 302, response.text[-2000:]
