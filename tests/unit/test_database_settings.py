"""The database settings production sets beside DATABASE_URL: credentials from a rotating
secret's fields, and each process's pool (docs/capacity.md)."""

from __future__ import annotations

from portal.config import PortalConfig, engine_options

SERVER = "postgresql://db.example.org:5432/portal?sslmode=verify-full"


def test_the_secrets_user_and_password_replace_the_urls():
    options = engine_options(SERVER, username="portal_app_clone", password="p@ss:word/1")
    assert options["url"] == (
        "postgresql+psycopg://portal_app_clone:p%40ss%3Aword%2F1@db.example.org:5432/portal"
        "?sslmode=verify-full"
    )
    kept = engine_options("postgresql://owner:old@db.example.org/portal")
    assert kept["url"] == "postgresql+psycopg://owner:old@db.example.org/portal"


def test_pool_sizes_bound_each_process_on_postgresql_only():
    options = engine_options(SERVER, pool_size=4, max_overflow=2)
    assert (options["pool_size"], options["max_overflow"]) == (4, 2)
    sqlite = engine_options("sqlite:///portal.sqlite3", pool_size=4, max_overflow=2)
    assert "pool_size" not in sqlite and "max_overflow" not in sqlite


def test_the_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", SERVER)
    monkeypatch.setenv("PORTAL_DATABASE_USERNAME", "portal_app")
    monkeypatch.setenv("PORTAL_DATABASE_PASSWORD", "secret")
    monkeypatch.setenv("PORTAL_DB_POOL_SIZE", "4")
    monkeypatch.setenv("PORTAL_DB_MAX_OVERFLOW", "2")
    engine = PortalConfig.from_env().flask_settings()["SQLALCHEMY_ENGINES"]["default"]
    assert engine["url"].startswith("postgresql+psycopg://portal_app:secret@db.example.org")
    assert (engine["pool_size"], engine["max_overflow"]) == (4, 2)
    # SQLAlchemy's own defaults when nothing is set.
    for name in ("PORTAL_DB_POOL_SIZE", "PORTAL_DB_MAX_OVERFLOW"):
        monkeypatch.delenv(name)
    engine = PortalConfig.from_env().flask_settings()["SQLALCHEMY_ENGINES"]["default"]
    assert (engine["pool_size"], engine["max_overflow"]) == (5, 10)
