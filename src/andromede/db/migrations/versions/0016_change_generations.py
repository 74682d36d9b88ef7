"""one table of change generations, per topic and per host: a write to one network wakes only the hosts carrying it

The global network_state and identity_state rows move into change_generations (as each topic's counter and its
every-host generation), so an agent's last seen generation stays valid across the upgrade.

Revision ID: 0016_change_generations
Revises: 0015_totp_step_per_user
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_change_generations"
down_revision = "0015_totp_step_per_user"
branch_labels = None
depends_on = None

_MOVED = (("network", "network_state"), ("identity", "identity_state"))


def upgrade() -> None:
    op.create_table("change_generations",
                    sa.Column("topic", sa.String(length=32), nullable=False),
                    sa.Column("scope", sa.String(length=300), nullable=False),
                    sa.Column("generation", sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint("topic", "scope", name=op.f("pk_change_generations")))
    for topic, table in _MOVED:
        for scope in ("#seq", "*"):
            op.execute(f"INSERT INTO change_generations (topic, scope, generation) "  # noqa: S608 - constants
                       f"SELECT '{topic}', '{scope}', generation FROM {table} WHERE id = 1")
        op.drop_table(table)


def downgrade() -> None:
    for topic, table in _MOVED:
        op.create_table(table,
                        sa.Column("id", sa.Integer(), nullable=False),
                        sa.Column("generation", sa.BigInteger() if topic == "network" else sa.Integer(),
                                  nullable=False),
                        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")))
        op.execute(f"INSERT INTO {table} (id, generation) SELECT 1, COALESCE(MAX(generation), 0) "  # noqa: S608
                   f"FROM change_generations WHERE topic = '{topic}' AND scope = '#seq'")
    op.drop_table("change_generations")
