"""each host has capacity ceilings its agent's reports cannot exceed

Revision ID: 0014_host_capacity_ceiling
Revises: 0013_system_app_creds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_host_capacity_ceiling"
down_revision = "0013_system_app_creds"
branch_labels = None
depends_on = None

COLUMNS = ("max_vcpus", "max_memory_mib", "max_disk_gib")


def upgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        for column in COLUMNS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
    # A host already reporting keeps what it reports now as its ceiling: it can lower it, never raise it.
    op.execute("UPDATE compute_hosts SET max_vcpus = vcpus, max_memory_mib = memory_mib, max_disk_gib = disk_gib "
               "WHERE last_seen IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
