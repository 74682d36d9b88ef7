"""Tables (registered on the shared Base when network's descriptor imports them).

A router's interfaces and gateway are ordinary ports (device_id = the router id) with a device_owner that marks
them; RouterPort ties each of them to its router so a port can never serve two routers. A floating IP owns a port
on the external network (so IPAM never hands its address to anyone else) and points at the port it is associated
with.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andromede.db.base import Base
from andromede.network.models import StandardAttributes

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATINGIP = "network:floatingip"
# Ports the port API may not delete directly (409 ServicePortInUse), and that keep a subnet or network in use.
L3_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATINGIP)


class Router(StandardAttributes, Base):
    __tablename__ = "network_routers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_network_id: Mapped[str | None] = mapped_column(ForeignKey("network_networks.id"), nullable=True, index=True)
    gw_port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id"), nullable=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    routes: Mapped[list] = mapped_column(default=list)  # extraroute: [{"destination": cidr, "nexthop": ip}]


class RouterPort(Base):
    """One interface (or the gateway) of a router; a port belongs to at most one router."""

    __tablename__ = "network_router_ports"
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    router_id: Mapped[str] = mapped_column(ForeignKey("network_routers.id", ondelete="CASCADE"), index=True)
    port_type: Mapped[str] = mapped_column(String(255))


class FloatingIp(StandardAttributes, Base):
    __tablename__ = "network_floatingips"
    # Neutron's own rule: one floating IP per (external network, fixed port, fixed address).
    __table_args__ = (UniqueConstraint("floating_network_id", "port_id", "fixed_ip_address"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    floating_port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id"), unique=True)
    port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id"), nullable=True, index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    router_id: Mapped[str | None] = mapped_column(ForeignKey("network_routers.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
