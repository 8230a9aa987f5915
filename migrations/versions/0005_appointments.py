"""appointments: centres, slots, appointments, sent reminders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:05:48.591391
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "centres",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("opening_hours", sa.Text(), nullable=False),
        sa.Column("accessibility", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centres")),
        sa.UniqueConstraint("name", name=op.f("uq_centres_name")),
    )
    op.create_table(
        "sent_reminders",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_sent_reminders_key")),
    )
    op.create_table(
        "slots",
        sa.Column("centre_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity", name=op.f("ck_slots_booked_within_capacity")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_slots_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_slots_centre_id_centres")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
        sa.UniqueConstraint("centre_id", "starts_at", name="uq_slots_centre_start"),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slots_centre_id"), ["centre_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slots_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("slot_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("booked_by_id", sa.Uuid(), nullable=False),
        sa.Column("group_booking_id", sa.Uuid(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("ended_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('booked', 'moved', 'cancelled', 'attended', 'no_show')",
            name=op.f("ck_appointments_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_appointments_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["booked_by_id"], ["users.id"], name=op.f("fk_appointments_booked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_appointments_ended_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slots.id"], name=op.f("fk_appointments_slot_id_slots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_group_booking_id"), ["group_booking_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_slot_id"), ["slot_id"], unique=False)
        batch_op.create_index(
            "uq_appointments_one_active_per_application",
            ["application_id"],
            unique=True,
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_appointments_one_active_per_application",
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index(batch_op.f("ix_appointments_slot_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_group_booking_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_application_id"))

    op.drop_table("appointments")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slots_starts_at"))
        batch_op.drop_index(batch_op.f("ix_slots_centre_id"))

    op.drop_table("slots")
    op.drop_table("sent_reminders")
    op.drop_table("centres")
