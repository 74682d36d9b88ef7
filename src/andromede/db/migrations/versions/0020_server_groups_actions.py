"""server groups and their members; instance actions and their events

Revision ID: 0020_server_groups_actions
Revises: 0019_server_access_ips
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_server_groups_actions"
down_revision = "0019_server_access_ips"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_server_groups",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_compute_server_groups")))
    op.create_index(op.f("ix_compute_server_groups_project_id"), "compute_server_groups", ["project_id"])
    op.create_table(
        "compute_server_group_members",
        sa.Column("group_uuid", sa.String(length=36), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["group_uuid"], ["compute_server_groups.uuid"], ondelete="CASCADE",
                                name=op.f("fk_compute_server_group_members_group_uuid_compute_server_groups")),
        sa.PrimaryKeyConstraint("group_uuid", "instance_uuid", name=op.f("pk_compute_server_group_members")))
    op.create_index(op.f("ix_compute_server_group_members_instance_uuid"), "compute_server_group_members",
                    ["instance_uuid"])
    op.create_table(
        "compute_instance_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("finish_time", sa.DateTime(), nullable=True),
        sa.Column("message", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_instance_actions")))
    op.create_index(op.f("ix_compute_instance_actions_instance_uuid"), "compute_instance_actions",
                    ["instance_uuid"])
    op.create_table(
        "compute_instance_action_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("finish_time", sa.DateTime(), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["compute_instance_actions.id"], ondelete="CASCADE",
                                name=op.f("fk_compute_instance_action_events_action_id_compute_instance_actions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_instance_action_events")))
    op.create_index(op.f("ix_compute_instance_action_events_action_id"), "compute_instance_action_events",
                    ["action_id"])


def downgrade() -> None:
    op.drop_table("compute_instance_action_events")
    op.drop_table("compute_instance_actions")
    op.drop_table("compute_server_group_members")
    op.drop_table("compute_server_groups")
