"""The key manager's tables. Nothing here is a key in clear: a project KEK is stored sealed by the master KEK, a
secret's DEK sealed by its project's KEK, a payload sealed by its DEK."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base


class ProjectKek(Base):
    """One project's key-encryption key, wrapped by the master KEK (bound to the project id)."""

    __tablename__ = "kms_project_keks"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    backend: Mapped[str] = mapped_column(String(16))  # which master KEK wrapped it: file, pkcs11
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Secret(Base):
    __tablename__ = "kms_secrets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    creator_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    secret_type: Mapped[str] = mapped_column(String(80), default="opaque")
    algorithm: Mapped[str | None] = mapped_column(String(255), nullable=True)
    bit_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mode: Mapped[str | None] = mapped_column(String(255), nullable=True)
    expiration: Mapped[datetime | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    # The payload's content type once there is one (text/plain, application/octet-stream...).
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    kek_generation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Barbican's user metadata: lowercase URL-safe keys, string values (not secret, not encrypted).
    user_metadata: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SecretAcl(Base):
    """A secret's `read` ACL, when one was set: the users it names (of any project) and whether the owner project's
    other members keep access (`project-access`). No row: Barbican's default, project access only."""

    __tablename__ = "kms_secret_acls"
    secret_id: Mapped[str] = mapped_column(ForeignKey("kms_secrets.id", ondelete="CASCADE"), primary_key=True)
    project_access: Mapped[bool] = mapped_column(Boolean, default=True)
    users: Mapped[list] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "kms_orders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    creator_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    meta: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    secret_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeletionCertificate(Base):
    """A signed statement that a resource's key was destroyed (kms/certificates.py), kept for its owner to fetch."""

    __tablename__ = "kms_deletion_certificates"
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
