"""servers keep a description (microversion 2.19) and tags (2.26)

Revision ID: 0023_compute_microversions
Revises: 0022_kms
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_compute_microversions"
down_revision = "0022_kms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_instances") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute_instances") as batch:
        batch.drop_column("tags")
        batch.drop_column("description")
