"""A host's capacity is the operator's word, not its agent's: reports are capped at the host's ceilings.

A compromised hypervisor could otherwise claim any capacity in its heartbeat and, the scheduler weighing by free
RAM, receive every tenant's next servers (their user-data, keys and images). The operator sets the ceilings with
`andromede host add|set NAME --vcpus --memory-mib --disk-gib`; a ceiling left unset is the host's first report
(trust on first use), so the all-in-one's own host needs no flags. Later reports can lower what the scheduler sees,
never raise it past the ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

from andromede.compute.models import Host


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
