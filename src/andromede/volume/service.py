"""Volumes as desired state: create (with its key from the key manager), find, list, update, delete; quotas.

A volume is born `creating` on the host placement picks (`error` when no host is up); the host's volume agent makes
it real and reports it `available`. Deleting marks it `deleting`; the agent removes its file and reports it `gone`,
and only then do the row and its key go (the key's destruction yields the volume's deletion certificate)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as update_
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, NotFound, PayloadTooLarge
from andromede.common.ids import new_id
from andromede.db import changes
from andromede.db.inserts import insert_unless_present
from andromede.hosts import service as hosts
from andromede.image import for_compute as images
from andromede.kms import for_services as kms
from andromede.kms.component import KeyManager
from andromede.volume import placement
from andromede.volume.models import Volume, VolumeQuota, VolumeSnapshot, VolumeType

DEFAULT_TYPE = "__DEFAULT__"
DEFAULT_ZONE = "nova"
DEFAULT_QUOTAS = {"volumes": 10, "gigabytes": 1000, "snapshots": 10}
GIB = 1024**3
TOPIC = "volume"  # its agents long-poll each host's desired generation (hosts service), bumped by each change
changes.stored_by_its_service(TOPIC)
# Statuses from which a volume may be deleted (Cinder's, without force).
_DELETABLE = {"available", "error", "error_restoring", "error_extending", "error_managing", "creating"}


def ensure_default_type(session: Session) -> VolumeType:
    """The default type: encrypted, LUKS with aes-xts-plain64 and a 512-bit key (issue 16: encryption by default).
    Two API processes may both find it missing: the second's insert does nothing, and both read the one stored."""
    query = select(VolumeType).where(VolumeType.name == DEFAULT_TYPE)
    found = session.scalars(query).first()
    if found is None:
        insert_unless_present(session, VolumeType, {
            "id": new_id(), "name": DEFAULT_TYPE, "description": "Default Volume Type", "is_public": True,
            "extra_specs": {}, "encryption_provider": "luks", "encryption_cipher": "aes-xts-plain64",
            "encryption_key_size": 512, "encryption_control_location": "front-end", "encryption_id": new_id(),
            "created_at": utcnow()})
        found = session.scalars(query.execution_options(populate_existing=True)).one()
    return found


def find_type(session: Session, name_or_id: str, ctx: RequestContext | None = None) -> VolumeType:
    """The type by id or name; a private type exists only for cloud admins (there is no type-access list yet),
    as Cinder hides a private type from projects it was not shared with."""
    found = session.get(VolumeType, name_or_id) or session.scalars(
        select(VolumeType).where(VolumeType.name == name_or_id)).first()
    if found is None or (ctx is not None and not found.is_public and not ctx.is_admin):
        raise NotFound(f"Volume type with name {name_or_id} could not be found.")
    return found


def find(session: Session, ctx: RequestContext, volume_id: str) -> Volume:
    volume = session.get(Volume, volume_id)
    if volume is None or (volume.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Volume {volume_id} could not be found.")
    return volume


def quotas(session: Session, project_id: str) -> dict[str, int]:
    row = session.get(VolumeQuota, project_id)
    limits = dict(DEFAULT_QUOTAS)
    if row is not None:
        limits.update({key: value for key in limits if (value := getattr(row, key)) is not None})
    return limits


def set_quotas(session: Session, project_id: str, limits: Mapping[str, int]) -> None:
    row = session.get(VolumeQuota, project_id)
    if row is None:
        row = VolumeQuota(project_id=project_id)
        session.add(row)
    for key, value in limits.items():
        setattr(row, key, value)
    session.flush()


def usage(session: Session, project_id: str) -> dict[str, int]:
    count, gigabytes = session.execute(select(func.count(Volume.id), func.coalesce(func.sum(
        func.coalesce(Volume.extending_to, Volume.size)), 0)).where(Volume.project_id == project_id)).one()
    snapshots, snapshot_gigabytes = session.execute(select(func.count(VolumeSnapshot.id), func.coalesce(
        func.sum(VolumeSnapshot.size), 0)).where(VolumeSnapshot.project_id == project_id)).one()
    return {"volumes": int(count), "gigabytes": int(gigabytes) + int(snapshot_gigabytes),
            "snapshots": int(snapshots)}


def lock_quota(session: Session, project_id: str) -> None:
    """Holds the project's quota row (made, with no limits of its own, when missing) until the caller commits, so
    two creates cannot both read the usage before either adds its volume: SELECT ... FOR UPDATE on PostgreSQL;
    on SQLite the INSERT already takes the database's one write lock (pysqlite begins the transaction there)."""
    insert_unless_present(session, VolumeQuota, {"project_id": project_id})
    session.execute(select(VolumeQuota.project_id).where(VolumeQuota.project_id == project_id).with_for_update())


def check_quota(session: Session, project_id: str, size: int) -> None:
    """Room for one more volume of `size` GiB in the project (413 otherwise); holds its quota row until commit."""
    lock_quota(session, project_id)
    limits, used = quotas(session, project_id), usage(session, project_id)
    check_gigabytes(limits, used, size)
    if limits["volumes"] >= 0 and used["volumes"] + 1 > limits["volumes"]:
        raise PayloadTooLarge(f"VolumeLimitExceeded: Maximum number of volumes allowed ({limits['volumes']}) "
                              f"exceeded for quota 'volumes'.")


def check_gigabytes(limits: Mapping[str, int], used: Mapping[str, int], size: int) -> None:
    if limits["gigabytes"] >= 0 and used["gigabytes"] + size > limits["gigabytes"]:
        raise PayloadTooLarge(f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
                              f"gigabytes quota. Requested {size}G, quota is {limits['gigabytes']}G and "
                              f"{used['gigabytes']}G has been consumed.")


def create(session: Session, km: KeyManager, ctx: RequestContext, fields: Mapping[str, Any]) -> Volume:
    project_id = ctx.require_project()
    source = _clone_source(session, ctx, fields)
    if source is not None and not fields["size"]:
        fields = {**fields, "size": source.size}
    vtype = find_type(session, fields["volume_type"], ctx) if fields.get("volume_type") \
        else session.get(VolumeType, source.volume_type_id) if source is not None else ensure_default_type(session)
    if vtype is None:
        vtype = ensure_default_type(session)
    zone = fields.get("availability_zone") or DEFAULT_ZONE
    if zone != DEFAULT_ZONE:
        raise BadRequest(f"Invalid input received: Availability zone '{zone}' is invalid.")
    if source is not None:
        _check_clone(source, fields["size"], vtype)
    check_quota(session, project_id, fields["size"])
    image_id = fields.get("image_id")
    if image_id is not None:
        _check_image(session, ctx, image_id, fields["size"])
    volume_id = new_id()
    key_id = None
    if vtype.encryption_provider:
        key_id = kms.create_key(session, km, project_id, ctx.user_id or "", bit_length=vtype.encryption_key_size or 512,
                                name=f"volume-{volume_id}")
    volume = Volume(id=volume_id, project_id=project_id, user_id=ctx.user_id or "", name=fields.get("name"),
                    description=fields.get("description"), size=fields["size"], status="creating",
                    attach_status="detached", volume_type_id=vtype.id, availability_zone=zone,
                    metadata_=dict(fields.get("metadata") or {}), encryption_key_id=key_id, image_id=image_id)
    if source is not None:  # a full copy, made on the host that holds its source (file backend)
        volume.source_volume_id, volume.source_snapshot_id = source.volume.id, fields.get("snapshot_id")
        volume.host = source.volume.host
    else:
        volume.host = placement.choose_host(session)
    if volume.host is None:
        volume.status, volume.error_reason = "error", placement.NO_HOST
    session.add(volume)
    if volume.host is not None:
        desired_changed(session, volume)
    session.flush()
    return volume


@dataclass(frozen=True)
class _Source:
    volume: Volume
    size: int  # GiB: the snapshot's, or the volume's
    volume_type_id: str
    kind: str  # "snapshot" or "source volume", as Cinder's messages name it


def _clone_source(session: Session, ctx: RequestContext, fields: Mapping[str, Any]) -> _Source | None:
    """The volume (or snapshot) the new one copies: the caller's, available (404 for another project's, as for
    one that does not exist: Cinder answers so when a create body names it)."""
    if fields.get("snapshot_id"):
        snapshot = session.get(VolumeSnapshot, fields["snapshot_id"])
        if snapshot is None or (snapshot.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Snapshot {fields['snapshot_id']} could not be found.")
        if snapshot.status != "available":
            raise BadRequest("Invalid snapshot: Originating snapshot status must be one of 'available' values")
        volume = session.get(Volume, snapshot.volume_id)
        if volume is None:
            raise NotFound(f"Snapshot {snapshot.id} could not be found.")
        return _Source(volume, snapshot.size, volume.volume_type_id, "snapshot")
    if fields.get("source_volid"):
        volume = session.get(Volume, fields["source_volid"])
        if volume is None or (volume.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Volume {fields['source_volid']} could not be found.")
        if volume.status != "available":
            raise BadRequest(f"Invalid volume: Volume {volume.id} status must be available to be cloned, but "
                             f"current status is: {volume.status}.")
        return _Source(volume, volume.size, volume.volume_type_id, "source volume")
    return None


def _check_clone(source: _Source, size: int, vtype: VolumeType) -> None:
    if size < source.size:
        raise BadRequest(f"Invalid input received: Volume size '{size}'GB cannot be smaller than the {source.kind} "
                         f"size {source.size}GB. They must be >= original {source.kind} size.")
    if source.volume.host is None:
        raise BadRequest(f"Invalid volume: Volume {source.volume.id} is on no host.")
    if bool(vtype.encryption_provider) != (source.volume.encryption_key_id is not None):
        raise BadRequest("Invalid input received: a copy of a volume keeps its source's encryption: the volume "
                         "type must be encrypted exactly when the source is.")


def has_clones_in_flight(session: Session, *, volume_id: str | None = None, snapshot_id: str | None = None) -> bool:
    """A volume still being copied from this volume or snapshot: its source must stay until it is made."""
    query = select(Volume.id).where(Volume.status == "creating")
    query = query.where(Volume.source_snapshot_id == snapshot_id) if snapshot_id else \
        query.where(Volume.source_volume_id == volume_id)
    return session.scalars(query.limit(1)).first() is not None


def _check_image(session: Session, ctx: RequestContext, image_id: str, size_gib: int) -> None:
    """Cinder's checks of imageRef: an image the caller sees, active, that fits in the volume."""
    try:
        image = images.visible_image(session, ctx, image_id)
    except NotFound:
        raise BadRequest("Invalid image identifier or unable to access requested image.") from None
    if image.status != "active":
        raise BadRequest(f"Invalid input received: Image {image_id} is not active.")
    needed = -(-(image.virtual_size or image.size or 0) // GIB)
    if needed > size_gib:
        raise BadRequest(f"Invalid input received: Size of specified image {needed}GB is larger than volume size "
                         f"{size_gib}GB.")
    if image.min_disk > size_gib:
        raise BadRequest(f"Invalid input received: Volume size {size_gib}GB cannot be smaller than the image "
                         f"minDisk size {image.min_disk}GB.")


def desired_changed(session: Session, volume: Volume) -> None:
    """Its host's agent must see this volume again: bump the host's generation, wake its long-polls."""
    assert volume.host is not None
    volume.desired_seq = hosts.advance_generation(session, volume.host)
    changes.mark(session, TOPIC, [volume.host])


def update(volume: Volume, fields: Mapping[str, Any]) -> None:
    for key in ("name", "description"):
        if key in fields:
            setattr(volume, key, fields[key])
    if "metadata" in fields:
        volume.metadata_ = dict(fields["metadata"] or {})
    volume.updated_at = utcnow()


def delete(session: Session, km: KeyManager, volume: Volume) -> None:
    if volume.status not in _DELETABLE or volume.attach_status != "detached" or volume.snapshot_count or \
            has_clones_in_flight(session, volume_id=volume.id):
        raise BadRequest("Invalid volume: Volume status must be available or error or error_restoring or "
                         "error_extending or error_managing and must not be migrating, attached, belong to a "
                         "group, have snapshots, awaiting a transfer, or be disassociated from snapshots after "
                         "volume transfer.")
    if volume.host is None:  # never placed: nothing on any host to remove
        forget(session, km, volume)
        return
    volume.status, volume.updated_at = "deleting", utcnow()
    desired_changed(session, volume)


def delete_unattached(session: Session, volume: Volume) -> None:
    """Delete a volume just detached from a deleted server (delete_on_termination): its host removes the file.
    One Cinder would refuse to delete (it has snapshots, or a copy of it is being made) stays, as under Nova."""
    if volume.host is not None and volume.status in _DELETABLE and not volume.snapshot_count and \
            not has_clones_in_flight(session, volume_id=volume.id):
        volume.status, volume.updated_at = "deleting", utcnow()
        desired_changed(session, volume)


def forget(session: Session, km: KeyManager, volume: Volume) -> None:
    """The volume is gone from its host (or was never on one): its row goes, and its key, which certifies it."""
    if volume.encryption_key_id:
        kms.destroy_key(session, km, volume.project_id, volume.encryption_key_id, resource=("volume", volume.id))
    session.delete(volume)
    session.flush()


PROJECT_DELETED = ("The volume's project was deleted, and its key with the project's key-encryption key: its data "
                   "can no longer be read. Only a cloud admin can delete it now.")


def orphan_project_volumes(session: Session, project_id: str) -> None:
    """A project was deleted (Keystone does not ask Cinder first): its volumes stay, as Cinder's do, but in error
    with the reason, since their keys went with the project's KEK; a cloud admin lists and deletes them. One being
    deleted already goes on: its host removes it and reports it gone."""
    session.execute(update_(Volume).where(Volume.project_id == project_id, Volume.status != "deleting").values(
        status="error", error_reason=PROJECT_DELETED, updated_at=utcnow()))


def apply_observed(session: Session, km: KeyManager, volume: Volume, status: str, reason: str | None) -> None:
    """What the volume's agent saw: it is made or grown (`available`), failed for good (`error`; `error_extending`
    when growing it failed, its size unchanged) or deleted (`gone`).
    A report that does not fit the volume's state (late, repeated) changes nothing."""
    if status == "gone":
        if volume.status == "deleting":
            forget(session, km, volume)
        return
    if volume.status == "extending" and volume.extending_to is not None:
        if status == "available":
            volume.size = volume.extending_to
        volume.status = "available" if status == "available" else "error_extending"
        volume.extending_to, volume.updated_at = None, utcnow()
        volume.error_reason = (reason or "The volume could not be extended.")[:4096] if status == "error" else None
        return
    if volume.status != "creating":
        return
    volume.status, volume.updated_at = status, utcnow()
    volume.error_reason = (reason or "The volume could not be created.")[:4096] if status == "error" else None
