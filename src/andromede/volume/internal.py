"""The volume service's part of the internal API: a host's volume agent long-polls the volumes it must hold,
reports what it made or deleted, and fetches a volume's key or source image for the operation at hand.

For host credentials acting for their own host only (hosts/credentials.py): another host's name in the path is
403; a volume not placed on the caller's host is 404, the same answer as one that does not exist. The key route is
the only way a key leaves the key manager towards a host, one volume at a time; its answer is never logged.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, Forbidden, NotFound
from andromede.contracts.volume import CloneSource, ImageSource, SnapshotDesired, VolumeDesired, VolumesDocument
from andromede.db.engine import Database
from andromede.hosts import service as hosts
from andromede.hosts.credentials import require_own_host
from andromede.image import for_compute as images
from andromede.image.store import ImageStore
from andromede.kms import for_services as kms
from andromede.kms.component import KeyManager
from andromede.policy import enforce
from andromede.servicekit.deps import context
from andromede.servicekit.descriptor import InternalRoutes
from andromede.volume import placement, service, snapshots
from andromede.volume.models import Volume, VolumeSnapshot

router = APIRouter(prefix="/v1")
MAX_WAIT_S = 30.0


class ObservedReport(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    status: Literal["available", "error", "gone"]
    reason: Annotated[StrictStr, Field(max_length=4096)] | None = None


def _db(request: Request) -> Database:
    return request.app.state.db


def _on_host(volume: Volume | None, host: str | None) -> Volume:
    """The volume if it is placed on HOST; any other (or none) is missing to that host."""
    if volume is None or host is None or volume.host != host:
        raise NotFound("Volume could not be found.")
    return volume


def desired_doc(volume: Volume, disk_format: str | None,
                pending: list[VolumeSnapshot] | None = None) -> VolumeDesired:
    source = ImageSource(id=volume.image_id, disk_format=disk_format) if volume.image_id else None
    wanted_snapshots = tuple(SnapshotDesired(id=s.id, wanted="absent" if s.status == "deleting" else "present")
                             for s in pending or ())
    clone_of = CloneSource(volume_id=volume.source_volume_id, snapshot_id=volume.source_snapshot_id) \
        if volume.source_volume_id else None
    return VolumeDesired(id=volume.id, size=volume.extending_to or volume.size, clone_of=clone_of,
                         encrypted=volume.encryption_key_id is not None,
                         wanted="absent" if volume.status == "deleting" else "present", source=source,
                         seq=volume.desired_seq, snapshots=wanted_snapshots)


def _note_agent(db: Database, host: str) -> None:
    try:
        with db.session() as session:
            placement.note_agent(session, host)
    except IntegrityError:  # its other thread's full read noted it at the same moment
        pass


def _changes(db: Database, host: str, since: int) -> dict | None:
    with db.session() as session:
        generation = hosts.desired_generation(session, host)
        if generation <= since:
            return None
        query = select(Volume).where(Volume.host == host)
        if since > 0:
            query = query.where(Volume.desired_seq > since)
        volumes = list(session.scalars(query))
        found = images.booted_images(session, {v.image_id for v in volumes if v.image_id})
        pending = snapshots.pending(session, {v.id for v in volumes})
        docs = []
        for volume in volumes:
            image = found.get(volume.image_id) if volume.image_id else None
            docs.append(desired_doc(volume, image.disk_format if image else None, pending.get(volume.id)))
        return VolumesDocument(generation=generation, full=since == 0, volumes=tuple(docs)).wire()


@router.get("/hosts/{host}/volumes")
async def desired(host: str, request: Request, since: int = 0, wait: float = 0.0,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    db = _db(request)
    if since == 0:  # the agent's first (or a full) read: it runs, it may be given volumes
        await anyio.to_thread.run_sync(lambda: _note_agent(db, host))
    found = await db.changes.topic(service.TOPIC).long_poll(host, lambda: _changes(db, host, since),
                                                            min(wait, MAX_WAIT_S))
    return found or VolumesDocument(generation=since).wire()


@router.put("/volumes/{volume_id}/observed")
def observed(volume_id: str, body: ObservedReport, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    with _db(request).session() as session:
        volume = _on_host(session.get(Volume, volume_id), ctx.host)
        service.apply_observed(session, request.app.state.volume_km, volume, body.status, body.reason)
        return {"id": volume_id, "status": "gone" if body.status == "gone" and volume.status == "deleting"
                else volume.status}


@router.put("/snapshots/{snapshot_id}/observed")
def snapshot_observed(snapshot_id: str, body: ObservedReport, request: Request,
                      ctx: RequestContext = Depends(context)) -> dict:
    """What the agent did with a snapshot of a volume on its host; another host's snapshot is missing to it."""
    enforce(ctx, "internal:agent")
    with _db(request).session() as session:
        snapshot = session.get(VolumeSnapshot, snapshot_id)
        volume = session.get(Volume, snapshot.volume_id) if snapshot is not None else None
        if snapshot is None or volume is None or ctx.host is None or volume.host != ctx.host:
            raise NotFound("Snapshot could not be found.")
        before = snapshot.status
        snapshots.apply_observed(session, snapshot, body.status, body.reason)
        gone = body.status == "gone" and before == "deleting"
        return {"id": snapshot_id, "status": "gone" if gone else snapshot.status}


@router.get("/hosts/{host}/volumes/{volume_id}/key")
def volume_key(host: str, volume_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    """The key of an encrypted volume placed on this host, for the operation at hand; never kept by the host."""
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    with _db(request).session() as session:
        volume = _on_host(session.get(Volume, volume_id), host)
        if volume.encryption_key_id is None:
            raise NotFound("Volume could not be found.")
        try:
            key = kms.key_bytes(session, request.app.state.volume_km, volume.project_id, volume.encryption_key_id)
        except NotFound:  # its secret was deleted through the key manager: the volume cannot be opened any more
            raise Conflict(f"The key of volume {volume_id} was destroyed.") from None
    return {"key": base64.b64encode(key).decode()}


@router.get("/hosts/{host}/volumes/{volume_id}/image", response_model=None)
def volume_image(host: str, volume_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    """The data of the image a volume on this host is being made from; nothing else."""
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    with _db(request).session() as session:
        volume = _on_host(session.get(Volume, volume_id), host)
        image = images.booted_image(session, volume.image_id) if volume.image_id and \
            volume.status == "creating" else None
        if image is None:
            raise NotFound("Image could not be found.")
        status, checksum, image_id = image.status, image.checksum, image.id
    if status == "deactivated":
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    path = request.app.state.image_store.path(image_id)
    if status != "active" or not path.exists():
        raise Conflict(f"Image {image_id} has no data.")
    return FileResponse(path, media_type="application/octet-stream", headers={"Content-MD5": checksum or ""})


def internal_routes(km: KeyManager, image_store: ImageStore) -> InternalRoutes:
    """The volume service's part of the internal API (hosts/api.py assembles it)."""
    return InternalRoutes(router, {"volume_km": km, "image_store": image_store})
