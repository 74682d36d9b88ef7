"""Where a new volume lives: among the live, enabled hosts whose volume agent runs, the one holding the fewest
volumes (ties: by name)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.hosts import service as hosts
from andromede.hosts.capacity import Capacity
from andromede.volume.models import Volume, VolumeHost

NO_HOST = "No valid backend was found. No live, enabled host with a volume agent to hold the volume."
_ANY_SIZE = Capacity(vcpus=0, memory_mib=0, disk_gib=0)  # volumes are thin files: a host's VM capacity is not theirs


def note_agent(session: Session, host: str) -> None:
    """HOST's volume agent asked for its volumes: from now on it may be given new ones."""
    if session.get(VolumeHost, host) is None:
        session.add(VolumeHost(host=host))
        session.flush()


def choose_host(session: Session) -> str | None:
    live = [host.name for host in hosts.schedulable(session, _ANY_SIZE)]
    with_agent = set(session.scalars(select(VolumeHost.host).where(VolumeHost.host.in_(live))))
    candidates = [name for name in live if name in with_agent]
    if not candidates:
        return None
    held = dict(session.execute(select(Volume.host, func.count(Volume.id))
                                .where(Volume.host.in_(candidates)).group_by(Volume.host)).tuples().all())
    return min(candidates, key=lambda name: (held.get(name, 0), name))
