"""the key manager: project KEKs (wrapped), secrets (sealed), their read ACLs, orders, deletion certificates

Revision ID: 0022_kms
Revises: 0021_server_lifecycle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_kms"
down_revision = "0021_server_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kms_project_keks",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_kms_project_keks")))
    op.create_table(
        "kms_secrets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("secret_type", sa.String(length=80), nullable=False),
        sa.Column("algorithm", sa.String(length=255), nullable=True),
        sa.Column("bit_length", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=255), nullable=True),
        sa.Column("expiration", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("kek_generation", sa.Integer(), nullable=True),
        sa.Column("user_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kms_secrets")))
    op.create_index(op.f("ix_kms_secrets_project_id"), "kms_secrets", ["project_id"])
    op.create_table(
        "kms_secret_acls",
        sa.Column("secret_id", sa.String(length=36), nullable=False),
        sa.Column("project_access", sa.Boolean(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["secret_id"], ["kms_secrets.id"], ondelete="CASCADE",
                                name=op.f("fk_kms_secret_acls_secret_id_kms_secrets")),
        sa.PrimaryKeyConstraint("secret_id", name=op.f("pk_kms_secret_acls")))
    op.create_table(
        "kms_orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("secret_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kms_orders")))
    op.create_index(op.f("ix_kms_orders_project_id"), "kms_orders", ["project_id"])
    op.create_table(
        "kms_deletion_certificates",
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", name=op.f("pk_kms_deletion_certificates")))
    op.create_index(op.f("ix_kms_deletion_certificates_project_id"), "kms_deletion_certificates", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kms_deletion_certificates_project_id"), table_name="kms_deletion_certificates")
    op.drop_table("kms_deletion_certificates")
    op.drop_index(op.f("ix_kms_orders_project_id"), table_name="kms_orders")
    op.drop_table("kms_orders")
    op.drop_table("kms_secret_acls")
    op.drop_index(op.f("ix_kms_secrets_project_id"), table_name="kms_secrets")
    op.drop_table("kms_secrets")
    op.drop_table("kms_project_keks")
