"""Neutron's rules for networks, subnets and ports: ownership, admin-only attributes, IPAM, in-use checks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, Forbidden, NotFound
from andromede.network import dhcp_options, ipam, port_policy, quotas
from andromede.network.l3.models import L3_OWNERS
from andromede.network.models import FixedIp, Network, Port, StandardAttributes, Subnet
from andromede.network.ownership import owner_project
from andromede.network.schemas import (
    ADMIN_ONLY_NETWORK,
    NetworkCreate,
    NetworkUpdate,
    PortCreate,
    PortUpdate,
    SubnetCreate,
    SubnetUpdate,
)
from andromede.network.security_groups import service as security_groups
from andromede.network.security_groups.models import SecurityGroup

FIRST_VNI = 1000
NetworkHook = Callable[[Session, Network], None]
NetworkDeleteHook = Callable[[Session, RequestContext, Network], None]
PortHook = Callable[[Session, Port], None]
# What the services built on this core (routers and floating IPs) add to its operations: they register here when
# imported, so the core never imports them. A hook may refuse the operation by raising.
_before_made_internal: list[NetworkHook] = []
_before_port_delete: list[PortHook] = []
_before_network_delete: list[NetworkDeleteHook] = []
# Ports that keep their subnet and network in use: any not made by the platform, and routers' and floating IPs'.
_kept_port = or_(~Port.device_owner.startswith("network:"), Port.device_owner.in_(L3_OWNERS))


class AddressRequest(Protocol):
    """One fixed IP asked for: a subnet and/or an address (a port's fixed_ips entry, a router gateway's)."""

    @property
    def subnet_id(self) -> str | None: ...

    @property
    def ip_address(self) -> str | None: ...


def before_made_internal(hook: NetworkHook) -> NetworkHook:
    """Run `hook` before an external network is made internal (`router:external` set to false)."""
    _before_made_internal.append(hook)
    return hook


def before_network_delete(hook: NetworkDeleteHook) -> NetworkDeleteHook:
    """Run `hook` before a network is deleted, before the check that no port still uses it."""
    _before_network_delete.append(hook)
    return hook


def before_port_delete(hook: PortHook) -> PortHook:
    """Run `hook` before a port is deleted, whoever deletes it (the port API, or compute with a server)."""
    _before_port_delete.append(hook)
    return hook


def not_found(kind: str, ident: str) -> NotFound:
    return NotFound(f"{kind} {ident} could not be found.", extra={"type": f"{kind}NotFound"})


def _admin_only(ctx: RequestContext, body: BaseModel, names: tuple[str, ...]) -> None:
    """Members may not set admin-only attributes at all, not even to their default values."""
    if ctx.is_admin:
        return
    sent = {field.alias or name for name, field in type(body).model_fields.items() if name in body.model_fields_set}
    refused = sorted(sent & set(names))
    if refused:
        raise Forbidden(f"(rule:create_network:{refused[0]}) is disallowed by policy",
                        extra={"type": "PolicyNotAuthorized"})


# ---- networks ----------------------------------------------------------------------------------

def visible_network(ctx: RequestContext, network: Network) -> bool:
    return ctx.is_admin or network.project_id == ctx.project_id or network.shared or network.external


def get_network(session: Session, ctx: RequestContext, network_id: str) -> Network:
    network = session.get(Network, network_id)
    if network is None or not visible_network(ctx, network):
        raise not_found("Network", network_id)
    return network


def owned_network(session: Session, ctx: RequestContext, network_id: str) -> Network:
    network = get_network(session, ctx, network_id)
    if not ctx.is_admin and network.project_id != ctx.project_id:
        raise Forbidden(f"Network {network_id} belongs to another project.", extra={"type": "PolicyNotAuthorized"})
    return network


def list_networks(session: Session, ctx: RequestContext) -> list[Network]:
    rows = session.scalars(select(Network).order_by(Network.created_at, Network.id))
    return [n for n in rows if visible_network(ctx, n)]


def _next_vni(session: Session) -> int:
    highest = session.scalar(select(func.max(Network.segmentation_id)))
    return max(FIRST_VNI, (highest or 0) + 1)


def create_network(session: Session, ctx: RequestContext, body: NetworkCreate) -> Network:
    _admin_only(ctx, body, ADMIN_ONLY_NETWORK)
    quotas.check(session, owner_project(ctx, body), "network")
    now = utcnow()
    network = Network(id=str(uuid.uuid4()), project_id=owner_project(ctx, body), name=body.name,
                      description=body.description, admin_state_up=body.admin_state_up, shared=bool(body.shared),
                      external=bool(body.external), mtu=body.mtu or 1450,
                      port_security_enabled=body.port_security_enabled, tags=sorted(set(body.tags)),
                      segmentation_id=body.segmentation_id or _next_vni(session), created_at=now, updated_at=now)
    session.add(network)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("The segmentation id is already in use.", extra={"type": "SegmentationIdInUse"}) from exc
    return network


def _check_unsharing(session: Session, network: Network) -> None:
    """Neutron's rule: a network stays shared while another project has a port on it."""
    other = session.scalars(select(Port.id).where(Port.network_id == network.id, Port.project_id != "",
                                                  Port.project_id != network.project_id)).first()
    if other:
        raise Conflict(f"Unable to reconfigure sharing settings for network {network.id}. Multiple tenants are "
                       "using it.", extra={"type": "InvalidSharedSetting"})


def update_network(session: Session, ctx: RequestContext, network_id: str, body: NetworkUpdate) -> Network:
    network = owned_network(session, ctx, network_id)
    _admin_only(ctx, body, ADMIN_ONLY_NETWORK)
    if body.shared is False and network.shared:
        _check_unsharing(session, network)
    if body.external is False and network.external:
        for check in _before_made_internal:
            check(session, network)
    for name in body.model_fields_set:
        setattr(network, name, getattr(body, name))
    network.revision_number += 1
    network.updated_at = utcnow()
    return network


def delete_network(session: Session, ctx: RequestContext, network_id: str) -> None:
    network = owned_network(session, ctx, network_id)
    for hook in _before_network_delete:
        hook(session, ctx, network)
    in_use = session.scalars(select(Port.id).where(Port.network_id == network_id, _kept_port)).first()
    if in_use:
        raise Conflict(f"Unable to complete operation on network {network_id}. There are one or more ports still "
                       "in use on the network.", extra={"type": "NetworkInUse"})
    for port in session.scalars(select(Port).where(Port.network_id == network_id)):
        session.delete(port)
    session.flush()
    for subnet in session.scalars(select(Subnet).where(Subnet.network_id == network_id)):
        session.delete(subnet)
    session.flush()
    session.delete(network)


# ---- subnets -----------------------------------------------------------------------------------

def get_subnet(session: Session, ctx: RequestContext, subnet_id: str) -> Subnet:
    subnet = session.get(Subnet, subnet_id)
    network = session.get(Network, subnet.network_id) if subnet else None
    if subnet is None or network is None or not visible_network(ctx, network):
        raise not_found("Subnet", subnet_id)
    return subnet


def list_subnets(session: Session, ctx: RequestContext) -> list[Subnet]:
    networks = {n.id for n in list_networks(session, ctx)}
    rows = session.scalars(select(Subnet).order_by(Subnet.created_at, Subnet.id))
    return [s for s in rows if s.network_id in networks]


def create_subnet(session: Session, ctx: RequestContext, body: SubnetCreate) -> Subnet:
    network = owned_network(session, ctx, body.network_id)
    quotas.check(session, owner_project(ctx, body), "subnet")
    if body.ip_version not in (4, 6):
        raise ipam.invalid(f"{body.ip_version} is not a valid IP version.")
    cidr = ipam.parse_cidr(body.cidr, body.ip_version)
    ipam.check_ipv6_modes(body.ip_version, cidr, body.ipv6_ra_mode, body.ipv6_address_mode)
    for other in session.scalars(select(Subnet).where(Subnet.network_id == network.id)):
        if ipam.overlaps(other.cidr, str(cidr)):
            raise ipam.invalid(f"Requested subnet with cidr: {cidr} for network: {network.id} overlaps with "
                               "another subnet.")
    if "gateway_ip" in body.model_fields_set and body.gateway_ip is None:
        gateway = None
    elif body.gateway_ip is not None:
        gateway = str(ipam.parse_address(body.gateway_ip, cidr, "gateway_ip"))
    else:
        gateway = ipam.default_gateway(cidr)
    pools = ipam.check_pools(cidr, [p.model_dump() for p in body.allocation_pools], gateway) \
        if body.allocation_pools else ipam.default_pools(cidr, gateway)
    for server in body.dns_nameservers:
        ipam.parse_address(server, what="nameserver")
    routes = ipam.host_routes([r.model_dump() for r in body.host_routes], body.ip_version)
    now = utcnow()
    subnet = Subnet(id=str(uuid.uuid4()), network_id=network.id, project_id=owner_project(ctx, body), name=body.name,
                    description=body.description, ip_version=body.ip_version, cidr=str(cidr), gateway_ip=gateway,
                    allocation_pools=pools, dns_nameservers=list(body.dns_nameservers), host_routes=routes,
                    enable_dhcp=body.enable_dhcp, ipv6_ra_mode=body.ipv6_ra_mode,
                    ipv6_address_mode=body.ipv6_address_mode, tags=sorted(set(body.tags)), created_at=now,
                    updated_at=now)
    session.add(subnet)
    session.flush()
    if subnet.enable_dhcp and subnet.ip_version == 4:
        from andromede.network import dhcp_ports  # builds on this module: import it late

        dhcp_ports.ensure_for_network(session, network, [subnet], strict=True)
    return subnet


def update_subnet(session: Session, ctx: RequestContext, subnet_id: str, body: SubnetUpdate) -> Subnet:
    subnet = get_subnet(session, ctx, subnet_id)
    owned_network(session, ctx, subnet.network_id)
    cidr = ipam.parse_cidr(subnet.cidr, subnet.ip_version)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name == "gateway_ip" and value is not None:
            value = str(ipam.parse_address(value, cidr, "gateway_ip"))
        elif name == "allocation_pools":
            value = ipam.check_pools(cidr, [p.model_dump() for p in value or []], None)  # gateway: below
        elif name == "host_routes":
            value = ipam.host_routes([r.model_dump() for r in value or []], subnet.ip_version)
        elif name == "dns_nameservers":
            value = [str(ipam.parse_address(v, what="nameserver")) for v in value or []]
        setattr(subnet, name, value)
    if {"gateway_ip", "allocation_pools"} & body.model_fields_set:  # together or apart: never one in the other
        ipam.check_pools(cidr, list(subnet.allocation_pools or []), subnet.gateway_ip)
    subnet.revision_number += 1
    subnet.updated_at = utcnow()
    return subnet


def delete_subnet(session: Session, ctx: RequestContext, subnet_id: str) -> None:
    subnet = get_subnet(session, ctx, subnet_id)
    owned_network(session, ctx, subnet.network_id)
    used = session.scalars(select(FixedIp.port_id).join(Port, Port.id == FixedIp.port_id).where(
        FixedIp.subnet_id == subnet_id, _kept_port)).first()
    if used:
        raise Conflict(f"Unable to complete operation on subnet {subnet_id}: one or more ports have an IP "
                       "allocation from this subnet.", extra={"type": "SubnetInUse"})
    for fixed in session.scalars(select(FixedIp).where(FixedIp.subnet_id == subnet_id)):
        session.delete(fixed)
    session.delete(subnet)


# ---- ports -------------------------------------------------------------------------------------

def get_port(session: Session, ctx: RequestContext, port_id: str) -> Port:
    port = session.get(Port, port_id)
    if port is None or (not ctx.is_admin and port.project_id != ctx.project_id):
        raise not_found("Port", port_id)
    return port


def list_ports(session: Session, ctx: RequestContext) -> list[Port]:
    query = select(Port).order_by(Port.created_at, Port.id)
    if not ctx.is_admin:
        query = query.where(Port.project_id == ctx.project_id)
    return list(session.scalars(query))


def fixed_ips(session: Session, port_id: str) -> list[dict]:
    rows = session.scalars(select(FixedIp).where(FixedIp.port_id == port_id).order_by(FixedIp.ip_address))
    return [{"subnet_id": row.subnet_id, "ip_address": row.ip_address} for row in rows]


def _allocate(session: Session, network: Network, port_id: str, requests: Sequence[AddressRequest] | None) -> None:
    subnets = list(session.scalars(select(Subnet).where(Subnet.network_id == network.id)
                                   .order_by(Subnet.ip_version, Subnet.created_at)))
    automatic = [s for s in subnets if s.ipv6_address_mode in ipam.AUTO_ADDRESS_MODES]
    if requests is None:
        # As Neutron: one address from the first IPv4 subnet and the first stateful IPv6 one, and the
        # automatic (SLAAC) address of every subnet that has one.
        firsts = {v: next((x.id for x in subnets if x.ip_version == v and x not in automatic), None) for v in (4, 6)}
        requests_by_subnet: list[tuple[Subnet, str | None]] = [
            (s, None) for s in subnets if s.id == firsts[s.ip_version] or s in automatic]
    else:
        requests_by_subnet = []
        for request in requests:
            if request.subnet_id is None and request.ip_address is None:
                raise ipam.invalid("A fixed IP needs a subnet_id or an ip_address.")
            match = [s for s in subnets if (request.subnet_id is None or s.id == request.subnet_id)
                     and (request.ip_address is None
                          or ipam.parse_address(request.ip_address) in ipam.parse_cidr(s.cidr, s.ip_version))]
            if not match:
                raise ipam.invalid(f"Fixed IP {request.ip_address or request.subnet_id} is not on network "
                                   f"{network.id}.")
            requests_by_subnet.append((match[0], request.ip_address))
        # A guest on a SLAAC subnet takes its address whatever the request: the port holds it too (as Neutron).
        held = set(session.scalars(select(FixedIp.subnet_id).where(FixedIp.port_id == port_id)))
        requests_by_subnet += [(s, None) for s in automatic
                               if s.id not in held and all(s is not r for r, _ in requests_by_subnet)]
    for subnet, wanted in requests_by_subnet:
        used = set(session.scalars(select(FixedIp.ip_address).where(FixedIp.subnet_id == subnet.id)))
        if subnet.gateway_ip:
            used.add(subnet.gateway_ip)
        if subnet.ipv6_address_mode in ipam.AUTO_ADDRESS_MODES:
            # The guest makes this address itself from the router's advertisement: the port must hold that one.
            port = session.get(Port, port_id)
            assert port is not None
            own = ipam.eui64(subnet.cidr, port.mac_address)
            if wanted is not None and str(ipam.parse_address(wanted)) != own:
                raise ipam.invalid(f"IPv6 address {wanted} cannot be directly assigned to a port on subnet "
                                   f"{subnet.id} as the subnet is configured for automatic addresses.")
            wanted = own
        if wanted is not None:
            address = str(ipam.parse_address(wanted))
            if address in used:
                raise Conflict(f"IP address {address} already allocated in subnet {subnet.id}",
                               extra={"type": "IpAddressAlreadyAllocated"})
        else:
            free = ipam.next_free(subnet.allocation_pools, used)
            if free is None:
                raise Conflict(f"No more IP addresses available on network {network.id}.",
                               extra={"type": "IpAddressGenerationFailure"})
            address = free
        session.add(FixedIp(port_id=port_id, subnet_id=subnet.id, ip_address=address))
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent port took the same address first
        raise Conflict("IP address already allocated.", extra={"type": "IpAddressAlreadyAllocated"}) from exc


def create_port(session: Session, ctx: RequestContext, body: PortCreate) -> Port:
    network = get_network(session, ctx, body.network_id)
    port_policy.check_network(ctx, network)
    port_policy.check(ctx, "create_port", network, body, body.device_owner)
    mac = body.mac_address.lower() if body.mac_address else ipam.random_mac()
    if session.scalars(select(Port.id).where(Port.mac_address == mac)).first():
        raise Conflict(f"Unable to complete operation for network {network.id}. The mac address {mac} is in use.",
                       extra={"type": "MacAddressInUse"})
    pairs = ipam.address_pairs([p.model_dump(exclude_none=True) for p in body.allowed_address_pairs])
    options = dhcp_options.checked((o.model_dump() for o in body.extra_dhcp_opts), removals=False)
    project_id = owner_project(ctx, body)
    if not body.device_owner.startswith("network:"):  # platform ports count, but are never refused
        quotas.check(session, project_id, "port")
    port_security = network.port_security_enabled if body.port_security_enabled is None \
        else body.port_security_enabled
    groups = security_groups.groups_for_new_port(
        session, ctx, project_id, requested=body.security_groups, specified="security_groups" in body.model_fields_set,
        port_security=port_security, device_owner=body.device_owner)
    now = utcnow()
    port = Port(id=str(uuid.uuid4()), network_id=network.id, project_id=project_id, name=body.name,
                description=body.description, mac_address=mac, admin_state_up=body.admin_state_up,
                device_id=body.device_id, device_owner=body.device_owner, port_security_enabled=port_security,
                allowed_address_pairs=pairs,
                extra_dhcp_opts=options,
                binding_host_id=body.host_id or "", tags=sorted(set(body.tags)), created_at=now, updated_at=now)
    session.add(port)
    session.flush()
    _allocate(session, network, port.id, body.fixed_ips)
    security_groups.bind(session, port.id, groups)
    return port


def update_port(session: Session, ctx: RequestContext, port_id: str, body: PortUpdate) -> Port:
    port = get_port(session, ctx, port_id)
    network = session.get(Network, port.network_id)
    assert network is not None  # a network with ports is never deleted
    port_policy.check(ctx, "update_port", network, body, body.device_owner or port.device_owner)
    security_groups.update_port_groups(
        session, ctx, port, requested=body.security_groups, specified="security_groups" in body.model_fields_set,
        port_security=body.port_security_enabled if "port_security_enabled" in body.model_fields_set else None)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name == "fixed_ips":
            for row in session.scalars(select(FixedIp).where(FixedIp.port_id == port.id)):
                session.delete(row)
            session.flush()
            _allocate(session, network, port.id, value)
        elif name == "allowed_address_pairs":
            port.allowed_address_pairs = ipam.address_pairs([p.model_dump(exclude_none=True) for p in value or []])
        elif name == "extra_dhcp_opts":
            port.extra_dhcp_opts = dhcp_options.merged(list(port.extra_dhcp_opts or []),
                                                       [o.model_dump() for o in value or []])
        elif name == "host_id":
            port.binding_host_id = value or ""
        elif name != "security_groups":
            setattr(port, name, value)
    port.revision_number += 1
    port.updated_at = utcnow()
    return port


def delete_port(session: Session, ctx: RequestContext, port_id: str) -> None:
    port = get_port(session, ctx, port_id)
    for hook in _before_port_delete:
        hook(session, port)
    for row in session.scalars(select(FixedIp).where(FixedIp.port_id == port.id)):
        session.delete(row)
    session.delete(port)


# ---- tags --------------------------------------------------------------------------------------

TAGGABLE: dict[str, tuple[str, type[StandardAttributes]]] = {
    "networks": ("Network", Network), "subnets": ("Subnet", Subnet), "ports": ("Port", Port),
    "security-groups": ("SecurityGroup", SecurityGroup)}
MAX_TAGS = 64


def taggable(session: Session, ctx: RequestContext, collection: str, resource_id: str) -> StandardAttributes:
    """The resource to tag: one the caller's project owns (or any, for admins); otherwise 404."""
    kind, model = TAGGABLE[collection]
    row = session.get(model, resource_id)
    if row is None or (not ctx.is_admin and row.project_id != ctx.project_id):
        raise not_found(kind, resource_id)
    return row


def set_tags(row: StandardAttributes, tags: list[str]) -> list[str]:
    unique = sorted(set(tags))
    if len(unique) > MAX_TAGS:
        raise ipam.invalid(f"A resource may have at most {MAX_TAGS} tags.")
    row.tags = unique
    row.revision_number += 1
    row.updated_at = utcnow()
    return unique
