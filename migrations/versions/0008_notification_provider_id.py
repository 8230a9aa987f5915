"""notifications: provider_id, and room for the delivery statuses (permanent-failure)

Revision ID: 0008_provider_id
Revises: 0007
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_provider_id"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.String(length=100), nullable=True))
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=20)
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_provider_id"), ["provider_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_provider_id"))
        batch_op.alter_column(
            "status", existing_type=sa.String(length=20), type_=sa.String(length=16)
        )
        batch_op.drop_column("provider_id")
