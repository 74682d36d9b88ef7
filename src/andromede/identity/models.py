"""Identity tables: the resource tree, actors, roles and their assignments, catalog, credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base

ID = String(64)
NAME = String(255)


class Domain(Base):
    __tablename__ = "identity_domains"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Project(Base):
    __tablename__ = "identity_projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ForeignKey("identity_domains.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("identity_projects.id"), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "identity_users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ForeignKey("identity_domains.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict] = mapped_column(default=dict)
    options: Mapped[dict] = mapped_column(default=dict)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    password_created_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The time step of the last TOTP passcode accepted, across all the user's TOTP credentials (one seed may be
    # enrolled twice): no passcode is accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Group(Base):
    __tablename__ = "identity_groups"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ForeignKey("identity_domains.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict] = mapped_column(default=dict)


class GroupMember(Base):
    __tablename__ = "identity_group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("identity_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("identity_users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class Role(Base):
    __tablename__ = "identity_roles"
    # scope_key is the owning domain id, or "" for global roles (NULLs never collide in a unique index).
    __table_args__ = (UniqueConstraint("scope_key", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str | None] = mapped_column(ForeignKey("identity_domains.id"), nullable=True)
    scope_key: Mapped[str] = mapped_column(ID, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict] = mapped_column(default=dict)


class ImpliedRole(Base):
    __tablename__ = "identity_implied_roles"
    prior_role_id: Mapped[str] = mapped_column(ForeignKey("identity_roles.id", ondelete="CASCADE"),
                                               primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(ForeignKey("identity_roles.id", ondelete="CASCADE"),
                                                 primary_key=True)


class RoleAssignment(Base):
    __tablename__ = "identity_role_assignments"
    __table_args__ = (Index("ix_assignment_target", "target_type", "target_id"),)
    actor_type: Mapped[str] = mapped_column(String(16), primary_key=True)  # user | group
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    target_type: Mapped[str] = mapped_column(String(16), primary_key=True)  # project | domain | system
    target_id: Mapped[str] = mapped_column(ID, primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("identity_roles.id", ondelete="CASCADE"),
                                         primary_key=True)
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class Region(Base):
    __tablename__ = "identity_regions"
    id: Mapped[str] = mapped_column(NAME, primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_region_id: Mapped[str | None] = mapped_column(NAME, nullable=True)
    extra: Mapped[dict] = mapped_column(default=dict)


class Service(Base):
    __tablename__ = "identity_services"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(NAME)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict] = mapped_column(default=dict)
    # Registered by the server itself and kept in step with its public URL on every start.
    managed: Mapped[bool] = mapped_column(Boolean, default=False)


class Endpoint(Base):
    __tablename__ = "identity_endpoints"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("identity_services.id"), index=True)
    interface: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[str | None] = mapped_column(ForeignKey("identity_regions.id"), nullable=True)
    url: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict] = mapped_column(default=dict)


class ApplicationCredential(Base):
    __tablename__ = "identity_application_credentials"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(ForeignKey("identity_users.id", ondelete="CASCADE"), index=True)
    # Bound to one project, or (system == "all") to the system, as Keystone's model allows.
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    system: Mapped[str | None] = mapped_column(String(16), nullable=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    role_ids: Mapped[list] = mapped_column(default=list)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Credential(Base):
    """Keystone /v3/credentials: ec2 and totp secrets, sealed with the credential keyring."""

    __tablename__ = "identity_credentials"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("identity_users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    type: Mapped[str] = mapped_column(String(64))
    sealed_blob: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Recent login failures of one account from one client address (see identity/throttle.py).

    account_key is a digest of what the client named (a user id, or an unknown name), never the name itself:
    people type passwords into the user name field.
    """

    __tablename__ = "identity_login_throttle"
    account_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RevocationEvent(Base):
    """A token is revoked when every non-null field matches it and it was issued before issued_before."""

    __tablename__ = "identity_revocation_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    domain_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    audit_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    audit_chain_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    app_cred_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    issued_before: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class EndpointGroup(Base):
    """OS-EP-FILTER: endpoints chosen by filters (interface, service_id, region_id), handed to projects."""

    __tablename__ = "identity_endpoint_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    description: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[dict] = mapped_column(default=dict)


class ProjectEndpoint(Base):
    __tablename__ = "identity_project_endpoints"
    project_id: Mapped[str] = mapped_column(ForeignKey("identity_projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("identity_endpoints.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)


class ProjectEndpointGroup(Base):
    __tablename__ = "identity_project_endpoint_groups"
    endpoint_group_id: Mapped[str] = mapped_column(
        ForeignKey("identity_endpoint_groups.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("identity_projects.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class DomainConfigOption(Base):
    """A domain-specific identity option, stored as Keystone stores it; sensitive values sealed."""

    __tablename__ = "identity_domain_config"
    domain_id: Mapped[str] = mapped_column(ForeignKey("identity_domains.id", ondelete="CASCADE"),
                                           primary_key=True)
    group: Mapped[str] = mapped_column(String(32), primary_key=True)
    option: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(default=dict)  # {"v": value}, or {"sealed": text} when sensitive
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
