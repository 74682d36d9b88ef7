"""Keystone admin APIs: endpoint groups and project endpoint filtering (OS-EP-FILTER), domain configuration

Revision ID: 0017_keystone_admin_apis
Revises: 0016_change_generations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_keystone_admin_apis"
down_revision = "0016_change_generations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_endpoint_groups",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_endpoint_groups")))
    op.create_table(
        "identity_project_endpoints",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["identity_endpoints.id"], ondelete="CASCADE",
                                name=op.f("fk_identity_project_endpoints_endpoint_id_identity_endpoints")),
        sa.ForeignKeyConstraint(["project_id"], ["identity_projects.id"], ondelete="CASCADE",
                                name=op.f("fk_identity_project_endpoints_project_id_identity_projects")),
        sa.PrimaryKeyConstraint("project_id", "endpoint_id", name=op.f("pk_identity_project_endpoints")))
    op.create_index(op.f("ix_identity_project_endpoints_endpoint_id"), "identity_project_endpoints",
                    ["endpoint_id"], unique=False)
    op.create_table(
        "identity_project_endpoint_groups",
        sa.Column("endpoint_group_id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_group_id"], ["identity_endpoint_groups.id"], ondelete="CASCADE",
                                name=op.f("fk_identity_project_endpoint_groups_endpoint_group_id_identity_endpoint_groups")),
        sa.ForeignKeyConstraint(["project_id"], ["identity_projects.id"], ondelete="CASCADE",
                                name=op.f("fk_identity_project_endpoint_groups_project_id_identity_projects")),
        sa.PrimaryKeyConstraint("endpoint_group_id", "project_id", name=op.f("pk_identity_project_endpoint_groups")))
    op.create_index(op.f("ix_identity_project_endpoint_groups_project_id"), "identity_project_endpoint_groups",
                    ["project_id"], unique=False)
    op.create_table(
        "identity_domain_config",
        sa.Column("domain_id", sa.String(64), nullable=False),
        sa.Column("group", sa.String(32), nullable=False),
        sa.Column("option", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["domain_id"], ["identity_domains.id"], ondelete="CASCADE",
                                name=op.f("fk_identity_domain_config_domain_id_identity_domains")),
        sa.PrimaryKeyConstraint("domain_id", "group", "option", name=op.f("pk_identity_domain_config")))


def downgrade() -> None:
    op.drop_table("identity_domain_config")
    op.drop_index(op.f("ix_identity_project_endpoint_groups_project_id"), table_name="identity_project_endpoint_groups")
    op.drop_table("identity_project_endpoint_groups")
    op.drop_index(op.f("ix_identity_project_endpoints_endpoint_id"), table_name="identity_project_endpoints")
    op.drop_table("identity_project_endpoints")
    op.drop_table("identity_endpoint_groups")
