"""compute hosts report their VXLAN endpoint

Revision ID: 0006_host_vtep
Revises: 0005_network_l3_security_groups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_host_vtep"
down_revision = "0005_network_l3_security_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("compute_hosts", sa.Column("vtep_address", sa.String(length=45), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute_hosts") as batch:
        batch.drop_column("vtep_address")
