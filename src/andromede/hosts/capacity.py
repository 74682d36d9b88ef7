"""A host's capacity is the operator's word, not its agent's: reports are capped at the host's ceilings.

A compromised hypervisor could otherwise claim any capacity in its heartbeat and, the scheduler weighing by free
RAM, receive every tenant's next servers (their user-data, keys and images). The operator sets the ceilings with
`andromede host add|set NAME --vcpus --memory-mib --disk-gib`; a ceiling left unset is the host's first report
(trust on first use), so the all-in-one's own host needs no flags. Later reports can lower what the scheduler sees,
never raise it past the ceiling.

What a host has given is claimed with one conditional UPDATE ("add my usage if it still fits"), so two creates racing
for the last slot cannot both win, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from andromede.db.engine import matched_rows
from andromede.hosts.models import Host


@dataclass(frozen=True)
class Capacity:
    vcpus: int
    memory_mib: int
    disk_gib: int


def apply_report(host: Host, reported: Capacity) -> Capacity:
    """Record REPORTED on HOST, capped at its ceilings; an unset ceiling becomes the reported value."""
    if host.max_vcpus is None:
        host.max_vcpus = reported.vcpus
    if host.max_memory_mib is None:
        host.max_memory_mib = reported.memory_mib
    if host.max_disk_gib is None:
        host.max_disk_gib = reported.disk_gib
    host.vcpus = min(reported.vcpus, host.max_vcpus)
    host.memory_mib = min(reported.memory_mib, host.max_memory_mib)
    host.disk_gib = min(reported.disk_gib, host.max_disk_gib)
    return Capacity(host.vcpus, host.memory_mib, host.disk_gib)


def set_ceilings(host: Host, *, vcpus: int | None = None, memory_mib: int | None = None,
                 disk_gib: int | None = None) -> None:
    """The operator's ceilings (None: leave as is). Lowering one caps the scheduler's view at once; raising one
    takes effect at the host's next report."""
    if vcpus is not None:
        host.max_vcpus, host.vcpus = vcpus, min(host.vcpus or 0, vcpus)
    if memory_mib is not None:
        host.max_memory_mib, host.memory_mib = memory_mib, min(host.memory_mib or 0, memory_mib)
    if disk_gib is not None:
        host.max_disk_gib, host.disk_gib = disk_gib, min(host.disk_gib or 0, disk_gib)


def fits(host: Host, want: Capacity) -> bool:
    """Whether WANT fits in what HOST has left, overcommit ratios included."""
    return (host.used_vcpus + want.vcpus <= host.vcpus * host.cpu_allocation_ratio
            and host.used_memory_mib + want.memory_mib <= host.memory_mib * host.ram_allocation_ratio
            and host.used_disk_gib + want.disk_gib <= host.disk_gib * host.disk_allocation_ratio)


def claim(session: Session, host_name: str, want: Capacity) -> bool:
    """Add WANT to HOST_NAME's usage if it still fits; False when another claim took the room first."""
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


def release(session: Session, host_name: str, given: Capacity) -> None:
    session.execute(update(Host).where(Host.name == host_name).values(
        used_vcpus=Host.used_vcpus - given.vcpus, used_memory_mib=Host.used_memory_mib - given.memory_mib,
        used_disk_gib=Host.used_disk_gib - given.disk_gib).execution_options(synchronize_session=False))
