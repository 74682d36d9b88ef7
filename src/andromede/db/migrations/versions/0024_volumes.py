"""the volume service: volumes (desired state), volume types with their encryption, per-project quotas

Revision ID: 0024_volumes
Revises: 0023_compute_microversions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_volumes"
down_revision = "0023_compute_microversions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volumes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attach_status", sa.String(length=32), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("encryption_key_id", sa.String(length=36), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("snapshot_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volumes")))
    op.create_index(op.f("ix_volumes_project_id"), "volumes", ["project_id"])
    op.create_table(
        "volume_types",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("extra_specs", sa.JSON(), nullable=False),
        sa.Column("encryption_provider", sa.String(length=64), nullable=True),
        sa.Column("encryption_cipher", sa.String(length=64), nullable=True),
        sa.Column("encryption_key_size", sa.Integer(), nullable=True),
        sa.Column("encryption_control_location", sa.String(length=16), nullable=True),
        sa.Column("encryption_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_types")),
        sa.UniqueConstraint("name", name=op.f("uq_volume_types_name")))
    op.create_table(
        "volume_quotas",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("volumes", sa.Integer(), nullable=True),
        sa.Column("gigabytes", sa.Integer(), nullable=True),
        sa.Column("snapshots", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_volume_quotas")))


def downgrade() -> None:
    op.drop_table("volume_quotas")
    op.drop_table("volume_types")
    op.drop_index(op.f("ix_volumes_project_id"), table_name="volumes")
    op.drop_table("volumes")
