"""Tables (registered on the shared Base when network's descriptor imports them).

A project's `default` group is claimed through DefaultSecurityGroup (project_id is its primary key), so two
concurrent first requests of a project can never make two defaults. Per-project quota overrides live here too:
they are a Neutron API of their own but share this slice's migration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base
from andromede.network.models import StandardAttributes


class SecurityGroup(StandardAttributes, Base):
    __tablename__ = "network_security_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class DefaultSecurityGroup(Base):
    """The claim on a project's one `default` group."""

    __tablename__ = "network_default_security_groups"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), unique=True)


class SecurityGroupRule(Base):
    __tablename__ = "network_security_group_rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    ethertype: Mapped[str] = mapped_column(String(8))
    # Lower-case protocol name or decimal number string (as Neutron stores it); None means any protocol.
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), nullable=True, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PortSecurityGroup(Base):
    """A port's membership of a group (the port's rules are the union of its groups' rules)."""

    __tablename__ = "network_port_security_groups"
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("network_security_groups.id"), primary_key=True,
                                                   index=True)


class QuotaLimit(Base):
    """One per-project override of a network quota default (-1 = unlimited)."""

    __tablename__ = "network_quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)
