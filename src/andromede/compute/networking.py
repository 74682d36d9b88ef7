"""Nova's side of networking: which ports a server gets, binding them to its host, and its `addresses`.

Both services share one database, so a server and its ports are created in the same transaction: a
refused request (unknown network, port in use, no address left) leaves neither a server nor a port behind.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from andromede.compute.models import Instance
from andromede.compute.schemas import NetworkRef
from andromede.network import ipam
from andromede.network import service as network_service
from andromede.network.l3 import service as l3
from andromede.network.models import FixedIp, Network, Port, Subnet
from andromede.network.schemas import FixedIpRequest, PortCreate, PortUpdate
from andromede.network.security_groups import service as security_groups

AUTO_NETWORK_NAME = "auto_allocated_network"
_SYSTEM = RequestContext(request_id="nova", user_id="nova", project_id="", system_scope=True,
                         roles=frozenset({"admin"}))
AUTO_SUBNET_CIDR = "10.0.0.0/24"


@dataclass(frozen=True)
class NicRequest:
    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None


def _as_nova_error(exc: ApiError) -> ApiError:
    """Neutron's errors keep their status and message; Nova's formatter ignores the Neutron type."""
    exc.extra = {}
    return exc


def available_networks(session: Session, ctx: RequestContext) -> list[Network]:
    """What a server of this project may be plugged into without naming it: its own networks and shared ones."""
    rows = session.scalars(select(Network).where((Network.project_id == ctx.project_id) | Network.shared)
                           .order_by(Network.created_at, Network.id))
    return [row for row in rows if not row.external or row.shared]


def requests_for(session: Session, ctx: RequestContext, networks: list[NetworkRef] | Literal["auto", "none"] | None,
                 count: int) -> list[NicRequest]:
    """Validate the `networks` of a create request; nothing is written."""
    if networks == "none":
        return []
    if not networks or networks == "auto":  # OSC sends [] when no --nic is given: Nova reads it as omitted
        available = available_networks(session, ctx)
        if len(available) > 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more specific.")
        if available:
            return [NicRequest(network_id=available[0].id)]
        return [NicRequest(network_id=None)] if networks == "auto" else []
    requests: list[NicRequest] = []
    for ref in networks:
        if ref.port:
            if count > 1:
                raise BadRequest("Unable to launch multiple instances with a single configured port ID. "
                                 "Please launch your instance one by one with different ports.")
            if ref.uuid:
                raise BadRequest("Specify either a network or a port, not both.")
            port = session.get(Port, ref.port)
            if port is None or (not ctx.is_admin and port.project_id != ctx.project_id):
                raise BadRequest(f"Port id {ref.port} could not be found.")
            if port.device_id or port.device_owner:
                raise Conflict(f"Port {ref.port} is still in use.")
            requests.append(NicRequest(port_id=port.id))
            continue
        if not ref.uuid:
            raise BadRequest("A network entry needs a 'uuid' (network) or a 'port'.")
        network = session.get(Network, ref.uuid)
        if network is None or not network_service.visible_network(ctx, network):
            raise BadRequest(f"Network {ref.uuid} could not be found.")
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
    from andromede.network.schemas import NetworkCreate, SubnetCreate

    network = network_service.create_network(session, ctx, NetworkCreate(name=AUTO_NETWORK_NAME))
    network_service.create_subnet(session, ctx, SubnetCreate.model_validate(
        {"network_id": network.id, "cidr": AUTO_SUBNET_CIDR, "ip_version": 4, "name": AUTO_NETWORK_NAME}))
    return network.id


def security_groups_for(session: Session, ctx: RequestContext, names: list[str]) -> list[str] | None:
    """Group ids for `security_groups: [{"name": ...}]` (names or ids); None: Neutron's default for new ports."""
    if not names:
        return None
    try:
        return security_groups.resolve(session, ctx, ctx.project_id or "", names)
    except NotFound:
        raise BadRequest(f"Unable to find security_group with name or id '{', '.join(names)}'") from None


def allocate(session: Session, ctx: RequestContext, instance: Instance, requests: list[NicRequest],
             groups: list[str] | None = None) -> None:
    """Create or claim the server's ports (in request order) and record them on the instance."""
    nics: list[dict] = []
    owner = f"compute:{instance.availability_zone}"
    for request in requests:
        try:
            if request.port_id:
                port = session.get(Port, request.port_id)
                assert port is not None  # checked by requests_for in this same transaction
                if port.device_id:
                    raise Conflict(f"Port {port.id} is still in use.")
                port.device_id, port.device_owner = instance.uuid, owner
                nics.append({"port_id": port.id, "preserve_on_delete": True})
                continue
            network_id = request.network_id or _auto_network(session, ctx)
            fixed = [FixedIpRequest(ip_address=request.fixed_ip)] if request.fixed_ip else None
            chosen: dict[str, Any] = {} if groups is None else {"security_groups": groups}  # unset: the default
            port = network_service.create_port(session, ctx, PortCreate(
                network_id=network_id, device_id=instance.uuid, device_owner=owner, fixed_ips=fixed, **chosen))
            nics.append({"port_id": port.id, "preserve_on_delete": False})
        except ApiError as exc:
            raise _as_nova_error(exc) from None
    instance.nics = nics
    bind(session, instance)


def bind(session: Session, instance: Instance) -> None:
    """Point the server's ports at the host it was placed on (the host's agent then wires them)."""
    ids = [nic["port_id"] for nic in instance.nics or []]
    for port in session.scalars(select(Port).where(Port.id.in_(ids))):
        port.binding_host_id = instance.host or ""
        port.revision_number += 1


def deallocate(session: Session, instance: Instance) -> None:
    """Ports Nova made go away with the server; ports the user brought are unbound and kept."""
    ids = [nic["port_id"] for nic in instance.nics or []]
    keep = {nic["port_id"] for nic in instance.nics or [] if nic.get("preserve_on_delete")}
    for port in session.scalars(select(Port).where(Port.id.in_(ids))):
        if port.device_id != instance.uuid:
            continue  # detached and reused meanwhile
        if port.id in keep:
            port.device_id = port.device_owner = port.binding_host_id = ""
            port.status = "DOWN"
            port.revision_number += 1
        else:  # with everything Neutron does on a port delete (floating IPs let go, group bindings)
            network_service.delete_port(session, _SYSTEM, port.id)
    instance.nics = []


def nic_docs(session: Session, instances: Iterable[Instance]) -> dict[str, list[dict]]:
    """Per instance, its NICs in order with what the agent and the views need."""
    wanted = {inst.uuid: [nic["port_id"] for nic in inst.nics or []] for inst in instances}
    port_ids = [pid for ids in wanted.values() for pid in ids]
    if not port_ids:
        return {uuid: [] for uuid in wanted}
    ports = {p.id: p for p in session.scalars(select(Port).where(Port.id.in_(port_ids)))}
    networks = {n.id: n for n in session.scalars(
        select(Network).where(Network.id.in_({p.network_id for p in ports.values()})))}
    addresses: dict[str, list[str]] = defaultdict(list)
    for row in session.scalars(select(FixedIp).where(FixedIp.port_id.in_(port_ids)).order_by(FixedIp.ip_address)):
        addresses[row.port_id].append(row.ip_address)
    result: dict[str, list[dict]] = {}
    for uuid, ids in wanted.items():
        docs = []
        for port_id in ids:
            port = ports.get(port_id)
            if port is None or port.device_id != uuid:
                continue
            network = networks[port.network_id]
            docs.append({"port_id": port.id, "network_id": network.id, "network_name": network.name or network.id,
                         "mac": port.mac_address, "mtu": network.mtu, "fixed_ips": addresses[port.id]})
        result[uuid] = docs
    return result


def addresses(session: Session, instances: list[Instance]) -> dict[str, dict]:
    """Nova's `addresses`: per network name, fixed then floating addresses with their MAC."""
    nics = nic_docs(session, instances)
    floating = l3.floating_ips_for_ports(session, [nic["port_id"] for docs in nics.values() for nic in docs])
    result: dict[str, dict] = {}
    for uuid, docs in nics.items():
        doc: dict[str, list[dict]] = {}
        for nic in docs:
            entries = doc.setdefault(nic["network_name"], [])
            for address in nic["fixed_ips"]:
                entries.append({"version": ipaddress.ip_address(address).version, "addr": address,
                                "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": nic["mac"]})
            for _fixed, address in floating.get(nic["port_id"], []):
                entries.append({"version": ipaddress.ip_address(address).version, "addr": address,
                                "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": nic["mac"]})
        result[uuid] = doc
    return result


# ---- interfaces on an existing server (os-interface) ----------------------------------------------

def attach(session: Session, ctx: RequestContext, instance: Instance, net_id: str | None, port_id: str | None,
           fixed_ip: str | None) -> str:
    """Plug one more port into the server; the host's agent hot-plugs it into the running VM."""
    if bool(net_id) == bool(port_id):
        raise BadRequest("Specify either a net_id or a port_id.")
    refs = [NetworkRef(port=port_id)] if port_id else [NetworkRef(uuid=net_id, fixed_ip=fixed_ip)]
    [request] = requests_for(session, ctx, refs, 1)
    before = list(instance.nics or [])
    allocate(session, ctx, instance, [request])
    added = instance.nics[0]
    instance.nics = [*before, added]
    return added["port_id"]


def detach(session: Session, instance: Instance, port_id: str) -> None:
    nics = list(instance.nics or [])
    found = [nic for nic in nics if nic["port_id"] == port_id]
    if not found:
        raise NotFound(f"Port {port_id} is not attached")
    rest = [nic for nic in nics if nic["port_id"] != port_id]
    instance.nics = found
    deallocate(session, instance)
    instance.nics = rest


def _server_ports(session: Session, instance: Instance) -> list[Port]:
    ids = [nic["port_id"] for nic in instance.nics or []]
    ports = {p.id: p for p in session.scalars(select(Port).where(Port.id.in_(ids), Port.device_id == instance.uuid))}
    return [ports[i] for i in ids if i in ports]


def _set_fixed_ips(session: Session, ctx: RequestContext, port: Port, wanted: list[dict]) -> None:
    """With the caller's own rights, as Nova updates ports: on a network another project owns (a shared one),
    changing addresses is the owner's power and Neutron's 403 comes back."""
    try:
        network_service.update_port(session, ctx, port.id,
                                    PortUpdate(fixed_ips=[FixedIpRequest(**entry) for entry in wanted]))
    except Forbidden as exc:
        raise _as_nova_error(exc) from None


def add_fixed_ip(session: Session, ctx: RequestContext, instance: Instance, network_id: str) -> None:
    """Nova's addFixedIp: one more address, on the server's first port on that network, from the first of the
    network's subnets that has one free (an exhausted subnet is skipped)."""
    port = next((p for p in _server_ports(session, instance) if p.network_id == network_id), None)
    if port is None:
        raise BadRequest(f"Network {network_id} could not be found for instance {instance.uuid}.")
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
    raise BadRequest(f"No free address on network {network_id} for instance {instance.uuid}"
                     + (f": {last_error.message}" if last_error else "."))


def remove_fixed_ip(session: Session, ctx: RequestContext, instance: Instance, address: str) -> None:
    """Nova's removeFixedIp: the address leaves the port that holds it; the port stays."""
    for port in _server_ports(session, instance):
        current = network_service.fixed_ips(session, port.id)
        if any(f["ip_address"] == address for f in current):
            _set_fixed_ips(session, ctx, port, [{"subnet_id": f["subnet_id"], "ip_address": f["ip_address"]}
                                           for f in current if f["ip_address"] != address])
            return
    raise BadRequest(f"Instance {instance.uuid} does not have fixed IP '{address}'.")


def interface_docs(session: Session, instance: Instance) -> list[dict]:
    ports = {p.id: p for p in session.scalars(select(Port).where(Port.device_id == instance.uuid))}
    result = []
    for nic in nic_docs(session, [instance])[instance.uuid]:
        port = ports.get(nic["port_id"])
        fixed = network_service.fixed_ips(session, nic["port_id"])
        result.append({"port_state": port.status if port else "DOWN", "fixed_ips": fixed, "port_id": nic["port_id"],
                       "net_id": nic["network_id"], "mac_addr": nic["mac"]})
    return result


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


def network_data(session: Session, instance: Instance) -> dict:
    """OpenStack's network_data.json: one link per NIC and one network per address, in the order of the
    port's fixed IPs, telling the guest how to configure it (see _address_entry); the DNS servers of every
    subnet once at the end."""
    links: list[dict] = []
    networks: list[dict] = []
    services: list[dict] = []
    for nic in nic_docs(session, [instance])[instance.uuid]:
        link_id = f"tap{nic['port_id'][:11]}"
        links.append({"id": link_id, "vif_id": nic["port_id"], "type": "ovs", "mtu": nic["mtu"],
                      "ethernet_mac_address": nic["mac"]})
        for fixed in network_service.fixed_ips(session, nic["port_id"]):
            subnet = session.get(Subnet, fixed["subnet_id"])
            if subnet is None:
                continue
            entry = _address_entry(subnet, fixed["ip_address"])
            if entry["type"] == "ipv4_dhcp" and any(n["link"] == link_id and n["type"] == "ipv4_dhcp"
                                                    for n in networks):
                continue  # one DHCP client per NIC serves every DHCP subnet of its network
            networks.append({"id": f"network{len(networks)}", "link": link_id, "network_id": nic["network_id"],
                             **entry})
            services.extend(dns for dns in _dns(subnet) if dns not in services)
    return {"links": links, "networks": networks, "services": services}


def change_security_group(session: Session, ctx: RequestContext, instance: Instance, name: str, *,
                          add: bool) -> None:
    """Nova's addSecurityGroup / removeSecurityGroup: the group on every port of the server."""
    [group_id] = security_groups_for(session, ctx, [name]) or []
    ports = [p for p in session.scalars(select(Port).where(Port.id.in_([n["port_id"] for n in instance.nics or []])))
             if p.port_security_enabled]
    if not ports:
        raise BadRequest("The server has no port with port security on.")
    current = security_groups.ports_group_ids(session, [p.id for p in ports])
    if not add and not any(group_id in ids for ids in current.values()):
        raise NotFound(f"Security group {name} not associated with the instance {instance.uuid}")
    for port in ports:
        ids = [g for g in current[port.id] if g != group_id] + ([group_id] if add else [])
        security_groups.bind(session, port.id, ids)
        port.revision_number += 1


def security_group_names(session: Session, instances: list[Instance]) -> dict[str, list[dict]]:
    """Nova's `security_groups` of each server: the names of its ports' groups, once each."""
    from andromede.network.security_groups.models import PortSecurityGroup, SecurityGroup

    port_of = {nic["port_id"]: inst.uuid for inst in instances for nic in inst.nics or []}
    found: dict[str, list[dict]] = {inst.uuid: [] for inst in instances}
    if not port_of:
        return found
    rows = session.execute(select(PortSecurityGroup.port_id, SecurityGroup.name)
                           .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.security_group_id)
                           .where(PortSecurityGroup.port_id.in_(list(port_of))).order_by(SecurityGroup.name))
    for port_id, name in rows:
        entry = {"name": name}
        if entry not in found[port_of[port_id]]:
            found[port_of[port_id]].append(entry)
    return found
