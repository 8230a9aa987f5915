"""Many applicants booking or moving at once: a slot is never overbooked, a place never lost.

Runs on PostgreSQL, where the bookings really run in parallel transactions: the conditional
UPDATE on the slot's `booked` count and the unique partial index on active appointments are what
hold, not a read-then-write in Python.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import create_app
from portal.appointments import booking
from portal.appointments.booking import BookingRefused, Refusal
from portal.config import PortalConfig
from portal.extensions import db
from portal.models import Application, Appointment, AppointmentStatus, Slot, Status, User, utcnow
from tests.appointment_helpers import invited_applications, make_centre, make_slot
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="concurrency is tested on PostgreSQL")

THREADS = 50

# A job loads what it needs in its thread and returns the call to make once everyone is ready.
Job = Callable[[], Callable[[], object]]


@pytest.fixture
def app(config: PortalConfig) -> Iterator[Flask]:
    """The usual app with a pool that has a connection for every thread: with the default pool
    (5 + 10 overflow) most threads would wait for a connection while the rest wait at the
    barrier, and the bookings would not start at once."""
    options = config.flask_settings()["SQLALCHEMY_ENGINES"]["default"]
    engines = {"default": {**options, "pool_size": THREADS + 5, "max_overflow": 0}}
    application = create_app(config, SQLALCHEMY_ENGINES=engines)
    yield application
    with application.app_context():
        db.engine.dispose()


def soon() -> datetime:
    """Inside the booking horizon and outside the cut-off, so only capacity can refuse."""
    return (utcnow() + timedelta(days=5)).replace(second=0, microsecond=0)


def all_at_once(
    app: Flask, jobs: list[Job]
) -> tuple[list[object], list[BookingRefused], list[BaseException]]:
    """Run each job in its own thread and app context, released together by a barrier, so that
    the loading (and the connection it checks out) is done before anyone starts booking."""
    done: list[object] = []
    refused: list[BookingRefused] = []
    errors: list[BaseException] = []
    # A timeout, so that a thread that fails before the barrier breaks it instead of hanging.
    barrier = threading.Barrier(len(jobs), timeout=60)
    lock = threading.Lock()

    def work(job: Job) -> None:
        try:
            with app.app_context():
                call = job()
                barrier.wait()
                try:
                    result = call()
                except BookingRefused as refusal:
                    with lock:
                        refused.append(refusal)
                else:
                    with lock:
                        done.append(result)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done, refused, errors


def booking_of(user_id: uuid.UUID, application_id: uuid.UUID, slot_id: uuid.UUID) -> Job:
    """A job booking one application into a slot, acting as its applicant."""

    def load() -> Callable[[], object]:
        application = db.session.get(Application, application_id)
        actor = db.session.get(User, user_id)
        now = utcnow()
        return lambda: booking.book([application], slot_id, actor, now)

    return load


def count_appointments(status: AppointmentStatus, slot_id: uuid.UUID | None = None) -> int:
    query = select(func.count()).select_from(Appointment).where(Appointment.status == status.value)
    if slot_id is not None:
        query = query.where(Appointment.slot_id == slot_id)
    return db.session.scalar(query)


def count_applications(status: Status) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Application).where(Application.status == status.value)
    )


def test_fifty_applicants_racing_for_three_places_get_exactly_three(app):
    slot_id = make_slot(app, make_centre(app), soon(), capacity=3)
    people = invited_applications(app, THREADS)

    done, refused, errors = all_at_once(
        app, [booking_of(user_id, application_id, slot_id) for user_id, application_id in people]
    )

    assert not errors, errors[:3]
    assert len(done) == 3
    assert len(refused) == THREADS - 3
    assert {refusal.refusal for refusal in refused} == {Refusal.TAKEN}
    with app.app_context():
        assert db.session.get(Slot, slot_id).booked == 3
        assert count_appointments(AppointmentStatus.BOOKED) == 3
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 3
        assert count_applications(Status.APPOINTMENT_BOOKED) == 3
        assert count_applications(Status.INVITED_TO_BIOMETRICS) == THREADS - 3


def test_one_application_booked_ten_times_at_once_is_booked_once(app):
    slot_id = make_slot(app, make_centre(app), soon(), capacity=20)
    [(user_id, application_id)] = invited_applications(app, 1)

    done, refused, errors = all_at_once(
        app, [booking_of(user_id, application_id, slot_id) for _ in range(10)]
    )

    assert not errors, errors[:3]
    assert len(done) == 1
    assert len(refused) == 9
    # The losers find the application no longer invited (its conditional transition, or the
    # unique index on active appointments): no place is taken for them.
    assert {refusal.refusal for refusal in refused} == {Refusal.NOT_INVITED}
    with app.app_context():
        assert db.session.get(Slot, slot_id).booked == 1
        assert count_appointments(AppointmentStatus.BOOKED) == 1
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
        assert db.session.get(Application, application_id).status == (
            Status.APPOINTMENT_BOOKED.value
        )


def test_twenty_moves_into_ten_places_neither_lose_nor_double_a_booking(app):
    centre_id = make_centre(app)
    start = soon()
    first = make_slot(app, centre_id, start, capacity=20)
    second = make_slot(app, centre_id, start + timedelta(hours=1), capacity=10)
    people = invited_applications(app, 20)
    with app.app_context():
        now = utcnow()
        for user_id, application_id in people:
            application = db.session.get(Application, application_id)
            booking.book([application], first, db.session.get(User, user_id), now)

    def moving(user_id: uuid.UUID, application_id: uuid.UUID) -> Job:
        def load() -> Callable[[], object]:
            appointment = booking.current_appointment(db.session.get(Application, application_id))
            actor = db.session.get(User, user_id)
            now = utcnow()
            return lambda: booking.move([appointment], second, actor, now)

        return load

    done, refused, errors = all_at_once(app, [moving(*person) for person in people])

    assert not errors, errors[:3]
    assert len(done) == 10
    assert len(refused) == 10
    assert {refusal.refusal for refusal in refused} == {Refusal.TAKEN}
    with app.app_context():
        assert db.session.get(Slot, first).booked == 10
        assert db.session.get(Slot, second).booked == 10
        assert count_appointments(AppointmentStatus.BOOKED, first) == 10
        assert count_appointments(AppointmentStatus.BOOKED, second) == 10
        assert count_appointments(AppointmentStatus.MOVED) == 10
        active = count_appointments(AppointmentStatus.BOOKED)
        assert active == 20
        assert db.session.scalar(select(func.sum(Slot.booked))) == active
        # Everyone still holds exactly one place, in one slot or the other.
        holders = select(func.count(func.distinct(Appointment.application_id))).where(
            Appointment.status == AppointmentStatus.BOOKED.value
        )
        assert db.session.scalar(holders) == 20
        assert count_applications(Status.APPOINTMENT_BOOKED) == 20


def test_applicants_swapping_slots_at_once_all_move(app):
    centre_id = make_centre(app)
    start = soon()
    pairs = [
        (
            make_slot(app, centre_id, start + timedelta(hours=2 * n), capacity=5),
            make_slot(app, centre_id, start + timedelta(hours=2 * n + 1), capacity=5),
        )
        for n in range(20)
    ]
    people = invited_applications(app, 2 * len(pairs))
    moves = []
    with app.app_context():
        now = utcnow()
        for (one, other), first, second in zip(pairs, people[::2], people[1::2], strict=True):
            for (user_id, application_id), here, there in (
                (first, one, other),
                (second, other, one),
            ):
                application = db.session.get(Application, application_id)
                booking.book([application], here, db.session.get(User, user_id), now)
                moves.append((user_id, application_id, there))

    def moving(user_id: uuid.UUID, application_id: uuid.UUID, slot_id: uuid.UUID) -> Job:
        def load() -> Callable[[], object]:
            appointment = booking.current_appointment(db.session.get(Application, application_id))
            actor = db.session.get(User, user_id)
            now = utcnow()
            return lambda: booking.move([appointment], slot_id, actor, now)

        return load

    done, refused, errors = all_at_once(app, [moving(*move) for move in moves])

    assert not errors, errors[:3]
    assert not refused, refused[:3]
    assert len(done) == len(moves)
    with app.app_context():
        assert set(db.session.scalars(select(Slot.booked))) == {1}
        assert count_appointments(AppointmentStatus.BOOKED) == len(moves)
        assert count_appointments(AppointmentStatus.MOVED) == len(moves)
