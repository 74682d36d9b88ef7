"""/servers/{id}/os-volume_attachments: list, show, attach and detach a server's volumes (Nova's shapes at 2.70
`tag`, 2.79 `delete_on_termination`, 2.89 `attachment_id`/`bdm_uuid` without `id` on list and show). The volume
service reserves the volume; the server's agent plugs it and reports, which moves the volume to in-use."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.compute import instance_actions, server_lifecycle, servers
from andromede.compute.api.common import db_of
from andromede.compute.api.microversion import version_of
from andromede.compute.models import Instance
from andromede.policy import enforce
from andromede.servicekit import json_body
from andromede.servicekit.deps import context, raw_body
from andromede.volume import for_compute as volumes

router = APIRouter(prefix="/v2.1")
PLUGGABLE = ("ACTIVE", "SHUTOFF")
_DEVICE = re.compile(r"^/dev/[a-z]+$")
_TAG = re.compile(r"^[^,/]{1,60}$")


def _view(attachment: volumes.Attachment, version: tuple[int, int], *, listed: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"device": attachment.device, "serverId": attachment.server_id,
                            "volumeId": attachment.volume_id}
    if not (listed and version >= (2, 89)):
        view["id"] = attachment.volume_id
    if version >= (2, 70):
        view["tag"] = attachment.tag
    if version >= (2, 79):
        view["delete_on_termination"] = attachment.delete_on_termination
    if listed and version >= (2, 89):
        view["attachment_id"] = attachment.id
        view["bdm_uuid"] = attachment.id
    return view


def attached_volumes(session: Session, server_ids: list[str]) -> dict[str, list[tuple[str, bool]]]:
    """Each server's (volume id, delete_on_termination), for os-extended-volumes:volumes_attached."""
    return {server_id: [(a.volume_id, a.delete_on_termination) for a in found]
            for server_id, found in volumes.of_servers(session, server_ids).items()}


def _pluggable(instance: Instance, action: str) -> None:
    if servers.status_of(instance) not in PLUGGABLE or instance.task_state is not None:
        raise Conflict(f"Cannot '{action}' instance {instance.uuid} while it is in vm_state {instance.vm_state}")


@router.get("/servers/{server_id}/os-volume_attachments")
def list_attachments(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-volumes-attachments:index")
    version = version_of(request)
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        found = volumes.of_server(session, instance.uuid)
    return {"volumeAttachments": [_view(a, version, listed=True) for a in found]}


@router.get("/servers/{server_id}/os-volume_attachments/{volume_id}")
def show_attachment(server_id: str, volume_id: str, request: Request,
                    ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-volumes-attachments:show")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        for attachment in volumes.of_server(session, instance.uuid):
            if attachment.volume_id == volume_id:
                return {"volumeAttachment": _view(attachment, version_of(request), listed=True)}
    raise NotFound(f"Instance {server_id} is not attached to volume {volume_id}.")


def _attach_fields(raw: bytes, version: tuple[int, int]) -> dict[str, Any]:
    body = json_body.decode(raw)
    wanted = body.get("volumeAttachment") if isinstance(body, dict) else None
    if not isinstance(wanted, dict):
        raise BadRequest("Invalid input for field/attribute volumeAttachment. Value: None. 'volumeAttachment' is "
                         "a required property")
    allowed = {"volumeId", "device"} | ({"tag"} if version >= (2, 49) else set()) \
        | ({"delete_on_termination"} if version >= (2, 79) else set())
    extra = sorted(set(wanted) - allowed)
    if extra:
        raise BadRequest(f"Invalid input for field/attribute volumeAttachment. Value: {wanted}. Additional "
                         f"properties are not allowed ({', '.join(repr(k) for k in extra)} were unexpected)")
    volume_id = wanted.get("volumeId")
    if not isinstance(volume_id, str) or not volume_id:
        raise BadRequest(f"Invalid input for field/attribute volumeAttachment. Value: {wanted}. 'volumeId' is a "
                         f"required property")
    device = wanted.get("device")
    if device is not None and (not isinstance(device, str) or not _DEVICE.match(device)):
        raise BadRequest(f"Invalid input for field/attribute device. Value: {device}. Does not match "
                         f"'(^/dev/x{{0,1}}[a-z]{{0,1}}d{{0,1}})([a-z]+)[0-9]*$'")
    tag = wanted.get("tag")
    if tag is not None and (not isinstance(tag, str) or not _TAG.match(tag)):
        raise BadRequest(f"Invalid input for field/attribute tag. Value: {tag}. Does not match '^[^,/]*$'")
    delete = wanted.get("delete_on_termination", False)
    if not isinstance(delete, bool):
        raise BadRequest(f"Invalid input for field/attribute delete_on_termination. Value: {delete}. "
                         f"{delete!r} is not of type 'boolean'")
    return {"volume_id": volume_id, "device": device, "tag": tag, "delete_on_termination": delete}


@router.post("/servers/{server_id}/os-volume_attachments")
def attach_volume(server_id: str, request: Request, body: bytes = Depends(raw_body),
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-volumes-attachments:create")
    version = version_of(request)
    fields = _attach_fields(body, version)
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        server_lifecycle.check_unlocked(ctx, instance)
        _pluggable(instance, "attach_volume")
        attachment = volumes.reserve(session, ctx, fields["volume_id"], instance.uuid, instance.host,
                                     device=fields["device"], tag=fields["tag"],
                                     delete_on_termination=fields["delete_on_termination"])
        servers.bump(session, instance)
        instance_actions.record(session, ctx, instance, "attach_volume")
    return {"volumeAttachment": _view(attachment, version, listed=False)}


def _update_fields(raw: bytes) -> dict[str, Any]:
    body = json_body.decode(raw)
    wanted = body.get("volumeAttachment") if isinstance(body, dict) else None
    if not isinstance(wanted, dict) or not isinstance(wanted.get("volumeId"), str):
        raise BadRequest("Invalid input for field/attribute volumeAttachment. Value: None. 'volumeId' is a "
                         "required property")
    extra = sorted(set(wanted) - {"volumeId", "id", "serverId", "device", "tag", "delete_on_termination"})
    if extra:
        raise BadRequest(f"Invalid input for field/attribute volumeAttachment. Value: {wanted}. Additional "
                         f"properties are not allowed ({', '.join(repr(k) for k in extra)} were unexpected)")
    if "delete_on_termination" in wanted and not isinstance(wanted["delete_on_termination"], bool):
        raise BadRequest(f"Invalid input for field/attribute delete_on_termination. Value: "
                         f"{wanted['delete_on_termination']}. {wanted['delete_on_termination']!r} is not of type "
                         f"'boolean'")
    return wanted


@router.put("/servers/{server_id}/os-volume_attachments/{volume_id}", status_code=202)
def update_attachment(server_id: str, volume_id: str, request: Request, body: bytes = Depends(raw_body),
                      ctx: RequestContext = Depends(context)) -> Response:
    """From 2.85 a member changes delete_on_termination (nothing else is mutable); before 2.85, or with another
    volumeId, it is a swap: Cinder's call during a volume migration, which we never do (Nova's 409)."""
    only_swap = version_of(request) < (2, 85)
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        wanted = _update_fields(body)
        swap = only_swap or wanted["volumeId"] != volume_id
        enforce(ctx, "compute:os-volumes-attachments:swap" if swap else "compute:os-volumes-attachments:update")
        if swap:
            volumes.find(session, ctx, volume_id)
            raise Conflict(f"volume {volume_id} is not migrating; this API should only be called by Cinder")
        found = next((a for a in volumes.of_server(session, instance.uuid) if a.volume_id == volume_id), None)
        if found is None:
            raise NotFound(f"No volume Block Device Mapping with id {volume_id}.")
        for key, current in (("id", volume_id), ("serverId", instance.uuid), ("device", found.device),
                             ("tag", found.tag)):
            if key in wanted and wanted[key] != current:
                raise BadRequest(f"The {key} property is not mutable")
        if "delete_on_termination" in wanted:
            volumes.set_delete_on_termination(session, instance.uuid, volume_id, wanted["delete_on_termination"])
    return Response(status_code=202)


@router.delete("/servers/{server_id}/os-volume_attachments/{volume_id}", status_code=202)
def detach_volume(server_id: str, volume_id: str, request: Request,
                  ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:os-volumes-attachments:delete")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        server_lifecycle.check_unlocked(ctx, instance)
        _pluggable(instance, "detach_volume")
        volumes.begin_detach(session, ctx, instance.uuid, volume_id)
        servers.bump(session, instance)
        instance_actions.record(session, ctx, instance, "detach_volume")
    return Response(status_code=202)
