"""The factories (tests/factories.py) build what the pages build: the same answers, files,
status, family, queue message, messages and audit trail as the same application filled in and
sent page by page. Tests that use the factories rely on this."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Application, AuditEvent, Document, Notification, QueueItem, User
from tests import apply_helpers, factories

MEMBERS = [
    {"full_name": "Sami Kareem", "relationship": "child", "date_of_birth": ["4", "5", "2015"]},
]


def state_of(app, email: str) -> dict:
    """What the two ways of building must agree on, without ids, keys and times."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        application = db.session.scalar(
            select(Application).where(Application.applicant_id == user.id)
        )
        answers = dict(application.answers)
        if "family_members" in answers:
            answers["family_members"] = {
                **answers["family_members"],
                "members": [
                    {k: v for k, v in m.items() if k != "id"}
                    for m in answers["family_members"]["members"]
                ],
            }
        documents = db.session.scalars(
            select(Document).where(Document.application_id == application.id)
        ).all()
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_id == str(application.id))
            .order_by(AuditEvent.id)
        ).all()
        return {
            "status": application.status,
            "eligibility": application.eligibility,
            "answers": answers,
            "has_reference": application.reference is not None,
            "family": application.family_group_id is not None,
            "documents": sorted(
                (
                    d.kind,
                    d.part,
                    d.original_name,
                    d.detected_type,
                    d.size,
                    d.uploaded_by_id == user.id,
                )
                for d in documents
            ),
            "audit": [(e.action, e.actor_id == user.id) for e in events],
            "queue": db.session.scalars(
                select(QueueItem.kind).where(QueueItem.application_id == application.id)
            ).all(),
            "messages": sorted(
                db.session.scalars(
                    select(Notification.template).where(
                        Notification.application_id == application.id
                    )
                ).all()
            ),
        }


def test_a_sent_application_is_the_same_built_either_way(app):
    apply_helpers.send_application(app.test_client(), app, "pages@example.org")
    factories.send_application(app.test_client(), app, "factory@example.org")
    by_pages, by_factory = state_of(app, "pages@example.org"), state_of(app, "factory@example.org")
    by_pages["answers"]["contact"]["email"] = by_factory["answers"]["contact"]["email"]
    assert by_factory == by_pages


def test_a_family_application_is_the_same_built_either_way(app):
    apply_helpers.open_a_window(app)
    apply_helpers.send_main_with_family(app.test_client(), app, MEMBERS, "pages@example.org")
    pages = [
        (name, {**data, "email": "factory@example.org"} if name == "contact" else data)
        for name, data in apply_helpers.MAIN_APPLICANT_ALONE
    ]
    pages[1] = ("travelling", {"travelling": "with_family"})
    factories.sent(app, "factory@example.org", pages, members=MEMBERS)
    by_pages, by_factory = state_of(app, "pages@example.org"), state_of(app, "factory@example.org")
    by_pages["answers"]["contact"]["email"] = by_factory["answers"]["contact"]["email"]
    assert by_factory == by_pages
