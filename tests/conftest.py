"""Fixtures shared by every test: an app on a freshly migrated database (SQLite or PostgreSQL).

PORTAL_TEST_DATABASE_URL selects PostgreSQL; unset or empty, each test gets a copy of a SQLite
database migrated once per run. Migrations always build the schema: never `create_all`.

Under pytest-xdist (`-n 2`) every worker is a session of its own: its SQLite template sits in its
own temporary folder, and on PostgreSQL it works in a database of its own, named after the URL's
with the worker's id (`test_gw0`), which it creates when missing. Resources shared by the whole
machine (Redis database numbers) are per worker too: see `redis_test_url`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.routing.rules import Rule

from portal import create_app, migrate
from portal.auth import passwords
from portal.config import PortalConfig
from portal.extensions import db
from portal.models import Base

# The xdist worker this process is ("gw0", "gw1", ...); None when pytest runs without -n.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER") or None


def _worker_url(url: str | None) -> str | None:
    """The PostgreSQL URL this process tests on: the given one, or its worker's own database."""
    if not url or XDIST_WORKER is None:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{XDIST_WORKER}").render_as_string(
        hide_password=False
    )


POSTGRES_URL = _worker_url(os.environ.get("PORTAL_TEST_DATABASE_URL") or None)


def redis_test_url() -> str:
    """A Redis database for the tests that need a real one (rate limits shared by processes).

    Database 15 without xdist, as before; each xdist worker counts down from 14, and a run on
    PostgreSQL takes the numbers below the SQLite run's (7 and down), so both halves of
    `make test` and their workers can run at once without emptying each other's counters.
    """
    index = int(XDIST_WORKER.removeprefix("gw")) if XDIST_WORKER else -1
    base = 7 if POSTGRES_URL else 14
    number = 15 if index < 0 else base - index
    assert 0 <= number <= 15, f"too many xdist workers for Redis's 16 databases: {XDIST_WORKER}"
    return f"redis://127.0.0.1:6379/{number}"


def make_config(database_url: str, instance: Path, **overrides: object) -> PortalConfig:
    config = PortalConfig(
        ENV="test",
        SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
        DATABASE_URL=database_url,
        BASE_URL="http://localhost",
        TESTING=True,
        INSTANCE_PATH=instance,
        RATELIMIT_ENABLED=False,
        LOG_LEVEL="WARNING",
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def _create_postgres_database(url: str) -> None:
    """Create the URL's database if the server does not have it (one per xdist worker)."""
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    server.dispose()


def _reset_postgres(url: str) -> None:
    if XDIST_WORKER is not None:
        _create_postgres_database(url)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@cache
def _cleaning_engine(url: str) -> Engine:
    """One engine per run for emptying the tables after each test: a connection kept open, and
    checked before each use, since some tests have the server kill every connection."""
    return create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), pool_pre_ping=True
    )


def _empty_postgres(url: str) -> None:
    """Delete every row a test left and restart the sequences: one transaction, two round trips.

    DELETE rather than TRUNCATE: TRUNCATE gives each of the tables a new file on disk, which cost
    0.6 to 1.3 s per test on this machine, while deleting the few rows a test writes costs a few
    milliseconds. With `session_replication_role = replica` (the tests connect as a superuser)
    no trigger fires for this transaction only: neither the audit log's append-only trigger,
    which refuses DELETE, nor the foreign keys' checks, so the order of the tables is free.
    """
    with _cleaning_engine(url).begin() as connection:
        statements = ["SET LOCAL session_replication_role = replica"]
        statements += [
            str(table.delete().compile(dialect=connection.dialect))
            for table in Base.metadata.sorted_tables
        ]
        sequences = connection.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).all()
        statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
        connection.exec_driver_sql("; ".join(statements))


@pytest.fixture(scope="session", autouse=True)
def url_builders_compiled_once() -> Iterator[None]:
    """Each URL builder compiled once per run, not once per app.

    Werkzeug (3.1.9, pinned) compiles two Python functions for every URL rule, through the `ast`
    module and `compile`: 54 of the 64 ms that `create_app` takes, and the suite makes an app for
    nearly every test. The functions depend only on the rule's text, its parsed parts and
    defaults, and whether unknown values are appended; they read the rule's converters from
    `self` when called. So a builder made for one app's rule serves the same rule of every other
    app. Servers started as subprocesses compile their own.
    """
    compile_builder = Rule._compile_builder
    builders: dict[tuple[object, ...], object] = {}

    def compiled_once(rule: Rule, append_unknown: bool = True) -> object:
        defaults = tuple(sorted((rule.defaults or {}).items(), key=repr))
        key = (rule.rule, rule.subdomain, rule.host, tuple(rule._trace), defaults, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", compiled_once)
        yield


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id at its lowest cost for the whole run, in this process.

    The production parameters cost about 0.4 s of CPU per hash and check on this machine, and
    most tests make an account and sign it in: half the CPU time of building a sent application
    through the pages went there, on nothing those tests are about. The hashes stay Argon2id,
    made and checked by the same code; servers started as subprocesses keep the real parameters.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64))
        passwords._dummy_hash.cache_clear()
        yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The schema, built by the migrations once per run."""
    instance = tmp_path_factory.mktemp("template-instance")
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{instance / 'template.sqlite3'}"
    app = create_app(make_config(url, instance))
    migrate.upgrade(app)
    with app.app_context():
        db.engine.dispose()
    return url


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A clean database for one test."""
    if POSTGRES_URL:
        yield migrated_database
        _empty_postgres(migrated_database)
    else:
        source = Path(migrated_database.removeprefix("sqlite:///"))
        copy = tmp_path / "portal.sqlite3"
        shutil.copyfile(source, copy)
        yield f"sqlite:///{copy}"


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> PortalConfig:
    return make_config(database_url, tmp_path / "instance")


@pytest.fixture
def app(config: PortalConfig) -> Iterator[Flask]:
    application = create_app(config)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
