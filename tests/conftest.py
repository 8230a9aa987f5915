"""Fixtures shared by every test: an app on a freshly migrated database (SQLite or PostgreSQL).

PORTAL_TEST_DATABASE_URL selects PostgreSQL; unset or empty, each test gets a copy of a SQLite
database migrated once per run. Migrations always build the schema: never `create_all`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from portal import create_app, migrate
from portal.config import PortalConfig
from portal.extensions import db
from portal.models import Base

POSTGRES_URL = os.environ.get("PORTAL_TEST_DATABASE_URL") or None


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


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


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
        engine = create_engine(
            migrated_database.replace("postgresql://", "postgresql+psycopg://", 1)
        )
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            # TRUNCATE, unlike DELETE, is not refused by the audit log's append-only trigger.
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
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
