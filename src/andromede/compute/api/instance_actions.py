"""/servers/{id}/os-instance-actions: a server's actions, newest first, and one action with its events (events for
cloud admins only before microversion 2.51, their tracebacks always admin-only, as Nova's policy says)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from fastapi import APIRouter, Depends, Request

from andromede.common.clock import parse_isotime
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.compute import instance_actions, servers
from andromede.compute.action_models import InstanceAction, InstanceActionEvent
from andromede.compute.api.common import db_of, next_link, views_of
from andromede.compute.api.microversion import Version, version_of
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
        result: dict = {}
        if version >= (2, 58):
            rows, limit = _page(request, rows, version)
            if limit is not None and rows and len(rows) == limit:
                result["links"] = next_link(f"{views_of(request).v21}/servers/{server_id}/os-instance-actions",
                                            dict(request.query_params), rows[-1].request_id)
        return {"instanceActions": [_action_doc(row, version) for row in rows], **result}


def _page(request: Request, rows: list[InstanceAction], version: Version) -> tuple[list[InstanceAction], int | None]:
    """2.58: changes-since, limit and marker (a request id); 2.66: changes-before. Newest first, as listed."""
    params = request.query_params
    try:
        since = parse_isotime(params["changes-since"]) if "changes-since" in params else None
        before = parse_isotime(params["changes-before"]) if "changes-before" in params and version >= (2, 66) \
            else None
    except ValueError:
        raise BadRequest("Invalid changes-since or changes-before value.") from None
    if since is not None and before is not None and since > before:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    rows = [row for row in rows if (since is None or row.updated_at >= since)
            and (before is None or row.updated_at <= before)]
    if "marker" in params:
        ids = [row.request_id for row in rows]
        if params["marker"] not in ids:
            raise BadRequest(f"Marker {params['marker']} could not be found.")
        rows = rows[ids.index(params["marker"]) + 1:]
    if "limit" not in params:
        return rows, None
    try:
        limit = int(params["limit"])
    except ValueError:
        raise BadRequest("limit must be an integer") from None
    if limit < 0:
        raise BadRequest("limit must be >= 0")
    return rows[:limit], limit


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
