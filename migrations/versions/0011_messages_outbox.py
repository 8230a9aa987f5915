"""messages outbox: the notifications table becomes the queue of messages to send

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 03:49:19.533156

Rows written before this revision were delivery records of messages already handed over or
failed inside a request; they keep their state (a failure becomes a permanent one, its error the
reason) and are never sent again: they have no text to send.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_attempts",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_attempts_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attempts_notification_id"),
            ["notification_id"],
            unique=False,
        )

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("secrets", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("carries_secret", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("application_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("reason", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column(
                "next_attempt_at", portal.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_until", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("provider_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("updated_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("resent_from_id", sa.Uuid(), nullable=True))
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=16),
            type_=sa.String(length=20),
            existing_nullable=False,
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_due",
            ["priority", "next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status IN ('queued', 'sending', 'temporary-failure')"),
            sqlite_where=sa.text("status IN ('queued', 'sending', 'temporary-failure')"),
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notifications_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_resent_from_id_notifications"),
            "notifications",
            ["resent_from_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_application_id_applications"),
            "applications",
            ["application_id"],
            ["id"],
            ondelete="SET NULL",
        )

    notifications = sa.table(
        "notifications",
        sa.column("status", sa.String),
        sa.column("error", sa.String),
        sa.column("reason", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    op.execute(
        notifications.update().values(
            reason=notifications.c.error, updated_at=notifications.c.created_at
        )
    )
    op.execute(
        notifications.update()
        .where(notifications.c.status != "sent")
        .values(status="permanent-failure")
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column(
            "updated_at",
            existing_type=portal.models.base.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.drop_column("error")


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.VARCHAR(length=255), nullable=True))
    notifications = sa.table(
        "notifications",
        sa.column("error", sa.String),
        sa.column("reason", sa.String),
        sa.column("status", sa.String),
    )
    op.execute(notifications.update().values(error=notifications.c.reason))
    op.execute(
        notifications.update().where(notifications.c.status != "sent").values(status="failed")
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_application_id_applications"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_resent_from_id_notifications"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_notifications_user_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_notifications_user_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_provider_id"))
        batch_op.drop_index(
            "ix_notifications_due",
            postgresql_where=sa.text("status IN ('queued', 'sending', 'temporary-failure')"),
            sqlite_where=sa.text("status IN ('queued', 'sending', 'temporary-failure')"),
        )
        batch_op.drop_index(batch_op.f("ix_notifications_application_id"))
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=20),
            type_=sa.VARCHAR(length=16),
            existing_nullable=False,
        )
        batch_op.drop_column("resent_from_id")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("provider_id")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("reason")
        batch_op.drop_column("priority")
        batch_op.drop_column("user_id")
        batch_op.drop_column("application_id")
        batch_op.drop_column("attachments")
        batch_op.drop_column("carries_secret")
        batch_op.drop_column("secrets")
        batch_op.drop_column("body")
        batch_op.drop_column("subject")

    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempts_notification_id"))

    op.drop_table("notification_attempts")
