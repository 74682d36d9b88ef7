"""Nova's server groups: a scheduling policy and the servers booted into it (os-server-groups)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base


class ServerGroup(Base):
    __tablename__ = "compute_server_groups"
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))  # affinity | anti-affinity | soft-affinity | soft-anti-affinity
    rules: Mapped[dict] = mapped_column(default=dict)  # microversion 2.64's rules (max_server_per_host)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerGroupMember(Base):
    """A server booted with the group hint; a deleted server stays here and is filtered out when read."""

    __tablename__ = "compute_server_group_members"
    group_uuid: Mapped[str] = mapped_column(ForeignKey("compute_server_groups.uuid", ondelete="CASCADE"),
                                            primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
