"""image metadata definitions: namespaces, their objects, properties and tags, resource types and associations

Revision ID: 0018_image_metadefs
Revises: 0017_keystone_admin_apis
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_image_metadefs"
down_revision = "0017_keystone_admin_apis"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "image_metadef_namespaces",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("visibility", sa.String(length=32), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_metadef_namespaces")),
        sa.UniqueConstraint("namespace", name=op.f("uq_image_metadef_namespaces_namespace")),
    )
    op.create_index(op.f("ix_image_metadef_namespaces_owner"), "image_metadef_namespaces", ["owner"])
    op.create_table(
        "image_metadef_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(["namespace_id"], ["image_metadef_namespaces.id"], ondelete="CASCADE",
                                name=op.f("fk_image_metadef_items_namespace_id_image_metadef_namespaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_metadef_items")),
        sa.UniqueConstraint("namespace_id", "kind", "name", name="uq_image_metadef_items_name"),
    )
    op.create_index(op.f("ix_image_metadef_items_namespace_id"), "image_metadef_items", ["namespace_id"])
    op.create_table(
        "image_metadef_resource_types",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_metadef_resource_types")),
        sa.UniqueConstraint("name", name=op.f("uq_image_metadef_resource_types_name")),
    )
    op.create_table(
        "image_metadef_associations",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("resource_type_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=80), nullable=True),
        sa.Column("properties_target", sa.String(length=80), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["namespace_id"], ["image_metadef_namespaces.id"], ondelete="CASCADE",
                                name="fk_image_metadef_assoc_namespace"),
        sa.ForeignKeyConstraint(["resource_type_id"], ["image_metadef_resource_types.id"], ondelete="CASCADE",
                                name="fk_image_metadef_assoc_type"),
        sa.PrimaryKeyConstraint("namespace_id", "resource_type_id", name=op.f("pk_image_metadef_associations")),
    )


def downgrade() -> None:
    op.drop_table("image_metadef_associations")
    op.drop_table("image_metadef_resource_types")
    op.drop_index(op.f("ix_image_metadef_items_namespace_id"), table_name="image_metadef_items")
    op.drop_table("image_metadef_items")
    op.drop_index(op.f("ix_image_metadef_namespaces_owner"), table_name="image_metadef_namespaces")
    op.drop_table("image_metadef_namespaces")
