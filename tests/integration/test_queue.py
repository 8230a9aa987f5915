"""The checking queue on the database backend: outbox, order, leases, dead letters."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Application, QueueItem, Role, Status, utcnow
from portal.queue import messages
from portal.queue.backends import DatabaseQueue, checking_queue
from tests.apply_helpers import fill_in, open_a_window, start_application
from tests.factories import send_application
from tests.helpers import csrf_token, make_user
from tests.queue_helpers import queued_applications


def items(app) -> list[QueueItem]:
    with app.app_context():
        rows = list(db.session.scalars(select(QueueItem)))
        db.session.expunge_all()
        return rows


def test_sending_writes_one_valid_message_with_the_application(app, client):
    send_application(client, app)
    [item] = items(app)
    with app.app_context():
        application = db.session.get(Application, item.application_id)
        assert application.status == Status.SUBMITTED.value
        messages.validate(item.body)
        body = item.body
        assert body["reference"] == application.reference
        assert body["message_id"] == str(item.id)
        # Syrian with a brother in the UK: both priority rules apply.
        assert body["priority_reasons"] == ["family_in_uk", "high_grant_nationality"]
        assert item.priority == body["priority"] == 3
        assert {d["kind"] for d in body["documents"]} == {"identity", "photo"}
        assert all(len(d["sha256"]) == 64 for d in body["documents"])
    text = str(body)
    for personal in ("Amina", "Kareem", "amina@example.org", "Aleppo", "N0123456"):
        assert personal not in text, personal


def test_a_failed_commit_sends_nothing_and_keeps_the_draft(app, client):
    from portal.apply import submission

    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    page = client.get("/en/application/check-your-answers")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1)
    with mock.patch.object(
        submission, "_send_confirmation", side_effect=RuntimeError("mail server exploded")
    ):
        response = client.post(
            "/en/application/check-your-answers",
            data={"csrf_token": csrf_token(page.text), "submission_key": key},
        )
    assert response.status_code == 500
    assert items(app) == []
    with app.app_context():
        [application] = db.session.scalars(select(Application))
        assert application.status == Status.DRAFT.value


def test_a_message_that_breaks_the_schema_is_refused():
    with pytest.raises(messages.InvalidMessage):
        messages.validate({"schema_version": 1, "message_id": "not-a-uuid"})


def test_priority_first_then_time_of_sending(app):
    ids = queued_applications(app, 6, priority_of=lambda i: 2 if i in (3, 5) else 0)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        order = [queue.claim(worker.id).item_id for _ in range(6)]
        assert queue.claim(worker.id) is None
    assert order == [ids[3], ids[5], ids[0], ids[1], ids[2], ids[4]]


def test_an_expired_lease_makes_the_item_claimable_again(app):
    [item_id] = queued_applications(app, 1)
    first = make_user(app, "first@example.org", Role.CASEWORKER)
    second = make_user(app, "second@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        claim = queue.claim(first.id)
        assert claim.item_id == item_id
        assert queue.claim(second.id) is None
        later = claim.lease_until + timedelta(seconds=1)
        again = queue.claim(second.id, now=later)
        assert again is not None and again.item_id == item_id
        # The first caseworker's lease is over: they can no longer finish it.
        assert queue.complete(item_id, first.id) is False
        row = db.session.get(QueueItem, item_id)
        assert row.receive_count == 2 and row.claimed_by_id == second.id


def test_release_gives_the_item_back_at_once(app):
    [item_id] = queued_applications(app, 1)
    first = make_user(app, "first@example.org", Role.CASEWORKER)
    second = make_user(app, "second@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        queue.claim(first.id)
        assert queue.release(item_id, second.id) is False
        assert queue.release(item_id, first.id) is True
        assert queue.claim(second.id).item_id == item_id


def test_extend_pushes_the_lease_for_its_holder_only(app):
    [item_id] = queued_applications(app, 1)
    holder = make_user(app, "first@example.org", Role.CASEWORKER)
    other = make_user(app, "second@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        claim = queue.claim(holder.id)
        assert queue.extend(item_id, other.id) is None
        extended = queue.extend(item_id, holder.id)
        assert extended is not None and extended >= claim.lease_until


def test_a_poison_item_goes_to_the_dead_letters_after_the_most_receives(app):
    [item_id] = queued_applications(app, 1)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = DatabaseQueue(timedelta(minutes=1), max_receives=3)
        now = utcnow()
        for attempt in range(3):
            claim = queue.claim(worker.id, now=now)
            assert claim is not None and claim.item_id == item_id, attempt
            now = claim.lease_until + timedelta(seconds=1)
        assert queue.claim(worker.id, now=now) is None
        row = db.session.get(QueueItem, item_id)
        assert row.dead_lettered_at is not None and row.completed_at is None
        assert queue.dead_letter_count() == 1


def test_completing_is_done_once_and_by_the_holder(app):
    [item_id] = queued_applications(app, 1)
    worker = make_user(app, "cw@example.org", Role.CASEWORKER)
    with app.app_context():
        queue = checking_queue()
        queue.claim(worker.id)
        assert queue.complete(item_id, worker.id) is True
        db.session.commit()
        assert queue.complete(item_id, worker.id) is False
        assert queue.claim(worker.id) is None
        done = db.session.scalar(
            select(func.count()).select_from(QueueItem).where(QueueItem.completed_at.is_not(None))
        )
        assert done == 1
