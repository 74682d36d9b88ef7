"""Compute's servers as the hosts count them (hosts/workloads.py)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.compute.models import Instance
from andromede.hosts.workloads import Workloads


def _running(session: Session) -> Mapping[str, int]:
    rows = session.execute(select(Instance.host, func.count()).where(
        Instance.deleted.is_(False), Instance.host.is_not(None)).group_by(Instance.host))
    return {host: count for host, count in rows if host is not None}


def _ever_placed_on(session: Session, host: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Instance).where(Instance.host == host)))


SERVERS = Workloads(name="servers", running=_running, ever_placed_on=_ever_placed_on)
