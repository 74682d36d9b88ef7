"""volume transfers: a volume offered to another project against an auth key (its argon2 hash stored)

Revision ID: 0026_volume_transfers
Revises: 0025_volume_agent
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_volume_transfers"
down_revision = "0025_volume_agent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volume_transfers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("auth_key_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("volume_id", name=op.f("uq_volume_transfers_volume_id")),
    )
    op.create_index(op.f("ix_volume_transfers_project_id"), "volume_transfers", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_volume_transfers_project_id"), table_name="volume_transfers")
    op.drop_table("volume_transfers")
