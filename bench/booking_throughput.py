"""How fast applicants can book biometric appointments, and whether a crowd is answered correctly.

Throughput: 1, 8 and 32 clients (threads, one pooled connection each) book 960 invited
applications, each its own, into slots of 3 places taken in turn (a shared counter gives attempt n
the slot n // 3, so the three bookings of a slot meet on its row). The baseline, measured in the
same run with the same number of threads and connections, is a transaction that only reads one
row by its key and commits: the ratio says what a booking costs beyond a database round trip.
The clients are threads of one interpreter: if bookings/s stays flat as they grow, the limit is
the Python side of a booking (about a dozen statements through the ORM, under the GIL), not the
database's locks.

Contention: 32 clients go through the same 40 slots of 3 places in the same order, each trying
to book one of its applications into every slot, so 29 attempts in 32 must be refused. An attempt
is answered correctly if it booked (and its slot did not end up over capacity) or was refused as
TAKEN by a slot that really ended up full; an error, another refusal or an overbooking is wrong.
Afterwards every slot must hold booked <= capacity, as many appointments as each slot counts,
and the appointments must add up to the sum of `booked`.

Runs on a database of its own (eoi_bench_booking), dropped at the end:

    .venv/bin/python bench/booking_throughput.py        (PostgreSQL on 127.0.0.1:5432 needed)
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, fresh_database, run_threads  # noqa: E402
from portal import create_app, migrate  # noqa: E402
from portal.appointments import booking  # noqa: E402
from portal.appointments.booking import BookingRefused, Refusal  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    Application,
    Appointment,
    AppointmentStatus,
    Base,
    Slot,
    User,
    utcnow,
)
from tests.appointment_helpers import invited_applications, make_centre  # noqa: E402
from tests.conftest import make_config  # noqa: E402

DATABASE = "eoi_bench_booking"
CLIENTS = (1, 8, 32)
BOOKINGS = 960
PLACES = 3
CONTENDED_CLIENTS = 32
CONTENDED_SLOTS = 40


def reset(app: Flask) -> None:
    """Empty every table, so each run starts from the same state (TRUNCATE, as the tests do:
    the audit log's append-only trigger refuses DELETE)."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with app.app_context():
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


def make_slots(app: Flask, count: int) -> list[uuid.UUID]:
    """`count` slots of PLACES places, 20 minutes apart from five days ahead: inside the booking
    horizon, so only capacity can refuse. One insert, so setting up is not what is measured."""
    centre_id = make_centre(app)
    first = (utcnow() + timedelta(days=5)).replace(second=0, microsecond=0)
    rows = [
        {
            "id": uuid.uuid4(),
            "centre_id": centre_id,
            "starts_at": first + timedelta(minutes=20 * n),
            "ends_at": first + timedelta(minutes=20 * n + 20),
            "capacity": PLACES,
            "booked": 0,
            "closed": False,
        }
        for n in range(count)
    ]
    with app.app_context():
        db.session.execute(insert(Slot), rows)
        db.session.commit()
    return [row["id"] for row in rows]


def book_one(user_id: uuid.UUID, application_id: uuid.UUID, slot_id: uuid.UUID) -> None:
    """What the booking page does: load the applicant and the application, and book."""
    application = db.session.get(Application, application_id)
    actor = db.session.get(User, user_id)
    booking.book([application], slot_id, actor, utcnow())


def check_slots(app: Flask) -> dict[uuid.UUID, tuple[int, int, int]]:
    """Each slot's capacity, booked count and active appointments; the invariants asserted."""
    with app.app_context():
        slots = {
            slot_id: (capacity, booked)
            for slot_id, capacity, booked in db.session.execute(
                select(Slot.id, Slot.capacity, Slot.booked)
            )
        }
        active = Counter(
            dict(
                db.session.execute(
                    select(Appointment.slot_id, func.count())
                    .where(Appointment.status == AppointmentStatus.BOOKED.value)
                    .group_by(Appointment.slot_id)
                ).all()
            )
        )
        holders = db.session.scalar(
            select(func.count(func.distinct(Appointment.application_id))).where(
                Appointment.status == AppointmentStatus.BOOKED.value
            )
        )
    assert all(booked <= capacity for capacity, booked in slots.values()), "a slot overbooked"
    assert all(active[slot_id] == booked for slot_id, (_, booked) in slots.items()), (
        "a slot's booked count differs from its appointments"
    )
    assert sum(active.values()) == sum(booked for _, booked in slots.values())
    assert holders == sum(active.values()), "an application holds two places"
    return {
        slot_id: (capacity, booked, active[slot_id])
        for slot_id, (capacity, booked) in slots.items()
    }


def bench_bookings(app: Flask) -> list[tuple[int, float, float]]:
    rows = []
    for count in CLIENTS:
        reset(app)
        slots = make_slots(app, BOOKINGS // PLACES)
        people = invited_applications(app, BOOKINGS)
        turn = iter(range(BOOKINGS))
        lock = threading.Lock()

        def book(index: int, people=people, slots=slots, turn=turn, lock=lock) -> None:
            while True:
                with lock:
                    attempt = next(turn, None)
                if attempt is None:
                    return
                user_id, application_id = people[attempt]
                book_one(user_id, application_id, slots[attempt // PLACES])

        booking_time = run_threads(app, count, book)
        slot_counts = check_slots(app)
        assert all(booked == PLACES for _, booked, _ in slot_counts.values()), "a booking failed"
        share = BOOKINGS // count

        def baseline(index: int, people=people, share=share) -> None:
            for _, application_id in people[index * share : (index + 1) * share]:
                db.session.execute(select(Application.id).where(Application.id == application_id))
                db.session.commit()

        baseline_time = run_threads(app, count, baseline)
        rows.append((count, BOOKINGS / booking_time, (share * count) / baseline_time))
    return rows


def bench_contention(app: Flask) -> tuple[int, Counter[str], int, float]:
    """32 clients through the same slots in the same order: attempts per outcome, and how many
    were answered correctly, judged against how full each slot ended."""
    reset(app)
    slots = make_slots(app, CONTENDED_SLOTS)
    people = invited_applications(app, CONTENDED_CLIENTS * CONTENDED_SLOTS)
    outcomes: list[list[tuple[uuid.UUID, str]]] = [[] for _ in range(CONTENDED_CLIENTS)]

    def attempt_every_slot(index: int) -> None:
        # A client can win every slot, so it has one application per slot, used in turn.
        own = iter(people[index * CONTENDED_SLOTS : (index + 1) * CONTENDED_SLOTS])
        user_id, application_id = next(own)
        for slot_id in slots:
            try:
                book_one(user_id, application_id, slot_id)
            except BookingRefused as refusal:
                outcome = "taken" if refusal.refusal is Refusal.TAKEN else refusal.refusal.value
                db.session.rollback()
            except Exception as exc:  # an error is a wrong answer, counted, not a crash
                outcome = f"error {type(exc).__name__}"
                db.session.rollback()
            else:
                outcome = "booked"
                user_id, application_id = next(own, (None, None))
            outcomes[index].append((slot_id, outcome))
            if application_id is None:
                return

    elapsed = run_threads(app, CONTENDED_CLIENTS, attempt_every_slot)
    slot_counts = check_slots(app)
    attempts = [attempt for client in outcomes for attempt in client]
    won = Counter(slot_id for slot_id, outcome in attempts if outcome == "booked")
    correct = 0
    for slot_id, outcome in attempts:
        capacity, booked, _ = slot_counts[slot_id]
        if outcome == "booked":
            correct += won[slot_id] == booked and booked <= capacity
        elif outcome == "taken":
            correct += booked == capacity
    return len(attempts), Counter(outcome for _, outcome in attempts), correct, elapsed


def build_app(url: str, instance: Path) -> Flask:
    """The portal's app with a pool of one connection per client (and a spare for setting up),
    so no client waits for a connection: what is measured is the database's work."""
    config = make_config(url, instance)
    options = config.flask_settings()["SQLALCHEMY_ENGINES"]["default"]
    engines = {"default": {**options, "pool_size": max(CLIENTS) + 2, "max_overflow": 0}}
    return create_app(config, SQLALCHEMY_ENGINES=engines)


def main() -> None:
    started = time.perf_counter()
    url = fresh_database(DATABASE)
    try:
        app = build_app(url, Path(tempfile.mkdtemp()))
        migrate.upgrade(app)
        with app.app_context():
            # The migration leaves a lock_timeout on the connection it used: start clean.
            db.engine.dispose()
        rows = bench_bookings(app)
        attempts, outcomes, correct, elapsed = bench_contention(app)
        with app.app_context():
            db.engine.dispose()
    finally:
        drop_database(DATABASE)

    print(
        f"Bookings on PostgreSQL ({BOOKINGS} bookings into slots of {PLACES}; "
        "baseline: read one row by key and commit)"
    )
    print(f"{'clients':>8} {'bookings/s':>10} {'baseline/s':>11} {'ratio':>6}")
    for count, rate, baseline in rows:
        print(f"{count:>8} {rate:>10.0f} {baseline:>11.0f} {rate / baseline:>6.2f}")
    print()
    refused = attempts - outcomes["booked"]
    others = ", ".join(
        f"{n} {name}" for name, n in outcomes.items() if name not in ("booked", "taken")
    )
    print(
        f"Contended: {CONTENDED_CLIENTS} clients, {CONTENDED_SLOTS} slots of {PLACES}: "
        f"{attempts} attempts, {outcomes['booked']} booked, {refused} refused "
        f"({outcomes['taken']} taken{', ' + others if others else ''}), "
        f"{attempts / elapsed:.0f} attempts/s; "
        f"answered correctly {correct}/{attempts} = {100 * correct / attempts:.1f}%"
    )
    print(f"(whole run, setting up included: {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
