"""support: organisations and assistance

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:32:21.713693
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "assistances",
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("started_by_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column(
            "consent_given_at", portal.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("consent_locale", sa.String(length=8), nullable=False),
        sa.Column("consent_method", sa.String(length=20), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("contact_through_organisation", sa.Boolean(), nullable=False),
        sa.Column("ended_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Uuid(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["users.id"], name=op.f("fk_assistances_applicant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_assistances_ended_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_assistances_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["users.id"], name=op.f("fk_assistances_started_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistances")),
    )
    with op.batch_alter_table("assistances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistances_applicant_id"), ["applicant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assistances_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            "uq_assistances_one_active_per_applicant",
            ["applicant_id"],
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_users_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_users_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_users_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_users_organisation_id"))
        batch_op.drop_column("organisation_id")

    with op.batch_alter_table("assistances", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_assistances_one_active_per_applicant",
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_assistances_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_assistances_applicant_id"))

    op.drop_table("assistances")
    op.drop_table("organisations")
