"""/v3/domains and /v3/projects."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, StrictStr
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.identity import project_tags, resource
from andromede.identity.api.common import default_domain, domain_of, identity_of, listing_domain, views_of
from andromede.identity.models import Project
from andromede.identity.schemas import DomainCreate, DomainUpdate, ProjectCreate, ProjectUpdate
from andromede.policy import enforce
from andromede.servicekit.deps import context, parse_bool

router = APIRouter(prefix="/v3")


class DomainCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    domain: DomainCreate


class DomainUpdateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    domain: DomainUpdate


class ProjectCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    project: ProjectCreate


class ProjectUpdateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    project: ProjectUpdate


@router.post("/domains", status_code=201)
def create_domain(body: DomainCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_domain")
    with identity_of(request).db.session() as session:
        return {"domain": views_of(request).domain(resource.create_domain(session, body.domain))}


@router.get("/domains")
def list_domains(request: Request, name: str | None = None, enabled: str | None = None,
                 ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_domains")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = resource.list_domains(session, name=name, enabled=parse_bool(enabled, "enabled"))
        if not ctx.is_system_reader:  # a domain-scoped caller finds its own domain by name, no other
            rows = [row for row in rows if row.id == ctx.domain_id]
        return {"domains": [views.domain(d) for d in rows], "links": views.collection_links("domains")}


@router.get("/domains/{domain_id}")
def get_domain(domain_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_domain", {"domain_id": domain_id})
    with identity_of(request).db.session() as session:
        return {"domain": views_of(request).domain(resource.get_domain(session, domain_id))}


@router.patch("/domains/{domain_id}")
def update_domain(domain_id: str, body: DomainUpdateRequest, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:update_domain", {"domain_id": domain_id})
    with identity_of(request).db.session() as session:
        return {"domain": views_of(request).domain(resource.update_domain(session, domain_id, body.domain))}


@router.delete("/domains/{domain_id}", status_code=204)
def delete_domain(domain_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_domain", {"domain_id": domain_id})
    identity = identity_of(request)
    with identity.db.session() as session:
        resource.delete_domain(session, domain_id, identity.project_deleted_hooks)
    return Response(status_code=204)


@router.post("/projects", status_code=201)
def create_project(body: ProjectCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    if body.project.is_domain:
        # A new domain: the cloud operator's to make, whatever the project rules allow.
        enforce(ctx, "identity:create_domain")
        with identity_of(request).db.session() as session:
            domain = resource.create_project_as_domain(session, body.project)
            return {"project": views_of(request).domain_as_project(domain)}
    enforce(ctx, "identity:create_project", {"domain_id": body.project.domain_id or default_domain(ctx)})
    with identity_of(request).db.session() as session:
        project = resource.create_project(session, body.project, default_domain(ctx))
        return {"project": views_of(request).project(project)}


@router.get("/projects")
def list_projects(request: Request, name: str | None = None, domain_id: str | None = None,
                  enabled: str | None = None, parent_id: str | None = None,
                  ctx: RequestContext = Depends(context)) -> dict:
    domain_id = listing_domain(ctx, domain_id)
    enforce(ctx, "identity:list_projects", {"domain_id": domain_id})
    views = views_of(request)
    if parse_bool(request.query_params.get("is_domain"), "is_domain"):
        # Keystone lists the projects acting as domains: here, the domains (which is what they are).
        enforce(ctx, "identity:list_domains")
        with identity_of(request).db.session() as session:
            domains = resource.list_domains(session, name=name, enabled=parse_bool(enabled, "enabled"))
            return {"projects": [views.domain_as_project(d) for d in domains if domain_id in (None, d.id)
                                 and parent_id is None], "links": views.collection_links("projects")}
    with identity_of(request).db.session() as session:
        rows = resource.list_projects(session, name=name, domain_id=domain_id,
                                      enabled=parse_bool(enabled, "enabled"), parent_id=parent_id)
        params = request.query_params
        tag_filters = {"all_of": params.get("tags"), "any_of": params.get("tags-any"),
                       "none_of": params.get("not-tags"), "not_any_of": params.get("not-tags-any")}
        if any(value is not None for value in tag_filters.values()):
            rows = [p for p in rows if project_tags.matches(p, **tag_filters)]
        return {"projects": [views.project(p) for p in rows], "links": views.collection_links("projects")}


@router.get("/projects/{project_id}")
def get_project(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    with identity_of(request).db.session() as session:
        project = session.get(Project, project_id)
        enforce(ctx, "identity:get_project",
                {"project_id": project_id, "domain_id": project.domain_id if project else None})
        return {"project": views_of(request).project(resource.get_project(session, project_id))}


@router.patch("/projects/{project_id}")
def update_project(project_id: str, body: ProjectUpdateRequest, request: Request,
                   ctx: RequestContext = Depends(context)) -> dict:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:update_project",
                {"project_id": project_id, "domain_id": domain_of(session, Project, project_id)})
        project = resource.update_project(session, project_id, body.project)
        return {"project": views_of(request).project(project)}


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    identity = identity_of(request)
    with identity.db.session() as session:
        enforce(ctx, "identity:delete_project",
                {"project_id": project_id, "domain_id": domain_of(session, Project, project_id)})
        resource.delete_project(session, project_id, identity.project_deleted_hooks)
    return Response(status_code=204)


# ---- project tags ------------------------------------------------------------------------------

class ProjectTagsRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    tags: list[StrictStr]


def _tag_target(session: Session, project_id: str) -> dict:
    return {"project_id": project_id, "domain_id": domain_of(session, Project, project_id)}


@router.get("/projects/{project_id}/tags")
def list_project_tags(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:list_project_tags", _tag_target(session, project_id))
        return {"tags": project_tags.tags_of(resource.get_project(session, project_id))}


@router.put("/projects/{project_id}/tags")
def update_project_tags(project_id: str, body: ProjectTagsRequest, request: Request,
                        ctx: RequestContext = Depends(context)) -> dict:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:update_project_tags", _tag_target(session, project_id))
        return {"tags": project_tags.set_tags(resource.get_project(session, project_id), body.tags)}


@router.delete("/projects/{project_id}/tags", status_code=204)
def delete_project_tags(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:delete_project_tags", _tag_target(session, project_id))
        project_tags.set_tags(resource.get_project(session, project_id), [])
    return Response(status_code=204)


@router.head("/projects/{project_id}/tags/{tag}", status_code=204)
@router.get("/projects/{project_id}/tags/{tag}", status_code=204)
def check_project_tag(project_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:get_project_tag", _tag_target(session, project_id))
        if tag not in project_tags.tags_of(resource.get_project(session, project_id)):
            raise NotFound(f"Tag {tag} was not found for project {project_id}.")
    return Response(status_code=204)


@router.put("/projects/{project_id}/tags/{tag}", status_code=201)
def add_project_tag(project_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:create_project_tag", _tag_target(session, project_id))
        project_tags.add_tag(resource.get_project(session, project_id), tag)
    location = f"{views_of(request).v3}/projects/{project_id}/tags/{tag}"
    return Response(status_code=201, headers={"Location": location})


@router.delete("/projects/{project_id}/tags/{tag}", status_code=204)
def delete_project_tag(project_id: str, tag: str, request: Request,
                       ctx: RequestContext = Depends(context)) -> Response:
    with identity_of(request).db.session() as session:
        enforce(ctx, "identity:delete_project_tag", _tag_target(session, project_id))
        project_tags.remove_tag(resource.get_project(session, project_id), tag)
    return Response(status_code=204)
