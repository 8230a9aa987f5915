"""Drafts and answers: start, save each page at once, delete, withdraw, export.

This module is also apply's door for the other capabilities' pages (back office, support,
appointments, admin): what they may use of apply is in `__all__`, defined here or published
from the module that holds it (the lifecycle's rules, the windows, the summary, a family's
progress, the information requests, the decisions' names), so that those pages import nothing
else of apply but its neutral access helpers (apply.access) and answers (apply.answers).
tests/unit/test_published_interfaces.py keeps it so.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from flask import g, has_request_context
from sqlalchemy import ColumnElement, ScalarSelect, Table, bindparam, case, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from wtforms import Form

from portal import audit
from portal.apply import lifecycle, steps
from portal.apply.decisions import RULE_NAMES, Decision, FinalDecision
from portal.apply.families import family_progress
from portal.apply.information import requests_of
from portal.apply.lifecycle import Action, Finished, NotNow, allows, is_finished
from portal.apply.summary import status_name, summary_sections
from portal.apply.windows import (
    WindowChangeRefused,
    all_windows,
    announce_open_windows,
    change_window,
    close_now,
    create_window,
    pause,
    resume,
)
from portal.auth import sessions
from portal.documents import services as document_services
from portal.extensions import db
from portal.models import Application, Assistance, Status, User, utcnow
from portal.transactions import transactional

__all__ = [
    "RULE_NAMES",
    "Action",
    "Decision",
    "FinalDecision",
    "Finished",
    "NotNow",
    "WindowChangeRefused",
    "active_application",
    "add_family_member",
    "all_windows",
    "allows",
    "announce_open_windows",
    "answers_from_form",
    "change_window",
    "close_now",
    "complete_family_members",
    "create_window",
    "current_application",
    "current_application_id",
    "delete_draft",
    "export",
    "family_progress",
    "is_finished",
    "latest_assistance",
    "loaded_with_session",
    "pause",
    "remove_family_member",
    "requests_of",
    "resume",
    "save_step",
    "start_draft",
    "status_name",
    "summary_sections",
    "withdraw",
]

_NOT_ANSWERS = {"csrf_token", "submit", "save_and_exit"}


def active_application(user: User) -> Application | None:
    return db.session.scalar(
        select(Application).where(
            Application.applicant_id == user.id, Application.status != Status.WITHDRAWN.value
        )
    )


def _current_first(entity: Any) -> tuple[ColumnElement[Any], ...]:
    """current_application's order: the one not withdrawn, else the latest withdrawn one."""
    return (
        case((entity.status == Status.WITHDRAWN.value, 1), else_=0),
        entity.created_at.desc(),
    )


# Built once, for every applicant page: SQLAlchemy keeps a built statement's cache key, which it
# otherwise computes again on every request (more CPU than the query itself, bench/floor.py).
_CURRENT_APPLICATION = (
    select(Application)
    .where(
        Application.applicant_id == bindparam("applicant_id"),
        Application.anonymised_at.is_(None),
    )
    .order_by(*_current_first(Application))
    .limit(1)
)
# In `g`: (user id, application) found by the request's session check, for the first call only.
_LOADED_WITH_SESSION = "application_loaded_with_session"
_APPLICATIONS = cast(Table, Application.__table__)
_SAVE_ANSWERS = (
    update(_APPLICATIONS)
    .where(
        _APPLICATIONS.c.id == bindparam("application_id"),
        _APPLICATIONS.c.status == Status.DRAFT.value,
    )
    .values(answers=bindparam("answers"), updated_at=bindparam("updated_at"))
)


def current_application(user: User) -> Application | None:
    """The application the person's pages are about: the one that is not withdrawn, else the
    latest withdrawn one, which stays visible (status, copy of the data) until retention
    removes it. One query, or none when the request's session check brought it (the first call
    of a request only: a later one, after the request changed something, asks again)."""
    loaded = g.pop(_LOADED_WITH_SESSION, None) if has_request_context() else None
    if loaded is not None and loaded[0] == user.id:
        return loaded[1]
    return db.session.scalar(_CURRENT_APPLICATION, {"applicant_id": user.id})


def current_application_id(user_id: ColumnElement[uuid.UUID]) -> ScalarSelect[uuid.UUID]:
    """current_application's choice as a subquery on a users row: the session check
    (auth.routes.load_user) loads the application in its own SELECT, one round trip fewer on
    every applicant page."""
    own = aliased(Application)
    return (
        select(own.id)
        .where(own.applicant_id == user_id, own.anonymised_at.is_(None))
        .order_by(*_current_first(own))
        .limit(1)
        .scalar_subquery()
    )


def loaded_with_session(user: User, application: Application | None) -> None:
    """Keep what the session check found, for this request's first current_application."""
    setattr(g, _LOADED_WITH_SESSION, (user.id, application))


@transactional
def start_draft(user: User, eligibility: dict[str, str]) -> Application:
    """Open a draft for a person who has passed the eligibility questions."""
    existing = active_application(user)
    if existing is not None:
        return existing
    application = Application(applicant_id=user.id, eligibility=dict(eligibility), answers={})
    db.session.add(application)
    db.session.flush()
    audit.record("draft_started", subject_type="application", subject_id=application.id)
    return application


def answers_from_form(form: Form) -> dict[str, Any]:
    """The form's data as JSON: dates as ISO strings."""
    data = {}
    for name, value in form.data.items():
        if name in _NOT_ANSWERS:
            continue
        data[name] = value.isoformat() if isinstance(value, dt.date) else value
    return data


@transactional
def save_step(application: Application, step_name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Save one page's answers at once, and drop answers that no longer apply. Returns the
    answers as saved. The statement below bypasses the ORM; the loaded row is then given the saved
    answers as its database state (no second UPDATE), because rows are not expired on commit and
    whatever reads this row next in the same session must not see the old answers."""
    _require_draft(application)
    answers = dict(application.answers)
    answers[step_name] = data
    saved = steps.prune(answers)
    if saved != application.answers:
        # One UPDATE statement, not the ORM's unit of work around it (most of a POST's server
        # time, bench/floor.py); it also refuses a draft sent or withdrawn since it was read.
        changed = db.session.execute(
            _SAVE_ANSWERS,
            {"application_id": application.id, "answers": saved, "updated_at": utcnow()},
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
            raise lifecycle.IllegalTransition("only a draft can be changed")
        set_committed_value(application, "answers", saved)
    return saved


@transactional
def add_family_member(application: Application, member: dict[str, Any]) -> None:
    _require_draft(application)
    answers = dict(application.answers)
    current = dict(answers.get("family_members") or {"members": []})
    current["members"] = [*current.get("members", []), {**member, "id": uuid.uuid4().hex}]
    current["complete"] = False
    answers["family_members"] = current
    application.answers = answers


@transactional
def remove_family_member(application: Application, member_id: str) -> None:
    _require_draft(application)
    answers = dict(application.answers)
    current = dict(answers.get("family_members") or {"members": []})
    current["members"] = [m for m in current.get("members", []) if m.get("id") != member_id]
    current["complete"] = bool(current["members"]) and current.get("complete", False)
    answers["family_members"] = current
    application.answers = answers


@transactional
def complete_family_members(application: Application) -> bool:
    """Mark the list of family members finished; it must name at least one person."""
    _require_draft(application)
    answers = dict(application.answers)
    current = dict(answers.get("family_members") or {"members": []})
    if not current.get("members"):
        return False
    current["complete"] = True
    answers["family_members"] = current
    application.answers = answers
    return True


def delete_draft(application: Application) -> None:
    """A draft that was never sent can be deleted, with every answer in it. The stored files go
    once the rows' deletion has committed: a failed deletion keeps the documents it names."""
    keys = _delete_draft_rows(application)
    document_services.delete_objects(keys)


@transactional
def _delete_draft_rows(application: Application) -> list[str]:
    _require_draft(application)
    audit.record("draft_deleted", subject_type="application", subject_id=application.id)
    keys = document_services.delete_all(application)
    db.session.flush()
    db.session.delete(application)
    return keys


@transactional
def withdraw(application: Application, actor: User) -> None:
    now = utcnow()
    for undo in lifecycle.ON_WITHDRAWAL:
        undo(application, actor, now)
    lifecycle.transition(
        application, Status.WITHDRAWN, actor_id=actor.id, reason="withdrawn by the applicant"
    )


@transactional
def export(application: Application, user: User) -> dict[str, Any]:
    """Everything the person gave us, for their copy (the right of access): the application
    their pages show, and any earlier one (withdrawn) that retention has not deleted yet."""
    audit.record("application_exported", subject_type="application", subject_id=application.id)
    earlier = db.session.scalars(
        select(Application)
        .where(
            Application.applicant_id == user.id,
            Application.id != application.id,
            Application.anonymised_at.is_(None),
        )
        .order_by(Application.created_at.desc())
    )
    return {
        "account": {"email": user.email, "language": user.locale},
        "application": _export_one(application),
        "earlier_applications": [_export_one(other) for other in earlier],
    }


def _export_one(application: Application) -> dict[str, Any]:
    return {
        "reference": application.reference,
        "status": application.status,
        "started_at": application.created_at.isoformat(),
        "submitted_at": application.submitted_at.isoformat() if application.submitted_at else None,
        "family_reference": application.family_group.reference
        if application.family_group
        else None,
        "eligibility": application.eligibility,
        "documents": [
            {
                "kind": d.kind,
                "part": d.part,
                "name": d.original_name,
                "type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
                "uploaded_at": d.created_at.isoformat(),
            }
            for d in document_services.documents_of(application)
        ],
        "answers": application.answers,
        "history": [
            {"from": c.from_status, "to": c.to_status, "at": c.occurred_at.isoformat()}
            for c in application.status_changes
        ],
    }


def _require_draft(application: Application) -> None:
    if application.status_enum is not Status.DRAFT:
        raise lifecycle.IllegalTransition("only a draft can be changed")


def latest_assistance(applicant_id: uuid.UUID) -> Assistance | None:
    """The help an application had, ended or not, for the caseworker and the applicant to see."""
    return db.session.scalar(
        select(Assistance)
        .where(Assistance.applicant_id == applicant_id)
        .order_by(Assistance.created_at.desc())
        .limit(1)
    )


sessions.bring_with_session(
    sessions.Companion(
        entity=Application,
        on=lambda user_id: Application.id == current_application_id(user_id),
        receive=loaded_with_session,
    )
)
