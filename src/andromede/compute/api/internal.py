"""The internal API host agents use: heartbeat, long-poll desired state, fetch images, report observed state.

Mounted at /internal. Every caller is a host agent acting for its own host only, with the credential
`andromede host add` bound to that host (compute/host_credentials.py): another host's name in the path is 403, an
instance or image its host does not run is 404. No other credential, an administrator's included, acts here.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, StrictInt, StrictStr, field_validator
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from andromede.api.deps import context
from andromede.api.service_app import service_app
from andromede.common.clock import utcnow
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, Forbidden, NotFound
from andromede.compute import capacity, networking, servers
from andromede.compute.host_credentials import owns_instance, require_own_host
from andromede.compute.models import Host, Instance
from andromede.compute.notify import HostNotifier
from andromede.db.engine import Database
from andromede.image.models import Image
from andromede.image.store import ImageStore
from andromede.network import changes as network_changes
from andromede.network import internal_api as network_internal
from andromede.network.changes import NetworkChanges
from andromede.policy import enforce

router = APIRouter(prefix="/v1")
MAX_WAIT_S = 30.0


class HostReport(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    vcpus: Annotated[StrictInt, Field(ge=0)]
    memory_mib: Annotated[StrictInt, Field(ge=0)]
    disk_gib: Annotated[StrictInt, Field(ge=0)]
    accelerator: Literal["kvm", "tcg", "fake"]
    availability_zone: Annotated[StrictStr, Field(max_length=255)] = "nova"
    vtep_address: IPvAnyAddress | None = None

    @field_validator("vtep_address", mode="before")
    @classmethod
    def _address_text(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError("vtep_address must be an IP address as a string")
        return value


class ObservedReport(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    power: Literal["running", "shutoff", "missing"]
    reboot_seq: Annotated[StrictInt, Field(ge=0)] = 0
    fault: Annotated[StrictStr, Field(max_length=4096)] | None = None
    console: Annotated[StrictStr, Field(max_length=1 << 20)] | None = None


def _db(request: Request) -> Database:
    return request.app.state.db


@router.post("/hosts/{host}")
def heartbeat(host: str, body: HostReport, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    with _db(request).session() as session:
        row = session.get(Host, host)
        if row is None:  # removed since the caller's token was checked
            raise NotFound(f"Host {host} is not registered.")
        if row.last_seen is None:  # its first report: the agent says which zone it serves
            row.availability_zone = body.availability_zone
        capacity.apply_report(row, capacity.Capacity(body.vcpus, body.memory_mib, body.disk_gib))
        row.accelerator, row.last_seen = body.accelerator, utcnow()
        vtep = str(body.vtep_address) if body.vtep_address is not None else None
        if row.vtep_address != vtep:
            row.vtep_address = vtep
            network_changes.mark_changed(session)  # other hosts' flood lists name this one
        session.flush()
        return {"host": host, "generation": row.desired_generation}


def _changes(db: Database, host: str, since: int) -> dict | None:
    with db.session() as session:
        row = session.get(Host, host)
        if row is None:
            raise NotFound(f"Host {host} is not registered.")
        if row.desired_generation <= since:
            return None
        query = select(Instance).where(Instance.host == host, Instance.deleted.is_(False))
        if since > 0:
            query = query.where(Instance.desired_seq > since)
        instances = list(session.scalars(query))
        image_ids = {i.image_id for i in instances}
        images = {img.id: img for img in session.scalars(select(Image).where(Image.id.in_(image_ids)))}
        nics = networking.nic_docs(session, instances)
        docs = []
        for instance in instances:
            image = images.get(instance.image_id)
            image_doc = {"id": instance.image_id, "disk_format": image.disk_format if image else None,
                         "size": image.size if image else None, "os_hash_value": image.os_hash_value if image else None}
            docs.append(servers.desired_doc(instance, image_doc, nics[instance.uuid]))
        return {"generation": row.desired_generation, "full": since == 0, "instances": docs}


@router.get("/hosts/{host}/instances")
async def desired(host: str, request: Request, since: int = 0, wait: float = 0.0,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    notifier: HostNotifier = request.app.state.notifier
    deadline = time.monotonic() + max(0.0, min(wait, MAX_WAIT_S))
    while True:
        found = await run_in_threadpool(_changes, _db(request), host, since)
        remaining = deadline - time.monotonic()
        if found is not None or remaining <= 0:
            return found or {"generation": since, "full": False, "instances": []}
        # Woken at once by a change in this process; other API processes' changes are seen within 0.5 s.
        await notifier.wait(host, min(remaining, 0.5))


@router.put("/instances/{uuid}/observed")
def observed(uuid: str, body: ObservedReport, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    with _db(request).session() as session:
        instance = session.get(Instance, uuid)
        if not owns_instance(ctx, instance):
            raise NotFound(f"Instance {uuid} could not be found.")
        assert instance is not None
        servers.apply_observed(session, instance, body.model_dump(exclude_none=True))
        return {"uuid": uuid, "vm_state": instance.vm_state, "task_state": instance.task_state}


@router.get("/hosts/{host}/images/{image_id}/file", response_model=None)
def image_file(host: str, image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    """The data of an image a server on this host boots from; any other image is missing to the host."""
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    with _db(request).session() as session:
        used = session.scalar(select(Instance.uuid).where(
            Instance.host == host, Instance.image_id == image_id, Instance.deleted.is_(False)).limit(1))
        image = session.get(Image, image_id) if used else None
        if image is None:
            raise NotFound(f"Image {image_id} could not be found.")
        status, checksum = image.status, image.checksum
    if status == "deactivated":
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    path = request.app.state.image_store.path(image_id)
    if status != "active" or not path.exists():
        raise Conflict(f"Image {image_id} has no data.")
    return FileResponse(path, media_type="application/octet-stream", headers={"Content-MD5": checksum or ""})


def build_internal_app(settings: Settings, db: Database, notifier: HostNotifier,
                       network_changes: NetworkChanges, image_store: ImageStore) -> FastAPI:
    app = service_app("internal")
    app.state.settings = settings
    app.state.db = db
    app.state.notifier = notifier
    app.state.network_changes = network_changes
    app.state.image_store = image_store
    app.include_router(router)
    app.include_router(network_internal.router)
    return app
