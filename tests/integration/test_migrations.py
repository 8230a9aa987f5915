"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from portal.extensions import db
from portal.migrate import alembic_config
from portal.models import Base


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_the_single_head(app):
    script = ScriptDirectory.from_config(alembic_config(app))
    assert len(script.get_heads()) == 1
    with app.app_context(), db.engine.connect() as connection:
        assert (
            MigrationContext.configure(connection).get_current_revision()
            == script.get_current_head()
        )
