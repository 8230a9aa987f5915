"""Alembic environment: runs against the Flask app's engine, never `create_all`."""

from alembic import context
from sqlalchemy import text

import portal.models  # noqa: F401 - registers every table on the metadata
from portal.extensions import db
from portal.models import Base

config = context.config
app = config.attributes["flask_app"]


def run_migrations_online() -> None:
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Fail fast rather than queue behind live traffic; one migrator at a time.
                connection.execute(text("SET lock_timeout = '10s'"))
                connection.execute(text("SELECT pg_advisory_xact_lock(727262)"))
            if connection.dialect.name == "sqlite":
                # Batch migrations copy and drop tables: SQLite's foreign key checks (on for
                # every connection of the app) are off while they run, as Alembic advises.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                compare_type=True,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


run_migrations_online()
