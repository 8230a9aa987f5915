"""Two requests sending the same application at the same moment: exactly one submission.

Runs on PostgreSQL, where the requests really run in parallel transactions.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.apply import submission
from portal.extensions import db
from portal.models import Application, ApplicationWindow, StatusChange, User
from tests.apply_helpers import MAIN_APPLICANT_ALONE, fill_in, open_a_window, start_application
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="concurrency is tested on PostgreSQL")


def test_concurrent_submits_of_the_same_application_submit_it_once(client, app):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    barrier = threading.Barrier(8)
    outcomes: list[submission.Outcome] = []
    errors: list[BaseException] = []

    def send(key: str) -> None:
        try:
            with app.test_request_context():
                application = db.session.scalar(select(Application))
                user = db.session.get(User, application.applicant_id)
                barrier.wait()
                outcomes.append(submission.submit(application, user, key).outcome)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(f"key-{n % 2}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert outcomes.count(submission.Outcome.SUBMITTED) == 1
    assert outcomes.count(submission.Outcome.ALREADY_SUBMITTED) == 7
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusChange)) == 1
        assert db.session.scalar(select(ApplicationWindow.places_taken)) == 1
        assert db.session.scalar(select(Application.status)) == "submitted"


def test_concurrent_submits_never_overfill_a_window(client, app):
    open_a_window(app, places=3)
    people = []
    for n in range(6):
        person = app.test_client()
        start_application(person, app, email=f"person{n}@example.org")
        fill_in(
            person,
            [
                (name, {**data, "email": f"person{n}@example.org"} if name == "contact" else data)
                for name, data in MAIN_APPLICANT_ALONE
            ],
        )
        people.append(person)
    barrier = threading.Barrier(6)
    outcomes: list[submission.Outcome] = []

    def send(application_id) -> None:
        with app.test_request_context():
            application = db.session.get(Application, application_id)
            user = db.session.get(User, application.applicant_id)
            barrier.wait()
            outcomes.append(submission.submit(application, user, f"key-{application_id}").outcome)

    with app.app_context():
        ids = list(db.session.scalars(select(Application.id)))
    threads = [threading.Thread(target=send, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(submission.Outcome.SUBMITTED) == 3
    assert outcomes.count(submission.Outcome.NO_WINDOW) == 3
    with app.app_context():
        assert db.session.scalar(select(ApplicationWindow.places_taken)) == 3
        assert (
            db.session.scalar(
                select(func.count()).select_from(Application).where(Application.status == "draft")
            )
            == 3
        )
