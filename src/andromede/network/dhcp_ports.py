"""Each network with a DHCP-enabled IPv4 subnet has one DHCP port holding an address in each such subnet.

Made with the subnet (so addresses are handed out in a predictable order: the DHCP port takes the first one),
and repaired by the network host's view for networks whose DHCP was switched on later.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.errors import ApiError
from andromede.network import ipam
from andromede.network import service as network_service
from andromede.network.models import FixedIp, Network, Port, Subnet
from andromede.network.schemas import FixedIpRequest

log = logging.getLogger("andromede.network")
DHCP_OWNER = "network:dhcp"


def dhcp_subnets(session: Session, network_id: str | None = None) -> dict[str, list[Subnet]]:
    query = select(Subnet).where(Subnet.enable_dhcp.is_(True), Subnet.ip_version == 4)
    if network_id is not None:
        query = query.where(Subnet.network_id == network_id)
    by_network: dict[str, list[Subnet]] = {}
    for subnet in session.scalars(query.order_by(Subnet.created_at, Subnet.id)):
        by_network.setdefault(subnet.network_id, []).append(subnet)
    return by_network


def ensure_for_network(session: Session, network: Network, subnets: list[Subnet], *, strict: bool) -> None:
    """strict: a failure (e.g. a full subnet) is the caller's error; otherwise it is logged and retried later."""
    if network.external or not subnets:
        return
    port = session.scalars(select(Port).where(Port.network_id == network.id, Port.device_owner == DHCP_OWNER)).first()
    if port is None:
        now = utcnow()
        port = Port(id=str(uuid.uuid4()), network_id=network.id, project_id=network.project_id,
                    mac_address=ipam.random_mac(), device_id=f"dhcp-{network.id}", device_owner=DHCP_OWNER,
                    status="DOWN", created_at=now, updated_at=now)
        session.add(port)
        session.flush()
    have = set(session.scalars(select(FixedIp.subnet_id).where(FixedIp.port_id == port.id)))
    missing = [FixedIpRequest(subnet_id=s.id) for s in subnets if s.id not in have]
    if not missing:
        return
    if strict:
        network_service._allocate(session, network, port.id, missing)
        return
    try:
        with session.begin_nested():
            network_service._allocate(session, network, port.id, missing)
    except ApiError as exc:  # a full subnet or a concurrent allocation: the next pass retries
        log.warning("DHCP port of network %s has no address yet: %s", network.id, exc)


def ensure_all(session: Session) -> None:
    for network_id, subnets in dhcp_subnets(session).items():
        network = session.get(Network, network_id)
        if network is not None:
            ensure_for_network(session, network, subnets, strict=False)
