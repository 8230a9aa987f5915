"""Centres, slots and invited applications made straight in the database, for the appointment
tests (the pages that lead to an invitation are tested elsewhere)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select, update

from portal.apply import references
from portal.extensions import db
from portal.models import Application, Centre, Slot, Status, StatusChange, User, utcnow


def make_centre(app: Flask, name: str = "Centre de Lille") -> uuid.UUID:
    with app.app_context():
        centre = Centre(
            name=name,
            address="20 rue Jean Sans Peur, 59000 Lille",
            city="Lille",
            opening_hours="Monday to Friday, 9am to 5pm",
            accessibility="step_free staff_help",
        )
        db.session.add(centre)
        db.session.commit()
        return centre.id


def make_slot(
    app: Flask, centre_id: uuid.UUID, starts_at: datetime, capacity: int = 3, minutes: int = 20
) -> uuid.UUID:
    with app.app_context():
        slot = Slot(
            centre_id=centre_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            capacity=capacity,
        )
        db.session.add(slot)
        db.session.commit()
        return slot.id


def invite(app: Flask, application_id: uuid.UUID, invited_at: datetime | None = None) -> None:
    """Move a sent application to "invited to biometrics", as a caseworker's decision would."""
    with app.app_context():
        db.session.execute(
            update(Application)
            .where(Application.id == application_id)
            .values(status=Status.INVITED_TO_BIOMETRICS.value)
        )
        db.session.add(
            StatusChange(
                application_id=application_id,
                from_status=Status.IN_CHECKS.value,
                to_status=Status.INVITED_TO_BIOMETRICS.value,
                reason="invite",
                occurred_at=invited_at or utcnow(),
            )
        )
        db.session.commit()


def application_of(app: Flask, email: str) -> uuid.UUID:
    with app.app_context():
        return db.session.scalar(
            select(Application.id)
            .join(User, User.id == Application.applicant_id)
            .where(User.email == email)
        )


def invited_applications(app: Flask, count: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """`count` invited applications with their own applicants: (user id, application id) pairs."""
    users, applications, changes = [], [], []
    now = utcnow()
    for index in range(count):
        user_id, application_id = uuid.uuid4(), uuid.uuid4()
        users.append({"id": user_id, "email": f"invited-{user_id.hex}@example.org"})
        applications.append(
            {
                "id": application_id,
                "applicant_id": user_id,
                "status": Status.INVITED_TO_BIOMETRICS.value,
                "answers": {
                    "applicant_type": {"applicant_type": "main"},
                    "names": {"given_names": "Test", "family_name": f"Person {index}"},
                },
                "eligibility": {},
                "reference": references.new_reference(),
                "submitted_at": now - timedelta(days=10),
            }
        )
        changes.append(
            {
                "id": uuid.uuid4(),
                "application_id": application_id,
                "from_status": Status.IN_CHECKS.value,
                "to_status": Status.INVITED_TO_BIOMETRICS.value,
                "reason": "invite",
                "occurred_at": now - timedelta(days=1),
            }
        )
    with app.app_context():
        db.session.execute(insert(User), users)
        db.session.execute(insert(Application), applications)
        db.session.execute(insert(StatusChange), changes)
        db.session.commit()
    pairs = zip(users, applications, strict=True)
    return [(user["id"], application["id"]) for user, application in pairs]


def move_slot(app: Flask, slot_id: uuid.UUID, starts_at: datetime, minutes: int = 20) -> None:
    """Put a slot at another time: the desk records attendance only from its start or end."""
    with app.app_context():
        db.session.execute(
            update(Slot)
            .where(Slot.id == slot_id)
            .values(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes))
        )
        db.session.commit()
