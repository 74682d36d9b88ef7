"""Volume snapshots as desired state (Cinder's snapshots API): take, find, list, rename, delete; their quota.

A snapshot is born `creating` on its volume's host: the volume's desired state lists it, its agent freezes the
volume's file under the snapshot's id and reports it `available`. Deleting marks it `deleting`; the agent drops it
from the file and reports it `gone`, and only then does the row go. A snapshot lives inside its volume (under the
volume's key), so a volume with snapshots cannot be deleted, and a transfer moves them with it, as Cinder's does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, NotFound, PayloadTooLarge
from andromede.common.ids import new_id
from andromede.volume import service
from andromede.volume.models import Volume, VolumeSnapshot

PENDING = ("creating", "deleting")
_DELETABLE = ("available", "error", "error_deleting")
IN_USE_NEEDS_QMP = ("Invalid volume: a snapshot of an in-use volume is not supported yet (a running guest's volume "
                    "must be snapshotted through its QEMU); detach the volume first.")


def find(session: Session, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
    snapshot = session.get(VolumeSnapshot, snapshot_id)
    if snapshot is None or (snapshot.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Snapshot {snapshot_id} could not be found.")
    return snapshot


def usage(session: Session, project_id: str) -> tuple[int, int]:
    """The project's snapshots: how many, and their GiB (they count in the gigabytes quota, as in Cinder)."""
    count, gigabytes = session.execute(select(func.count(VolumeSnapshot.id), func.coalesce(
        func.sum(VolumeSnapshot.size), 0)).where(VolumeSnapshot.project_id == project_id)).one()
    return int(count), int(gigabytes)


def check_quota(session: Session, project_id: str, count: int, size: int) -> None:
    """Room for `count` more snapshots of `size` GiB in all (413 otherwise); holds the quota row until commit."""
    service.lock_quota(session, project_id)
    limits, used = service.quotas(session, project_id), service.usage(session, project_id)
    if limits["snapshots"] >= 0 and used["snapshots"] + count > limits["snapshots"]:
        raise PayloadTooLarge(f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
                              f"({limits['snapshots']}) exceeded")
    service.check_gigabytes(limits, used, size)


def create(session: Session, ctx: RequestContext, fields: Mapping[str, Any]) -> VolumeSnapshot:
    project_id = ctx.require_project()
    volume = session.get(Volume, fields["volume_id"], with_for_update=True)
    if volume is None or (volume.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Volume {fields['volume_id']} could not be found.")
    if volume.status == "in-use" and fields.get("force"):
        raise BadRequest(IN_USE_NEEDS_QMP)
    if volume.status != "available" or volume.host is None:
        raise BadRequest(f"Invalid volume: Volume {volume.id} status must be available, but current status is: "
                         f"{volume.status}.")
    check_quota(session, project_id, 1, volume.size)
    snapshot = VolumeSnapshot(id=new_id(), project_id=volume.project_id, user_id=ctx.user_id or "",
                              volume_id=volume.id, name=fields.get("name"), description=fields.get("description"),
                              size=volume.size, status="creating", metadata_=dict(fields.get("metadata") or {}))
    session.add(snapshot)
    volume.snapshot_count += 1
    service.desired_changed(session, volume)
    session.flush()
    return snapshot


def update(snapshot: VolumeSnapshot, fields: Mapping[str, Any]) -> None:
    for key in ("name", "description"):
        if key in fields:
            setattr(snapshot, key, fields[key])
    if "metadata" in fields:
        snapshot.metadata_ = dict(fields["metadata"] or {})
    snapshot.updated_at = utcnow()


def delete(session: Session, snapshot: VolumeSnapshot) -> None:
    if snapshot.status not in _DELETABLE or service.has_clones_in_flight(session, snapshot_id=snapshot.id):
        raise BadRequest("Invalid snapshot: Snapshot status must be available or error and must not be part of a "
                         "group.")
    volume = session.get(Volume, snapshot.volume_id, with_for_update=True)
    snapshot.status, snapshot.updated_at = "deleting", utcnow()
    if volume is None or volume.host is None:
        forget(session, snapshot)
        return
    service.desired_changed(session, volume)


def forget(session: Session, snapshot: VolumeSnapshot) -> None:
    volume = session.get(Volume, snapshot.volume_id)
    if volume is not None:
        volume.snapshot_count = max(0, volume.snapshot_count - 1)
    session.delete(snapshot)
    session.flush()


def pending(session: Session, volume_ids: set[str]) -> dict[str, list[VolumeSnapshot]]:
    """The snapshots each volume's agent has still to take or delete, oldest first."""
    found: dict[str, list[VolumeSnapshot]] = {}
    if not volume_ids:
        return found
    query = select(VolumeSnapshot).where(VolumeSnapshot.volume_id.in_(volume_ids),
                                         VolumeSnapshot.status.in_(PENDING)).order_by(VolumeSnapshot.created_at)
    for snapshot in session.scalars(query):
        found.setdefault(snapshot.volume_id, []).append(snapshot)
    return found


def apply_observed(session: Session, snapshot: VolumeSnapshot, status: str, reason: str | None) -> None:
    """What the volume's agent did: taken (`available`), failed (`error`; `error_deleting` while deleting) or
    dropped (`gone`). A report that does not fit the snapshot's state (late, repeated) changes nothing."""
    if snapshot.status == "deleting" and status in ("gone", "error"):
        if status == "gone":
            forget(session, snapshot)
            return
        snapshot.status = "error_deleting"
    elif snapshot.status == "creating" and status in ("available", "error"):
        snapshot.status = status
    else:
        return
    snapshot.updated_at = utcnow()
    snapshot.error_reason = (reason or "The snapshot operation failed.")[:4096] if status == "error" else None

