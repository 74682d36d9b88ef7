"""Choosing a host: filters, then weighers, then an atomic claim of the capacity on the winner.

The claim is one conditional UPDATE ("add my usage if it still fits"), so two creates racing for the
last slot cannot both win, on SQLite and PostgreSQL alike. Written for N hosts; all-in-one has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.compute.models import Host
from andromede.db.engine import matched_rows

HOST_DEAD_AFTER = timedelta(seconds=90)


@dataclass(frozen=True)
class Request:
    vcpus: int
    memory_mib: int
    disk_gib: int
    availability_zone: str | None = None


class NoValidHost(Exception):
    pass


def _fits(host: Host, want: Request) -> bool:
    return (host.used_vcpus + want.vcpus <= host.vcpus * host.cpu_allocation_ratio
            and host.used_memory_mib + want.memory_mib <= host.memory_mib * host.ram_allocation_ratio
            and host.used_disk_gib + want.disk_gib <= host.disk_gib * host.disk_allocation_ratio)


def candidates(session: Session, want: Request) -> list[Host]:
    alive_since = utcnow() - HOST_DEAD_AFTER
    query = select(Host).where(Host.enabled.is_(True), Host.last_seen >= alive_since)
    if want.availability_zone:
        query = query.where(Host.availability_zone == want.availability_zone)
    hosts = [host for host in session.scalars(query) if _fits(host, want)]
    # Weigher: spread by free RAM, then free vCPUs (what Nova's default weighers prefer).
    return sorted(hosts, key=lambda h: (h.memory_mib * h.ram_allocation_ratio - h.used_memory_mib,
                                        h.vcpus * h.cpu_allocation_ratio - h.used_vcpus), reverse=True)


def claim(session: Session, host_name: str, want: Request) -> bool:
    result = session.execute(
        update(Host).where(
            Host.name == host_name,
            Host.used_vcpus + want.vcpus <= Host.vcpus * Host.cpu_allocation_ratio,
            Host.used_memory_mib + want.memory_mib <= Host.memory_mib * Host.ram_allocation_ratio,
            Host.used_disk_gib + want.disk_gib <= Host.disk_gib * Host.disk_allocation_ratio,
        ).values(used_vcpus=Host.used_vcpus + want.vcpus, used_memory_mib=Host.used_memory_mib + want.memory_mib,
                 used_disk_gib=Host.used_disk_gib + want.disk_gib)
        .execution_options(synchronize_session=False))
    return matched_rows(result) == 1


def schedule(session: Session, want: Request) -> str:
    for host in candidates(session, want):
        if claim(session, host.name, want):
            return host.name
    raise NoValidHost("No valid host was found. There are not enough hosts available.")


def release(session: Session, host_name: str, want: Request) -> None:
    session.execute(update(Host).where(Host.name == host_name).values(
        used_vcpus=Host.used_vcpus - want.vcpus, used_memory_mib=Host.used_memory_mib - want.memory_mib,
        used_disk_gib=Host.used_disk_gib - want.disk_gib).execution_options(synchronize_session=False))
