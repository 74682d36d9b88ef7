"""What services ask of the hosts: a host's heartbeat, its desired-state generation, its VXLAN endpoint, the list.

Services read hosts through these functions and write them only here (capacity claims: hosts/capacity.py;
credentials: hosts/credentials.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.errors import NotFound
from andromede.hosts import capacity
from andromede.hosts.capacity import Capacity
from andromede.hosts.models import Host


@dataclass(frozen=True)
class Report:
    """What a host's agent says of its host in each heartbeat."""

    capacity: Capacity
    accelerator: str
    availability_zone: str
    vtep_address: str | None


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
    vtep_changed = host.vtep_address != report.vtep_address
    if vtep_changed:
        host.vtep_address = report.vtep_address
    return Heartbeat(host.desired_generation, vtep_changed)


def desired_generation(session: Session, name: str) -> int:
    return _registered(session, name).desired_generation


def advance_generation(session: Session, name: str) -> int:
    """Bump NAME's desired-state generation (its agent long-polls on it) and return the new one."""
    session.execute(update(Host).where(Host.name == name).values(desired_generation=Host.desired_generation + 1)
                    .execution_options(synchronize_session=False))
    return session.scalar(select(Host.desired_generation).where(Host.name == name)) or 0


def zone_exists(session: Session, zone: str) -> bool:
    return session.scalars(select(Host.name).where(Host.availability_zone == zone)).first() is not None


def get(session: Session, name: str) -> Host | None:
    return session.get(Host, name)


def listed(session: Session, order: Literal["name", "created_at"] = "name") -> list[Host]:
    return list(session.scalars(select(Host).order_by(Host.name if order == "name" else Host.created_at)))


def note_network_agent_seen(session: Session, name: str) -> None:
    """NAME's network agent asked for its document or reported status: its heartbeat."""
    session.execute(update(Host).where(Host.name == name).values(network_agent_seen=utcnow()))


def with_network_agent(session: Session) -> list[Host]:
    """The hosts whose network agent has ever reported, by name."""
    return list(session.scalars(select(Host).where(Host.network_agent_seen.is_not(None)).order_by(Host.name)))


def vteps(session: Session) -> dict[str, str]:
    """Each host's VXLAN endpoint, for the hosts that have one."""
    return {name: address for name, address in session.execute(
        select(Host.name, Host.vtep_address).where(Host.vtep_address.is_not(None))) if address is not None}
