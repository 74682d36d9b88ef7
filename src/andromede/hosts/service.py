"""What services ask of the hosts: a host's heartbeat, its desired-state generation, its VXLAN endpoint, the list.

Services read hosts through these functions, as read views (HostView) taken in the caller's session, and write them
only here (capacity claims: hosts/capacity.py; credentials: hosts/credentials.py). No other service maps the hosts'
table: an instance names its host by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.errors import NotFound
from andromede.hosts import capacity, liveness
from andromede.hosts.capacity import Capacity
from andromede.hosts.models import Host


@dataclass(frozen=True)
class HostView:
    """A host as other services read it: what it offers and has given, where it is, when its agents last spoke."""

    name: str
    availability_zone: str
    enabled: bool
    vcpus: int  # what it offers (its report, capped at its ceilings)
    memory_mib: int
    disk_gib: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    used_vcpus: int  # what it has given
    used_memory_mib: int
    used_disk_gib: int
    accelerator: str
    vtep_address: str | None
    last_seen: datetime | None  # its compute agent's last heartbeat
    network_agent_seen: datetime | None  # its network agent's last poll
    created_at: datetime
    uptime: str | None = None  # uptime(1)'s line in its last heartbeat


def _view(host: Host) -> HostView:
    return HostView(
        name=host.name, availability_zone=host.availability_zone, enabled=host.enabled, vcpus=host.vcpus,
        memory_mib=host.memory_mib, disk_gib=host.disk_gib, cpu_allocation_ratio=host.cpu_allocation_ratio,
        ram_allocation_ratio=host.ram_allocation_ratio, disk_allocation_ratio=host.disk_allocation_ratio,
        used_vcpus=host.used_vcpus, used_memory_mib=host.used_memory_mib, used_disk_gib=host.used_disk_gib,
        accelerator=host.accelerator, vtep_address=host.vtep_address, last_seen=host.last_seen,
        network_agent_seen=host.network_agent_seen, created_at=host.created_at, uptime=host.uptime)


@dataclass(frozen=True)
class Report:
    """What a host's agent says of its host in each heartbeat."""

    capacity: Capacity
    accelerator: str
    availability_zone: str
    vtep_address: str | None
    uptime: str | None = None  # uptime(1)'s line on the host


@dataclass(frozen=True)
class Heartbeat:
    generation: int  # the host's desired-state generation, for its agent's next long-poll
    vtep_changed: bool  # other hosts' flood lists name this one: their network documents changed


def _registered(session: Session, name: str) -> Host:
    host = session.get(Host, name)
    if host is None:  # removed since the caller's token was checked
        raise NotFound(f"Host {name} is not registered.")
    return host


def heartbeat(session: Session, name: str, report: Report) -> Heartbeat:
    """Record NAME's report: capacity capped at its ceilings, zone on its first report, accelerator, endpoint."""
    host = _registered(session, name)
    if host.last_seen is None:  # its first report: the agent says which zone it serves
        host.availability_zone = report.availability_zone
    capacity.apply_report(host, report.capacity)
    host.accelerator, host.last_seen = report.accelerator, utcnow()
    if report.uptime is not None:
        host.uptime = report.uptime
    vtep_changed = host.vtep_address != report.vtep_address
    if vtep_changed:
        host.vtep_address = report.vtep_address
    return Heartbeat(host.desired_generation, vtep_changed)


def desired_generation(session: Session, name: str) -> int:
    generation = session.scalar(select(Host.desired_generation).where(Host.name == name))
    if generation is None:  # removed since the caller's token was checked
        raise NotFound(f"Host {name} is not registered.")
    return generation


def advance_generation(session: Session, name: str) -> int:
    """Bump NAME's desired-state generation (its agent long-polls on it) and return the new one."""
    return session.scalar(update(Host).where(Host.name == name)
                          .values(desired_generation=Host.desired_generation + 1)
                          .returning(Host.desired_generation)
                          .execution_options(synchronize_session=False)) or 0


def zone_exists(session: Session, zone: str) -> bool:
    return session.scalars(select(Host.name).where(Host.availability_zone == zone)).first() is not None


def get(session: Session, name: str) -> HostView | None:
    host = session.get(Host, name)
    return _view(host) if host is not None else None


def listed(session: Session, order: Literal["name", "created_at"] = "name") -> list[HostView]:
    return [_view(host) for host in
            session.scalars(select(Host).order_by(Host.name if order == "name" else Host.created_at))]


def schedulable(session: Session, want: Capacity, availability_zone: str | None = None) -> list[HostView]:
    """The enabled, live hosts (in AVAILABILITY_ZONE when one is given) with room left for WANT; the claim
    (hosts/capacity.py) decides, this is the scheduler's shortlist."""
    return [_view(host) for host in liveness.schedulable(session, availability_zone) if capacity.fits(host, want)]


def note_network_agent_seen(session: Session, name: str) -> None:
    """NAME's network agent asked for its document or reported status: its heartbeat."""
    session.execute(update(Host).where(Host.name == name).values(network_agent_seen=utcnow()))


def with_network_agent(session: Session) -> list[HostView]:
    """The hosts whose network agent has ever reported, by name."""
    return [_view(host) for host in
            session.scalars(select(Host).where(Host.network_agent_seen.is_not(None)).order_by(Host.name))]


def vteps(session: Session) -> dict[str, str]:
    """Each host's VXLAN endpoint, for the hosts that have one."""
    return {name: address for name, address in session.execute(
        select(Host.name, Host.vtep_address).where(Host.vtep_address.is_not(None))) if address is not None}
