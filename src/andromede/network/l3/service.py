"""Neutron's L3 rules: routers, their external gateway and interfaces, floating IPs; and the agent's view of them.

Routers and floating IPs are owned by a project (another project's are a 404). Gateway and floating-IP ports are
owned by no project, as in Neutron, so members never see or delete them; interface ports belong to the router's
project but only the router API may remove them.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.contracts import network as contract
from andromede.network import ipam, quotas
from andromede.network import service as net
from andromede.network.l3.models import FLOATINGIP, ROUTER_GATEWAY, ROUTER_INTERFACE, FloatingIp, Router, RouterPort
from andromede.network.l3.schemas import (
    MAX_ROUTES,
    ExtraRoute,
    FloatingIpCreate,
    FloatingIpUpdate,
    GatewayInfo,
    InterfaceRequest,
    RouterCreate,
    RouterUpdate,
)
from andromede.network.models import FixedIp, Network, Port, Subnet
from andromede.network.ownership import owner_project

FIP_STATUSES = ("ACTIVE", "DOWN", "ERROR")


def _bad(resource: str, message: str) -> BadRequest:
    return BadRequest(f"Bad {resource} request: {message}", extra={"type": "BadRequest"})


def _touch(row: Router | FloatingIp) -> None:
    row.revision_number += 1
    row.updated_at = utcnow()


@dataclass(frozen=True)
class _IpRequest:
    """What network.service's IPAM takes: a subnet and/or an address."""

    subnet_id: str | None = None
    ip_address: str | None = None


def _new_port(session: Session, *, project_id: str, network_id: str, device_id: str, device_owner: str) -> Port:
    now = utcnow()
    port = Port(id=str(uuid.uuid4()), network_id=network_id, project_id=project_id, name="", description="",
                mac_address=ipam.random_mac(), admin_state_up=True, device_id=device_id, device_owner=device_owner,
                port_security_enabled=False, allowed_address_pairs=[], binding_host_id="", tags=[], created_at=now,
                updated_at=now)
    session.add(port)
    session.flush()
    return port


def _drop_port(session: Session, port_id: str) -> None:
    for fixed_ip in session.scalars(select(FixedIp).where(FixedIp.port_id == port_id)):
        session.delete(fixed_ip)
    for router_port in session.scalars(select(RouterPort).where(RouterPort.port_id == port_id)):
        session.delete(router_port)
    session.flush()
    port = session.get(Port, port_id)
    if port is not None:
        session.delete(port)
    session.flush()


def _port_subnets(session: Session, port_id: str) -> list[tuple[Subnet, str]]:
    rows = session.execute(select(Subnet, FixedIp.ip_address).join(FixedIp, FixedIp.subnet_id == Subnet.id)
                           .where(FixedIp.port_id == port_id).order_by(FixedIp.ip_address))
    return [(subnet, address) for subnet, address in rows]


# ---- routers -----------------------------------------------------------------------------------

def get_router(session: Session, ctx: RequestContext, router_id: str) -> Router:
    router = session.get(Router, router_id)
    if router is None or (not ctx.is_admin and router.project_id != ctx.project_id):
        raise NotFound(f"Router {router_id} could not be found", extra={"type": "RouterNotFound"})
    return router


def list_routers(session: Session, ctx: RequestContext) -> list[Router]:
    query = select(Router).order_by(Router.created_at, Router.id)
    if not ctx.is_admin:
        query = query.where(Router.project_id == ctx.project_id)
    return list(session.scalars(query))


def _refuse_unsupported(body: RouterCreate | RouterUpdate) -> None:
    for name in ("distributed", "ha"):
        if getattr(body, name):
            raise _bad("router", f"{name} routers are not supported.")


def create_router(session: Session, ctx: RequestContext, body: RouterCreate) -> Router:
    _refuse_unsupported(body)
    project_id = owner_project(ctx, body)
    quotas.check(session, project_id, "router")
    now = utcnow()
    router = Router(id=str(uuid.uuid4()), project_id=project_id, name=body.name, description=body.description,
                    admin_state_up=body.admin_state_up, status="ACTIVE", enable_snat=True,
                    tags=sorted(set(body.tags)), created_at=now, updated_at=now)
    session.add(router)
    session.flush()
    if body.external_gateway_info is not None:
        _set_gateway(session, ctx, router, body.external_gateway_info)
    return router


def update_router(session: Session, ctx: RequestContext, router_id: str, body: RouterUpdate) -> Router:
    router = get_router(session, ctx, router_id)
    _refuse_unsupported(body)
    for name in body.model_fields_set:
        if name == "external_gateway_info":
            _set_gateway(session, ctx, router, body.external_gateway_info)
        elif name == "routes":
            router.routes = _checked_routes(session, router, body.routes or [])
        elif name in ("name", "description", "admin_state_up") and getattr(body, name) is not None:
            setattr(router, name, getattr(body, name))
    _touch(router)
    return router


# ---- extra routes (extraroute, extraroute-atomic) -----------------------------------------------

def _invalid_route(route: ExtraRoute | dict, reason: str) -> BadRequest:
    shown = route.model_dump() if isinstance(route, ExtraRoute) else route
    return BadRequest(f"Invalid format for routes: {shown}, {reason}", extra={"type": "InvalidRoutes"})


def _route(route: ExtraRoute) -> dict:
    """One route in canonical form, or 400: the destination a CIDR without host bits, the nexthop an address of
    the same IP version."""
    try:
        version = ipaddress.ip_network(route.destination, strict=False).version
    except ValueError:
        raise _invalid_route(route, f"'{route.destination}' is not a valid IP subnet") from None
    destination = ipam.parse_destination(route.destination, version)
    if destination.prefixlen == 0:  # the router's default route is its gateway's
        raise _invalid_route(route, "a default route (/0) is the external gateway's; give a narrower destination")
    nexthop = ipam.parse_address(route.nexthop, what="nexthop")
    if nexthop.version != version:
        raise _invalid_route(route, "the nexthop and the destination are not of the same IP version")
    return {"destination": str(destination), "nexthop": str(nexthop)}


def _checked_routes(session: Session, router: Router, wanted: list[ExtraRoute]) -> list[dict]:
    """Neutron's rules: each nexthop on a subnet the router is connected to, and none of the router's own
    addresses; at most MAX_ROUTES; duplicates count once."""
    connected: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    own: set[str] = set()
    for row in session.scalars(select(RouterPort).where(RouterPort.router_id == router.id)):
        for subnet, address in _port_subnets(session, row.port_id):
            connected.append(ipaddress.ip_network(subnet.cidr))
            own.add(address)
    routes: list[dict] = []
    for route in wanted:
        canonical = _route(route)
        nexthop = ipaddress.ip_address(canonical["nexthop"])
        if canonical["nexthop"] in own:
            raise _invalid_route(route, "the nexthop is used by router")
        if not any(nexthop in network for network in connected):
            raise _invalid_route(route, "the nexthop is not connected with router")
        if canonical not in routes:
            routes.append(canonical)
    if len(routes) > MAX_ROUTES:
        raise BadRequest(f"Unable to complete operation for {router.id}. The number of routes exceeds the maximum "
                         f"{MAX_ROUTES}.", extra={"type": "RoutesExhausted"})
    return routes


def add_extra_routes(session: Session, ctx: RequestContext, router_id: str, wanted: list[ExtraRoute]) -> Router:
    router = get_router(session, ctx, router_id)
    current = [ExtraRoute(**route) for route in router.routes or []]
    router.routes = _checked_routes(session, router, current + wanted)
    _touch(router)
    return router


def remove_extra_routes(session: Session, ctx: RequestContext, router_id: str, unwanted: list[ExtraRoute]) -> Router:
    router = get_router(session, ctx, router_id)
    gone = [_route(route) for route in unwanted]  # malformed ones are refused; absent ones are ignored
    router.routes = [route for route in router.routes or [] if route not in gone]
    _touch(router)
    return router


def _routes_via(router: Router, cidrs: list[str]) -> list[dict]:
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    return [r for r in router.routes or [] if any(ipaddress.ip_address(r["nexthop"]) in n for n in networks)]


def delete_router(session: Session, ctx: RequestContext, router_id: str) -> None:
    router = get_router(session, ctx, router_id)
    if interface_ports(session, router.id):
        raise Conflict(f"Router {router_id} still has ports", extra={"type": "RouterInUse"})
    _clear_gateway(session, router)
    session.delete(router)


def gateway_fixed_ips(session: Session, router: Router) -> list[dict]:
    if router.gw_port_id is None:
        return []
    return [{"subnet_id": row["subnet_id"], "ip_address": row["ip_address"]}
            for row in net.fixed_ips(session, router.gw_port_id)]


def interface_ports(session: Session, router_id: str) -> list[Port]:
    return list(session.scalars(select(Port).join(RouterPort, RouterPort.port_id == Port.id).where(
        RouterPort.router_id == router_id, RouterPort.port_type == ROUTER_INTERFACE).order_by(Port.created_at)))


def _router_cidrs(session: Session, router: Router, skip_port: str | None = None) -> list[tuple[str, str]]:
    """(subnet id, cidr) of every subnet the router has a port on, gateway included."""
    result: list[tuple[str, str]] = []
    for row in session.scalars(select(RouterPort).where(RouterPort.router_id == router.id)):
        if row.port_id != skip_port:
            result.extend((subnet.id, subnet.cidr) for subnet, _ in _port_subnets(session, row.port_id))
    return result


def _check_new_subnets(session: Session, router: Router, subnets: list[Subnet]) -> None:
    """A subnet may be on a router once, and never overlap another subnet the router is on."""
    existing = _router_cidrs(session, router)
    for subnet in subnets:
        for other_id, other_cidr in existing:
            if other_id == subnet.id:
                raise _bad("router", f"Router already has a port on subnet {subnet.id}.")
            if ipam.overlaps(other_cidr, subnet.cidr):
                raise _bad("router", f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr {other_cidr} "
                                     f"of subnet {other_id}.")


def _fips_through(session: Session, router_id: str) -> list[FloatingIp]:
    return list(session.scalars(select(FloatingIp).where(FloatingIp.router_id == router_id)))


def _set_gateway(session: Session, ctx: RequestContext, router: Router, info: GatewayInfo | None) -> None:
    if info is None or info.network_id is None:
        if info is not None and (info.enable_snat is not None or info.external_fixed_ips):
            raise _bad("router", "external_gateway_info needs a network_id.")
        _clear_gateway(session, router)
        return
    network = net.get_network(session, ctx, info.network_id)
    if not network.external:
        raise _bad("router", f"Network {network.id} is not an external network")
    enable_snat = True if info.enable_snat is None else info.enable_snat
    if router.gw_network_id == network.id and info.external_fixed_ips is None:
        router.enable_snat = enable_snat
        return
    if router.gw_network_id is not None and router.gw_network_id != network.id and _fips_through(session, router.id):
        raise Conflict(f"Gateway cannot be updated for router {router.id}, since a gateway to external network "
                       f"{router.gw_network_id} is required by one or more floating IPs.",
                       extra={"type": "RouterExternalGatewayInUseByFloatingIp"})
    subnets = list(session.scalars(select(Subnet).where(Subnet.network_id == network.id)))
    if not subnets:
        raise _bad("router", f"No subnets on external network {network.id}.")
    requests = None if info.external_fixed_ips is None else \
        [_IpRequest(f.subnet_id, f.ip_address) for f in info.external_fixed_ips]
    if router.gw_network_id == network.id:  # same network, new addresses: reallocate on the same port
        port_id = router.gw_port_id
        assert port_id is not None  # a router with a gateway network has its gateway port
        for row in session.scalars(select(FixedIp).where(FixedIp.port_id == port_id)):
            session.delete(row)
        session.flush()
        net._allocate(session, network, port_id, requests)
    else:
        _clear_gateway(session, router)
        port = _new_port(session, project_id="", network_id=network.id, device_id=router.id,
                         device_owner=ROUTER_GATEWAY)
        net._allocate(session, network, port.id, requests)
        chosen = [subnet for subnet, _ in _port_subnets(session, port.id)]
        _check_new_subnets(session, router, chosen)
        session.add(RouterPort(port_id=port.id, router_id=router.id, port_type=ROUTER_GATEWAY))
        router.gw_network_id, router.gw_port_id = network.id, port.id
    router.enable_snat = enable_snat
    session.flush()


def _clear_gateway(session: Session, router: Router) -> None:
    if router.gw_network_id is None:
        return
    if _fips_through(session, router.id):
        raise Conflict(f"Gateway cannot be updated for router {router.id}, since a gateway to external network "
                       f"{router.gw_network_id} is required by one or more floating IPs.",
                       extra={"type": "RouterExternalGatewayInUseByFloatingIp"})
    port_id = router.gw_port_id
    router.gw_network_id, router.gw_port_id, router.enable_snat = None, None, True
    session.flush()
    if port_id:
        _drop_port(session, port_id)


# ---- router interfaces -------------------------------------------------------------------------

def _interface_info(router: Router, port: Port, subnet_ids: list[str]) -> dict:
    return {"id": router.id, "tenant_id": router.project_id, "project_id": router.project_id, "port_id": port.id,
            "network_id": port.network_id, "subnet_id": subnet_ids[0] if subnet_ids else None,
            "subnet_ids": subnet_ids}


def _interface_request(body: InterfaceRequest) -> None:
    if body.subnet_id is None and body.port_id is None:
        raise _bad("router", "Either subnet_id or port_id must be specified")


def add_interface(session: Session, ctx: RequestContext, router_id: str, body: InterfaceRequest) -> dict:
    router = get_router(session, ctx, router_id)
    _interface_request(body)
    if body.subnet_id is not None and body.port_id is not None:
        raise _bad("router", "Cannot specify both subnet-id and port-id")
    if body.port_id is not None:
        port = net.get_port(session, ctx, body.port_id)
        if port.device_id or port.device_owner:
            raise Conflict(f"Unable to complete operation on port {port.id} for network {port.network_id}. "
                           f"Port already has an attached device {port.device_id or port.device_owner}.",
                           extra={"type": "PortInUse"})
        subnets = [subnet for subnet, _ in _port_subnets(session, port.id)]
        if not subnets:
            raise _bad("router", f"Router port {port.id} must have at least one fixed IP")
        if len(subnets) > 1:
            raise _bad("router", f"Port {port.id} has more than one fixed IP; a router port needs exactly one")
        _refuse_external(session, subnets[0])
        _check_port_addresses(session, ctx, port)
        _check_new_subnets(session, router, subnets)
        port.device_id, port.device_owner = router.id, ROUTER_INTERFACE
        port.revision_number += 1
        port.updated_at = utcnow()
    else:
        assert body.subnet_id is not None  # _interface_request refused a body with neither
        subnet = net.get_subnet(session, ctx, body.subnet_id)
        _refuse_external(session, subnet)
        if not subnet.gateway_ip:
            raise _bad("router", f"Subnet {subnet.id} does not have a gateway IP")
        if not ctx.is_admin and subnet.project_id != ctx.project_id:  # a shared subnet's gateway is its owner's
            raise _bad("router", f"Cannot add interface to router because subnet {subnet.id} is not owned by "
                                 "project making the request")
        subnets = [subnet]
        _check_new_subnets(session, router, subnets)
        port = _new_port(session, project_id=router.project_id, network_id=subnet.network_id, device_id=router.id,
                         device_owner=ROUTER_INTERFACE)
        session.add(FixedIp(port_id=port.id, subnet_id=subnet.id, ip_address=subnet.gateway_ip))
        try:
            session.flush()
        except IntegrityError as exc:  # another router already holds this subnet's gateway address
            raise Conflict(f"IP address {subnet.gateway_ip} already allocated in subnet {subnet.id}",
                           extra={"type": "IpAddressAlreadyAllocated"}) from exc
    session.add(RouterPort(port_id=port.id, router_id=router.id, port_type=ROUTER_INTERFACE))
    _touch(router)
    session.flush()
    return _interface_info(router, port, [s.id for s in subnets])


def _check_port_addresses(session: Session, ctx: RequestContext, port: Port) -> None:
    """Neutron's rule for a port added to a router: on a subnet another project owns (a shared one), its address
    must be one the subnet's pools hand out to anyone; never the gateway, nor one the owner set aside."""
    if ctx.is_admin:
        return
    for subnet, address in _port_subnets(session, port.id):
        if subnet.project_id == ctx.project_id:
            continue
        if address == subnet.gateway_ip or not ipam.in_pools(address, subnet.allocation_pools):
            raise _bad("router", f"Cannot add interface to router because specified port {port.id} has an IP "
                                 f"address out of the allocation pool of subnet {subnet.id}, which is not owned by "
                                 "the project making the request")


def _refuse_external(session: Session, subnet: Subnet) -> None:
    network = session.get(Network, subnet.network_id)
    if network is not None and network.external:
        raise _bad("router", f"Subnet {subnet.id} is on external network {network.id}: use it as the router's "
                             "external gateway instead")


def remove_interface(session: Session, ctx: RequestContext, router_id: str, body: InterfaceRequest) -> dict:
    router = get_router(session, ctx, router_id)
    _interface_request(body)
    ports = interface_ports(session, router.id)
    if body.port_id is not None:
        port = next((p for p in ports if p.id == body.port_id), None)
        if port is None:
            raise NotFound(f"Router {router.id} does not have an interface with id {body.port_id}",
                           extra={"type": "RouterInterfaceNotFound"})
        subnet_ids = [s.id for s, _ in _port_subnets(session, port.id)]
        if body.subnet_id is not None and body.subnet_id not in subnet_ids:
            raise _bad("router", f"Subnet {body.subnet_id} does not match the port {port.id}'s subnet")
    else:
        port = next((p for p in ports if body.subnet_id in {s.id for s, _ in _port_subnets(session, p.id)}), None)
        if port is None:
            raise NotFound(f"Router {router.id} has no interface on subnet {body.subnet_id}",
                           extra={"type": "RouterInterfaceNotFoundForSubnet"})
        subnet_ids = [s.id for s, _ in _port_subnets(session, port.id)]
    cidrs = [s.cidr for s, _ in _port_subnets(session, port.id)]
    for fip in _fips_through(session, router.id):
        if fip.fixed_ip_address and any(ipaddress.ip_address(fip.fixed_ip_address) in ipaddress.ip_network(c)
                                        for c in cidrs):
            raise Conflict(f"Router interface for subnet {subnet_ids[0]} on router {router.id} cannot be deleted, "
                           "as it is required by one or more floating IPs.",
                           extra={"type": "RouterInterfaceInUseByFloatingIP"})
    if _routes_via(router, cidrs):
        raise Conflict(f"Router interface for subnet {subnet_ids[0]} on router {router.id} cannot be deleted, as it "
                       "is required by one or more routes.", extra={"type": "RouterInterfaceInUseByRoute"})
    info = _interface_info(router, port, subnet_ids)
    _drop_port(session, port.id)  # Neutron deletes the port, even one the user made and added by port_id
    _touch(router)
    return info


# ---- floating IPs ------------------------------------------------------------------------------

def get_floating_ip(session: Session, ctx: RequestContext, fip_id: str) -> FloatingIp:
    fip = session.get(FloatingIp, fip_id)
    if fip is None or (not ctx.is_admin and fip.project_id != ctx.project_id):
        raise NotFound(f"Floating IP {fip_id} could not be found", extra={"type": "FloatingIPNotFound"})
    return fip


def list_floating_ips(session: Session, ctx: RequestContext) -> list[FloatingIp]:
    query = select(FloatingIp).order_by(FloatingIp.created_at, FloatingIp.id)
    if not ctx.is_admin:
        query = query.where(FloatingIp.project_id == ctx.project_id)
    return list(session.scalars(query))


def _fip_address_request(session: Session, network: Network, body: FloatingIpCreate) -> list[_IpRequest]:
    """The IPAM requests to try, in order: the one asked for, or each IPv4 subnet of the external network."""
    subnets = list(session.scalars(select(Subnet).where(Subnet.network_id == network.id, Subnet.ip_version == 4)
                                   .order_by(Subnet.created_at)))
    if body.subnet_id is not None:
        subnets = [s for s in subnets if s.id == body.subnet_id]
        if not subnets:
            raise _bad("floatingip", f"Subnet {body.subnet_id} is not an IPv4 subnet of network {network.id}.")
    if not subnets:
        raise _bad("floatingip", f"Network {network.id} does not contain any IPv4 subnet")
    if body.floating_ip_address is None:
        return [_IpRequest(s.id) for s in subnets]
    address = ipam.parse_address(body.floating_ip_address, what="floating_ip_address")
    match = [s for s in subnets if address in ipaddress.ip_network(s.cidr)]
    if not match:
        raise BadRequest(f"IP address {address} is not a valid IP for any of the subnets on the specified network.",
                         extra={"type": "InvalidIpForNetwork"})
    return [_IpRequest(match[0].id, str(address))]


def create_floating_ip(session: Session, ctx: RequestContext, body: FloatingIpCreate) -> FloatingIp:
    network = net.get_network(session, ctx, body.floating_network_id)
    if not network.external:
        raise _bad("floatingip", f"Network {network.id} is not a valid external network")
    if body.fixed_ip_address is not None and body.port_id is None:
        raise _bad("floatingip", "fixed_ip_address cannot be specified without a port_id")
    project_id = owner_project(ctx, body)
    quotas.check(session, project_id, "floatingip")
    requests = _fip_address_request(session, network, body)
    now = utcnow()
    fip_id = str(uuid.uuid4())
    port = _new_port(session, project_id="", network_id=network.id, device_id=fip_id, device_owner=FLOATINGIP)
    for index, request in enumerate(requests):
        try:
            net._allocate(session, network, port.id, [request])
            break
        except Conflict as exc:
            if exc.extra.get("type") != "IpAddressGenerationFailure" or index == len(requests) - 1:
                raise
    address = _port_subnets(session, port.id)[0][1]
    fip = FloatingIp(id=fip_id, project_id=project_id, name="", description=body.description,
                     floating_network_id=network.id, floating_ip_address=address, floating_port_id=port.id,
                     status="DOWN", tags=sorted(set(body.tags)), created_at=now, updated_at=now)
    session.add(fip)
    session.flush()
    if body.port_id is not None:
        _associate(session, ctx, fip, body.port_id, body.fixed_ip_address)
    return fip


def update_floating_ip(session: Session, ctx: RequestContext, fip_id: str, body: FloatingIpUpdate) -> FloatingIp:
    fip = get_floating_ip(session, ctx, fip_id)
    if "fixed_ip_address" in body.model_fields_set and body.fixed_ip_address is not None and body.port_id is None:
        raise _bad("floatingip", "fixed_ip_address cannot be specified without a port_id")
    if "port_id" in body.model_fields_set:
        if body.port_id is None:
            _disassociate(fip)
        else:
            _associate(session, ctx, fip, body.port_id, body.fixed_ip_address)
    if body.description is not None:
        fip.description = body.description
    _touch(fip)
    return fip


def delete_floating_ip(session: Session, ctx: RequestContext, fip_id: str) -> None:
    fip = get_floating_ip(session, ctx, fip_id)
    port_id = fip.floating_port_id
    session.delete(fip)
    session.flush()
    _drop_port(session, port_id)


def _disassociate(fip: FloatingIp) -> None:
    fip.port_id = fip.fixed_ip_address = fip.router_id = None
    fip.status = "DOWN"


def _associate(session: Session, ctx: RequestContext, fip: FloatingIp, port_id: str, fixed_ip: str | None) -> None:
    port = net.get_port(session, ctx, port_id)
    if port.project_id != fip.project_id:
        raise _bad("floatingip", f"Cannot create floating IP and bind it to Port {port.id}, since that port is "
                                 "owned by a different project.")
    if port.device_owner.startswith("network:"):
        raise _bad("floatingip", f"Port {port.id} has owner {port.device_owner} and therefore cannot be "
                                 "associated with a floating IP.")
    v4 = [(subnet, address) for subnet, address in _port_subnets(session, port.id) if subnet.ip_version == 4]
    if fixed_ip is not None:
        chosen = [(s, a) for s, a in v4 if a == fixed_ip]
        if not chosen:
            raise _bad("floatingip", f"Port {port.id} does not have fixed ip {fixed_ip}")
    elif not v4:
        raise _bad("floatingip", f"Cannot add floating IP to port {port.id} that has no fixed IPv4 addresses")
    elif len(v4) > 1:
        raise _bad("floatingip", f"Port {port.id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 "
                                 "address when assigning a floating IP")
    else:
        chosen = v4
    subnet, address = chosen[0]
    router_id = _router_for(session, fip.floating_network_id, subnet, fip.project_id)
    if router_id is None:
        raise NotFound(f"External network {fip.floating_network_id} is not reachable from subnet {subnet.id}.  "
                       f"Therefore, cannot associate Port {port.id} with a Floating IP.",
                       extra={"type": "ExternalGatewayForFloatingIPNotFound"})
    taken = session.scalars(select(FloatingIp).where(
        FloatingIp.floating_network_id == fip.floating_network_id, FloatingIp.port_id == port.id,
        FloatingIp.fixed_ip_address == address, FloatingIp.id != fip.id)).first()
    if taken is not None:
        raise Conflict(f"Cannot associate floating IP {fip.floating_ip_address} ({fip.id}) with port {port.id} "
                       f"using fixed IP {address}, as that fixed IP already has a floating IP on external network "
                       f"{fip.floating_network_id}.", extra={"type": "FloatingIPPortAlreadyAssociated"})
    if (fip.port_id, fip.fixed_ip_address, fip.router_id) != (port.id, address, router_id):
        fip.port_id, fip.fixed_ip_address, fip.router_id = port.id, address, router_id
        fip.status = "DOWN"  # until the agent has wired it and reports ACTIVE
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent association of the same fixed IP won
        raise Conflict(f"Fixed IP {address} of port {port.id} already has a floating IP.",
                       extra={"type": "FloatingIPPortAlreadyAssociated"}) from exc


def _router_for(session: Session, external_network_id: str, subnet: Subnet, project_id: str) -> str | None:
    """The router that carries a floating IP of `project_id` to an address on `subnet`: among the routers with a
    gateway on the external network and an interface on the subnet, the one at the subnet's gateway address (as
    Neutron); else, unlike Neutron, only one of the floating IP's project or of the subnet's owner, never a third
    project's router, whose extra routes would steer that traffic."""
    candidates = list(session.execute(
        select(Router.id, Router.project_id, FixedIp.ip_address).join(RouterPort, RouterPort.router_id == Router.id)
        .join(FixedIp, FixedIp.port_id == RouterPort.port_id)
        .where(Router.gw_network_id == external_network_id, RouterPort.port_type == ROUTER_INTERFACE,
               FixedIp.subnet_id == subnet.id)
        .order_by(Router.created_at, Router.id)))
    for router_id, _, address in candidates:
        if address == subnet.gateway_ip:
            return router_id
    for trusted in (project_id, subnet.project_id):
        for router_id, owner, _ in candidates:
            if owner == trusted:
                return router_id
    return None


def port_details(session: Session, port_id: str | None) -> dict | None:
    port = session.get(Port, port_id) if port_id else None
    if port is None:
        return None
    return {"name": port.name, "network_id": port.network_id, "mac_address": port.mac_address,
            "admin_state_up": port.admin_state_up, "status": port.status, "device_id": port.device_id,
            "device_owner": port.device_owner}


# ---- tags --------------------------------------------------------------------------------------

def taggable(session: Session, ctx: RequestContext, collection: str, resource_id: str) -> Router | FloatingIp:
    if collection == "routers":
        return get_router(session, ctx, resource_id)
    return get_floating_ip(session, ctx, resource_id)


# ---- for the host agent and for Nova -----------------------------------------------------------

def _address_on(session: Session, port_id: str) -> tuple[str, int, Subnet] | None:
    """The port's first IPv4 address, its prefix length and its subnet."""
    for subnet, address in _port_subnets(session, port_id):
        if subnet.ip_version == 4:
            return address, ipaddress.ip_network(subnet.cidr).prefixlen, subnet
    return None


def agent_view(session: Session) -> list[contract.Router]:
    """Every router as the L3 data plane needs it: gateway, interfaces, associated floating IPs."""
    result = []
    for router in session.scalars(select(Router).order_by(Router.created_at, Router.id)):
        gateway = None
        gw_port = session.get(Port, router.gw_port_id) if router.gw_port_id else None
        gw_address = _address_on(session, gw_port.id) if gw_port else None
        if gw_port is not None and gw_address is not None:
            ip, prefixlen, subnet = gw_address
            gateway = contract.RouterGateway(network_id=gw_port.network_id, port_id=gw_port.id,
                                             mac=gw_port.mac_address, ip=ip, prefixlen=prefixlen,
                                             upstream_gateway=subnet.gateway_ip, enable_snat=router.enable_snat)
        interfaces = []
        for port in interface_ports(session, router.id):
            for subnet, address in _port_subnets(session, port.id):
                interfaces.append(contract.RouterInterface(
                    port_id=port.id, network_id=port.network_id, mac=port.mac_address, ip=address,
                    prefixlen=ipaddress.ip_network(subnet.cidr).prefixlen, subnet_cidr=subnet.cidr,
                    ra_mode=subnet.ipv6_ra_mode if subnet.ip_version == 6 else None))
        fips = [contract.FloatingIp.model_validate({"id": fip.id, "floating_ip": fip.floating_ip_address,
                                                    "fixed_ip": fip.fixed_ip_address, "port_id": fip.port_id})
                for fip in session.scalars(select(FloatingIp).where(FloatingIp.router_id == router.id,
                                                                    FloatingIp.port_id.is_not(None))
                                           .order_by(FloatingIp.created_at, FloatingIp.id))]
        result.append(contract.Router(
            router_id=router.id, admin_state_up=router.admin_state_up, gateway=gateway, interfaces=tuple(interfaces),
            floating_ips=tuple(fips), routes=tuple(contract.ExtraRoute.model_validate(r) for r in router.routes or [])))
    return result


def set_floating_ip_status(session: Session, fip_id: str, status: str) -> None:
    """The agent's report. Unknown ids are ignored (the floating IP may just have been deleted), and so is a late
    ACTIVE for one that was disassociated meanwhile (it stays DOWN)."""
    if status not in FIP_STATUSES:
        raise BadRequest(f"A floating IP status is one of {', '.join(FIP_STATUSES)}, not {status[:32]!r}.")
    fip = session.get(FloatingIp, fip_id)
    if fip is None or fip.status == status or (status == "ACTIVE" and fip.port_id is None):
        return
    fip.status = status


def floating_ips_for_ports(session: Session, port_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """port id -> [(fixed ip, floating ip)], for Nova's server addresses (type "floating")."""
    result: dict[str, list[tuple[str, str]]] = {}
    if not port_ids:
        return result
    rows = session.execute(select(FloatingIp.port_id, FloatingIp.fixed_ip_address, FloatingIp.floating_ip_address)
                           .where(FloatingIp.port_id.in_(port_ids)).order_by(FloatingIp.created_at))
    for port_id, fixed_ip, floating_ip in rows:
        if port_id is not None and fixed_ip is not None:  # always: associating sets both, disassociating neither
            result.setdefault(port_id, []).append((fixed_ip, floating_ip))
    return result


@net.before_port_delete
def on_port_delete(session: Session, port: Port) -> None:
    """Before a port is deleted: refuse L3 ports, let go of floating IPs."""
    owned = session.scalars(select(RouterPort.router_id).where(RouterPort.port_id == port.id)).first() or \
        session.scalars(select(FloatingIp.id).where(FloatingIp.floating_port_id == port.id)).first()
    if owned:
        raise Conflict(f"Port {port.id} cannot be deleted directly via the port API: has device owner "
                       f"{port.device_owner}.", extra={"type": "ServicePortInUse"})
    for fip in session.scalars(select(FloatingIp).where(FloatingIp.port_id == port.id)):
        _disassociate(fip)
    session.flush()


@net.before_network_delete
def drop_unused_floating_ips(session: Session, ctx: RequestContext, network: Network) -> None:
    """Neutron's delete_disassociated_floatingips: deleting an external network first deletes the floating IPs on
    it that no port uses (those the caller may see); one still associated keeps the network in use."""
    unused = select(FloatingIp.id).where(FloatingIp.floating_network_id == network.id, FloatingIp.port_id.is_(None))
    for fip_id in list(session.scalars(unused)):
        fip = session.get(FloatingIp, fip_id)
        if fip is not None and (ctx.is_admin or fip.project_id == ctx.project_id):
            delete_floating_ip(session, ctx, fip_id)


@net.before_made_internal
def check_made_internal(session: Session, network: Network) -> None:
    """Neutron's rule: a network stays external while a router's gateway or a floating IP is on it."""
    if session.scalars(select(Router.id).where(Router.gw_network_id == network.id)).first() or \
            session.scalars(select(FloatingIp.id).where(FloatingIp.floating_network_id == network.id)).first():
        raise Conflict(f"External network {network.id} cannot be updated to be made non-external, since it has "
                       "existing gateway ports.", extra={"type": "ExternalNetworkInUse"})
