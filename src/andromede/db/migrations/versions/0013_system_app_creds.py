"""application credentials bound to the system instead of a project (Keystone's model has a `system` column)

Revision ID: 0013_system_app_creds
Revises: 0012_host_agent_user
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_system_app_creds"
down_revision = "0012_host_agent_user"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_application_credentials") as batch:
        batch.add_column(sa.Column("system", sa.String(16), nullable=True))
        batch.alter_column("project_id", existing_type=sa.String(64), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM identity_application_credentials WHERE project_id IS NULL")
    with op.batch_alter_table("identity_application_credentials") as batch:
        batch.alter_column("project_id", existing_type=sa.String(64), nullable=False)
        batch.drop_column("system")
