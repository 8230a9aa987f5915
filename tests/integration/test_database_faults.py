"""The database on a bad day: a constraint that is not the idempotency key's, a connection the
server killed, a row that names a row that does not exist."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from portal.apply import references
from portal.extensions import db
from portal.models import Application, QueueItem
from tests.apply_helpers import fill_in, open_a_window, send_application, start_application
from tests.conftest import POSTGRES_URL
from tests.helpers import csrf_token, sign_in


def _check_answers_post(client):
    import re

    page = client.get("/en/application/check-your-answers")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/en/application/check-your-answers",
        data={"csrf_token": csrf_token(page.text), "submission_key": key},
    )


def test_a_unique_violation_other_than_the_submission_key_is_an_error_the_applicant_is_told(
    app, client, monkeypatch, caplog
):
    first = app.test_client()
    send_application(first, app, "first@example.org")
    with app.app_context():
        taken = db.session.scalar(select(Application.reference))
    start_application(client, app, "second@example.org")
    fill_in(client)
    # Two applications drawn the same reference: the database refuses the second.
    monkeypatch.setattr(references, "new_reference", lambda prefix="": taken)

    with caplog.at_level(logging.ERROR):
        response = _check_answers_post(client)

    assert response.status_code == 200
    assert "could not be sent" in response.text
    assert any(record.levelno == logging.ERROR for record in caplog.records)
    with app.app_context():
        statuses = sorted(db.session.scalars(select(Application.status)))
    assert statuses == ["draft", "submitted"]

    # Nothing was lost: the same page, pressed again with a fresh reference, sends it.
    monkeypatch.undo()
    response = _check_answers_post(client)
    assert response.headers["Location"] == "/en/application/sent"


def test_the_same_form_sent_twice_is_still_already_sent(app, client):
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    import re

    page = client.get("/en/application/check-your-answers")
    data = {
        "csrf_token": csrf_token(page.text),
        "submission_key": re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1),
    }
    first = client.post("/en/application/check-your-answers", data=data)
    second = client.post("/en/application/check-your-answers", data=data)
    assert first.headers["Location"] == second.headers["Location"] == "/en/application/sent"


def test_a_row_naming_a_missing_row_is_refused_on_every_database(app):
    with app.app_context():
        db.session.add(
            QueueItem(
                application_id=uuid.uuid4(),
                kind="submitted",
                body={},
                submitted_at=datetime.now(UTC),
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


@pytest.mark.skipif(not POSTGRES_URL, reason="the server kills connections on PostgreSQL")
def test_connections_killed_by_the_server_do_not_fail_the_next_request(app, client):
    from tests.helpers import make_user

    make_user(app, "amina@example.org")
    # Fill the pool with a few open connections, as a worker has after some traffic.
    with app.app_context():
        engine = db.engine
        connections = [engine.connect() for _ in range(3)]
        for connection in connections:
            connection.execute(text("SELECT 1"))
        for connection in connections:
            connection.close()
        # A restart or failover: the server ends every session but this one.
        with engine.connect() as killer:
            killer.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    response = sign_in(client, "amina@example.org")
    assert response.status_code == 302
    assert client.get("/en/application/tasks").status_code in (200, 302)


@pytest.mark.skipif(not POSTGRES_URL, reason="the pool's ping on PostgreSQL")
def test_the_pools_ping_is_one_empty_query_and_finds_a_killed_connection(app):
    with app.app_context():
        engine = db.engine
        raw = engine.raw_connection()
        try:
            connection = raw.dbapi_connection

            def no_cursor(*args, **kwargs):
                raise AssertionError("the ping opened a cursor")

            connection.cursor = no_cursor
            assert engine.dialect.do_ping(connection) is True
            assert connection.pgconn.transaction_status == 0  # idle: no transaction was begun
            with engine.connect() as killer:
                killer.execute(
                    text("SELECT pg_terminate_backend(:pid)"),
                    {"pid": connection.info.backend_pid},
                )
            assert engine.dialect.do_ping(connection) is False
        finally:
            raw.invalidate()


class _CountingPgconn:
    """The libpq connection, with its round trips counted (the ping's only way to the server)."""

    def __init__(self, pgconn):
        self._pgconn = pgconn
        self.round_trips = 0

    def exec_(self, command):
        self.round_trips += 1
        return self._pgconn.exec_(command)

    def __getattr__(self, name):
        return getattr(self._pgconn, name)


@pytest.mark.skipif(not POSTGRES_URL, reason="the pool's ping on PostgreSQL")
def test_the_pools_ping_makes_a_round_trip_only_for_a_connection_that_may_be_gone(app, monkeypatch):
    import portal

    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        raw = engine.raw_connection()
        try:
            dbapi_connection = raw.dbapi_connection
            counted = _CountingPgconn(dbapi_connection.pgconn)
            dbapi_connection.pgconn = counted
            # Just back in the pool, nothing waiting on its socket: no round trip.
            assert engine.dialect.do_ping(dbapi_connection) is True
            assert counted.round_trips == 0
            # Back for longer than a middlebox may keep an idle flow: the round trip is made.
            monkeypatch.setattr(portal, "QUIET_CHECK_SECONDS", 0.0)
            assert engine.dialect.do_ping(dbapi_connection) is True
            assert counted.round_trips == 1
            monkeypatch.undo()
            # Ended by the server: its FATAL message and end of file wait on the socket.
            backend = dbapi_connection.info.backend_pid
            with engine.connect() as killer:
                killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": backend})
            assert engine.dialect.do_ping(dbapi_connection) is False
            assert counted.round_trips == 2
        finally:
            dbapi_connection.pgconn = counted._pgconn
            raw.invalidate()


@pytest.mark.skipif(not POSTGRES_URL, reason="the server kills connections on PostgreSQL")
def test_a_connection_killed_between_two_requests_does_not_fail_the_saving_one(app, client):
    import psycopg

    from tests.apply_helpers import start_application

    start_application(client, app)
    page = client.get("/en/application/questions/applicant_type")
    assert page.status_code == 200
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    # The pool holds the connection the page used. The server ends every session of this database
    # but the killer's (a connection of its own, outside the pool), and waits until each is gone.
    with psycopg.connect(url, autocommit=True) as killer:
        ended = [
            row[0]
            for row in killer.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    assert ended and all(ended)
    response = client.post(
        "/en/application/questions/applicant_type",
        data={"csrf_token": csrf_token(page.text), "applicant_type": "main"},
    )
    assert response.status_code == 302
    with app.app_context():
        answers = db.session.scalar(select(Application.answers))
    assert answers["applicant_type"] == {"applicant_type": "main"}
