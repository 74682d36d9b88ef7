"""What one host's network agent must build: the desired data plane, as one document.

Compute hosts get the ports bound to them (and their networks and security groups). The network host (in the
all-in-one, the only host) also runs every network's DHCP server, the routers and host access to external
networks. The agent converts this document into driver specs; nothing here touches the host.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.contracts import network as contract
from andromede.network import dhcp_ports
from andromede.network.l3 import service as l3
from andromede.network.models import FixedIp, Network, Port, Subnet
from andromede.network.security_groups import service as security_groups

log = logging.getLogger("andromede.network")
DHCP_OWNER = dhcp_ports.DHCP_OWNER
METADATA_ADDRESS = "169.254.169.254"


def ensure_dhcp_ports(session: Session, network_host: str) -> None:
    """Repair: networks whose DHCP was switched on after their subnets were made get their DHCP port too."""
    del network_host  # every DHCP server runs on the network host; the port itself is not bound elsewhere
    dhcp_ports.ensure_all(session)


def _addresses(session: Session, port_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if port_ids:
        for row in session.scalars(select(FixedIp).where(FixedIp.port_id.in_(port_ids))
                                   .order_by(FixedIp.ip_address)):
            found[row.port_id].append(row.ip_address)
    return found


def _port_doc(port: Port, addresses: list[str], groups: list[str]) -> contract.HostPort:
    return contract.HostPort(
        id=port.id, network_id=port.network_id, mac=port.mac_address, fixed_ips=tuple(addresses),
        allowed_address_pairs=tuple(contract.AddressPair.model_validate(pair)
                                    for pair in port.allowed_address_pairs or []),
        port_security=port.port_security_enabled, device_id=port.device_id, device_owner=port.device_owner,
        admin_state_up=port.admin_state_up, security_groups=tuple(groups))


def _hostname_for(address: str) -> str:
    return "host-" + address.replace(".", "-").replace(":", "-")


def _dhcp_docs(session: Session, subnets_by_network: dict[str, list[Subnet]]) -> list[contract.DhcpServer]:
    """Every DHCP server's document, in `subnets_by_network`'s order, read with three queries for all networks."""
    ids = list(subnets_by_network)
    if not ids:
        return []
    networks = {n.id: n for n in session.scalars(select(Network).where(Network.id.in_(ids)))}
    ports: dict[str, list[Port]] = defaultdict(list)
    for port in session.scalars(select(Port).where(Port.network_id.in_(ids))):
        ports[port.network_id].append(port)
    addresses: dict[str, list[FixedIp]] = defaultdict(list)
    for row in session.scalars(select(FixedIp).where(FixedIp.port_id.in_(select(Port.id).where(
            Port.network_id.in_(ids)))).order_by(FixedIp.ip_address)):
        addresses[row.port_id].append(row)
    docs = []
    for network_id, subnets in subnets_by_network.items():
        network = networks.get(network_id)
        if network is None or network.external:
            continue
        doc = _dhcp_doc(network, subnets, ports[network_id], addresses)
        if doc is not None:
            docs.append(doc)
    return docs


def _dhcp_doc(network: Network, subnets: list[Subnet], ports: list[Port],
              addresses: dict[str, list[FixedIp]]) -> contract.DhcpServer | None:
    dhcp_port = next((p for p in ports if p.device_owner == DHCP_OWNER), None)
    if dhcp_port is None:
        return None
    server = {row.subnet_id: row.ip_address for row in addresses[dhcp_port.id]}
    subnet_docs: list[contract.DhcpSubnet] = []
    for subnet in subnets:
        if subnet.id not in server:
            continue
        subnet_docs.append(contract.DhcpSubnet(
            id=subnet.id, cidr=subnet.cidr, server_address=server[subnet.id], gateway=subnet.gateway_ip,
            dns_servers=tuple(subnet.dns_nameservers or []),
            host_routes=tuple((r["destination"], r["nexthop"]) for r in subnet.host_routes or [])))
    if not subnet_docs:
        return None
    served = [ipaddress.ip_network(s.cidr) for s in subnet_docs]
    hosts = []
    for port in ports:
        if port.id == dhcp_port.id or port.device_owner.startswith("network:router"):
            continue
        for address in (row.ip_address for row in addresses[port.id]):
            if any(ipaddress.ip_address(address) in net for net in served):
                options = tuple((o["opt_name"], o["opt_value"]) for o in port.extra_dhcp_opts or []
                                if o["ip_version"] == 4)
                hosts.append(contract.DhcpHost(mac=port.mac_address, ip=address, hostname=_hostname_for(address),
                                               options=options))
                break  # one static lease per MAC
    return contract.DhcpServer(network_id=network.id, port_id=dhcp_port.id, mac=dhcp_port.mac_address,
                               mtu=network.mtu, subnets=tuple(subnet_docs), hosts=tuple(hosts))


def _remote_vteps(session: Session, host: str, network_ids: set[str], vteps: dict[str, str],
                  network_host_name: str) -> dict[str, list[str]]:
    """For each network, the VXLAN endpoints of the other hosts that carry it: those with its compute ports, and the
    network host (DHCP, routers). Broadcast and unknown unicast are copied to each (head-end replication)."""
    usable = {name: address for name, address in vteps.items() if not ipaddress.ip_address(address).is_loopback}
    if not usable or not network_ids:
        return {}
    carriers: dict[str, set[str]] = defaultdict(set)
    rows = session.execute(select(Port.network_id, Port.binding_host_id).distinct()
                           .where(Port.network_id.in_(network_ids), Port.binding_host_id != "",
                                  Port.device_owner.startswith("compute:")))
    for network_id, bound in rows:
        carriers[network_id].add(bound)
    mine = usable.get(host)
    found = {}
    for network_id in network_ids:
        peers = (carriers[network_id] | {network_host_name}) - {host}
        found[network_id] = sorted({usable[p] for p in peers if p in usable} - {mine})
    return found


def host_view(session: Session, host: str, *, generation: int, network_host: bool,
              vteps: dict[str, str] | None = None,
              network_host_name: str | None = None) -> contract.HostNetworkDocument:
    """HOST's document at `generation`. `vteps`: registered hosts' VXLAN endpoints by host name;
    `network_host_name`: where DHCP and routers run."""
    ports = list(session.scalars(select(Port).where(Port.binding_host_id == host,
                                                    Port.device_owner.startswith("compute:"))
                                 .order_by(Port.created_at, Port.id)))
    port_ids = [p.id for p in ports]
    addresses = _addresses(session, port_ids)
    groups = security_groups.agent_view(session, port_ids)
    needed = {p.network_id for p in ports}
    dhcp: list[contract.DhcpServer] = []
    routers: list[contract.Router] = []
    external: list[contract.ExternalAccess] = []
    if network_host:
        dhcp = _dhcp_docs(session, dhcp_ports.dhcp_subnets(session))
        needed.update(doc.network_id for doc in dhcp)
        routers = l3.agent_view(session)
        for router in routers:
            needed.update(i.network_id for i in router.interfaces)
            if router.gateway is not None:
                needed.add(router.gateway.network_id)
        for network in session.scalars(select(Network).where(Network.external.is_(True))):
            subnet = session.scalars(select(Subnet).where(Subnet.network_id == network.id, Subnet.ip_version == 4,
                                                          Subnet.gateway_ip.is_not(None))
                                     .order_by(Subnet.created_at)).first()
            if subnet is not None:
                prefix = ipaddress.ip_network(subnet.cidr).prefixlen
                external.append(contract.ExternalAccess(network_id=network.id,
                                                        host_cidr=f"{subnet.gateway_ip}/{prefix}", cidr=subnet.cidr))
                needed.add(network.id)
    callers: dict[str, dict[str, tuple[str, str]]] = {}
    if network_host:  # who may ask the metadata service what, by (network, fixed IP): never by a header
        rows = session.execute(select(Port.network_id, FixedIp.ip_address, Port.device_id, Port.project_id)
                               .join(FixedIp, FixedIp.port_id == Port.id)
                               .where(Port.device_owner.startswith("compute:"), Port.device_id != ""))
        for network_id, address, device_id, project_id in rows:
            callers.setdefault(network_id, {})[address] = (device_id, project_id)
    remote = _remote_vteps(session, host, needed, vteps or {}, network_host_name or host)
    networks = tuple(contract.HostNetwork(id=n.id, vni=n.segmentation_id, mtu=n.mtu,
                                          remote_vteps=tuple(remote.get(n.id, [])))
                     for n in session.scalars(select(Network).where(Network.id.in_(needed)).order_by(Network.id)))
    return contract.HostNetworkDocument(
        generation=generation, networks=networks,
        ports=tuple(_port_doc(p, addresses[p.id], groups.port_groups.get(p.id, [])) for p in ports),
        dhcp=tuple(dhcp), security_groups=groups.groups, routers=tuple(routers), external=tuple(external),
        network_host=network_host, metadata_callers=callers)
