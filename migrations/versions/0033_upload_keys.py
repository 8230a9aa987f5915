"""upload keys: one document per file chosen on the upload page, however often it is sent

Revision ID: 0033
Revises: 0032
Create Date: 2027-01-20 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_key", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_documents_application_id"), ["application_id", "upload_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_documents_application_id"), type_="unique")
        batch_op.drop_column("upload_key")
