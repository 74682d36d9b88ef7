"""Neutron tables: networks, subnets, ports and their fixed IPs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base


class StandardAttributes:
    """Neutron's standard attributes, the same on every resource: owner, name, description, tags, revision."""

    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(default=list)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Network(StandardAttributes, Base):
    __tablename__ = "network_networks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer, default=1450)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    segmentation_id: Mapped[int] = mapped_column(Integer, unique=True)  # the VXLAN VNI


class Subnet(StandardAttributes, Base):
    __tablename__ = "network_subnets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    allocation_pools: Mapped[list] = mapped_column(default=list)
    dns_nameservers: Mapped[list] = mapped_column(default=list)
    host_routes: Mapped[list] = mapped_column(default=list)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Port(StandardAttributes, Base):
    __tablename__ = "network_ports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    mac_address: Mapped[str] = mapped_column(String(17), unique=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_address_pairs: Mapped[list] = mapped_column(default=list)
    extra_dhcp_opts: Mapped[list] = mapped_column(default=list)  # [{"opt_name", "opt_value", "ip_version"}]
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")


class FixedIp(Base):
    """One address of a port; unique per subnet, so two ports can never get the same IP."""

    __tablename__ = "network_fixed_ips"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
