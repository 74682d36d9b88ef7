"""Neutron quotas: per-project limits on networks, subnets, ports, routers, floating IPs and security groups.

Usage is counted from the resource tables themselves (no usage cache to drift), by table name, so a slice that
adds a counted resource only has to name its table here. -1 means unlimited.
"""

from __future__ import annotations

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, Conflict
from andromede.db.base import Base
from andromede.network.security_groups.models import QuotaLimit

DEFAULTS: dict[str, int] = {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
                            "security_group": 10, "security_group_rule": 100}
TABLES: dict[str, str] = {"network": "network_networks", "subnet": "network_subnets", "port": "network_ports",
                          "router": "network_routers", "floatingip": "network_floatingips",
                          "security_group": "network_security_groups",
                          "security_group_rule": "network_security_group_rules"}
UNLIMITED = -1
DHCP_OWNER = "network:dhcp"


def _table(resource: str) -> Table | None:
    return Base.metadata.tables.get(TABLES[resource])


def overrides(session: Session, project_id: str) -> dict[str, int]:
    rows = session.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id))
    return {row.resource: row.limit for row in rows if row.resource in DEFAULTS}


def limits(session: Session, project_id: str) -> dict[str, int]:
    return {**DEFAULTS, **overrides(session, project_id)}


def limit(session: Session, project_id: str, resource: str) -> int:
    row = session.get(QuotaLimit, (project_id, resource))
    return row.limit if row is not None else DEFAULTS[resource]


def used(session: Session, project_id: str, resource: str) -> int:
    table = _table(resource)
    if table is None:  # the slice owning this resource is not installed
        return 0
    query = select(func.count()).select_from(table).where(table.c.project_id == project_id)
    if resource == "port":  # DHCP ports are the platform's, made asynchronously: they never use the project's quota
        query = query.where(table.c.device_owner != DHCP_OWNER)
    return int(session.scalar(query) or 0)


def check(session: Session, project_id: str, resource: str, adding: int = 1) -> None:
    """409 OverQuota (Neutron's body) if `adding` more of `resource` would pass the project's limit."""
    allowed = limit(session, project_id, resource)
    if allowed == UNLIMITED or adding <= 0:
        return
    if used(session, project_id, resource) + adding > allowed:
        raise Conflict(f"Quota exceeded for resources: ['{resource}'].", extra={"type": "OverQuota"})


def details(session: Session, project_id: str) -> dict[str, dict[str, int]]:
    current = limits(session, project_id)
    return {resource: {"used": used(session, project_id, resource), "limit": current[resource], "reserved": 0}
            for resource in DEFAULTS}


def update(session: Session, project_id: str, wanted: dict[str, int], *, force: bool) -> dict[str, int]:
    """Set limits; unless forced, a limit below what the project already uses is refused (as Neutron does)."""
    if not force:
        for resource, value in wanted.items():
            in_use = used(session, project_id, resource)
            if value != UNLIMITED and in_use > value:
                raise BadRequest(f"Quota limit {value} for {resource} must be greater than or equal to already "
                                 f"used {in_use}", extra={"type": "HTTPBadRequest"})
    for resource, value in wanted.items():
        row = session.get(QuotaLimit, (project_id, resource))
        if row is None:
            session.add(QuotaLimit(project_id=project_id, resource=resource, limit=value))
        else:
            row.limit = value
    session.flush()
    return limits(session, project_id)


def reset(session: Session, project_id: str) -> None:
    session.execute(delete(QuotaLimit).where(QuotaLimit.project_id == project_id))


def projects_with_overrides(session: Session) -> list[str]:
    return list(session.scalars(select(QuotaLimit.project_id).distinct().order_by(QuotaLimit.project_id)))
