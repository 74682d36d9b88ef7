"""Nova tables: flavors, keypairs and instances (desired + observed).

An instance names the host it runs on; the hosts' table is the hosts service's (hosts/models.py), referred to by
name only, so compute maps none of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base


class Flavor(Base):
    __tablename__ = "compute_flavors"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    ram: Mapped[int] = mapped_column(Integer)  # MiB
    disk: Mapped[int] = mapped_column(Integer)  # GiB
    ephemeral: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra_specs: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlavorAccess(Base):
    __tablename__ = "compute_flavor_access"
    flavor_id: Mapped[str] = mapped_column(ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class KeyPair(Base):
    __tablename__ = "compute_keypairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Instance(Base):
    __tablename__ = "compute_instances"
    __table_args__ = (Index("ix_instance_host_seq", "host", "desired_seq"),)
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), index=True)
    hostname: Mapped[str] = mapped_column(String(255))
    image_id: Mapped[str] = mapped_column(String(36))
    flavor_id: Mapped[str] = mapped_column(String(255))
    flavor: Mapped[dict] = mapped_column(default=dict)  # a snapshot: flavors may change or go away later
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_data: Mapped[str | None] = mapped_column(Text, nullable=True)  # base64, as received
    meta: Mapped[dict] = mapped_column(default=dict)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)  # microversion 2.19
    tags: Mapped[list | None] = mapped_column(nullable=True)  # microversion 2.26: at most 50 strings, in order given
    # [{port_id, preserve_on_delete}] in boot order; the ports themselves live in the network tables
    nics: Mapped[list] = mapped_column(default=list)
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    # Nova's accessIPv4 / accessIPv6: addresses the owner says reach the server, kept and shown, never configured
    access_ip_v4: Mapped[str | None] = mapped_column(String(45), nullable=True)
    access_ip_v6: Mapped[str | None] = mapped_column(String(45), nullable=True)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    disk_config: Mapped[str] = mapped_column(String(8), default="MANUAL")  # OS-DCF:diskConfig, AUTO | MANUAL
    # Nova's lock: locked_by is "owner" (the server's project locked it) or "admin" (someone else did)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    locked_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # os-server-password: what the guest posted to the metadata service, encrypted by it with the owner's key
    password: Mapped[str | None] = mapped_column(Text, nullable=True)
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    reservation_id: Mapped[str] = mapped_column(String(32), default="")
    host: Mapped[str | None] = mapped_column(ForeignKey("compute_hosts.name"), nullable=True)
    # Desired state, written by the API.
    desired_power: Mapped[str] = mapped_column(String(16), default="running")  # running | shutoff | deleted
    reboot_seq: Mapped[int] = mapped_column(Integer, default=0)
    reboot_hard: Mapped[bool] = mapped_column(Boolean, default=False)
    rebuild_seq: Mapped[int] = mapped_column(Integer, default=0)  # moves with each rebuild the host must do
    desired_seq: Mapped[int] = mapped_column(BigInteger, default=0)  # host generation of the last change
    # Observed state, reported by the agent.
    vm_state: Mapped[str] = mapped_column(String(32), default="building")
    task_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    observed_reboot_seq: Mapped[int] = mapped_column(Integer, default=0)
    fault: Mapped[dict | None] = mapped_column(nullable=True)
    console: Mapped[str] = mapped_column(Text, default="")
    launched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    terminated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
