"""Neutron's network-ip-availability (admin): how many addresses each network and subnet has and how many are
taken, as `openstack ip availability list/show` prints them. Total is the size of the allocation pools; used
counts every address a port holds on the subnet, as Neutron does."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.common.errors import NotFound
from andromede.network.models import FixedIp, Network, Subnet


def _pool_size(pools: list[dict]) -> int:
    return sum(int(ipaddress.ip_address(p["end"])) - int(ipaddress.ip_address(p["start"])) + 1 for p in pools)


def availabilities(session: Session, network_ids: list[str] | None = None,
                   ip_versions: set[int] | None = None) -> list[dict]:
    """With ip_versions, as Neutron's ip_version filter: only subnets of those versions count, and a network
    with none of them is left out."""
    query = select(Network).order_by(Network.created_at)
    if network_ids is not None:
        query = query.where(Network.id.in_(network_ids))
    networks = list(session.scalars(query))
    subnets: dict[str, list[Subnet]] = {n.id: [] for n in networks}
    for subnet in session.scalars(select(Subnet).where(Subnet.network_id.in_(list(subnets)))
                                  .order_by(Subnet.created_at)):
        if ip_versions is None or subnet.ip_version in ip_versions:
            subnets[subnet.network_id].append(subnet)
    counted = [s.id for listed in subnets.values() for s in listed]
    used = dict(session.execute(select(FixedIp.subnet_id, func.count()).where(FixedIp.subnet_id.in_(counted))
                                .group_by(FixedIp.subnet_id)).all())
    docs = []
    for network in networks:
        if ip_versions is not None and not subnets[network.id]:
            continue
        parts: list[dict[str, Any]] = [
            {"subnet_id": s.id, "subnet_name": s.name, "cidr": s.cidr, "ip_version": s.ip_version,
             "total_ips": _pool_size(s.allocation_pools or []), "used_ips": used.get(s.id, 0)}
            for s in subnets[network.id]]
        docs.append({"network_id": network.id, "network_name": network.name, "tenant_id": network.project_id,
                     "project_id": network.project_id, "total_ips": sum(p["total_ips"] for p in parts),
                     "used_ips": sum(p["used_ips"] for p in parts), "subnet_ip_availability": parts})
    return docs


def availability(session: Session, network_id: str) -> dict:
    found = availabilities(session, [network_id])
    if not found:
        raise NotFound(f"Network {network_id} could not be found.", extra={"type": "NetworkNotFound"})
    return found[0]
