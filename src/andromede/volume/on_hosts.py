"""The volume service's volumes as the hosts count them (hosts/workloads.py): a host holding volumes is not
forgotten by `andromede host remove` (it is disabled, its volumes' files still on it)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.hosts.workloads import Workloads
from andromede.volume.models import Volume


def _held(session: Session) -> Mapping[str, int]:
    rows = session.execute(select(Volume.host, func.count()).where(Volume.host.is_not(None)).group_by(Volume.host))
    return {host: count for host, count in rows if host is not None}


def _ever_placed_on(session: Session, host: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Volume).where(Volume.host == host)))


VOLUMES = Workloads(name="volumes", running=_held, ever_placed_on=_ever_placed_on)
