"""hosts record when their network agent last polled (Neutron's agents API)

Revision ID: 0009_network_agent_seen
Revises: 0008_port_dhcp_options
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_network_agent_seen"
down_revision = "0008_port_dhcp_options"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        batch.add_column(sa.Column("network_agent_seen", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        batch.drop_column("network_agent_seen")
