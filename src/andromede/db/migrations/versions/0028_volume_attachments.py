"""volume attachments: which server a volume is plugged into, on which host, as which device

Revision ID: 0028_volume_attachments
Revises: 0027_volume_snapshots
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_volume_attachments"
down_revision = "0027_volume_snapshots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volume_attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=True),
        sa.Column("delete_on_termination", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attached_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("volume_id", name=op.f("uq_volume_attachments_volume_id")),
    )
    op.create_index(op.f("ix_volume_attachments_server_id"), "volume_attachments", ["server_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_volume_attachments_server_id"), table_name="volume_attachments")
    op.drop_table("volume_attachments")
