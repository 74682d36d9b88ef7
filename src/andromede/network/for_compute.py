"""What the compute service asks of the network service: a server's ports, addresses and groups.

Compute never reads network's tables; it calls these functions with its own open session, so a server and its ports
are still made in one transaction (a refused request leaves neither behind). A server is named here by its id and
the ports it records (`PluggedPort`, in NIC order); answers are small frozen values, never network rows. Messages
are Nova's: these are the errors a server request answers with.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from andromede.network import ipam
from andromede.network import service as network_service
from andromede.network.l3 import service as l3
from andromede.network.models import FixedIp, Network, Port, Subnet
from andromede.network.schemas import FixedIpRequest, NetworkCreate, PortCreate, PortUpdate, SubnetCreate
from andromede.network.security_groups import service as security_groups
from andromede.network.security_groups.models import PortSecurityGroup, SecurityGroup
from andromede.network.security_groups.schemas import SecurityGroupCreate, SecurityGroupRuleCreate

AUTO_NETWORK_NAME = "auto_allocated_network"
AUTO_SUBNET_CIDR = "10.0.0.0/24"
_SYSTEM = RequestContext(request_id="nova", user_id="nova", project_id="", system_scope=True,
                         roles=frozenset({"admin"}))

# A server's ports, as the calls below take them: server id -> its port ids in NIC order.
ServerPortIds = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class NicRequest:
    """One NIC of a server request: a network (None: the project's auto-allocated one) or a port the user brings."""
    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None


@dataclass(frozen=True)
class PluggedPort:
    """A port as the server records it; `preserve_on_delete`: the user brought it, so it outlives the server."""
    port_id: str
    preserve_on_delete: bool


@dataclass(frozen=True)
class ServerNic:
    """A NIC as the host agent wires it and the views show it."""
    port_id: str
    network_id: str
    network_name: str
    mac: str
    mtu: int
    fixed_ips: tuple[str, ...]


@dataclass(frozen=True)
class NicAddresses:
    """The addresses one NIC carries: its fixed ones, then the floating ones mapped onto it."""
    network_name: str
    mac: str
    fixed: tuple[str, ...]
    floating: tuple[str, ...]


@dataclass(frozen=True)
class PortAddress:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class Interface:
    """A server's port as os-interface shows it."""
    port_id: str
    network_id: str
    mac: str
    status: str
    fixed_ips: tuple[PortAddress, ...]


def available_networks(session: Session, ctx: RequestContext) -> list[str]:
    """What a server of this project may be plugged into without naming it: its own networks and shared ones."""
    rows = session.scalars(select(Network).where((Network.project_id == ctx.project_id) | Network.shared)
                           .order_by(Network.created_at, Network.id))
    return [row.id for row in rows if not row.external or row.shared]


def validate_nic_requests(session: Session, ctx: RequestContext,
                          requested: Sequence[NicRequest] | Literal["auto", "none"] | None,
                          count: int) -> list[NicRequest]:
    """The NICs a create request asks for, checked (networks and ports exist and may be used); nothing is written."""
    if requested == "none":
        return []
    if not requested or requested == "auto":  # OSC sends [] when no --nic is given: Nova reads it as omitted
        available = available_networks(session, ctx)
        if len(available) > 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more specific.")
        if available:
            return [NicRequest(network_id=available[0])]
        return [NicRequest(network_id=None)] if requested == "auto" else []
    requests: list[NicRequest] = []
    for ref in requested:
        if ref.port_id:
            if count > 1:
                raise BadRequest("Unable to launch multiple instances with a single configured port ID. "
                                 "Please launch your instance one by one with different ports.")
            if ref.network_id:
                raise BadRequest("Specify either a network or a port, not both.")
            port = session.get(Port, ref.port_id)
            if port is None or (not ctx.is_admin and port.project_id != ctx.project_id):
                raise BadRequest(f"Port id {ref.port_id} could not be found.")
            if port.device_id or port.device_owner:
                raise Conflict(f"Port {ref.port_id} is still in use.")
            requests.append(NicRequest(port_id=port.id))
            continue
        if not ref.network_id:
            raise BadRequest("A network entry needs a 'uuid' (network) or a 'port'.")
        network = session.get(Network, ref.network_id)
        if network is None or not network_service.visible_network(ctx, network):
            raise BadRequest(f"Network {ref.network_id} could not be found.")
        if network.external and not network.shared and not ctx.is_admin:
            raise Forbidden(f"It is not allowed to create an interface on external network {network.id}")
        if not session.scalars(select(Subnet.id).where(Subnet.network_id == network.id)).first():
            raise BadRequest(f"Network {network.id} requires a subnet in order to boot instances on.")
        if ref.fixed_ip is not None:
            try:
                ipaddress.ip_address(ref.fixed_ip)
            except ValueError:
                raise BadRequest(f"Invalid fixed IP address ({ref.fixed_ip})") from None
            if count > 1:
                raise BadRequest("Unable to launch multiple instances with a single fixed IP address.")
        requests.append(NicRequest(network_id=network.id, fixed_ip=ref.fixed_ip))
    if len({r.port_id for r in requests if r.port_id}) != len([r for r in requests if r.port_id]):
        raise BadRequest("The same port cannot be requested twice.")
    return requests


def _auto_network(session: Session, ctx: RequestContext) -> str:
    """Nova's auto-allocated topology: a private network with one subnet, made once per project."""
    existing = session.scalars(select(Network.id).where(Network.project_id == ctx.project_id,
                                                        Network.name == AUTO_NETWORK_NAME)).first()
    if existing:
        return existing
    network = network_service.create_network(session, ctx, NetworkCreate(name=AUTO_NETWORK_NAME))
    network_service.create_subnet(session, ctx, SubnetCreate.model_validate(
        {"network_id": network.id, "cidr": AUTO_SUBNET_CIDR, "ip_version": 4, "name": AUTO_NETWORK_NAME}))
    return network.id


def security_group_ids(session: Session, ctx: RequestContext, names: list[str]) -> list[str] | None:
    """Group ids for `security_groups: [{"name": ...}]` (names or ids); None: Neutron's default for new ports."""
    if not names:
        return None
    try:
        return security_groups.resolve(session, ctx, ctx.project_id or "", names)
    except NotFound:
        raise BadRequest(f"Unable to find security_group with name or id '{', '.join(names)}'") from None


def allocate_ports(session: Session, ctx: RequestContext, server_id: str, availability_zone: str,
                   host: str | None, requests: Sequence[NicRequest],
                   groups: list[str] | None = None) -> list[PluggedPort]:
    """Create or claim the server's ports (in request order) and bind them to its host; the errors are the
    network service's own (compute decides how to show them)."""
    plugged: list[PluggedPort] = []
    owner = f"compute:{availability_zone}"
    for request in requests:
        if request.port_id:
            port = session.get(Port, request.port_id)
            assert port is not None  # checked by validate_nic_requests in this same transaction
            if port.device_id:
                raise Conflict(f"Port {port.id} is still in use.")
            port.device_id, port.device_owner = server_id, owner
            plugged.append(PluggedPort(port.id, preserve_on_delete=True))
            continue
        network_id = request.network_id or _auto_network(session, ctx)
        fixed = [FixedIpRequest(ip_address=request.fixed_ip)] if request.fixed_ip else None
        chosen: dict[str, Any] = {} if groups is None else {"security_groups": groups}  # unset: the default
        created = network_service.create_port(session, ctx, PortCreate(
            network_id=network_id, device_id=server_id, device_owner=owner, fixed_ips=fixed, **chosen))
        plugged.append(PluggedPort(created.id, preserve_on_delete=False))
    bind_ports(session, [p.port_id for p in plugged], host)
    return plugged


def bind_ports(session: Session, port_ids: Sequence[str], host: str | None) -> None:
    """Point the server's ports at the host it was placed on (the host's agent then wires them)."""
    for port in session.scalars(select(Port).where(Port.id.in_(port_ids))):
        port.binding_host_id = host or ""
        port.revision_number += 1


def release_ports(session: Session, server_id: str, plugged: Sequence[PluggedPort]) -> None:
    """Ports Nova made go away with the server; ports the user brought are unbound and kept."""
    keep = {p.port_id for p in plugged if p.preserve_on_delete}
    for port in session.scalars(select(Port).where(Port.id.in_([p.port_id for p in plugged]))):
        if port.device_id != server_id:
            continue  # detached and reused meanwhile
        if port.id in keep:
            port.device_id = port.device_owner = port.binding_host_id = ""
            port.status = "DOWN"
            port.revision_number += 1
        else:  # with everything Neutron does on a port delete (floating IPs let go, group bindings)
            network_service.delete_port(session, _SYSTEM, port.id)


def server_nics(session: Session, servers: ServerPortIds) -> dict[str, list[ServerNic]]:
    """Per server, its NICs in order (a port since detached or reused is left out)."""
    port_ids = [pid for ids in servers.values() for pid in ids]
    if not port_ids:
        return {server_id: [] for server_id in servers}
    ports = {p.id: p for p in session.scalars(select(Port).where(Port.id.in_(port_ids)))}
    networks = {n.id: n for n in session.scalars(
        select(Network).where(Network.id.in_({p.network_id for p in ports.values()})))}
    addresses: dict[str, list[str]] = defaultdict(list)
    for row in session.scalars(select(FixedIp).where(FixedIp.port_id.in_(port_ids)).order_by(FixedIp.ip_address)):
        addresses[row.port_id].append(row.ip_address)
    result: dict[str, list[ServerNic]] = {}
    for server_id, ids in servers.items():
        nics = []
        for port_id in ids:
            port = ports.get(port_id)
            if port is None or port.device_id != server_id:
                continue
            network = networks[port.network_id]
            nics.append(ServerNic(port_id=port.id, network_id=network.id, network_name=network.name or network.id,
                                  mac=port.mac_address, mtu=network.mtu, fixed_ips=tuple(addresses[port.id])))
        result[server_id] = nics
    return result


def server_addresses(session: Session, servers: ServerPortIds) -> dict[str, list[NicAddresses]]:
    """Per server, per NIC in order, its fixed then floating addresses (what Nova's `addresses` shows)."""
    nics = server_nics(session, servers)
    floating = l3.floating_ips_for_ports(session, [nic.port_id for found in nics.values() for nic in found])
    return {server_id: [NicAddresses(network_name=nic.network_name, mac=nic.mac, fixed=nic.fixed_ips,
                                     floating=tuple(address for _fixed, address in floating.get(nic.port_id, [])))
                        for nic in found]
            for server_id, found in nics.items()}


def _port_addresses(session: Session, port_id: str) -> tuple[PortAddress, ...]:
    return tuple(PortAddress(**entry) for entry in network_service.fixed_ips(session, port_id))


def server_interfaces(session: Session, server_id: str, port_ids: Sequence[str]) -> list[Interface]:
    """The server's ports as os-interface lists them, in NIC order."""
    ports = {p.id: p for p in session.scalars(select(Port).where(Port.device_id == server_id))}
    result = []
    for nic in server_nics(session, {server_id: port_ids})[server_id]:
        port = ports.get(nic.port_id)
        result.append(Interface(port_id=nic.port_id, network_id=nic.network_id, mac=nic.mac,
                                status=port.status if port else "DOWN",
                                fixed_ips=_port_addresses(session, nic.port_id)))
    return result


def _server_ports(session: Session, server_id: str, port_ids: Sequence[str]) -> list[Port]:
    ports = {p.id: p for p in session.scalars(select(Port).where(Port.id.in_(port_ids),
                                                                 Port.device_id == server_id))}
    return [ports[i] for i in port_ids if i in ports]


def _set_fixed_ips(session: Session, ctx: RequestContext, port: Port, wanted: list[dict]) -> None:
    """With the caller's own rights, as Nova updates ports: on a network another project owns (a shared one),
    changing addresses is the owner's power and Neutron's 403 comes back."""
    network_service.update_port(session, ctx, port.id,
                                PortUpdate(fixed_ips=[FixedIpRequest(**entry) for entry in wanted]))


def add_fixed_ip(session: Session, ctx: RequestContext, server_id: str, port_ids: Sequence[str],
                 network_id: str) -> None:
    """Nova's addFixedIp: one more address, on the server's first port on that network, from the first of the
    network's subnets that has one free (an exhausted subnet is skipped). Neutron's 403 passes through."""
    port = next((p for p in _server_ports(session, server_id, port_ids) if p.network_id == network_id), None)
    if port is None:
        raise BadRequest(f"Network {network_id} could not be found for instance {server_id}.")
    current = [{"subnet_id": f["subnet_id"], "ip_address": f["ip_address"]}
               for f in network_service.fixed_ips(session, port.id)]
    subnets = session.scalars(select(Subnet).where(Subnet.network_id == network_id).order_by(Subnet.created_at))
    last_error: ApiError | None = None
    for subnet in subnets:
        if subnet.ipv6_address_mode in ipam.AUTO_ADDRESS_MODES:
            continue  # a port holds exactly one automatic address per such subnet, and already has it
        try:
            with session.begin_nested():
                _set_fixed_ips(session, ctx, port, [*current, {"subnet_id": subnet.id}])
            return
        except Forbidden:
            raise
        except ApiError as exc:
            last_error = exc
    raise BadRequest(f"No free address on network {network_id} for instance {server_id}"
                     + (f": {last_error.message}" if last_error else "."))


def remove_fixed_ip(session: Session, ctx: RequestContext, server_id: str, port_ids: Sequence[str],
                    address: str) -> None:
    """Nova's removeFixedIp: the address leaves the port that holds it; the port stays."""
    for port in _server_ports(session, server_id, port_ids):
        current = network_service.fixed_ips(session, port.id)
        if any(f["ip_address"] == address for f in current):
            _set_fixed_ips(session, ctx, port, [{"subnet_id": f["subnet_id"], "ip_address": f["ip_address"]}
                                                for f in current if f["ip_address"] != address])
            return
    raise BadRequest(f"Instance {server_id} does not have fixed IP '{address}'.")


def _routes(subnet: Subnet) -> list[dict]:
    """Nova's route entries: the default route via the subnet's gateway, then its host routes."""
    routes = []
    if subnet.gateway_ip:
        anywhere = str(ipaddress.ip_network(subnet.cidr).supernet(new_prefix=0).network_address)
        routes.append({"network": anywhere, "netmask": anywhere, "gateway": subnet.gateway_ip})
    for route in subnet.host_routes or []:
        destination = ipaddress.ip_network(route["destination"])
        routes.append({"network": str(destination.network_address), "netmask": str(destination.netmask),
                       "gateway": route["nexthop"]})
    return routes


def _dns(subnet: Subnet) -> list[dict]:
    return [{"type": "dns", "address": address} for address in subnet.dns_nameservers or []]


def _address_entry(subnet: Subnet, address: str) -> dict:
    """How the guest gets one address, as Nova tells it: DHCP for IPv4 on a DHCP subnet, the router's
    advertisements for IPv6 automatic modes; anything else is configured statically, with its routes and
    DNS servers. A dhcpv6-stateful address is given statically too: no DHCPv6 server hands it out here."""
    if subnet.ip_version == 4 and subnet.enable_dhcp:
        return {"type": "ipv4_dhcp"}
    netmask = str(ipaddress.ip_network(subnet.cidr).netmask)
    if subnet.ip_version == 6 and subnet.ipv6_address_mode in ipam.AUTO_ADDRESS_MODES:
        return {"type": f"ipv6_{subnet.ipv6_address_mode}", "ip_address": address, "netmask": netmask}
    return {"type": f"ipv{subnet.ip_version}", "ip_address": address, "netmask": netmask,
            "routes": _routes(subnet), "services": _dns(subnet)}


def network_data(session: Session, server_id: str, port_ids: Sequence[str]) -> dict:
    """OpenStack's network_data.json: one link per NIC and one network per address, in the order of the
    port's fixed IPs, telling the guest how to configure it (see _address_entry); the DNS servers of every
    subnet once at the end."""
    links: list[dict] = []
    networks: list[dict] = []
    services: list[dict] = []
    for nic in server_nics(session, {server_id: port_ids})[server_id]:
        link_id = f"tap{nic.port_id[:11]}"
        links.append({"id": link_id, "vif_id": nic.port_id, "type": "ovs", "mtu": nic.mtu,
                      "ethernet_mac_address": nic.mac})
        for fixed in network_service.fixed_ips(session, nic.port_id):
            subnet = session.get(Subnet, fixed["subnet_id"])
            if subnet is None:
                continue
            entry = _address_entry(subnet, fixed["ip_address"])
            if entry["type"] == "ipv4_dhcp" and any(n["link"] == link_id and n["type"] == "ipv4_dhcp"
                                                    for n in networks):
                continue  # one DHCP client per NIC serves every DHCP subnet of its network
            networks.append({"id": f"network{len(networks)}", "link": link_id, "network_id": nic.network_id,
                             **entry})
            services.extend(dns for dns in _dns(subnet) if dns not in services)
    return {"links": links, "networks": networks, "services": services}


def change_security_group(session: Session, ctx: RequestContext, server_id: str, port_ids: Sequence[str],
                          name: str, *, add: bool) -> None:
    """Nova's addSecurityGroup / removeSecurityGroup: the group on every port of the server."""
    try:
        [group_id] = security_groups.resolve(session, ctx, ctx.project_id or "", [name])
    except NotFound:  # Nova's answer when Neutron finds no such group
        raise NotFound(f"Security group {name} is not found for project {ctx.project_id}") from None
    ports = [p for p in session.scalars(select(Port).where(Port.id.in_(port_ids))) if p.port_security_enabled]
    if not ports:
        raise BadRequest("The server has no port with port security on.")
    current = security_groups.ports_group_ids(session, [p.id for p in ports])
    if not add and not any(group_id in ids for ids in current.values()):
        raise NotFound(f"Security group {name} not associated with the instance {server_id}")
    for port in ports:
        ids = [g for g in current[port.id] if g != group_id] + ([group_id] if add else [])
        security_groups.bind(session, port.id, ids)
        port.revision_number += 1


def security_group_names(session: Session, servers: ServerPortIds) -> dict[str, list[str]]:
    """The names of each server's ports' groups, once each, in name order."""
    server_of = {port_id: server_id for server_id, ids in servers.items() for port_id in ids}
    found: dict[str, list[str]] = {server_id: [] for server_id in servers}
    if not server_of:
        return found
    rows = session.execute(select(PortSecurityGroup.port_id, SecurityGroup.name)
                           .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.security_group_id)
                           .where(PortSecurityGroup.port_id.in_(list(server_of))).order_by(SecurityGroup.name))
    for port_id, name in rows:
        if name not in found[server_of[port_id]]:
            found[server_of[port_id]].append(name)
    return found


# ---- Nova's proxy APIs at microversion 2.1 (os-security-groups, os-security-group-rules, os-floating-ips) ------

@dataclass(frozen=True)
class NovaSecurityGroupRule:
    """An ingress rule as Nova shows it: ports -1 for "any" ICMP, 1-65535 for a whole TCP/UDP protocol."""
    id: str
    parent_group_id: str
    ip_protocol: str | None
    from_port: int | None
    to_port: int | None
    cidr: str | None  # None when the rule names a remote group
    group: tuple[str, str] | None  # the remote group's (name, project)


@dataclass(frozen=True)
class NovaSecurityGroup:
    id: str
    name: str
    description: str
    tenant_id: str
    rules: tuple[NovaSecurityGroupRule, ...]


@dataclass(frozen=True)
class NovaFloatingIp:
    id: str
    ip: str
    fixed_ip: str | None
    instance_id: str | None
    pool: str


def _nova_group_not_found(group_id: str) -> NotFound:
    return NotFound(f"Security group {group_id} not found.")


def _nova_rule(session: Session, rule: Any) -> NovaSecurityGroupRule:
    from_port, to_port = rule.port_range_min, rule.port_range_max
    if rule.protocol and from_port is None and to_port is None:
        from_port, to_port = (1, 65535) if rule.protocol.lower() in ("tcp", "udp", "6", "17") else (-1, -1)
    group = None
    if rule.remote_group_id:
        remote = session.get(SecurityGroup, rule.remote_group_id)
        group = (remote.name, remote.project_id) if remote is not None else ("", "")
    cidr = None if rule.remote_group_id else (rule.remote_ip_prefix or ("::/0" if rule.ethertype == "IPv6"
                                                                         else "0.0.0.0/0"))
    return NovaSecurityGroupRule(id=rule.id, parent_group_id=rule.security_group_id, ip_protocol=rule.protocol,
                                 from_port=from_port, to_port=to_port, cidr=cidr, group=group)


def _nova_groups(session: Session, groups: Sequence[SecurityGroup]) -> list[NovaSecurityGroup]:
    rules = security_groups.rules_of(session, [g.id for g in groups])
    return [NovaSecurityGroup(id=g.id, name=g.name, description=g.description, tenant_id=g.project_id,
                              rules=tuple(_nova_rule(session, r) for r in rules[g.id] if r.direction == "ingress"))
            for g in groups]


def nova_security_groups(session: Session, ctx: RequestContext, all_projects: bool) -> list[NovaSecurityGroup]:
    groups = security_groups.list_groups(session, ctx, [])
    if not (all_projects and ctx.is_admin):
        groups = [g for g in groups if g.project_id == ctx.project_id]
    return _nova_groups(session, groups)


def nova_security_group(session: Session, ctx: RequestContext, group_id: str) -> NovaSecurityGroup:
    try:
        group = security_groups.get_group(session, ctx, group_id)
    except NotFound:
        raise _nova_group_not_found(group_id) from None
    return _nova_groups(session, [group])[0]


def create_nova_security_group(session: Session, ctx: RequestContext, name: str,
                               description: str) -> NovaSecurityGroup:
    body = SecurityGroupCreate(name=name, description=description)
    return _nova_groups(session, [security_groups.create_group(session, ctx, body)])[0]


def delete_nova_security_group(session: Session, ctx: RequestContext, group_id: str) -> None:
    nova_security_group(session, ctx, group_id)  # Nova's 404 words for another project's group
    try:
        security_groups.delete_group(session, ctx, group_id)
    except Conflict as exc:
        raise BadRequest(exc.message) from None  # Nova answers 400 for a group in use or the default one


def create_nova_security_group_rule(session: Session, ctx: RequestContext, parent_group_id: str,
                                    ip_protocol: str | None, from_port: int | None, to_port: int | None,
                                    cidr: str | None, group_id: str | None) -> NovaSecurityGroupRule:
    nova_security_group(session, ctx, parent_group_id)
    if group_id is not None:
        nova_security_group(session, ctx, group_id)
    protocol = ip_protocol.lower() if ip_protocol else None
    if protocol == "icmp":  # Nova's -1 is "any type / any code"
        from_port = None if from_port == -1 else from_port
        to_port = None if to_port == -1 else to_port
    ethertype = "IPv6" if cidr and ":" in cidr else "IPv4"
    body = SecurityGroupRuleCreate(security_group_id=parent_group_id, direction="ingress", ethertype=ethertype,
                                   protocol=protocol, port_range_min=from_port, port_range_max=to_port,
                                   remote_ip_prefix=None if group_id else (cidr or None),
                                   remote_group_id=group_id)
    return _nova_rule(session, security_groups.create_rule(session, ctx, body))


def delete_nova_security_group_rule(session: Session, ctx: RequestContext, rule_id: str) -> None:
    try:
        security_groups.delete_rule(session, ctx, rule_id)
    except NotFound:
        raise NotFound(f"Security group rule {rule_id} could not be found.") from None


def _nova_fip(session: Session, fip: Any) -> NovaFloatingIp:
    port = session.get(Port, fip.port_id) if fip.port_id else None
    network = session.get(Network, fip.floating_network_id)
    instance_id = port.device_id if port is not None and port.device_owner.startswith("compute:") else None
    return NovaFloatingIp(id=fip.id, ip=fip.floating_ip_address, fixed_ip=fip.fixed_ip_address,
                          instance_id=instance_id or None, pool=network.name if network is not None else "")


def nova_floating_ips(session: Session, ctx: RequestContext) -> list[NovaFloatingIp]:
    return [_nova_fip(session, fip) for fip in l3.list_floating_ips(session, ctx)
            if fip.project_id == ctx.project_id]


def nova_floating_ip(session: Session, ctx: RequestContext, fip_id: str) -> NovaFloatingIp:
    try:
        fip = l3.get_floating_ip(session, ctx, fip_id)
    except NotFound:
        raise NotFound(f"Floating IP not found for ID {fip_id}") from None
    return _nova_fip(session, fip)
