"""image ids are never reused: every id ever issued is kept, past its image's deletion (OSSN-0075)

Revision ID: 0011_image_ids
Revises: 0010_identity_login_throttle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_image_ids"
down_revision = "0010_identity_login_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_ids",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_ids")),
    )
    # Images deleted before this revision left nothing behind; those that exist are recorded now.
    op.execute("INSERT INTO image_ids (id, owner) SELECT id, owner FROM image_images")


def downgrade() -> None:
    op.drop_table("image_ids")
