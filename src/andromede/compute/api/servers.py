"""/servers: create, list, show, update, delete, actions, metadata."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, NotFound, Unauthorized
from andromede.compute import instance_actions, networking, server_lifecycle, servers
from andromede.compute.api import server_admin_actions, server_fields, volume_attachments
from andromede.compute.api.common import db_of, json_view, next_link, settings_of, views_of
from andromede.compute.api.microversion import version_of
from andromede.compute.models import Instance
from andromede.compute.schemas import (
    ConsoleBody,
    MetadataBody,
    MetaItemBody,
    RebootBody,
    ServerCreateRequest,
    ServerPage,
    ServerSummaryPage,
    ServerUpdateRequest,
    ServerView,
)
from andromede.compute.views import server_page_type
from andromede.policy import enforce
from andromede.servicekit import json_body
from andromede.servicekit.deps import context, raw_body

router = APIRouter(prefix="/v2.1")
# A server action's handler: (request, context, server id, the action's argument) -> the response.
Action = Callable[[Request, RequestContext, str, object], Response | dict]
StateChange = Callable[[Request, RequestContext, str, object], Response]  # an action answered with a bare 202


def _params(request: Request) -> dict[str, str]:
    return {key: value for key, value in request.query_params.items()}


def _server_doc(request: Request, session: Session, ctx: RequestContext, instance: Instance) -> ServerView:
    """One server as show and update answer it (with its groups from 2.71, its host's status for admins)."""
    views = views_of(request)
    statuses = server_fields.host_statuses(session) if ctx.is_admin and views.version >= (2, 16) else {}
    groups = server_fields.group_ids(session, instance) if views.version >= (2, 71) else None
    return views.server(instance, ctx, networking.addresses(session, [instance])[instance.uuid],
                        networking.security_group_names(session, [instance])[instance.uuid],
                        host_status=statuses.get(instance.host or "", "UNKNOWN"), server_groups=groups,
                        volumes=volume_attachments.attached_volumes(session, [instance.uuid])[instance.uuid])


@router.post("/servers", status_code=202)
def create_server(body: ServerCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:create")
    server_fields.check_create(body.server, version_of(request))
    with db_of(request).session() as session:
        created = servers.create(session, settings_of(request), ctx, body.server, body.hints)
        first = created[0]
        # As Nova: the password asked for, or a random one; the guest is not told it (no guest agent sets it).
        admin_pass = body.server.adminPass or servers.random_password() \
            if settings_of(request).enable_instance_password else None
        doc = views_of(request).server_created(first, admin_pass)
    if body.server.return_reservation_id in (True, "True", "true"):  # os-multiple-create, in the body as Nova reads it
        return {"reservation_id": first.reservation_id}
    return {"server": doc}


@router.get("/servers")
@router.get("/servers/detail")
def list_servers(request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:servers:index")
    detail = request.url.path.endswith("/detail")
    views = views_of(request)
    params = _params(request)
    keep = server_fields.list_filter(params, ctx, views.version)
    with db_of(request).session() as session:
        rows = servers.list_servers(session, ctx, params, keep)
        if detail:
            addresses = networking.addresses(session, rows)
            groups = networking.security_group_names(session, rows)
            statuses = server_fields.host_statuses(session) if ctx.is_admin and views.version >= (2, 16) else {}
            attached = volume_attachments.attached_volumes(session, [r.uuid for r in rows])
            docs = [views.server(r, ctx, addresses.get(r.uuid), groups.get(r.uuid),
                                 host_status=statuses.get(r.host or "", "UNKNOWN"), volumes=attached.get(r.uuid))
                    for r in rows]
        else:
            summaries = [views.server_summary(r) for r in rows]
    next_links = None
    if rows and "limit" in params and len(rows) == int(params["limit"]):
        path = "servers/detail" if detail else "servers"
        next_links = next_link(f"{views.v21}/{path}", params, rows[-1].uuid)
    if not detail:
        return json_view(ServerSummaryPage.trusted(servers=summaries, servers_links=next_links))
    page = server_page_type(type(docs[0])) if docs else ServerPage  # one page type per microversion's field set
    return json_view(page.trusted(servers=docs, servers_links=next_links))


@router.get("/servers/{server_id}")
def get_server(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:show")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        return {"server": _server_doc(request, session, ctx, instance)}


@router.put("/servers/{server_id}")
def update_server(server_id: str, body: ServerUpdateRequest, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:update")
    server_fields.check_update(body.server, version_of(request))
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        if body.server.name is not None:
            instance.name = body.server.name
            servers.bump(session, instance)
        servers.set_access_ips(instance, body.server)
        if body.server.disk_config is not None:
            instance.disk_config = body.server.disk_config
        if server_fields.apply_update(instance, body.server):
            servers.bump(session, instance)
        return {"server": _server_doc(request, session, ctx, instance)}


@router.delete("/servers/{server_id}", status_code=204)
def delete_server(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:servers:delete")
    with db_of(request).session() as session:
        found = servers.get(session, ctx, server_id)
        server_lifecycle.check_unlocked(ctx, found)
        instance = servers.delete(session, found)
        instance_actions.record(session, ctx, instance, "delete")
        instance_actions.settle(session, instance)
    return Response(status_code=204)


@router.post("/servers/{server_id}/action", response_model=None)
def server_action(server_id: str, request: Request, ctx: RequestContext = Depends(context),
                  raw: bytes = Depends(raw_body)) -> Response | dict:
    if not ctx.authenticated:  # as in Nova, where the token is checked before the body is read
        raise Unauthorized()
    body = json_body.decode(raw)
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("An action body names exactly one action.")
    action, argument = next(iter(body.items()))
    handler = ACTIONS.get(action)
    if handler is None:
        raise BadRequest(f"There is no such action: {action}")
    if action in RETIRED_AT_244 and version_of(request) >= (2, 44):  # Nova's multinic actions end at 2.43
        raise NotFound("The resource could not be found.")
    enforce(ctx, f"compute:servers:{handler[0]}")
    if action in server_admin_actions.LOCK_CHECKED:
        server_admin_actions.check_unlocked(request, ctx, server_id)
    result = handler[1](request, ctx, server_id, argument)
    if action in RECORDED:
        _record_done(request, ctx, server_id, RECORDED[action])
    return result


def _record_done(request: Request, ctx: RequestContext, server_id: str, action: str) -> None:
    with db_of(request).session() as session:
        instance_actions.record_done(session, ctx, server_id, action)


def _simple(change: Callable[[Session, Instance], object]) -> StateChange:
    def run(request: Request, ctx: RequestContext, server_id: str, _argument: object) -> Response:
        with db_of(request).session() as session:
            instance = servers.get(session, ctx, server_id)
            change(session, instance)
        return Response(status_code=202)

    return run


def _reboot(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
    try:
        body = RebootBody.model_validate(argument)
    except ValidationError as exc:
        raise BadRequest("Invalid reboot request: type must be SOFT or HARD.") from exc
    return _simple(lambda s, i: servers.reboot(s, i, body.type.upper() == "HARD"))(request, ctx, server_id, None)


def _console(request: Request, ctx: RequestContext, server_id: str, argument: object) -> dict:
    try:
        body = ConsoleBody.model_validate(argument or {})
    except ValidationError as exc:
        raise BadRequest("Invalid console output request: length must be an integer.") from exc
    length = int(body.length) if body.length is not None else None
    with db_of(request).session() as session:
        return {"output": servers.console_tail(servers.get(session, ctx, server_id), length)}


def _security_group_action(add: bool) -> StateChange:
    def run(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
        if not isinstance(argument, dict) or not isinstance(argument.get("name"), str) or not argument["name"]:
            raise BadRequest("A security group action needs a group name.")
        with db_of(request).session() as session:
            instance = servers.get(session, ctx, server_id)
            networking.change_security_group(session, ctx, instance, argument["name"], add=add)
        return Response(status_code=202)

    return run


def _change_password(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
    """What Nova with libvirt answers for a guest without the QEMU guest agent: 409, nothing changes."""
    if (not isinstance(argument, dict) or set(argument) != {"adminPass"}
            or not isinstance(argument["adminPass"], str)):
        raise BadRequest("Invalid input for field/attribute changePassword: 'adminPass' is a required property.")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        if servers.status_of(instance) != "ACTIVE":
            raise Conflict(f"Cannot 'changePassword' instance {server_id} while it is in vm_state "
                           f"{instance.vm_state}")
    raise Conflict("QEMU guest agent is not enabled")


def _fixed_ip_action(add: bool) -> StateChange:
    key = "networkId" if add else "address"

    def run(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
        if not isinstance(argument, dict) or not isinstance(argument.get(key), str) or not argument[key]:
            raise BadRequest(f"Invalid input: '{key}' is a required property.")
        with db_of(request).session() as session:
            instance = servers.get(session, ctx, server_id)
            if add:
                networking.add_fixed_ip(session, ctx, instance, argument[key])
            else:
                networking.remove_fixed_ip(session, ctx, instance, argument[key])
            servers.bump(session, instance)
        return Response(status_code=202)

    return run


ACTIONS: dict[str, tuple[str, Action]] = {
    "addFixedIp": ("fixed_ip:add", _fixed_ip_action(True)),
    "removeFixedIp": ("fixed_ip:remove", _fixed_ip_action(False)),
    "addSecurityGroup": ("security_groups:add", _security_group_action(True)),
    "removeSecurityGroup": ("security_groups:remove", _security_group_action(False)),
    "os-stop": ("stop", _simple(servers.stop)),
    "os-start": ("start", _simple(servers.start)),
    "reboot": ("reboot", _reboot),
    "os-getConsoleOutput": ("console_output", _console),
    "changePassword": ("change_password", _change_password),
    **server_admin_actions.ACTIONS,
}
RETIRED_AT_244 = ("addFixedIp", "removeFixedIp")
# The actions an instance action records (os-instance-actions), by Nova's names.
RECORDED = {"os-stop": "stop", "os-start": "start", "reboot": "reboot", "addFixedIp": "addFixedIp",
            "removeFixedIp": "removeFixedIp"}


# ---- ips ---------------------------------------------------------------------------------------

def _ips(request: Request, ctx: RequestContext, server_id: str) -> dict[str, list[dict]]:
    """Nova's os-server-ips: per network label, each address with its version only."""
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        found = networking.addresses(session, [instance])[instance.uuid]
    return {label: [{"version": entry["version"], "addr": entry["addr"]} for entry in entries]
            for label, entries in found.items()}


@router.get("/servers/{server_id}/ips")
def list_ips(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:ips:index")
    return {"addresses": _ips(request, ctx, server_id)}


@router.get("/servers/{server_id}/ips/{network_label}")
def show_ips(server_id: str, network_label: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:ips:show")
    found = _ips(request, ctx, server_id)
    if network_label not in found:
        raise NotFound("Instance is not a member of specified network")
    return {network_label: found[network_label]}


# ---- metadata ----------------------------------------------------------------------------------

@router.get("/servers/{server_id}/metadata")
def get_metadata(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:metadata:show")
    with db_of(request).session() as session:
        return {"metadata": dict(servers.get(session, ctx, server_id).meta)}


def _write_metadata(request: Request, ctx: RequestContext, server_id: str, values: dict, replace: bool) -> dict:
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        server_lifecycle.check_unlocked(ctx, instance)
        merged = dict(values) if replace else {**instance.meta, **values}
        if len(merged) > 128:
            raise BadRequest("Quota exceeded for metadata items: at most 128.")
        instance.meta = merged
        servers.bump(session, instance)
        return {"metadata": dict(merged)}


@router.post("/servers/{server_id}/metadata")
def update_metadata(server_id: str, body: MetadataBody, request: Request,
                    ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:metadata:update")
    return _write_metadata(request, ctx, server_id, body.metadata, replace=False)


@router.put("/servers/{server_id}/metadata")
def replace_metadata(server_id: str, body: MetadataBody, request: Request,
                     ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:metadata:update")
    return _write_metadata(request, ctx, server_id, body.metadata, replace=True)


@router.get("/servers/{server_id}/metadata/{key}")
def get_meta_item(server_id: str, key: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:metadata:show")
    with db_of(request).session() as session:
        meta = servers.get(session, ctx, server_id).meta
    if key not in meta:
        raise NotFound("Metadata item was not found")
    return {"meta": {key: meta[key]}}


@router.put("/servers/{server_id}/metadata/{key}")
def set_meta_item(server_id: str, key: str, body: MetaItemBody, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:metadata:update")
    if list(body.meta) != [key]:
        raise BadRequest("Request body and URI mismatch")
    _write_metadata(request, ctx, server_id, body.meta, replace=False)
    return {"meta": body.meta}


@router.delete("/servers/{server_id}/metadata/{key}", status_code=204)
def delete_meta_item(server_id: str, key: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:servers:metadata:update")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        if key not in instance.meta:
            raise NotFound("Metadata item was not found")
        server_lifecycle.check_unlocked(ctx, instance)  # after the key, in Nova's order
        instance.meta = {k: v for k, v in instance.meta.items() if k != key}
        servers.bump(session, instance)
    return Response(status_code=204)
