"""Choosing a host: filters, then weighers, then an atomic claim of the capacity on the winner.

The claim is the hosts' own (hosts/capacity.py): two creates racing for the last slot cannot both win. Written for
N hosts; all-in-one has one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from andromede.hosts import capacity
from andromede.hosts import service as hosts
from andromede.hosts.capacity import Capacity
from andromede.hosts.service import HostView


@dataclass(frozen=True)
class Request:
    vcpus: int
    memory_mib: int
    disk_gib: int
    availability_zone: str | None = None

    @property
    def capacity(self) -> Capacity:
        return Capacity(self.vcpus, self.memory_mib, self.disk_gib)


class NoValidHost(Exception):
    pass


def candidates(session: Session, want: Request) -> list[HostView]:
    shortlist = hosts.schedulable(session, want.capacity, want.availability_zone)
    # Weigher: spread by free RAM, then free vCPUs (what Nova's default weighers prefer).
    return sorted(shortlist, key=lambda h: (h.memory_mib * h.ram_allocation_ratio - h.used_memory_mib,
                                        h.vcpus * h.cpu_allocation_ratio - h.used_vcpus), reverse=True)


def schedule(session: Session, want: Request,
             arrange: Callable[[Sequence[HostView]], list[HostView]] | None = None) -> str:
    """`arrange` filters or reorders the candidates, best first (a server group's policy)."""
    ranked = candidates(session, want)
    for host in arrange(ranked) if arrange is not None else ranked:
        if capacity.claim(session, host.name, want.capacity):
            return host.name
    raise NoValidHost("No valid host was found. There are not enough hosts available.")


def release(session: Session, host_name: str, want: Request) -> None:
    capacity.release(session, host_name, want.capacity)
