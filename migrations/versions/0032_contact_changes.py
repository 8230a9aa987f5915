"""contact changes: a new email address or mobile number waiting for the code sent to it

Revision ID: 0032
Revises: 0031
Create Date: 2027-01-20 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_changes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("new_value", sa.String(length=320), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('email', 'mobile')", name=op.f("ck_contact_changes_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contact_changes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_changes")),
    )
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_changes_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_changes_user_id"))
    op.drop_table("contact_changes")
