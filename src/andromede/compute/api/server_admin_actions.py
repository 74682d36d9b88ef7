"""Server actions beyond power: lock / unlock, os-resetState and rebuild (joined to /servers/{id}/action by
compute/api/servers.py), and os-server-password."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.compute import instance_actions, networking, server_lifecycle, servers
from andromede.compute.api import volume_attachments
from andromede.compute.api.common import db_of, settings_of, views_of
from andromede.compute.api.microversion import version_of
from andromede.compute.schemas import LockBody, RebuildBody, ResetStateBody
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-server-password")
M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Request, RequestContext, str, object], Response | dict]

# The actions a locked server refuses to anyone but a cloud admin (Nova's @check_instance_lock).
LOCK_CHECKED = frozenset({"os-stop", "os-start", "reboot", "rebuild", "changePassword", "addFixedIp",
                          "removeFixedIp"})


def _body(model: type[M], argument: object, action: str) -> M:
    try:
        return model.model_validate(argument if argument is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or action
        raise BadRequest(f"Invalid input for field/attribute {where}. Value: {argument}. {first['msg']}") from None


def _lock(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
    version = version_of(request)
    body = _body(LockBody, argument, "lock")
    if body.locked_reason is not None and version < (2, 73):
        raise BadRequest("Invalid input for field/attribute lock. Value: "
                         f"{argument}. Additional properties are not allowed ('locked_reason' was unexpected)")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        server_lifecycle.lock(session, ctx, instance, body.locked_reason)
        instance_actions.record(session, ctx, instance, "lock")
    return Response(status_code=202)


def _unlock(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
    if argument is not None:
        _body(_Empty, argument, "unlock")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        if not server_lifecycle.expected_locker(ctx, instance):
            enforce(ctx, "compute:servers:unlock:unlock_override")
        server_lifecycle.unlock(session, instance)
        instance_actions.record(session, ctx, instance, "unlock")
    return Response(status_code=202)


class _Empty(BaseModel):
    model_config = {"extra": "forbid"}


def _reset_state(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
    body = _body(ResetStateBody, argument, "os-resetState")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        server_lifecycle.reset_state(session, instance, body.state)
        instance_actions.record(session, ctx, instance, "resetState")
    return Response(status_code=202)


def _rebuild(request: Request, ctx: RequestContext, server_id: str, argument: object) -> Response:
    version = version_of(request)
    body = _body(RebuildBody, argument, "rebuild")
    too_new = [key for key, since in (("key_name", (2, 54)), ("user_data", (2, 57)))
               if key in body.model_fields_set and version < since]
    if too_new:
        raise BadRequest(f"Invalid input for field/attribute rebuild. Value: {argument}. Additional properties are "
                         f"not allowed ('{too_new[0]}' was unexpected)")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)  # the lock was checked with the other actions
        admin_pass = server_lifecycle.rebuild(session, settings_of(request).enable_instance_password, ctx,
                                              instance, body)
        instance_actions.record(session, ctx, instance, "rebuild")
        view = views_of(request).server(
            instance, ctx, networking.addresses(session, [instance])[instance.uuid],
            volumes=volume_attachments.attached_volumes(session, [instance.uuid])[instance.uuid])
        document = view.model_dump(by_alias=True, mode="json")
    if admin_pass is not None:  # Nova answers a rebuild 202 with the server as it now is and its new password
        document["adminPass"] = admin_pass
    return JSONResponse({"server": document}, status_code=202)


# action -> (policy name under compute:servers:, handler)
ACTIONS: dict[str, tuple[str, Handler]] = {
    "lock": ("lock", _lock),
    "unlock": ("unlock", _unlock),
    "os-resetState": ("reset_state", _reset_state),
    "rebuild": ("rebuild", _rebuild),
}


def check_unlocked(request: Request, ctx: RequestContext, server_id: str) -> None:
    with db_of(request).session() as session:
        server_lifecycle.check_unlocked(ctx, servers.get(session, ctx, server_id))


# ---- os-server-password ------------------------------------------------------------------------

@router.get("")
def show_password(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-server-password:show")
    with db_of(request).session() as session:
        return {"password": servers.get(session, ctx, server_id).password or ""}


@router.delete("", status_code=204)
def clear_password(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:os-server-password:clear")
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        instance.password = None
    return Response(status_code=204)

