"""routers carry extra routes (extraroute)

Revision ID: 0007_router_routes
Revises: 0006_host_vtep
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_router_routes"
down_revision = "0006_host_vtep"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network_routers") as batch:
        batch.add_column(sa.Column("routes", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("network_routers") as batch:
        batch.drop_column("routes")
