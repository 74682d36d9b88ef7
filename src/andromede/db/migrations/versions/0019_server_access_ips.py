"""servers keep the accessIPv4 / accessIPv6 their owner gives them (Nova's access_ip_v4 / access_ip_v6)

Revision ID: 0019_server_access_ips
Revises: 0018_image_metadefs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_server_access_ips"
down_revision = "0018_image_metadefs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_instances") as batch:
        batch.add_column(sa.Column("access_ip_v4", sa.String(length=45), nullable=True))
        batch.add_column(sa.Column("access_ip_v6", sa.String(length=45), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute_instances") as batch:
        batch.drop_column("access_ip_v6")
        batch.drop_column("access_ip_v4")
