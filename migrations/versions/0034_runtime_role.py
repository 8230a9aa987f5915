"""runtime role: the app and its workers read and write rows; only the owner changes the schema

The migrations run as the database's owner (the migrate container). Every other process connects
as the role PORTAL_DATABASE_RUNTIME_ROLE names, which this grants data rights only: SELECT,
INSERT, UPDATE and DELETE on the tables, the sequences' use, and the same on every table a later
migration creates (default privileges of the owner). Not TRUNCATE (it would empty the audit log
past its append-only triggers), not CREATE on the schema, and no ownership: the role cannot ALTER
or DROP a table, nor drop the audit log's triggers. It cannot change alembic_version either.

The role is created when missing, with PORTAL_DATABASE_RUNTIME_PASSWORD as its first password
(Secrets Manager's multi-user rotation then alternates it with a clone it makes a member of this
role, so the clone inherits these rights). Without the setting, or on SQLite, nothing is done:
development and the tests connect as the owner.

Revision ID: 0034
Revises: 0033
Create Date: 2027-01-20 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATA = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCES = "USAGE, SELECT, UPDATE"


def _runtime_role() -> str | None:
    """The role's quoted name, or None when there is nothing to grant (not PostgreSQL, unset)."""
    bind = op.get_bind()
    role = current_app.config["PORTAL"].DATABASE_RUNTIME_ROLE
    if bind.dialect.name != "postgresql" or not role:
        return None
    return bind.dialect.identifier_preparer.quote(role)


def _exists() -> bool:
    name = current_app.config["PORTAL"].DATABASE_RUNTIME_ROLE
    found = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    return found.first() is not None


def upgrade() -> None:
    role = _runtime_role()
    if role is None:
        return
    if not _exists():
        password = current_app.config["PORTAL"].DATABASE_RUNTIME_PASSWORD
        if password:
            # DDL takes no bound parameters: the password as a quoted literal.
            literal = "'" + password.replace("'", "''") + "'"
            op.execute(f"CREATE ROLE {role} LOGIN PASSWORD {literal}")
        else:
            op.execute(f"CREATE ROLE {role} NOLOGIN")
    # PostgreSQL 15 already takes CREATE on public from PUBLIC; said here for older servers.
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT {DATA} ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}")
    op.execute(f"GRANT {SEQUENCES} ON ALL SEQUENCES IN SCHEMA public TO {role}")
    # Tables and sequences later migrations create (as this same owner) get the same rights.
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {DATA} ON TABLES TO {role}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {SEQUENCES} ON SEQUENCES TO {role}"
    )


def downgrade() -> None:
    """Take the rights back; the role itself stays (roles belong to the server, and logins may
    be its members)."""
    role = _runtime_role()
    if role is None or not _exists():
        return
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE {DATA} ON TABLES FROM {role}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE {SEQUENCES} ON SEQUENCES FROM {role}"
    )
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
