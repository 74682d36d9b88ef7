"""Where a new volume lives: the live, enabled host holding the fewest volumes (ties: by name)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.hosts import service as hosts
from andromede.hosts.capacity import Capacity
from andromede.volume.models import Volume

NO_HOST = "No valid backend was found. No live, enabled host to hold the volume."
_ANY_SIZE = Capacity(vcpus=0, memory_mib=0, disk_gib=0)  # volumes are thin files: a host's VM capacity is not theirs


def choose_host(session: Session) -> str | None:
    candidates = [host.name for host in hosts.schedulable(session, _ANY_SIZE)]
    if not candidates:
        return None
    held = dict(session.execute(select(Volume.host, func.count(Volume.id))
                                .where(Volume.host.in_(candidates)).group_by(Volume.host)).tuples().all())
    return min(candidates, key=lambda name: (held.get(name, 0), name))
