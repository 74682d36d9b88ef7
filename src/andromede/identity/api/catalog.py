"""/v3/regions, /v3/services and /v3/endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.identity import catalog
from andromede.identity.api.common import identity_of, views_of
from andromede.identity.schemas import (
    EndpointCreate,
    EndpointUpdate,
    RegionCreate,
    RegionUpdate,
    ServiceCreate,
    ServiceUpdate,
)
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v3")


class _Wrapper(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class RegionCreateRequest(_Wrapper):
    region: RegionCreate


class RegionUpdateRequest(_Wrapper):
    region: RegionUpdate


class ServiceCreateRequest(_Wrapper):
    service: ServiceCreate


class ServiceUpdateRequest(_Wrapper):
    service: ServiceUpdate


class EndpointCreateRequest(_Wrapper):
    endpoint: EndpointCreate


class EndpointUpdateRequest(_Wrapper):
    endpoint: EndpointUpdate


@router.post("/regions", status_code=201)
def create_region(body: RegionCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_region")
    with identity_of(request).db.session() as session:
        return {"region": views_of(request).region(catalog.create_region(session, body.region))}


@router.put("/regions/{region_id}", status_code=201)
def create_region_with_id(region_id: str, body: RegionCreateRequest, request: Request,
                          ctx: RequestContext = Depends(context)) -> dict:
    """Keystone's way to choose a region's id: the id in the path (a different one in the body is a 400)."""
    enforce(ctx, "identity:create_region")
    if body.region.id is not None and body.region.id != region_id:
        raise BadRequest(f"Conflicting region IDs specified: {region_id!r} != {body.region.id!r}.")
    if len(region_id) > 255:
        raise BadRequest("Invalid input for field 'id': the region id is longer than 255 characters.")
    region = body.region.model_copy(update={"id": region_id})
    with identity_of(request).db.session() as session:
        return {"region": views_of(request).region(catalog.create_region(session, region))}


@router.get("/regions")
def list_regions(request: Request, parent_region_id: str | None = None,
                 ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_regions")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = catalog.list_regions(session, parent_region_id=parent_region_id)
        return {"regions": [views.region(r) for r in rows], "links": views.collection_links("regions")}


@router.get("/regions/{region_id}")
def get_region(region_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_region")
    with identity_of(request).db.session() as session:
        return {"region": views_of(request).region(catalog.get_region(session, region_id))}


@router.patch("/regions/{region_id}")
def update_region(region_id: str, body: RegionUpdateRequest, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:update_region")
    with identity_of(request).db.session() as session:
        return {"region": views_of(request).region(catalog.update_region(session, region_id, body.region))}


@router.delete("/regions/{region_id}", status_code=204)
def delete_region(region_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_region")
    with identity_of(request).db.session() as session:
        catalog.delete_region(session, region_id)
    return Response(status_code=204)


@router.post("/services", status_code=201)
def create_service(body: ServiceCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_service")
    with identity_of(request).db.session() as session:
        return {"service": views_of(request).service(catalog.create_service(session, body.service))}


@router.get("/services")
def list_services(request: Request, type: str | None = None, name: str | None = None,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_services")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = catalog.list_services(session, type=type, name=name)
        return {"services": [views.service(r) for r in rows], "links": views.collection_links("services")}


@router.get("/services/{service_id}")
def get_service(service_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_service")
    with identity_of(request).db.session() as session:
        return {"service": views_of(request).service(catalog.get_service(session, service_id))}


@router.patch("/services/{service_id}")
def update_service(service_id: str, body: ServiceUpdateRequest, request: Request,
                   ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:update_service")
    with identity_of(request).db.session() as session:
        return {"service": views_of(request).service(catalog.update_service(session, service_id, body.service))}


@router.delete("/services/{service_id}", status_code=204)
def delete_service(service_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_service")
    with identity_of(request).db.session() as session:
        catalog.delete_service(session, service_id)
    return Response(status_code=204)


@router.post("/endpoints", status_code=201)
def create_endpoint(body: EndpointCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_endpoint")
    with identity_of(request).db.session() as session:
        return {"endpoint": views_of(request).endpoint(catalog.create_endpoint(session, body.endpoint))}


@router.get("/endpoints")
def list_endpoints(request: Request, service_id: str | None = None, interface: str | None = None,
                   region_id: str | None = None, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_endpoints")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = catalog.list_endpoints(session, service_id=service_id, interface=interface, region_id=region_id)
        return {"endpoints": [views.endpoint(r) for r in rows], "links": views.collection_links("endpoints")}


@router.get("/endpoints/{endpoint_id}")
def get_endpoint(endpoint_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_endpoint")
    with identity_of(request).db.session() as session:
        return {"endpoint": views_of(request).endpoint(catalog.get_endpoint(session, endpoint_id))}


@router.patch("/endpoints/{endpoint_id}")
def update_endpoint(endpoint_id: str, body: EndpointUpdateRequest, request: Request,
                    ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:update_endpoint")
    with identity_of(request).db.session() as session:
        endpoint = catalog.update_endpoint(session, endpoint_id, body.endpoint)
        return {"endpoint": views_of(request).endpoint(endpoint)}


@router.delete("/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_endpoint")
    with identity_of(request).db.session() as session:
        catalog.delete_endpoint(session, endpoint_id)
    return Response(status_code=204)
