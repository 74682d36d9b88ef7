"""/v3/users and /v3/groups, with membership and password changes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.identity import assignment, users
from andromede.identity.api.common import default_domain, domain_of, identity_of, listing_domain, views_of
from andromede.identity.models import Group, User
from andromede.identity.schemas import GroupCreate, GroupUpdate, PasswordChange, UserCreate, UserUpdate
from andromede.identity.throttle import client_key
from andromede.policy import enforce
from andromede.servicekit.deps import context, parse_bool

router = APIRouter(prefix="/v3")


class _Wrapper(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class UserCreateRequest(_Wrapper):
    user: UserCreate


class UserUpdateRequest(_Wrapper):
    user: UserUpdate


class PasswordChangeRequest(_Wrapper):
    user: PasswordChange


class GroupCreateRequest(_Wrapper):
    group: GroupCreate


class GroupUpdateRequest(_Wrapper):
    group: GroupUpdate


@router.post("/users", status_code=201)
def create_user(body: UserCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_user", {"domain_id": body.user.domain_id or default_domain(ctx)})
    identity = identity_of(request)
    with identity.db.session() as session:
        user = users.create_user(session, identity.settings, body.user, default_domain(ctx))
        return {"user": views_of(request).user(user)}


@router.get("/users")
def list_users(request: Request, name: str | None = None, domain_id: str | None = None,
               enabled: str | None = None, ctx: RequestContext = Depends(context)) -> dict:
    domain_id = listing_domain(ctx, domain_id)
    enforce(ctx, "identity:list_users", {"domain_id": domain_id})
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = users.list_users(session, name=name, domain_id=domain_id, enabled=parse_bool(enabled, "enabled"))
        return {"users": [views.user(u) for u in rows], "links": views.collection_links("users")}


@router.get("/users/{user_id}")
def get_user(user_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    with identity_of(request).db.session() as session:
        row = session.get(User, user_id)
        enforce(ctx, "identity:get_user", {"user_id": user_id, "domain_id": row.domain_id if row else None})
        return {"user": views_of(request).user(users.get_user(session, user_id))}


@router.patch("/users/{user_id}")
def update_user(user_id: str, body: UserUpdateRequest, request: Request,
                ctx: RequestContext = Depends(context)) -> dict:
    identity = identity_of(request)
    with identity.db.session() as session:
        enforce(ctx, "identity:update_user", {"user_id": user_id, "domain_id": domain_of(session, User, user_id)})
        return {"user": views_of(request).user(users.update_user(session, identity.settings, user_id, body.user))}


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:delete_user", {"user_id": user_id, "domain_id": domain_of(session, User, user_id)})
        users.delete_user(session, user_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/password", status_code=204)
async def change_password(user_id: str, body: PasswordChangeRequest, request: Request,
                          ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:change_password", {"user_id": user_id})
    identity = identity_of(request)
    client = client_key(request.client.host) if request.client else ""
    # Checking original_password is a login in all but name: the same hash gate and the same throttle.
    async with identity.hash_gate.slot():
        await run_in_threadpool(identity.authenticator.change_own_password, user_id,
                                body.user.original_password, body.user.password, client)
    return Response(status_code=204)


@router.get("/users/{user_id}/projects")
def list_user_projects(user_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    views = views_of(request)
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:list_user_projects",
                {"user_id": user_id, "domain_id": domain_of(session, User, user_id)})
        users.get_user(session, user_id)
        rows = assignment.projects_for_user(session, user_id)
        return {"projects": [views.project(p) for p in rows],
                "links": views.collection_links(f"users/{user_id}/projects")}


@router.get("/users/{user_id}/groups")
def list_user_groups(user_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    views = views_of(request)
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:list_groups_for_user",
                {"user_id": user_id, "domain_id": domain_of(session, User, user_id)})
        users.get_user(session, user_id)
        return {"groups": [views.group(g) for g in users.list_groups(session, user_id=user_id)],
                "links": views.collection_links(f"users/{user_id}/groups")}


@router.post("/groups", status_code=201)
def create_group(body: GroupCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_group", {"domain_id": body.group.domain_id or default_domain(ctx)})
    with identity_of(request).db.session() as session:
        return {"group": views_of(request).group(users.create_group(session, body.group, default_domain(ctx)))}


@router.get("/groups")
def list_groups(request: Request, name: str | None = None, domain_id: str | None = None,
                ctx: RequestContext = Depends(context)) -> dict:
    domain_id = listing_domain(ctx, domain_id)
    enforce(ctx, "identity:list_groups", {"domain_id": domain_id})
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = users.list_groups(session, name=name, domain_id=domain_id)
        return {"groups": [views.group(g) for g in rows], "links": views.collection_links("groups")}


@router.get("/groups/{group_id}")
def get_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:get_group", _group_target(session, group_id))
        return {"group": views_of(request).group(users.get_group(session, group_id))}


@router.patch("/groups/{group_id}")
def update_group(group_id: str, body: GroupUpdateRequest, request: Request,
                 ctx: RequestContext = Depends(context)) -> dict:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:update_group", _group_target(session, group_id))
        return {"group": views_of(request).group(users.update_group(session, group_id, body.group))}


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:delete_group", _group_target(session, group_id))
        users.delete_group(session, group_id)
    return Response(status_code=204)


@router.get("/groups/{group_id}/users")
def list_group_users(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    views = views_of(request)
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:list_users_in_group", _group_target(session, group_id))
        users.get_group(session, group_id)
        return {"users": [views.user(u) for u in users.list_users(session, group_id=group_id)],
                "links": views.collection_links(f"groups/{group_id}/users")}


@router.head("/groups/{group_id}/users/{user_id}", status_code=204)
@router.get("/groups/{group_id}/users/{user_id}", status_code=204)
def check_member(group_id: str, user_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:check_user_in_group", _membership_target(session, group_id, user_id))
        if not users.is_member(session, group_id, user_id):
            raise NotFound(f"User {user_id} is not a member of group {group_id}.")
    return Response(status_code=204)


@router.put("/groups/{group_id}/users/{user_id}", status_code=204)
def add_member(group_id: str, user_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:add_user_to_group", _membership_target(session, group_id, user_id))
        users.add_member(session, group_id, user_id)
    return Response(status_code=204)


@router.delete("/groups/{group_id}/users/{user_id}", status_code=204)
def remove_member(group_id: str, user_id: str, request: Request,
                  ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:remove_user_from_group", _membership_target(session, group_id, user_id))
        users.remove_member(session, group_id, user_id)
    return Response(status_code=204)


def _membership_target(session: Session, group_id: str, user_id: str) -> dict:
    return {"group_id": group_id, "user_id": user_id, "domain_id": domain_of(session, Group, group_id),
            "actor_domain_id": domain_of(session, User, user_id)}


def _group_target(session: Session, group_id: str) -> dict:
    return {"group_id": group_id, "domain_id": domain_of(session, Group, group_id)}
