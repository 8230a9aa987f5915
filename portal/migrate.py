"""Alembic, driven from the application: the app's database URL, the models' metadata."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from flask import Flask

from portal.config import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["flask_app"] = app
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    with app.app_context():
        command.upgrade(alembic_config(app), revision)


def make_revision(app: Flask, message: str) -> None:
    with app.app_context():
        command.revision(alembic_config(app), message=message, autogenerate=True)
