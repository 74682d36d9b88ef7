"""Routes, included by andromede.network.api.build_network_app: routers, router interfaces, floating IPs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from andromede.common.clock import isotime
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Forbidden, NotFound
from andromede.db.engine import Database
from andromede.network import service as net
from andromede.network import views
from andromede.network.l3 import service
from andromede.network.l3.models import FloatingIp, Router
from andromede.network.l3.schemas import (
    FloatingIpCreateRequest,
    FloatingIpUpdateRequest,
    FloatingIpView,
    GatewayInfo,
    InterfaceRequest,
    RouterCreateRequest,
    RouterUpdateRequest,
    RouterView,
    RoutesRequest,
)
from andromede.network.schemas import Tag, dump
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter()
# (alias, name, description) entries appended to /v2.0/extensions, and collections listed at /v2.0/.
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("router", "Neutron L3 Router", "Router abstraction for layer 3 forwarding between L2 Neutron networks and "
                                    "access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
     "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    ("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
    ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    ("extraroute-atomic", "Atomically add/remove extra routes",
     "Edit extra routes of a router on server side by atomically adding/removing extra routes"),
)
RESOURCES: tuple[str, ...] = ("router", "floatingip")


def _db(request: Request) -> Database:
    return request.app.state.db


def _base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.base_url + "/network/v2.0"


def _fields(request: Request, doc: dict) -> dict:
    fields = request.query_params.getlist("fields")
    return {k: v for k, v in doc.items() if k in fields} if fields else doc


def _admin_attributes(ctx: RequestContext, action: str, names: list[str]) -> None:
    """Attribute rules, checked whenever the attribute is present (Neutron does the same)."""
    for name in names:
        rule = f"{action}:{name}"
        try:
            enforce(ctx, f"network:{rule}")
        except Forbidden:
            raise Forbidden(f"({rule}) is disallowed by policy", extra={"type": "PolicyNotAuthorized"}) from None


def _gateway_attributes(info: GatewayInfo | None) -> list[str]:
    if info is None:
        return []
    return [f"external_gateway_info:{name}" for name in ("enable_snat", "external_fixed_ips")
            if name in info.model_fields_set]


# ---- documents ---------------------------------------------------------------------------------

def _standard(row: Router | FloatingIp) -> dict[str, Any]:
    return {"id": row.id, "tenant_id": row.project_id, "project_id": row.project_id,
            "description": row.description, "tags": list(row.tags),
            "created_at": isotime(row.created_at, subsecond=False),
            "updated_at": isotime(row.updated_at, subsecond=False), "revision_number": row.revision_number}


def router_doc(session: Session, row: Router) -> dict:
    gateway = None
    if row.gw_network_id is not None:
        gateway = {"network_id": row.gw_network_id, "enable_snat": row.enable_snat,
                   "external_fixed_ips": service.gateway_fixed_ips(session, row)}
    return dump(RouterView.model_validate(
        {**_standard(row), "name": row.name, "status": row.status, "admin_state_up": row.admin_state_up,
         "external_gateway_info": gateway, "routes": list(row.routes or [])}))


def floating_ip_doc(session: Session, row: FloatingIp) -> dict:
    return dump(FloatingIpView.model_validate(
        {**_standard(row), "floating_ip_address": row.floating_ip_address,
         "floating_network_id": row.floating_network_id, "router_id": row.router_id, "port_id": row.port_id,
         "fixed_ip_address": row.fixed_ip_address, "status": row.status,
         "port_details": service.port_details(session, row.port_id)}))


# ---- routers -----------------------------------------------------------------------------------

@router.get("/v2.0/routers")
def list_routers(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_router")
    with _db(request).session() as session:
        docs = [router_doc(session, r) for r in service.list_routers(session, ctx)]
    return views.select_docs(docs, list(request.query_params.multi_items()), "routers", _base(request))


@router.post("/v2.0/routers", status_code=201)
def create_router(body: RouterCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:create_router")
    wanted = body.router
    _admin_attributes(ctx, "create_router", [*_gateway_attributes(wanted.external_gateway_info),
                                             *(n for n in ("distributed", "ha") if n in wanted.model_fields_set)])
    with _db(request).session() as session:
        return {"router": router_doc(session, service.create_router(session, ctx, wanted))}


@router.get("/v2.0/routers/{router_id}")
def get_router(router_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_router")
    with _db(request).session() as session:
        return {"router": _fields(request, router_doc(session, service.get_router(session, ctx, router_id)))}


@router.put("/v2.0/routers/{router_id}")
def update_router(router_id: str, body: RouterUpdateRequest, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_router")
    wanted = body.router
    _admin_attributes(ctx, "update_router", [*_gateway_attributes(wanted.external_gateway_info),
                                             *(n for n in ("distributed", "ha") if n in wanted.model_fields_set)])
    with _db(request).session() as session:
        return {"router": router_doc(session, service.update_router(session, ctx, router_id, wanted))}


def _edit_routes(router_id: str, body: RoutesRequest, request: Request, ctx: RequestContext, action: str) -> dict:
    enforce(ctx, f"network:{action}")
    change = service.add_extra_routes if action == "add_extraroutes" else service.remove_extra_routes
    with _db(request).session() as session:
        return {"router": router_doc(session, change(session, ctx, router_id, body.router.routes))}


@router.put("/v2.0/routers/{router_id}/add_extraroutes")
def add_extraroutes(router_id: str, body: RoutesRequest, request: Request,
                    ctx: RequestContext = Depends(context)) -> dict:
    return _edit_routes(router_id, body, request, ctx, "add_extraroutes")


@router.put("/v2.0/routers/{router_id}/remove_extraroutes")
def remove_extraroutes(router_id: str, body: RoutesRequest, request: Request,
                       ctx: RequestContext = Depends(context)) -> dict:
    return _edit_routes(router_id, body, request, ctx, "remove_extraroutes")


@router.delete("/v2.0/routers/{router_id}", status_code=204)
def delete_router(router_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:delete_router")
    with _db(request).session() as session:
        service.delete_router(session, ctx, router_id)
    return Response(status_code=204)


@router.put("/v2.0/routers/{router_id}/add_router_interface")
def add_router_interface(router_id: str, body: InterfaceRequest, request: Request,
                         ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:add_router_interface")
    with _db(request).session() as session:
        return service.add_interface(session, ctx, router_id, body)


@router.put("/v2.0/routers/{router_id}/remove_router_interface")
def remove_router_interface(router_id: str, body: InterfaceRequest, request: Request,
                            ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:remove_router_interface")
    with _db(request).session() as session:
        return service.remove_interface(session, ctx, router_id, body)


# ---- floating IPs ------------------------------------------------------------------------------

@router.get("/v2.0/floatingips")
def list_floating_ips(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_floatingip")
    with _db(request).session() as session:
        docs = [floating_ip_doc(session, f) for f in service.list_floating_ips(session, ctx)]
    return views.select_docs(docs, list(request.query_params.multi_items()), "floatingips", _base(request))


@router.post("/v2.0/floatingips", status_code=201)
def create_floating_ip(body: FloatingIpCreateRequest, request: Request,
                       ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:create_floatingip")
    if "floating_ip_address" in body.floatingip.model_fields_set:
        _admin_attributes(ctx, "create_floatingip", ["floating_ip_address"])
    with _db(request).session() as session:
        return {"floatingip": floating_ip_doc(session, service.create_floating_ip(session, ctx, body.floatingip))}


@router.get("/v2.0/floatingips/{fip_id}")
def get_floating_ip(fip_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_floatingip")
    with _db(request).session() as session:
        doc = floating_ip_doc(session, service.get_floating_ip(session, ctx, fip_id))
        return {"floatingip": _fields(request, doc)}


@router.put("/v2.0/floatingips/{fip_id}")
def update_floating_ip(fip_id: str, body: FloatingIpUpdateRequest, request: Request,
                       ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_floatingip")
    with _db(request).session() as session:
        row = service.update_floating_ip(session, ctx, fip_id, body.floatingip)
        return {"floatingip": floating_ip_doc(session, row)}


@router.delete("/v2.0/floatingips/{fip_id}", status_code=204)
def delete_floating_ip(fip_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:delete_floatingip")
    with _db(request).session() as session:
        service.delete_floating_ip(session, ctx, fip_id)
    return Response(status_code=204)


# ---- tags (routers, floating IPs); the same rules as networks' --------------------------------

class TagList(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    tags: list[Tag] = Field(max_length=net.MAX_TAGS)


def _valid_tag(tag: str) -> str:
    try:
        return TypeAdapter(Tag).validate_python(tag)
    except ValidationError:
        raise BadRequest(f"Invalid tag: {tag[:64]!r}", extra={"type": "InvalidInput"}) from None


def _tag_routes(collection: str) -> None:
    base = f"/v2.0/{collection}/{{resource_id}}/tags"

    @router.get(base, name=f"get_{collection}_tags")
    def get_tags(resource_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
        enforce(ctx, "network:get_tags")
        with _db(request).session() as session:
            return {"tags": list(service.taggable(session, ctx, collection, resource_id).tags)}

    @router.put(base, name=f"replace_{collection}_tags")
    def replace_tags(resource_id: str, body: TagList, request: Request,
                     ctx: RequestContext = Depends(context)) -> dict:
        enforce(ctx, "network:update_tags")
        with _db(request).session() as session:
            return {"tags": net.set_tags(service.taggable(session, ctx, collection, resource_id), body.tags)}

    @router.delete(base, status_code=204, name=f"clear_{collection}_tags")
    def clear_tags(resource_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
        enforce(ctx, "network:update_tags")
        with _db(request).session() as session:
            net.set_tags(service.taggable(session, ctx, collection, resource_id), [])
        return Response(status_code=204)

    @router.get(base + "/{tag}", status_code=204, name=f"has_{collection}_tag")
    def has_tag(resource_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
        enforce(ctx, "network:get_tags")
        with _db(request).session() as session:
            if tag not in service.taggable(session, ctx, collection, resource_id).tags:
                raise NotFound(f"Tag {tag} could not be found.", extra={"type": "TagNotFound"})
        return Response(status_code=204)

    @router.put(base + "/{tag}", status_code=201, name=f"add_{collection}_tag")
    def add_tag(resource_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
        enforce(ctx, "network:update_tags")
        with _db(request).session() as session:
            row = service.taggable(session, ctx, collection, resource_id)
            net.set_tags(row, [*row.tags, _valid_tag(tag)])
        return Response(status_code=201)

    @router.delete(base + "/{tag}", status_code=204, name=f"remove_{collection}_tag")
    def remove_tag(resource_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
        enforce(ctx, "network:update_tags")
        with _db(request).session() as session:
            row = service.taggable(session, ctx, collection, resource_id)
            if tag not in row.tags:
                raise NotFound(f"Tag {tag} could not be found.", extra={"type": "TagNotFound"})
            net.set_tags(row, [t for t in row.tags if t != tag])
        return Response(status_code=204)


for _collection in ("routers", "floatingips"):
    _tag_routes(_collection)
