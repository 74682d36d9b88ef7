"""/v3/roles, role grants on projects, domains and the system, and /v3/role_assignments."""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.identity import assignment, implied
from andromede.identity.api.common import domain_of, identity_of, views_of
from andromede.identity.assignment import Grant
from andromede.identity.models import Domain, Group, Project, Role, RoleAssignment, User
from andromede.identity.schemas import RoleCreate, RoleUpdate
from andromede.policy import enforce
from andromede.servicekit.deps import context, parse_bool

router = APIRouter(prefix="/v3")

TargetKind = Literal["projects", "domains"]
ActorKind = Literal["users", "groups"]


class RoleCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    role: RoleCreate


class RoleUpdateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    role: RoleUpdate


@router.post("/roles", status_code=201)
def create_role(body: RoleCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_role")
    with identity_of(request).db.session() as session:
        return {"role": views_of(request).role(assignment.create_role(session, body.role))}


@router.get("/roles")
def list_roles(request: Request, name: str | None = None, domain_id: str | None = None,
               ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_roles", {"domain_id": domain_id})
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = assignment.list_roles(session, name=name, domain_id=domain_id)
        return {"roles": [views.role(r) for r in rows], "links": views.collection_links("roles")}


@router.get("/roles/{role_id}")
def get_role(role_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_role", {"role_id": role_id})
    with identity_of(request).db.session() as session:
        return {"role": views_of(request).role(assignment.get_role(session, role_id))}


@router.patch("/roles/{role_id}")
def update_role(role_id: str, body: RoleUpdateRequest, request: Request,
                ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:update_role", {"role_id": role_id})
    with identity_of(request).db.session() as session:
        return {"role": views_of(request).role(assignment.update_role(session, role_id, body.role))}


@router.delete("/roles/{role_id}", status_code=204)
def delete_role(role_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_role", {"role_id": role_id})
    with identity_of(request).db.session() as session:
        assignment.delete_role(session, role_id)
    return Response(status_code=204)


def _grant_target(session: Session, target: str, target_id: str, actor: str, actor_id: str,
                  role_id: str | None = None) -> dict:
    """What the grant rules look at: the target's domain, the actor's domain and the role's name."""
    domain_id = target_id if target == "domains" else domain_of(session, Project, target_id)
    role = session.get(Role, role_id) if role_id else None
    return {"domain_id": domain_id, "project_id": target_id if target == "projects" else None,
            "actor_domain_id": domain_of(session, User if actor == "users" else Group, actor_id),
            "role_name": role.name if role is not None else None}


def _grant(target: str, target_id: str, actor: str, actor_id: str, role_id: str) -> Grant:
    return Grant(actor_type=actor.rstrip("s"), actor_id=actor_id, target_type=target.rstrip("s"),
                 target_id=target_id, role_id=role_id)


@router.get("/{target}/{target_id}/{actor}/{actor_id}/roles")
def list_grants(target: TargetKind, target_id: str, actor: ActorKind, actor_id: str, request: Request,
                ctx: RequestContext = Depends(context)) -> dict:
    views = views_of(request)
    kind = target.rstrip("s")
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:list_grants", _grant_target(session, target, target_id, actor, actor_id))
        ids: dict[str, Any] = {f"{actor.rstrip('s')}_id": actor_id, f"{kind}_id": target_id}
        rows = assignment.list_assignments(session, **ids)
        roles = assignment.roles_by_ids(session, {row.role_id for row in rows})
        return {"roles": [views.role(r) for r in roles],
                "links": views.collection_links(f"{target}/{target_id}/{actor}/{actor_id}/roles")}


@router.put("/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def create_grant(target: TargetKind, target_id: str, actor: ActorKind, actor_id: str, role_id: str,
                 request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:create_grant", _grant_target(session, target, target_id, actor, actor_id, role_id))
        assignment.add_grant(session, _grant(target, target_id, actor, actor_id, role_id))
    return Response(status_code=204)


@router.head("/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
@router.get("/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def check_grant(target: TargetKind, target_id: str, actor: ActorKind, actor_id: str, role_id: str,
                request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:check_grant", _grant_target(session, target, target_id, actor, actor_id, role_id))
        if not assignment.has_grant(session, _grant(target, target_id, actor, actor_id, role_id)):
            raise NotFound(f"Could not find role assignment with role: {role_id}.")
    return Response(status_code=204)


@router.delete("/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def revoke_grant(target: TargetKind, target_id: str, actor: ActorKind, actor_id: str, role_id: str,
                 request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:revoke_grant", _grant_target(session, target, target_id, actor, actor_id, role_id))
        assignment.remove_grant(session, _grant(target, target_id, actor, actor_id, role_id))
    return Response(status_code=204)


@router.put("/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def create_system_grant(actor: ActorKind, actor_id: str, role_id: str, request: Request,
                        ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:create_system_grant")
    with identity_of(request).db.session() as session:
        assignment.add_grant(session, Grant(actor.rstrip("s"), actor_id, "system", "all", role_id))
    return Response(status_code=204)


@router.get("/system/{actor}/{actor_id}/roles")
def list_system_grants(actor: ActorKind, actor_id: str, request: Request,
                       ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_system_grants")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        ids: dict[str, Any] = {f"{actor.rstrip('s')}_id": actor_id}
        rows = assignment.list_assignments(session, **ids, system=True)
        roles = assignment.roles_by_ids(session, {row.role_id for row in rows})
        return {"roles": [views.role(r) for r in roles],
                "links": views.collection_links(f"system/{actor}/{actor_id}/roles")}


@router.head("/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
@router.get("/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def check_system_grant(actor: ActorKind, actor_id: str, role_id: str, request: Request,
                       ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:check_system_grant")
    with identity_of(request).db.session() as session:
        if not assignment.has_grant(session, Grant(actor.rstrip("s"), actor_id, "system", "all", role_id)):
            raise NotFound(f"Could not find role assignment with role: {role_id}.")
    return Response(status_code=204)


@router.delete("/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def revoke_system_grant(actor: ActorKind, actor_id: str, role_id: str, request: Request,
                        ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:revoke_system_grant")
    with identity_of(request).db.session() as session:
        assignment.remove_grant(session, Grant(actor.rstrip("s"), actor_id, "system", "all", role_id))
    return Response(status_code=204)


@router.get("/role_assignments")
def list_role_assignments(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    params = request.query_params
    domain_id = params.get("scope.domain.id")
    project_id = params.get("scope.project.id")
    with identity_of(request).db.session() as session:
        # A domain's readers and managers list the assignments on it or on one of its projects.
        target_domain = domain_id or (domain_of(session, Project, project_id) if project_id else None)
    enforce(ctx, "identity:list_role_assignments", {"domain_id": target_domain})
    effective = parse_bool(params.get("effective"), "effective") if "effective" in params else False
    include_names = parse_bool(params.get("include_names"), "include_names") if "include_names" in params \
        else False
    views = views_of(request)
    with identity_of(request).db.session() as session:
        role_id = params.get("role.id")
        rows = assignment.list_assignments(
            session, user_id=params.get("user.id"), group_id=params.get("group.id"),
            role_id=None if effective else role_id, project_id=project_id, domain_id=domain_id,
            system="scope.system" in params, effective=bool(effective))
        names = _NameCache(session) if include_names else None
        result = [_assignment_doc(views.v3, row, names) for row in rows]
        if effective:
            result = _with_implied(session, views.v3, rows, result, names)
            kept = assignment.strip_domain_roles(session, {doc["role"]["id"] for doc in result})
            result = [doc for doc in result if doc["role"]["id"] in kept]
            if role_id is not None:
                result = [doc for doc in result if doc["role"]["id"] == role_id]
    return {"role_assignments": result, "links": views.collection_links("role_assignments")}


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


_Named = TypeVar("_Named", bound=_HasName)


class _NameCache:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ref(self, model: type[_Named], ident: str) -> dict:
        row = self.session.get(model, ident)
        doc: dict[str, Any] = {"id": ident}
        if row is None:
            return doc
        doc["name"] = row.name
        domain_id = getattr(row, "domain_id", None)
        if domain_id is not None and model is not Domain:
            domain = self.session.get(Domain, domain_id)
            doc["domain"] = {"id": domain_id, "name": domain.name if domain else ""}
        return doc


def _assignment_doc(v3: str, row: RoleAssignment, names: _NameCache | None) -> dict:
    actor_model = User if row.actor_type == "user" else Group
    actor = names.ref(actor_model, row.actor_id) if names else {"id": row.actor_id}
    role = names.ref(Role, row.role_id) if names else {"id": row.role_id}
    if row.target_type == "system":
        scope: dict = {"system": {"all": True}}
        link = f"{v3}/system/{row.actor_type}s/{row.actor_id}/roles/{row.role_id}"
    else:
        target_model = Project if row.target_type == "project" else Domain
        scope = {row.target_type: names.ref(target_model, row.target_id) if names else {"id": row.target_id}}
        link = f"{v3}/{row.target_type}s/{row.target_id}/{row.actor_type}s/{row.actor_id}/roles/{row.role_id}"
    return {"role": role, row.actor_type: actor, "scope": scope, "links": {"assignment": link}}


def _with_implied(session: Session, v3: str, rows: list[RoleAssignment], docs: list[dict],
                  names: _NameCache | None) -> list[dict]:
    """Keystone's effective listing: each role a grant implies is one more row, linked to its prior role."""
    table = implied.rules(session)
    held = {(row.actor_id, row.target_type, row.target_id, row.role_id) for row in rows}
    result = list(docs)
    for row, doc in zip(rows, docs, strict=True):
        pending = [row.role_id]
        while pending:
            prior = pending.pop()
            for implied_id in table.get(prior, []):
                key = (row.actor_id, row.target_type, row.target_id, implied_id)
                if key in held:
                    continue
                held.add(key)
                pending.append(implied_id)
                extra = {**doc, "role": names.ref(Role, implied_id) if names else {"id": implied_id},
                         "links": {**doc["links"], "prior_role": f"{v3}/roles/{prior}"}}
                result.append(extra)
    return result
