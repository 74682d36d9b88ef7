"""The internal API host agents use: register and heartbeat, long-poll desired state, report observed state.

Mounted at /internal; callers need the `service` role (the agent's own credential) or `admin`.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, StrictInt, StrictStr, field_validator
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from andromede.api.deps import context
from andromede.api.service_app import service_app
from andromede.common.clock import utcnow
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.compute import networking, servers
from andromede.compute.models import Host, Instance
from andromede.compute.notify import HostNotifier
from andromede.db.engine import Database
from andromede.image.models import Image
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
    with _db(request).session() as session:
        row = session.get(Host, host)
        if row is None:
            row = Host(name=host, availability_zone=body.availability_zone)
            session.add(row)
        row.vcpus, row.memory_mib, row.disk_gib = body.vcpus, body.memory_mib, body.disk_gib
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
        if instance is None or instance.deleted:
            raise NotFound(f"Instance {uuid} could not be found.")
        servers.apply_observed(session, instance, body.model_dump(exclude_none=True))
        return {"uuid": uuid, "vm_state": instance.vm_state, "task_state": instance.task_state}


def build_internal_app(settings: Settings, db: Database, notifier: HostNotifier,
                       network_changes: NetworkChanges) -> FastAPI:
    app = service_app("internal")
    app.state.settings = settings
    app.state.db = db
    app.state.notifier = notifier
    app.state.network_changes = network_changes
    app.include_router(router)
    app.include_router(network_internal.router)
    return app
