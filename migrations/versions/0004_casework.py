"""casework: the checking queue, checks, requests for information, the returns list

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 04:47:05.257093
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "returned_people",
        sa.Column("given_names", sa.String(length=200), nullable=False),
        sa.Column("family_name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("nationality", sa.String(length=2), nullable=False),
        sa.Column("document_number", sa.String(length=40), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("imported_by_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"], ["users.id"], name=op.f("fk_returned_people_imported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returned_people")),
    )
    with op.batch_alter_table("returned_people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_returned_people_date_of_birth"), ["date_of_birth"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_returned_people_document_number"), ["document_number"], unique=False
        )

    op.create_table(
        "check_records",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("check", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_check_records_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_check_records_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_records")),
    )
    with op.batch_alter_table("check_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_records_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "information_requests",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_information_requests_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_information_requests_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_information_requests")),
    )
    with op.batch_alter_table("information_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_information_requests_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "queue_items",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("submitted_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("available_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("receive_count", sa.Integer(), nullable=False),
        sa.Column("receipt_handle", sa.Text(), nullable=True),
        sa.Column("relayed_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dead_lettered_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_queue_items_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"], ["users.id"], name=op.f("fk_queue_items_claimed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_items")),
    )
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_queue_items_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            "ix_queue_items_unrelayed",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("relayed_at IS NULL"),
            sqlite_where=sa.text("relayed_at IS NULL"),
        )
        batch_op.create_index(
            "ix_queue_items_waiting",
            ["priority", "submitted_at"],
            unique=False,
            postgresql_where=sa.text("completed_at IS NULL AND dead_lettered_at IS NULL"),
            sqlite_where=sa.text("completed_at IS NULL AND dead_lettered_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_queue_items_waiting",
            postgresql_where=sa.text("completed_at IS NULL AND dead_lettered_at IS NULL"),
            sqlite_where=sa.text("completed_at IS NULL AND dead_lettered_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_queue_items_unrelayed",
            postgresql_where=sa.text("relayed_at IS NULL"),
            sqlite_where=sa.text("relayed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_queue_items_application_id"))

    op.drop_table("queue_items")
    with op.batch_alter_table("information_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_information_requests_application_id"))

    op.drop_table("information_requests")
    with op.batch_alter_table("check_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_records_application_id"))

    op.drop_table("check_records")
    with op.batch_alter_table("returned_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returned_people_document_number"))
        batch_op.drop_index(batch_op.f("ix_returned_people_date_of_birth"))

    op.drop_table("returned_people")
