"""The all-in-one's external network: `public`, a range the host itself routes (DevStack's 172.24.4.0/24).

The network host puts the subnet's gateway address on the network's bridge, so the host reaches floating IPs
directly and NATs the range to the outside world (see README).
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.identity.for_services import project_id_named
from andromede.network import service
from andromede.network.models import Network
from andromede.network.schemas import NetworkCreate, SubnetCreate

PUBLIC = "public"
PRIVATE_CIDR = "10.0.0.0/24"


def ensure_public_network(session: Session, settings: Settings) -> str | None:
    """Create `public` once (an operator may later delete or replace it: then nothing is re-created)."""
    if not settings.public_network_cidr:
        return None
    existing = session.scalars(select(Network.id).where(Network.external.is_(True))).first()
    if existing or session.scalars(select(Network.id).where(Network.name == PUBLIC)).first():
        return existing
    admin_id = project_id_named(session, "admin")
    if admin_id is None:
        return None
    ctx = _context(admin_id, admin=True)
    cidr = ipaddress.ip_network(settings.public_network_cidr)
    hosts = list(cidr.hosts())
    network = service.create_network(session, ctx, NetworkCreate.model_validate(
        {"name": PUBLIC, "router:external": True, "description": "External network reachable from this host"}))
    service.create_subnet(session, ctx, SubnetCreate.model_validate({
        "network_id": network.id, "cidr": str(cidr), "ip_version": 4, "name": f"{PUBLIC}-subnet",
        "gateway_ip": str(hosts[0]), "enable_dhcp": False,
        "allocation_pools": [{"start": str(hosts[1]), "end": str(hosts[-1])}]}))
    demo_id = project_id_named(session, "demo")
    if demo_id is not None:
        _demo_topology(session, _context(demo_id, admin=False), network.id)
    return network.id


def _context(project_id: str, *, admin: bool) -> RequestContext:
    return RequestContext(request_id="bootstrap", user_id="bootstrap", project_id=project_id, system_scope=admin,
                          roles=frozenset({"admin" if admin else "member"}))


def _demo_topology(session: Session, ctx: RequestContext, public_id: str) -> None:
    """DevStack's demo topology: `private` with a subnet, and `router1` from it to `public`."""
    from andromede.network.l3 import service as l3
    from andromede.network.l3.schemas import InterfaceRequest, RouterCreate

    private = service.create_network(session, ctx, NetworkCreate(name="private"))
    subnet = service.create_subnet(session, ctx, SubnetCreate.model_validate(
        {"network_id": private.id, "cidr": PRIVATE_CIDR, "ip_version": 4, "name": "private-subnet"}))
    router = l3.create_router(session, ctx, RouterCreate.model_validate(
        {"name": "router1", "external_gateway_info": {"network_id": public_id}}))
    l3.add_interface(session, ctx, router.id, InterfaceRequest(subnet_id=subnet.id))
