"""/servers/{id}/os-instance-actions: a server's actions, newest first, and one action with its events (events for
cloud admins only before microversion 2.51, their tracebacks always admin-only, as Nova's policy says)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from fastapi import APIRouter, Depends, Request

from andromede.common.context import RequestContext
from andromede.compute import instance_actions, servers
from andromede.compute.action_models import InstanceAction, InstanceActionEvent
from andromede.compute.api.common import db_of
from andromede.compute.api.server_groups import Version, version_of
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-instance-actions")


def _time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None  # Nova's: naive, no zone


def _action_doc(action: InstanceAction, version: Version) -> dict:
    doc = {"action": action.action, "instance_uuid": action.instance_uuid, "message": action.message,
           "project_id": action.project_id, "request_id": action.request_id,
           "start_time": _time(action.start_time), "user_id": action.user_id}
    if version >= (2, 58):
        doc["updated_at"] = _time(action.updated_at)
    return doc


def _event_doc(event: InstanceActionEvent, traceback: bool, version: Version, project_id: str) -> dict:
    doc = {"event": event.event, "start_time": _time(event.start_time), "finish_time": _time(event.finish_time),
           "result": event.result}
    if traceback:
        doc["traceback"] = event.traceback
    if version >= (2, 62):  # where it ran: the hashed hostId for everyone, the host's name for admins
        doc["hostId"] = hashlib.sha224((project_id + event.host).encode()).hexdigest() if event.host else ""
        if traceback:
            doc["host"] = event.host or ""
    if version >= (2, 84):  # 2.84: the failure's message (no traceback), for whoever sees the event
        lines = (event.traceback or "").strip().splitlines() if event.result == "Error" else []
        doc["details"] = lines[-1][:255] if lines else None
    return doc


@router.get("")
def list_actions(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-instance-actions:list")
    version = version_of(request)
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        rows = instance_actions.list_actions(session, instance)
        return {"instanceActions": [_action_doc(row, version) for row in rows]}


@router.get("/{request_id}")
def show_action(server_id: str, request_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-instance-actions:show")
    version = version_of(request)
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        action = instance_actions.get_action(session, instance, request_id)
        doc = _action_doc(action, version)
        if ctx.is_admin or version >= (2, 51):
            doc["events"] = [_event_doc(event, ctx.is_admin, version, instance.project_id)
                             for event in instance_actions.events(session, action)]
        return {"instanceAction": doc}
