"""The hosts: what each hypervisor offers and has claimed, when it was last seen, which credential acts for it.

The table keeps its historical name (compute_hosts): every service that places work on a host reads it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base


class Host(Base):
    """A hypervisor. Capacity is claimed with one conditional UPDATE, so concurrent creates cannot overcommit."""

    __tablename__ = "compute_hosts"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    vcpus: Mapped[int] = mapped_column(Integer, default=0)
    memory_mib: Mapped[int] = mapped_column(Integer, default=0)
    disk_gib: Mapped[int] = mapped_column(Integer, default=0)
    # The most each report may claim (hosts/capacity.py): set by the operator (`andromede host add|set`), or by
    # the host's first report when the operator gave none; None until then.
    max_vcpus: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_memory_mib: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_disk_gib: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Float, default=4.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    disk_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    used_vcpus: Mapped[int] = mapped_column(Integer, default=0)
    used_memory_mib: Mapped[int] = mapped_column(Integer, default=0)
    used_disk_gib: Mapped[int] = mapped_column(Integer, default=0)
    accelerator: Mapped[str] = mapped_column(String(16), default="tcg")
    # Where other hosts send this host's VXLAN traffic (its network agent's underlay address); None: no network
    # agent, or one that only serves itself (a loopback address).
    vtep_address: Mapped[str | None] = mapped_column(String(45), nullable=True)
    # Bumped whenever an instance on this host changes; agents long-poll on it.
    desired_generation: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen: Mapped[datetime | None] = mapped_column(nullable=True)
    uptime: Mapped[str | None] = mapped_column(String(255), nullable=True)  # uptime(1)'s line, last heartbeat
    # The last time this host's network agent polled for its network document (network/agents.py).
    network_agent_seen: Mapped[datetime | None] = mapped_column(nullable=True)
    # The identity user whose credentials act as this host's agent, and as no other host
    # (hosts/credentials.py); None: no agent may act for this host.
    agent_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
