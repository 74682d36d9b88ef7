"""Compute's part of the internal API: host agents long-poll their desired instances, fetch images, report what
they observe.

Mounted under /internal with the hosts' heartbeat (hosts/api.py), for host credentials acting for their own host
only (hosts/credentials.py): another host's name in the path is 403, an instance or image its host does not run
is 404.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from sqlalchemy import select

from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, Forbidden, NotFound
from andromede.compute import networking, servers, volume_events
from andromede.compute.models import Instance
from andromede.contracts.compute import ImageRef, InstancesDocument, VolumeRef
from andromede.db.engine import Database
from andromede.hosts import service as hosts
from andromede.hosts.credentials import require_own_host
from andromede.image import for_compute as images_api
from andromede.image.store import ImageStore
from andromede.policy import enforce
from andromede.servicekit.deps import context
from andromede.servicekit.descriptor import InternalRoutes
from andromede.volume import for_compute as volumes

router = APIRouter(prefix="/v1")
MAX_WAIT_S = 30.0


class ObservedReport(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    power: Literal["running", "shutoff", "missing"]
    reboot_seq: Annotated[StrictInt, Field(ge=0)] = 0
    rebuild_seq: Annotated[StrictInt, Field(ge=0)] = 0
    fault: Annotated[StrictStr, Field(max_length=4096)] | None = None
    console: Annotated[StrictStr, Field(max_length=1 << 20)] | None = None
    # The volumes plugged into the instance (the driver's own list), and those whose plugging failed, with why.
    volumes: Annotated[list[Annotated[StrictStr, Field(max_length=36)]], Field(max_length=64)] | None = None
    volume_faults: Annotated[dict[StrictStr, Annotated[StrictStr, Field(max_length=4096)]],
                             Field(max_length=64)] | None = None


def owns_instance(ctx: RequestContext, instance: Instance | None) -> bool:
    """Whether the caller's host runs this instance; any other (or a missing one) is answered as missing."""
    return instance is not None and not instance.deleted and ctx.host is not None and instance.host == ctx.host


def _db(request: Request) -> Database:
    return request.app.state.db


def _changes(db: Database, host: str, since: int) -> dict | None:
    with db.session() as session:
        generation = hosts.desired_generation(session, host)
        if generation <= since:
            return None
        query = select(Instance).where(Instance.host == host, Instance.deleted.is_(False))
        if since > 0:
            query = query.where(Instance.desired_seq > since)
        instances = list(session.scalars(query))
        image_ids = {i.image_id for i in instances}
        images = images_api.booted_images(session, image_ids)
        nics = networking.nic_docs(session, instances)
        attached = volumes.of_servers(session, [i.uuid for i in instances])
        docs = []
        for instance in instances:
            image = images.get(instance.image_id)
            image_ref = ImageRef(id=instance.image_id, disk_format=image.disk_format if image else None,
                                 size=image.size if image else None,
                                 os_hash_value=image.os_hash_value if image else None)
            # The config drive carries the network_data.json the metadata service serves, for every NIC.
            network_data = networking.network_data(session, instance) if instance.config_drive else None
            plugged = tuple(VolumeRef(id=a.volume_id, encrypted=a.encrypted) for a in attached[instance.uuid]
                            if a.status in volumes.PLUGGED)
            docs.append(servers.desired_doc(instance, image_ref, nics[instance.uuid], network_data, plugged))
        return InstancesDocument(generation=generation, full=since == 0, instances=tuple(docs)).wire()


@router.get("/hosts/{host}/instances")
async def desired(host: str, request: Request, since: int = 0, wait: float = 0.0,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    db = _db(request)
    # Woken at once by a change committed in this process; other API processes' changes are seen within 0.5 s.
    found = await db.changes.topic(servers.TOPIC).long_poll(host, lambda: _changes(db, host, since),
                                                            min(wait, MAX_WAIT_S))
    return found or InstancesDocument(generation=since).wire()


@router.put("/instances/{uuid}/observed")
def observed(uuid: str, body: ObservedReport, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    with _db(request).session() as session:
        instance = session.get(Instance, uuid)
        if not owns_instance(ctx, instance):
            raise NotFound(f"Instance {uuid} could not be found.")
        assert instance is not None
        servers.apply_observed(session, instance, body.model_dump(exclude_none=True,
                                                                  exclude={"volumes", "volume_faults"}))
        volume_events.apply_observed(session, instance, body.volumes, body.volume_faults)
        return {"uuid": uuid, "vm_state": instance.vm_state, "task_state": instance.task_state}


@router.get("/hosts/{host}/images/{image_id}/file", response_model=None)
def image_file(host: str, image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    """The data of an image a server on this host boots from; any other image is missing to the host."""
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    with _db(request).session() as session:
        used = session.scalar(select(Instance.uuid).where(
            Instance.host == host, Instance.image_id == image_id, Instance.deleted.is_(False)).limit(1))
        image = images_api.booted_image(session, image_id) if used else None
        if image is None:
            raise NotFound(f"Image {image_id} could not be found.")
        status, checksum = image.status, image.checksum
    if status == "deactivated":
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    path = request.app.state.image_store.path(image_id)
    if status != "active" or not path.exists():
        raise Conflict(f"Image {image_id} has no data.")
    return FileResponse(path, media_type="application/octet-stream", headers={"Content-MD5": checksum or ""})


def internal_routes(image_store: ImageStore) -> InternalRoutes:
    """Compute's part of the internal API (hosts/api.py assembles it)."""
    return InternalRoutes(router, {"image_store": image_store})
