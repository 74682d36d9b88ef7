"""each host names the one identity user whose credentials act as its agent

Revision ID: 0012_host_agent_user
Revises: 0011_image_ids
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_host_agent_user"
down_revision = "0011_image_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        batch.add_column(sa.Column("agent_user_id", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_compute_hosts_agent_user_id", ["agent_user_id"])


def downgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        batch.drop_constraint("uq_compute_hosts_agent_user_id", type_="unique")
        batch.drop_column("agent_user_id")
