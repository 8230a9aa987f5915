"""application life: files answering information requests, paused windows, forms held over a
timed-out sign-in

Revision ID: 0031
Revises: 0020
Create Date: 2027-01-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0031"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("information_request_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_documents_information_request_id"),
            ["information_request_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_documents_information_request_id_information_requests"),
            "information_requests",
            ["information_request_id"],
            ["id"],
        )
    with op.batch_alter_table("application_windows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paused_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "held_forms",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("page", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("expires_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_held_forms_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_forms")),
    )
    with op.batch_alter_table("held_forms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_forms_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("held_forms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_forms_user_id"))
    op.drop_table("held_forms")
    with op.batch_alter_table("application_windows", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_documents_information_request_id_information_requests"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_documents_information_request_id"))
        batch_op.drop_column("information_request_id")
