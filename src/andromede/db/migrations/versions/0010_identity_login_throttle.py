"""login failures throttled per (account, client address); TOTP passcodes accepted once

Revision ID: 0010_identity_login_throttle
Revises: 0009_network_agent_seen
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_identity_login_throttle"
down_revision = "0009_network_agent_seen"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_login_throttle",
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_key", "client", name=op.f("pk_identity_login_throttle")),
    )
    with op.batch_alter_table("identity_login_throttle") as batch:
        batch.create_index(batch.f("ix_identity_login_throttle_last_failure_at"), ["last_failure_at"], unique=False)
    with op.batch_alter_table("identity_credentials") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_credentials") as batch:
        batch.drop_column("totp_last_step")
    with op.batch_alter_table("identity_login_throttle") as batch:
        batch.drop_index(batch.f("ix_identity_login_throttle_last_failure_at"))
    op.drop_table("identity_login_throttle")
