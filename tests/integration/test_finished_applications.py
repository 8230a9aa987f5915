"""Nothing acts on a finished application: every action, on every final state, is refused by the
transition function (lifecycle.permit) and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.apply import information, lifecycle, references
from portal.apply.decisions import Decision, FinalDecision
from portal.appointments import booking, centres
from portal.backoffice import decisions
from portal.extensions import db
from portal.models import (
    Application,
    Appointment,
    AuditEvent,
    Centre,
    CheckName,
    CheckOutcome,
    CheckRecord,
    InformationRequest,
    QueueItem,
    Role,
    Slot,
    Status,
    StatusChange,
    User,
    utcnow,
)
from tests.helpers import sent_messages


@dataclass
class Scene:
    """An application for which every action would be possible but for its state: a caseworker
    holds its queue item, it has an open request, a booked appointment and a free slot."""

    application: Application
    applicant: User
    worker: User
    appointment: Appointment
    free_slot: uuid.UUID


def _scene(status: Status) -> Scene:
    now = utcnow()
    applicant = User(email=f"a-{uuid.uuid4().hex}@example.org", role=Role.APPLICANT)
    worker = User(email=f"cw-{uuid.uuid4().hex}@example.org", role=Role.CASEWORKER)
    db.session.add_all([applicant, worker])
    db.session.flush()
    application = Application(
        applicant_id=applicant.id,
        status=status.value,
        answers={
            "applicant_type": {"applicant_type": "main"},
            "names": {"given_names": "Amina", "family_name": "Kareem"},
            "contact": {"email": applicant.email, "mobile": "06 12 34 56 78"},
        },
        eligibility={},
        reference=references.new_reference(),
        submitted_at=now - timedelta(days=20),
    )
    db.session.add(application)
    db.session.flush()
    db.session.add(
        QueueItem(
            application_id=application.id,
            kind="application_submitted",
            body={},
            submitted_at=application.submitted_at,
            claimed_by_id=worker.id,
            claimed_at=now,
            available_at=now + timedelta(minutes=30),
            receive_count=1,
        )
    )
    db.session.add(
        InformationRequest(
            application_id=application.id, topics=["other"], requested_by_id=worker.id
        )
    )
    centre = Centre(
        name="Centre de Lille",
        address="20 rue Jean Sans Peur",
        city="Lille",
        opening_hours="9 to 5",
        accessibility="Step-free",
    )
    db.session.add(centre)
    db.session.flush()
    # The appointment is over (attendance could be recorded); the free slot is days ahead.
    past = Slot(
        centre_id=centre.id,
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(hours=1, minutes=40),
        capacity=3,
        booked=1,
    )
    ahead = Slot(
        centre_id=centre.id,
        starts_at=now + timedelta(days=5),
        ends_at=now + timedelta(days=5, minutes=20),
        capacity=3,
    )
    db.session.add_all([past, ahead])
    db.session.flush()
    appointment = Appointment(
        application_id=application.id, slot_id=past.id, booked_by_id=applicant.id
    )
    db.session.add(appointment)
    db.session.commit()
    return Scene(application, applicant, worker, appointment, ahead.id)


ACTIONS: dict[str, Callable[[Scene], Any]] = {
    "record a check": lambda s: decisions.record_check(
        s.application, s.worker, CheckName.IDENTITY, CheckOutcome.PASSED, ""
    ),
    "invite": lambda s: decisions.decide(s.application, s.worker, Decision.INVITE),
    "ask for more information": lambda s: decisions.decide(
        s.application, s.worker, Decision.MORE_INFORMATION, topics=["other"]
    ),
    "reject as not valid": lambda s: decisions.decide(
        s.application, s.worker, Decision.INVALID, rule="identity_not_confirmed"
    ),
    "reject as not eligible": lambda s: decisions.decide(
        s.application, s.worker, Decision.INELIGIBLE, rule="not_in_france"
    ),
    "approve": lambda s: decisions.final_decision(
        s.application, s.worker, FinalDecision.APPROVE, security_outcome=CheckOutcome.PASSED
    ),
    "refuse": lambda s: decisions.final_decision(
        s.application,
        s.worker,
        FinalDecision.REFUSE,
        security_outcome=CheckOutcome.FAILED,
        rule="security",
    ),
    "book": lambda s: booking.book([s.application], s.free_slot, s.applicant, utcnow()),
    "move the appointment": lambda s: booking.move(
        [s.appointment], s.free_slot, s.applicant, utcnow()
    ),
    "cancel the appointment": lambda s: booking.cancel([s.appointment], s.applicant, utcnow()),
    "record enrolled": lambda s: centres.record_outcome(
        s.appointment, s.worker, utcnow(), enrolled=True
    ),
    "record did not come": lambda s: centres.record_outcome(
        s.appointment, s.worker, utcnow(), enrolled=False
    ),
    "answer the information request": lambda s: information.answer(
        s.application, information.open_request(s.application), s.applicant, "Here is my answer"
    ),
}


def _finished_refusal(error: BaseException | None) -> lifecycle.Finished | None:
    """The lifecycle's refusal behind what the action raised (services wrap it in their own)."""
    while error is not None:
        if isinstance(error, lifecycle.Finished):
            return error
        error = error.__cause__
    return None


def _footprint(application_id: uuid.UUID) -> dict[str, Any]:
    """Everything an action could write."""

    def count(model: Any, *where: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "status": db.session.scalar(
            select(Application.status).where(Application.id == application_id)
        ),
        "status changes": count(StatusChange),
        "checks": count(CheckRecord),
        "requests": count(InformationRequest),
        "answered": count(InformationRequest, InformationRequest.answered_at.is_not(None)),
        "audit": count(AuditEvent),
        "appointments": sorted(db.session.scalars(select(Appointment.status))),
        "places": sorted(db.session.scalars(select(Slot.booked))),
        "items done": count(QueueItem, QueueItem.completed_at.is_not(None)),
        "items waiting": count(QueueItem),
    }


@pytest.mark.parametrize("final", sorted(lifecycle.FINAL))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_on_every_finished_application_is_refused_and_writes_nothing(
    app, action, final
):
    with app.app_context():
        scene = _scene(final)
        before = _footprint(scene.application.id)
        sent = len(sent_messages(app))
        with pytest.raises(Exception) as raised:
            ACTIONS[action](scene)
        refusal = _finished_refusal(raised.value)
        assert refusal is not None, f"{action} was not refused by the lifecycle: {raised.value!r}"
        assert refusal.status is final
        assert final.value.replace("_", " ") in str(refusal)
        db.session.rollback()
        assert _footprint(scene.application.id) == before
        assert len(sent_messages(app)) == sent, "nobody is told of a change that did not happen"


def test_every_action_is_allowed_in_some_state_and_never_in_a_final_one():
    assert set(lifecycle.WHEN) == set(lifecycle.Action)
    for action, states in lifecycle.WHEN.items():
        assert states, action
        assert not states & lifecycle.FINAL, action


@pytest.mark.parametrize("final", sorted(lifecycle.FINAL))
def test_a_finished_application_moves_nowhere_and_says_why(app, final):
    with app.app_context():
        scene = _scene(final)
        with pytest.raises(lifecycle.Finished) as raised:
            lifecycle.transition(scene.application, Status.SUBMITTED, actor_id=None)
        assert scene.application.reference in str(raised.value)
        assert "finished" in str(raised.value)
