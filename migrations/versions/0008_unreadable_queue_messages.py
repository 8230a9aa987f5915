"""queue: unreadable messages kept for admins

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unreadable_queue_messages",
        sa.Column("queue_url", sa.Text(), nullable=False),
        sa.Column("sqs_message_id", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unreadable_queue_messages")),
        sa.UniqueConstraint(
            "sqs_message_id", name=op.f("uq_unreadable_queue_messages_sqs_message_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("unreadable_queue_messages")
