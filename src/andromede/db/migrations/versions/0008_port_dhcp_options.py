"""ports carry extra DHCP options (extra_dhcp_opt)

Revision ID: 0008_port_dhcp_options
Revises: 0007_router_routes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_port_dhcp_options"
down_revision = "0007_router_routes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network_ports") as batch:
        batch.add_column(sa.Column("extra_dhcp_opts", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("network_ports") as batch:
        batch.drop_column("extra_dhcp_opts")
