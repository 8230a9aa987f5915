"""/livez answers whatever the dependencies do; /readyz names each dependency and gives a quick
503 when one is down or hangs (which endpoint each platform check asks: tests/unit/test_infra.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from portal import create_app
from portal.config import engine_options
from portal.documents.storage import S3Storage
from portal.extensions import db
from portal.queue.backends import SqsQueue, sqs_client

DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers: a hung dependency."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stopping = threading.Event()

    # Accept wakes up every 0.1 s: closing a listener does not interrupt an accept() in another
    # thread on Linux, and the test would then wait for it for ever.
    listener.settimeout(0.1)

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        listener.close()
        for connection in held:
            connection.close()
        thread.join()


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-3"),
    ):
        monkeypatch.setenv(name, value)


def test_livez_answers_without_touching_any_dependency(config):
    config.DATABASE_URL = DEAD_DATABASE
    app = create_app(config)
    client = app.test_client()
    live = client.get("/livez")
    assert live.status_code == 200 and live.json == {"status": "ok"}
    assert live.headers["Cache-Control"] == "no-store"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"] == {"database": "unavailable", "storage": "ok", "queue": "ok"}


def test_readiness_bounds_the_database_statement(app, client):
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert "SELECT 1" in statements
    if engine.dialect.name == "postgresql":
        assert statements[statements.index("SELECT 1") - 1].startswith(
            "SET LOCAL statement_timeout"
        )


def test_postgresql_connections_give_up_within_seconds():
    options = engine_options("postgres://user@db.example/portal")
    assert options["connect_args"] == {"connect_timeout": 5}
    assert options["hide_parameters"] is True
    kept = engine_options("postgresql://user@db.example/portal?connect_timeout=1")
    assert "connect_args" not in kept
    assert "connect_args" not in engine_options("sqlite:///portal.sqlite3")


def test_a_hung_document_store_gives_503_not_a_hung_check(app, client, aws_credentials):
    with silent_server() as url:
        store = S3Storage(bucket="documents", region="eu-west-3", endpoint_url=url)
        probe = store._probe_client.meta.config
        assert (probe.connect_timeout, probe.read_timeout) == (2, 2)
        assert probe.retries["total_max_attempts"] == 1
        app.extensions["portal.documents"] = store
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "storage": "unavailable", "queue": "ok"}


def test_a_hung_queue_gives_503_not_a_hung_check(app, client, aws_credentials):
    settings = app.config["PORTAL"]
    with silent_server() as url:
        settings.SQS_ENDPOINT_URL, settings.SQS_REGION = url, "eu-west-3"
        probe = sqs_client(app, probe=True)
        assert (probe.meta.config.connect_timeout, probe.meta.config.read_timeout) == (2, 2)
        assert probe.meta.config.retries["total_max_attempts"] == 1
        app.extensions["checking_queue"] = SqsQueue(
            sqs_client(app),
            f"{url}/queue/checks",
            f"{url}/queue/priority",
            f"{url}/queue/dead",
            timedelta(minutes=5),
            5,
            probe_client=probe,
        )
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "storage": "ok", "queue": "unavailable"}
