"""Network's part of the internal API: network agents long-poll their host's desired data plane, report port status.

Mounted under /internal with the hosts' heartbeat and compute's routes (hosts/api.py), for host credentials acting
for their own host only (hosts/credentials.py): a host reads its own document, sets the status of its own ports,
and only the network host, which runs the routers, reports floating IPs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.contracts.network import Unchanged
from andromede.db.engine import Database
from andromede.hosts import service as hosts
from andromede.hosts.credentials import require_own_host
from andromede.network import agents, host_view
from andromede.network import changes as network_changes
from andromede.network.l3 import service as l3
from andromede.network.models import Port
from andromede.policy import enforce
from andromede.servicekit.deps import context
from andromede.servicekit.descriptor import InternalRoutes

router = APIRouter(prefix="/v1")
MAX_WAIT_S = 30.0
Status = Literal["ACTIVE", "DOWN"]


class StatusReport(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    ports: Annotated[dict[str, Status], Field(max_length=10_000)] = Field(default_factory=dict)
    floating_ips: Annotated[dict[str, Status], Field(max_length=10_000)] = Field(default_factory=dict)


def _note_seen(db: Database, host: str) -> None:
    with db.session() as session:
        agents.note_seen(session, host)


def _view(db: Database, settings: Settings, host: str, since: int) -> dict | None:
    """HOST's document, or None while its generation has not moved past `since` (a change elsewhere leaves it be)."""
    topic = db.changes.topic(network_changes.TOPIC)
    with db.session() as session:
        if topic.generation(session, host) <= since:
            return None
    network_host = host == settings.the_network_host
    if network_host:
        with db.session() as session:
            host_view.ensure_dhcp_ports(session, host)
    with db.session() as session:
        generation = topic.generation(session, host)
        vteps = hosts.vteps(session)
        return host_view.host_view(session, host, generation=generation, network_host=network_host, vteps=vteps,
                                   network_host_name=settings.the_network_host).wire()


@router.get("/hosts/{host}/network")
async def desired_network(host: str, request: Request, since: int = 0, wait: float = 0.0,
                          ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    await run_in_threadpool(_note_seen, db, host)
    found = await db.changes.topic(network_changes.TOPIC).long_poll(
        host, lambda: _view(db, settings, host, since), min(wait, MAX_WAIT_S))
    return found or Unchanged(generation=since).wire()


def _report(db: Database, settings: Settings, host: str, body: StatusReport) -> dict:
    changed = 0
    with db.session() as session:
        agents.note_seen(session, host)
        if body.ports:
            for port in session.scalars(select(Port).where(Port.id.in_(list(body.ports)))):
                ours = port.binding_host_id == host or (not port.binding_host_id and port.device_owner.startswith(
                    "network:") and host == settings.the_network_host)
                if ours and port.status != body.ports[port.id]:
                    port.status = body.ports[port.id]
                    changed += 1
        if host == settings.the_network_host:  # its routers carry every floating IP; other hosts' reports are moot
            for fip_id, status in body.floating_ips.items():
                l3.set_floating_ip_status(session, fip_id, status)
    return {"changed": changed}


@router.post("/hosts/{host}/network/status")
def report_status(host: str, body: StatusReport, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    require_own_host(ctx, host)
    return _report(request.app.state.db, request.app.state.settings, host, body)


def internal_routes(scopes: network_changes.NetworkScopes) -> InternalRoutes:
    """Network's part of the internal API (hosts/api.py assembles it). A host's new VXLAN endpoint changes the flood
    lists of the hosts that carry a network it carries: their documents' generation moves."""
    return InternalRoutes(router, on_vtep_change=network_changes.mark_vtep_moved(scopes))
