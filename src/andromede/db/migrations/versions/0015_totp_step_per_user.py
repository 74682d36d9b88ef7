"""the last accepted TOTP time step is kept per user, not per credential: a seed enrolled twice is good once

Revision ID: 0015_totp_step_per_user
Revises: 0014_host_capacity_ceiling
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_totp_step_per_user"
down_revision = "0014_host_capacity_ceiling"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.execute("UPDATE identity_users SET totp_last_step = (SELECT MAX(c.totp_last_step) FROM identity_credentials c"
               " WHERE c.user_id = identity_users.id AND c.type = 'totp')")
    with op.batch_alter_table("identity_credentials") as batch:
        batch.drop_column("totp_last_step")


def downgrade() -> None:
    with op.batch_alter_table("identity_credentials") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.execute("UPDATE identity_credentials SET totp_last_step = (SELECT u.totp_last_step FROM identity_users u"
               " WHERE u.id = identity_credentials.user_id) WHERE type = 'totp'")
    with op.batch_alter_table("identity_users") as batch:
        batch.drop_column("totp_last_step")
