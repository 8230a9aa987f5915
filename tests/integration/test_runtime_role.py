"""The runtime database role (migration 0034): the app and its workers do their work with data
rights only; the schema and the audit log's triggers stay the owner's (PostgreSQL only)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from portal import create_app, migrate
from portal.extensions import db
from portal.models import Application, AuditEvent, Notification
from tests.apply_helpers import send_application
from tests.conftest import POSTGRES_URL, make_config
from tests.helpers import deliver_outbox

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="roles and grants are PostgreSQL's")

PASSWORD = "runtime-role-test-password"


def owner_engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.fixture
def runtime_role(database_url: str, tmp_path) -> Iterator[str]:
    """0034 run again with a runtime role named (down to 0031, up to head), then the role and
    its grants dropped: roles belong to the whole server, not to this test's database."""
    role = f"portal_runtime_{uuid.uuid4().hex[:8]}"
    owner = create_app(
        make_config(
            database_url,
            tmp_path / "owner",
            DATABASE_RUNTIME_ROLE=role,
            DATABASE_RUNTIME_PASSWORD=PASSWORD,
        )
    )
    command.downgrade(migrate.alembic_config(owner), "0031")
    migrate.upgrade(owner)
    with owner.app_context():
        db.engine.dispose()
    yield role
    engine = owner_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP OWNED BY "{role}"'))
        connection.execute(text(f'DROP ROLE "{role}"'))
    engine.dispose()


@pytest.fixture
def runtime_app(database_url: str, runtime_role: str, tmp_path) -> Iterator[Flask]:
    """The portal as production runs it: the URL without credentials, the role's user name and
    password in settings of their own (as the rotating secret's fields reach the containers)."""
    bare = make_url(database_url).set(username=None, password=None)
    config = make_config(
        bare.render_as_string(hide_password=False),
        tmp_path / "runtime",
        DATABASE_USERNAME=runtime_role,
        DATABASE_PASSWORD=PASSWORD,
    )
    application = create_app(config)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_the_app_does_its_work_as_the_runtime_role(runtime_app, runtime_role):
    client = runtime_app.test_client()
    send_application(client, runtime_app)
    assert deliver_outbox(runtime_app) >= 1
    with runtime_app.app_context():
        assert db.session.scalar(select(func.current_user())) == runtime_role
        assert db.session.scalar(select(func.count()).select_from(Application)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 1
        assert db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.sent_at.is_not(None))
        )


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TRIGGER audit_events_no_change ON audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "ALTER TABLE users ADD COLUMN nickname text",
        "DROP TABLE documents",
        "TRUNCATE audit_events",
        "CREATE TABLE scratch (id int)",
        "UPDATE alembic_version SET version_num = '0001'",
    ],
)
def test_the_runtime_role_cannot_change_the_schema_or_the_audit_log(runtime_app, statement):
    with (
        runtime_app.app_context(),
        pytest.raises(ProgrammingError, match=r"must be owner|permission denied"),
        db.engine.begin() as connection,
    ):
        connection.execute(text(statement))


def test_the_audit_log_refuses_the_runtime_roles_changes(runtime_app):
    send_application(runtime_app.test_client(), runtime_app)
    with runtime_app.app_context():
        for statement in ("DELETE FROM audit_events", "UPDATE audit_events SET action = 'x'"):
            with (
                pytest.raises(DBAPIError, match="append-only"),
                db.engine.begin() as connection,
            ):
                connection.execute(text(statement))


def test_a_table_a_later_migration_adds_is_the_runtime_roles_to_use(
    database_url, runtime_app, runtime_role
):
    """Default privileges: what the owner creates after 0034 needs no grant of its own."""
    owner = owner_engine(database_url)
    with owner.begin() as connection:
        connection.execute(text("CREATE TABLE later_table (id serial PRIMARY KEY, note text)"))
    try:
        with runtime_app.app_context(), db.engine.begin() as connection:
            connection.execute(text("INSERT INTO later_table (note) VALUES ('kept')"))
            assert connection.execute(text("SELECT note FROM later_table")).scalar() == "kept"
    finally:
        with owner.begin() as connection:
            connection.execute(text("DROP TABLE later_table"))
        owner.dispose()
