"""The volume service's tables: volumes as desired state (the host side makes them real), and volume types with
their encryption. A volume's key is a key-manager secret of its project, named by `encryption_key_id`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base


class Volume(Base):
    __tablename__ = "volumes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(Integer)  # GiB
    # creating -> available -> reserved/attaching -> in-use -> detaching -> available; error*, deleting
    status: Mapped[str] = mapped_column(String(32), default="creating")
    attach_status: Mapped[str] = mapped_column(String(32), default="detached")
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    volume_type_id: Mapped[str] = mapped_column(String(36))
    availability_zone: Mapped[str] = mapped_column(String(255))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    encryption_key_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    snapshot_count: Mapped[int] = mapped_column(Integer, default=0)
    extending_to: Mapped[int | None] = mapped_column(Integer, nullable=True)  # GiB, while `extending`
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # made from this image (imageRef)
    source_volume_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # a copy of this volume...
    source_snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # ...as this snapshot holds it
    # The host's desired generation at this volume's last change: its agent long-polls for what moved past it.
    desired_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class VolumeSnapshot(Base):
    """A volume's contents frozen at one moment, held inside the volume's file on its host (under its key).
    creating -> available -> deleting -> gone (the row goes); error, error_deleting."""

    __tablename__ = "volume_snapshots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(Integer)  # GiB: the volume's size when it was taken
    status: Mapped[str] = mapped_column(String(32), default="creating")
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class VolumeType(Base):
    __tablename__ = "volume_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_public: Mapped[bool] = mapped_column(default=True)
    extra_specs: Mapped[dict] = mapped_column(JSON, default=dict)
    # Encryption (Cinder's volume type encryption): None for an unencrypted type.
    encryption_provider: Mapped[str | None] = mapped_column(String(64), nullable=True)
    encryption_cipher: Mapped[str | None] = mapped_column(String(64), nullable=True)
    encryption_key_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    encryption_control_location: Mapped[str | None] = mapped_column(String(16), nullable=True)
    encryption_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VolumeQuota(Base):
    """A project's limits where they differ from the defaults (settings)."""

    __tablename__ = "volume_quotas"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volumes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gigabytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    snapshots: Mapped[int | None] = mapped_column(Integer, nullable=True)


class VolumeTransfer(Base):
    """An offer of a volume to whichever project presents its auth key (shown once, stored as an argon2 hash)."""

    __tablename__ = "volume_transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)  # the giving project
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    auth_key_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VolumeHost(Base):
    """A host whose volume agent has asked for its volumes: only such a host is given new volumes (a host whose
    agent predates volumes, or runs without them, would leave them `creating` for ever)."""

    __tablename__ = "volume_hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)


class VolumeAttachment(Base):
    """A volume plugged (or being plugged, or unplugged) into a server: one server at a time (no multiattach).
    `status` is attaching → attached → detaching; the row goes when the volume is off the server again."""

    __tablename__ = "volume_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), unique=True)
    server_id: Mapped[str] = mapped_column(String(36), index=True)
    host: Mapped[str] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(60), nullable=True)
    delete_on_termination: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(32), default="attaching")
    attached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
