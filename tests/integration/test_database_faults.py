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
