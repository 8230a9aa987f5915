"""wording reports: readers' reports on the words of a page, with no personal data

Revision ID: 0020
Revises: 0011
Create Date: 2026-12-06 04:20:05.566891
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0020"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wording_reports",
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("page", sa.String(length=300), nullable=True),
        sa.Column("problem", sa.String(length=30), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("dealt_with_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dealt_with_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "problem IN ('hard_to_understand', 'wrong_meaning', 'spelling_or_grammar', 'not_my_language', 'other')",
            name=op.f("ck_wording_reports_problem_known"),
        ),
        sa.ForeignKeyConstraint(
            ["dealt_with_by_id"],
            ["users.id"],
            name=op.f("fk_wording_reports_dealt_with_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wording_reports")),
    )
    with op.batch_alter_table("wording_reports", schema=None) as batch_op:
        batch_op.create_index("ix_wording_reports_locale_page", ["locale", "page"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wording_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_wording_reports_locale_page")

    op.drop_table("wording_reports")
