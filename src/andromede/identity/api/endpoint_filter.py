"""/v3/OS-EP-FILTER: endpoint groups, and the endpoints and groups associated with projects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from andromede.common.context import RequestContext
from andromede.identity import endpoint_filter as ef
from andromede.identity.api.common import identity_of, views_of
from andromede.identity.models import EndpointGroup
from andromede.identity.schemas import Description, Name
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v3/OS-EP-FILTER")


class EndpointGroupCreate(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    name: Name
    description: Description | None = None
    filters: dict[str, Any]


class EndpointGroupUpdate(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    name: Name | None = None
    description: Description | None = None
    filters: dict[str, Any] | None = Field(default=None)


class EndpointGroupCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    endpoint_group: EndpointGroupCreate


class EndpointGroupUpdateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    endpoint_group: EndpointGroupUpdate


def _group_doc(request: Request, row: EndpointGroup) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description, "filters": row.filters,
            "links": {"self": f"{views_of(request).v3}/OS-EP-FILTER/endpoint_groups/{row.id}"}}


def _links(request: Request, path: str) -> dict:
    return views_of(request).collection_links(f"OS-EP-FILTER/{path}")


@router.post("/endpoint_groups", status_code=201)
def create_endpoint_group(body: EndpointGroupCreateRequest, request: Request,
                          ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_endpoint_group")
    group = body.endpoint_group
    with identity_of(request).db.session() as session:
        row = ef.create_group(session, group.name, group.description or "", group.filters)
        return {"endpoint_group": _group_doc(request, row)}


@router.get("/endpoint_groups")
def list_endpoint_groups(request: Request, name: str | None = None, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_endpoint_groups")
    with identity_of(request).db.session() as session:
        return {"endpoint_groups": [_group_doc(request, g) for g in ef.list_groups(session, name=name)],
                "links": _links(request, "endpoint_groups")}


@router.get("/endpoint_groups/{group_id}")
def get_endpoint_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_endpoint_group")
    with identity_of(request).db.session() as session:
        return {"endpoint_group": _group_doc(request, ef.get_group(session, group_id))}


@router.head("/endpoint_groups/{group_id}", status_code=200)
def check_endpoint_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:get_endpoint_group")
    with identity_of(request).db.session() as session:
        ef.get_group(session, group_id)
    return Response(status_code=200)


@router.patch("/endpoint_groups/{group_id}")
def update_endpoint_group(group_id: str, body: EndpointGroupUpdateRequest, request: Request,
                          ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:update_endpoint_group")
    changes = body.endpoint_group.model_dump(exclude_unset=True)
    with identity_of(request).db.session() as session:
        return {"endpoint_group": _group_doc(request, ef.update_group(session, group_id, changes))}


@router.delete("/endpoint_groups/{group_id}", status_code=204)
def delete_endpoint_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_endpoint_group")
    with identity_of(request).db.session() as session:
        ef.delete_group(session, group_id)
    return Response(status_code=204)


@router.get("/endpoint_groups/{group_id}/projects")
def list_projects_of_endpoint_group(group_id: str, request: Request,
                                    ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_projects_associated_with_endpoint_group")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        return {"projects": [views.project(p) for p in ef.projects_of_group(session, group_id)],
                "links": _links(request, f"endpoint_groups/{group_id}/projects")}


@router.get("/endpoint_groups/{group_id}/endpoints")
def list_endpoints_of_endpoint_group(group_id: str, request: Request,
                                     ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_endpoints_associated_with_endpoint_group")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = ef.endpoints_of_group(session, ef.get_group(session, group_id))
        return {"endpoints": [views.endpoint(e) for e in rows],
                "links": _links(request, f"endpoint_groups/{group_id}/endpoints")}


@router.put("/endpoint_groups/{group_id}/projects/{project_id}", status_code=204)
def add_endpoint_group_to_project(group_id: str, project_id: str, request: Request,
                                  ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:add_endpoint_group_to_project")
    with identity_of(request).db.session() as session:
        ef.add_group_project(session, group_id, project_id)
    return Response(status_code=204)


@router.get("/endpoint_groups/{group_id}/projects/{project_id}")
def get_endpoint_group_in_project(group_id: str, project_id: str, request: Request,
                                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_endpoint_group_in_project")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        ef.check_group_project(session, group_id, project_id)
        project = next(p for p in ef.projects_of_group(session, group_id) if p.id == project_id)
        return {"project": views.project(project)}


@router.head("/endpoint_groups/{group_id}/projects/{project_id}", status_code=200)
def check_endpoint_group_in_project(group_id: str, project_id: str, request: Request,
                                    ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:get_endpoint_group_in_project")
    with identity_of(request).db.session() as session:
        ef.check_group_project(session, group_id, project_id)
    return Response(status_code=200)


@router.delete("/endpoint_groups/{group_id}/projects/{project_id}", status_code=204)
def remove_endpoint_group_from_project(group_id: str, project_id: str, request: Request,
                                       ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:remove_endpoint_group_from_project")
    with identity_of(request).db.session() as session:
        ef.remove_group_project(session, group_id, project_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/endpoint_groups")
def list_endpoint_groups_for_project(project_id: str, request: Request,
                                     ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_endpoint_groups_for_project")
    with identity_of(request).db.session() as session:
        return {"endpoint_groups": [_group_doc(request, g) for g in ef.groups_of_project(session, project_id)],
                "links": _links(request, f"projects/{project_id}/endpoint_groups")}


@router.get("/projects/{project_id}/endpoints")
def list_endpoints_for_project(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_endpoints_for_project")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        return {"endpoints": [views.endpoint(e) for e in ef.endpoints_of_project(session, project_id)],
                "links": _links(request, f"projects/{project_id}/endpoints")}


@router.put("/projects/{project_id}/endpoints/{endpoint_id}", status_code=204)
def add_endpoint_to_project(project_id: str, endpoint_id: str, request: Request,
                            ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:add_endpoint_to_project")
    with identity_of(request).db.session() as session:
        ef.add_project_endpoint(session, project_id, endpoint_id)
    return Response(status_code=204)


@router.head("/projects/{project_id}/endpoints/{endpoint_id}", status_code=204)
@router.get("/projects/{project_id}/endpoints/{endpoint_id}", status_code=204)
def check_endpoint_in_project(project_id: str, endpoint_id: str, request: Request,
                              ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:check_endpoint_in_project")
    with identity_of(request).db.session() as session:
        ef.check_project_endpoint(session, project_id, endpoint_id)
    return Response(status_code=204)


@router.delete("/projects/{project_id}/endpoints/{endpoint_id}", status_code=204)
def remove_endpoint_from_project(project_id: str, endpoint_id: str, request: Request,
                                 ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:remove_endpoint_from_project")
    with identity_of(request).db.session() as session:
        ef.remove_project_endpoint(session, project_id, endpoint_id)
    return Response(status_code=204)


@router.get("/endpoints/{endpoint_id}/projects")
def list_projects_for_endpoint(endpoint_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_projects_for_endpoint")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        return {"projects": [views.project(p) for p in ef.projects_of_endpoint(session, endpoint_id)],
                "links": _links(request, f"endpoints/{endpoint_id}/projects")}
