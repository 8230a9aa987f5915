"""Many caseworkers claiming at once from the database queue: each item exactly once, none lost.

Runs on PostgreSQL, where the claims really run in parallel transactions (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import QueueItem, Role, utcnow
from portal.queue.backends import DatabaseQueue
from tests.conftest import POSTGRES_URL
from tests.helpers import make_user
from tests.queue_helpers import queued_applications

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="concurrency is tested on PostgreSQL")

WORKERS = 8
ITEMS = 1000


def claim_everything(
    app, queue, worker_ids, now=None
) -> tuple[list[uuid.UUID], list[BaseException]]:
    claimed: list[uuid.UUID] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(worker_ids))
    lock = threading.Lock()

    def work(worker_id: uuid.UUID) -> None:
        try:
            with app.app_context():
                barrier.wait()
                while (claim := queue.claim(worker_id, now=now)) is not None:
                    with lock:
                        claimed.append(claim.item_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in worker_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return claimed, errors


def test_eight_workers_claim_a_thousand_items_each_exactly_once(app):
    ids = queued_applications(app, ITEMS, priority_of=lambda i: i % 3)
    workers = [make_user(app, f"cw{n}@example.org", Role.CASEWORKER).id for n in range(WORKERS)]
    queue = DatabaseQueue(timedelta(minutes=30), max_receives=5)

    claimed, errors = claim_everything(app, queue, workers)

    assert not errors, errors[:3]
    assert len(claimed) == ITEMS
    assert Counter(claimed).most_common(1)[0][1] == 1, "an item was claimed twice"
    assert set(claimed) == set(ids), "an item was lost"
    with app.app_context():
        holders = db.session.scalar(select(func.count(func.distinct(QueueItem.claimed_by_id))))
        assert holders > 1, "the work was shared between workers"
        assert db.session.scalar(select(func.max(QueueItem.receive_count))) == 1


def test_expired_leases_are_reclaimed_and_poison_items_dead_lettered(app):
    ids = queued_applications(app, 50)
    workers = [make_user(app, f"cw{n}@example.org", Role.CASEWORKER).id for n in range(WORKERS)]
    queue = DatabaseQueue(timedelta(minutes=1), max_receives=2)
    now = utcnow()

    first, errors = claim_everything(app, queue, workers, now=now)
    assert not errors and sorted(first) == sorted(ids)
    # Everyone walked away: every lease runs out, and every item can be claimed once more.
    later = now + timedelta(minutes=2)
    second, errors = claim_everything(app, queue, workers, now=later)
    assert not errors and sorted(second) == sorted(ids)
    # Out of receives: the next claims find nothing, and every item is a dead letter.
    third, errors = claim_everything(app, queue, workers, now=later + timedelta(minutes=2))
    assert not errors and third == []
    with app.app_context():
        assert queue.dead_letter_count() == 50
        dead = db.session.scalar(
            select(func.count()).where(QueueItem.dead_lettered_at.is_not(None))
        )
        assert dead == 50
