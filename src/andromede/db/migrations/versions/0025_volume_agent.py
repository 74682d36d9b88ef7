"""the volume agent: a volume's source image and its desired-state sequence on its host; hosts with a volume agent

Revision ID: 0025_volume_agent
Revises: 0024_volumes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_volume_agent"
down_revision = "0024_volumes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("image_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("desired_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index(batch.f("ix_volumes_host"), ["host"])
    op.create_table(
        "volume_hosts",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_volume_hosts")))


def downgrade() -> None:
    op.drop_table("volume_hosts")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_index(batch.f("ix_volumes_host"))
        batch.drop_column("desired_seq")
        batch.drop_column("image_id")
