"""servers: lock (who and why), disk config, the password the guest posted, and rebuilds asked of the host; hosts:
their uptime line

Revision ID: 0021_server_lifecycle
Revises: 0020_server_groups_actions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_server_lifecycle"
down_revision = "0020_server_groups_actions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_instances") as batch:
        batch.add_column(sa.Column("locked", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("locked_by", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("locked_reason", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("disk_config", sa.String(length=8), nullable=False, server_default="MANUAL"))
        batch.add_column(sa.Column("password", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rebuild_seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("compute_hosts") as batch:
        batch.add_column(sa.Column("uptime", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        batch.drop_column("uptime")
    with op.batch_alter_table("compute_instances") as batch:
        for column in ("rebuild_seq", "password", "disk_config", "locked_reason", "locked_by", "locked"):
            batch.drop_column(column)
