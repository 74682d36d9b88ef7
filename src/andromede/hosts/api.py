"""The internal API host agents use, mounted at /internal: the hosts' heartbeat, then the routes each service
contributes (compute: desired instances, observed reports, image data; network: the host's network document, port
status).

Every caller is a host agent acting for its own host only, with the credential `andromede host add` bound to that
host (hosts/credentials.py): another host's name in the path is 403, an instance or image its host does not run is
404. No other credential, an administrator's included, acts here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, StrictInt, StrictStr, field_validator

from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.db.engine import Database
from andromede.hosts import service
from andromede.hosts.capacity import Capacity
from andromede.hosts.credentials import require_own_host
from andromede.policy import enforce
from andromede.servicekit.deps import context
from andromede.servicekit.descriptor import InternalRoutes
from andromede.servicekit.service_app import service_app

router = APIRouter(prefix="/v1")


class HostReport(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    vcpus: Annotated[StrictInt, Field(ge=0)]
    memory_mib: Annotated[StrictInt, Field(ge=0)]
    disk_gib: Annotated[StrictInt, Field(ge=0)]
    accelerator: Literal["kvm", "tcg", "fake"]
    availability_zone: Annotated[StrictStr, Field(max_length=255)] = "nova"
    vtep_address: IPvAnyAddress | None = None
    uptime: Annotated[StrictStr, Field(max_length=255)] | None = None  # uptime(1)'s line, for os-hypervisors

    @field_validator("vtep_address", mode="before")
    @classmethod
    def _address_text(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError("vtep_address must be an IP address as a string")
        return value


@router.post("/hosts/{host}")
def heartbeat(host: str, body: HostReport, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    vtep = str(body.vtep_address) if body.vtep_address is not None else None
    report = service.Report(Capacity(body.vcpus, body.memory_mib, body.disk_gib), body.accelerator,
                            body.availability_zone, vtep, body.uptime)
    db: Database = request.app.state.db
    with db.session() as session:
        beat = service.heartbeat(session, host, report)
        if beat.vtep_changed:
            for hook in request.app.state.vtep_hooks:
                hook(session, host)
        session.flush()
        return {"host": host, "generation": beat.generation}


def build_internal_app(settings: Settings, db: Database, contributions: Sequence[InternalRoutes]) -> FastAPI:
    app = service_app("internal")
    app.state.settings = settings
    app.state.db = db
    app.state.vtep_hooks = [part.on_vtep_change for part in contributions if part.on_vtep_change is not None]
    app.include_router(router)
    for part in contributions:
        for name, value in part.state.items():
            setattr(app.state, name, value)
        app.include_router(part.router)
    return app
