"""Neutron's agents API, read-only: the data plane's health as `openstack network agent list` shows it.

One process per host (`andromede agent`) does the work Neutron splits between several agents. On every host it
wires its VMs' ports (listed as a Linux bridge agent); on the network host it also serves DHCP, routers and the
metadata proxies (a DHCP, an L3 and a metadata agent). Each poll of the controller for its network document counts
as the host's heartbeat; an agent is alive when its host's last one is recent.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.errors import NotFound
from andromede.hosts import service as hosts
from andromede.hosts.liveness import is_alive
from andromede.hosts.service import HostView
from andromede.network.l3.models import ROUTER_INTERFACE, FloatingIp, Router, RouterPort
from andromede.network.models import Network, Port, Subnet

BINARY = "andromede-agent"
PORTS_AGENT = "Linux bridge agent"
NETWORK_HOST_AGENTS = ("DHCP agent", "L3 agent", "Metadata agent")
# The subnets the DHCP servers serve: IPv4 with DHCP on (there is no DHCPv6 server).
_DHCP_SUBNETS = select(Subnet.id).where(Subnet.enable_dhcp.is_(True), Subnet.ip_version == 4)
_IDS = uuid.UUID("3f8e0c52-8d1b-4e55-9f4a-5b0c2d7a9e61")  # namespace of the agents' stable ids


def note_seen(session: Session, host: str) -> None:
    """The host's network agent asked for its document or reported status: its heartbeat."""
    hosts.note_network_agent_seen(session, host)


def agent_id(host: str, agent_type: str) -> str:
    return str(uuid.uuid5(_IDS, f"{host}/{agent_type}"))


def _neutron_time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None  # the agents API's own format


def _configurations(session: Session, host: HostView, agent_type: str) -> dict:
    if agent_type == PORTS_AGENT:
        devices = session.scalar(select(func.count()).select_from(Port).where(Port.binding_host_id == host.name))
        return {"tunnel_types": ["vxlan"], "tunneling_ip": host.vtep_address, "devices": devices or 0,
                "bridge_mappings": {}, "interface_mappings": {}}
    if agent_type == "DHCP agent":
        served = _DHCP_SUBNETS.with_only_columns(Subnet.network_id)
        networks = session.scalar(select(func.count()).select_from(Network).where(Network.id.in_(served)))
        subnets = session.scalar(select(func.count()).select_from(Subnet).where(Subnet.enable_dhcp.is_(True)))
        ports = session.scalar(select(func.count()).select_from(Port).where(Port.network_id.in_(served)))
        return {"networks": networks or 0, "subnets": subnets or 0, "ports": ports or 0,
                "dhcp_driver": "dnsmasq", "dhcp_lease_duration": 86400}
    if agent_type == "L3 agent":
        return {"agent_mode": "legacy",
                "routers": session.scalar(select(func.count()).select_from(Router)) or 0,
                "interfaces": session.scalar(select(func.count()).select_from(RouterPort)
                                             .where(RouterPort.port_type == ROUTER_INTERFACE)) or 0,
                "ex_gw_ports": session.scalar(select(func.count()).select_from(Router)
                                              .where(Router.gw_port_id.is_not(None))) or 0,
                "floating_ips": session.scalar(select(func.count()).select_from(FloatingIp)
                                               .where(FloatingIp.port_id.is_not(None))) or 0}
    return {"metadata_proxy_socket": "per network, in its DHCP namespace"}


def _doc(session: Session, host: HostView, agent_type: str, now: datetime) -> dict:
    seen = host.network_agent_seen
    return {"id": agent_id(host.name, agent_type), "agent_type": agent_type, "binary": BINARY, "host": host.name,
            "topic": "N/A", "admin_state_up": True, "alive": is_alive(seen, now),
            "availability_zone": host.availability_zone if agent_type in ("DHCP agent", "L3 agent") else None,
            "configurations": _configurations(session, host, agent_type), "description": "",
            "created_at": _neutron_time(host.created_at), "started_at": _neutron_time(host.created_at),
            "heartbeat_timestamp": _neutron_time(seen), "resources_synced": None, "ha_state": None}


def list_agents(session: Session, network_host: str) -> list[dict]:
    now = utcnow()
    docs: list[dict] = []
    for host in hosts.with_network_agent(session):
        types = (PORTS_AGENT, *NETWORK_HOST_AGENTS) if host.name == network_host else (PORTS_AGENT,)
        docs.extend(_doc(session, host, agent_type, now) for agent_type in types)
    return docs


def hosting(session: Session, network_host: str, agent_type: str) -> list[dict]:
    """The agents serving a network's DHCP or a router (`openstack network agent list --network/--router`): the
    network host's agent of that type, once it has been seen."""
    host = hosts.get(session, network_host)
    if host is None or host.network_agent_seen is None:
        return []
    return [_doc(session, host, agent_type, utcnow())]


def serves_dhcp(session: Session, network: Network) -> bool:
    return session.scalars(_DHCP_SUBNETS.where(Subnet.network_id == network.id)).first() is not None


def get_agent(session: Session, network_host: str, wanted: str) -> dict:
    for doc in list_agents(session, network_host):
        if doc["id"] == wanted:
            return doc
    raise NotFound(f"Agent {wanted} could not be found.", extra={"type": "AgentNotFound"})
