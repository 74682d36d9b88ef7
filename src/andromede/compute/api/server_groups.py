"""/os-server-groups: create, list, show, delete, in the shape of the requested microversion (policies list up to
2.63, policy and rules from 2.64; project and user from 2.13)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.compute import server_groups
from andromede.compute.api.common import db_of
from andromede.compute.api.microversion import Version, version_of
from andromede.compute.group_models import ServerGroup
from andromede.compute.schemas import ServerGroupCreate, ServerGroupCreateRequest
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2.1/os-server-groups")


def _doc(group: ServerGroup, members: list[str], version: Version) -> dict:
    doc: dict = {"id": group.uuid, "name": group.name}
    if version >= (2, 64):
        doc.update(policy=group.policy, rules=dict(group.rules))
    else:
        doc.update(policies=[group.policy])
    doc["members"] = members
    if version < (2, 64):
        doc["metadata"] = {}
    if version >= (2, 13):
        doc.update(project_id=group.project_id, user_id=group.user_id)
    return doc


def _policy(body: ServerGroupCreate, version: Version) -> tuple[str, dict]:
    allowed = server_groups.HARD_POLICIES + (server_groups.SOFT_POLICIES if version >= (2, 15) else ())
    if version >= (2, 64):
        if body.policies is not None or body.policy is None:
            raise BadRequest("Invalid input for field/attribute server_group. Value: 'policy' is a required "
                             "property and 'policies' is not allowed.")
        policy, rules = body.policy, dict(body.rules or {})
        if rules and (policy != "anti-affinity" or set(rules) != {"max_server_per_host"}):
            raise BadRequest("Only anti-affinity policy supports rules, and only max_server_per_host.")
    else:
        if body.policy is not None or body.rules is not None or body.policies is None:
            raise BadRequest("Invalid input for field/attribute server_group. Value: 'policies' is a required "
                             "property.")
        policy, rules = body.policies[0], {}
    if policy not in allowed:
        raise BadRequest(f"Invalid input for field/attribute policies. Value: ['{policy}']. "
                         f"'{policy}' is not one of {list(allowed)}")
    return policy, rules


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                         f"'{value}' does not match '^[0-9]*$'")
    return int(value)


@router.post("")
def create_group(body: ServerGroupCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-server-groups:create")
    version = version_of(request)
    policy, rules = _policy(body.server_group, version)
    with db_of(request).session() as session:
        group = server_groups.create(session, ctx, body.server_group.name, policy, rules)
        return {"server_group": _doc(group, [], version)}


@router.get("")
def list_groups(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-server-groups:index")
    all_projects = request.query_params.get("all_projects", "").lower() in ("1", "true", "yes", "on")
    with db_of(request).session() as session:
        rows = server_groups.list_groups(session, ctx, all_projects, _int_param(request, "limit"),
                                         _int_param(request, "offset") or 0)
        found = server_groups.members(session, rows)
        version = version_of(request)
        return {"server_groups": [_doc(group, found[group.uuid], version) for group in rows]}


@router.get("/{group_id}")
def show_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-server-groups:show")
    with db_of(request).session() as session:
        group = server_groups.get(session, ctx, group_id)
        return {"server_group": _doc(group, server_groups.members(session, [group])[group.uuid],
                                     version_of(request))}


@router.delete("/{group_id}", status_code=204)
def delete_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:os-server-groups:delete")
    with db_of(request).session() as session:
        server_groups.delete_group(session, ctx, group_id)
    return Response(status_code=204)
