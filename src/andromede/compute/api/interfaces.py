"""/servers/{id}/os-interface: list, show, attach and detach a server's network interfaces."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, NotFound
from andromede.compute import instance_actions, networking, server_lifecycle, servers
from andromede.compute.api.common import db_of
from andromede.compute.models import Instance
from andromede.compute.schemas import InterfaceAttachRequest
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2.1")
PLUGGABLE = ("ACTIVE", "SHUTOFF")


@router.get("/servers/{server_id}/os-interface")
def list_interfaces(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-interface:list")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        return {"interfaceAttachments": networking.interface_docs(session, instance)}


@router.get("/servers/{server_id}/os-interface/{port_id}")
def show_interface(server_id: str, port_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-interface:show")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        for doc in networking.interface_docs(session, instance):
            if doc.port_id == port_id:
                return {"interfaceAttachment": doc}
    raise NotFound(f"Port {port_id} is not attached")


def _pluggable(instance: Instance) -> None:
    status = servers.status_of(instance)
    if status not in PLUGGABLE or instance.task_state is not None:
        raise Conflict(f"Cannot 'attach_interface' instance {instance.uuid} while it is in vm_state "
                       f"{instance.vm_state}")


@router.post("/servers/{server_id}/os-interface")
def attach_interface(server_id: str, body: InterfaceAttachRequest, request: Request,
                     ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-interface:create")
    wanted = body.interfaceAttachment
    fixed_ip = wanted.fixed_ips[0].ip_address if wanted.fixed_ips else None
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        server_lifecycle.check_unlocked(ctx, instance)
        _pluggable(instance)
        port_id = networking.attach(session, ctx, instance, wanted.net_id, wanted.port_id, fixed_ip)
        servers.bump(session, instance)
        instance_actions.record(session, ctx, instance, "attach_interface")
        docs = networking.interface_docs(session, instance)
    return {"interfaceAttachment": next(doc for doc in docs if doc.port_id == port_id)}


@router.delete("/servers/{server_id}/os-interface/{port_id}", status_code=202)
def detach_interface(server_id: str, port_id: str, request: Request,
                     ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:os-interface:delete")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        server_lifecycle.check_unlocked(ctx, instance)
        _pluggable(instance)
        networking.detach(session, instance, port_id)
        servers.bump(session, instance)
        instance_actions.record(session, ctx, instance, "detach_interface")
    return Response(status_code=202)
