"""document scanning: known scan results, an index to find unscanned files, a claim for scanners

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scan_claimed_until", portal.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_documents_scan_result"), ["scan_result"], unique=False)
        batch_op.create_check_constraint(
            batch_op.f("ck_documents_scan_result_known"),
            "scan_result IN ('not_scanned', 'clean', 'infected')",
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_documents_scan_result_known"), type_="check")
        batch_op.drop_index(batch_op.f("ix_documents_scan_result"))
        batch_op.drop_column("scan_claimed_until")
