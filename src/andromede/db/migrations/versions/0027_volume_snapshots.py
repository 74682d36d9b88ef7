"""volume snapshots (a volume's contents frozen inside its file on its host) extends (the size being grown to) and
clones (the volume or snapshot a volume is copied from)

Revision ID: 0027_volume_snapshots
Revises: 0026_volume_transfers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_volume_snapshots"
down_revision = "0026_volume_transfers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volume_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_volume_snapshots_project_id"), "volume_snapshots", ["project_id"])
    op.create_index(op.f("ix_volume_snapshots_volume_id"), "volume_snapshots", ["volume_id"])
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("extending_to", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source_volume_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("source_snapshot_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("source_snapshot_id")
        batch.drop_column("source_volume_id")
        batch.drop_column("extending_to")
    op.drop_index(op.f("ix_volume_snapshots_volume_id"), table_name="volume_snapshots")
    op.drop_index(op.f("ix_volume_snapshots_project_id"), table_name="volume_snapshots")
    op.drop_table("volume_snapshots")
