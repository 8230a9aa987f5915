"""sign-in throttles: consecutive wrong passwords per account and per account and client

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("account_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("succeeded_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "ceiling_reached_at", portal.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "scope IN ('account', 'client')", name=op.f("ck_sign_in_throttles_scope_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sign_in_throttles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttles")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_sign_in_throttles_key_hash")),
    )
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_throttles_account_hash"), ["account_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sign_in_throttles_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_throttles_user_id"))
        batch_op.drop_index(batch_op.f("ix_sign_in_throttles_account_hash"))
    op.drop_table("sign_in_throttles")
