"""Neutron v2.0 routes (mounted at /network): discovery, extensions, networks, subnets, ports."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Forbidden, NotFound
from andromede.db.engine import Database
from andromede.network import agents, ip_availability, service, views
from andromede.network.l3 import api as l3_api
from andromede.network.l3 import service as l3_service
from andromede.network.models import Network, Subnet
from andromede.network.schemas import (
    NetworkCreateRequest,
    NetworksCreateRequest,
    NetworkUpdateRequest,
    PortCreateRequest,
    PortsCreateRequest,
    PortUpdateRequest,
    SubnetCreateRequest,
    SubnetsCreateRequest,
    SubnetUpdateRequest,
    Tag,
)
from andromede.network.security_groups import api as security_groups_api
from andromede.policy import enforce, mark_public
from andromede.servicekit.deps import context
from andromede.servicekit.service_app import service_app

router = APIRouter()

# Advertise only what is implemented; clients switch features on by alias.
EXTENSIONS = (
    ("network", "Network", "Networks."),
    ("subnet", "Subnet", "Subnets."),
    ("port", "Port", "Ports."),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("port-security", "Port Security", "Provides port security."),
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs."),
    ("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options configuration for DHCP."),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application."),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes."),
    ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number."),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields."),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("fields", "Fields", "Select the attributes returned."),
    ("standard-attr-tag", "Tag support for resources with standard attribute", "Tags on networks, subnets, ports."),
    ("agent", "agent", "The agent management extension (read-only here: one agent process per host)."),
    ("network-ip-availability", "Network IP Availability", "IP availability data for each network and subnet."),
    *security_groups_api.EXTENSIONS,
    *l3_api.EXTENSIONS,
)
RESOURCES = ("network", "subnet", "port", "agent", *security_groups_api.RESOURCES, *l3_api.RESOURCES)


def _db(request: Request) -> Database:
    return request.app.state.db


def _base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.base_url + "/network"


@router.get("/")
def versions(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    return {"versions": [{"id": "v2.0", "status": "CURRENT",
                          "links": [{"href": _base(request) + "/v2.0/", "rel": "self"}]}]}


@router.get("/v2.0")
@router.get("/v2.0/")
def resources(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    base = _base(request) + "/v2.0"
    return {"resources": [
        {"name": name, "collection": f"{name}s", "links": [{"href": f"{base}/{name}s", "rel": "self"}]}
        for name in RESOURCES]}


def _extension(alias: str, name: str, description: str) -> dict:
    return {"alias": alias, "name": name, "description": description, "updated": "2026-01-01T00:00:00-00:00",
            "links": []}


@router.get("/v2.0/extensions")
def extensions(ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_extensions")
    return {"extensions": [_extension(*entry) for entry in EXTENSIONS]}


@router.get("/v2.0/extensions/{alias}")
def extension(alias: str, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_extensions")
    for entry in EXTENSIONS:
        if entry[0] == alias:
            return {"extension": _extension(*entry)}
    raise NotFound(f"Extension with alias {alias} does not exist", extra={"type": "ExtensionNotFound"})


def _params(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def _subnet_ids(session: Session, network_ids: list[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {nid: [] for nid in network_ids}
    for subnet_id, network_id in session.execute(
            select(Subnet.id, Subnet.network_id).where(Subnet.network_id.in_(network_ids)).order_by(Subnet.created_at)):
        result[network_id].append(subnet_id)
    return result


def _fields(request: Request, doc: dict) -> dict:
    fields = request.query_params.getlist("fields")
    return {k: v for k, v in doc.items() if k in fields} if fields else doc


Model = TypeVar("Model", bound=BaseModel)
# A create body read as JSON, then validated as one resource or as Neutron's bulk form (`{"networks": [...]}`).
CreateBody = Annotated[Any, Body()]


def _parsed(model: type[Model], body: object) -> Model:
    """Validate as FastAPI would have: the same errors, so the same 400 messages."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from None


def _bulk(body: object, plural: str) -> bool:
    return isinstance(body, dict) and plural in body


# ---- agents (admin) ----------------------------------------------------------------------------

def _network_host(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.the_network_host


def _sees_agents(ctx: RequestContext) -> bool:
    """Neutron checks get_agent on each agent it would show: a project user is answered as if there were none
    (an empty list, a 404), not refused; anonymous callers and host credentials still are."""
    try:
        enforce(ctx, "network:get_agent")
    except Forbidden:
        if ctx.host is not None:
            raise
        return False
    return True


@router.get("/v2.0/agents")
def list_agents(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    if not _sees_agents(ctx):
        return views.select_docs([], _params(request), "agents", _base(request) + "/v2.0")
    with _db(request).session() as session:
        docs = agents.list_agents(session, _network_host(request))
    return views.select_docs(docs, _params(request), "agents", _base(request) + "/v2.0")


@router.get("/v2.0/agents/{agent_id}")
def get_agent(agent_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    if not _sees_agents(ctx):
        raise NotFound("The resource could not be found.", extra={"type": "HTTPNotFound"})
    with _db(request).session() as session:
        return {"agent": _fields(request, agents.get_agent(session, _network_host(request), agent_id))}


@router.get("/v2.0/networks/{network_id}/dhcp-agents")
def network_dhcp_agents(network_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_agent")
    with _db(request).session() as session:
        network = service.get_network(session, ctx, network_id)
        found = agents.hosting(session, _network_host(request), "DHCP agent") \
            if agents.serves_dhcp(session, network) else []
    return {"agents": found}


@router.get("/v2.0/routers/{router_id}/l3-agents")
def router_l3_agents(router_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_agent")
    with _db(request).session() as session:
        l3_service.get_router(session, ctx, router_id)
        return {"agents": agents.hosting(session, _network_host(request), "L3 agent")}


# ---- network IP availability (admin) -----------------------------------------------------------

@router.get("/v2.0/network-ip-availabilities")
def list_ip_availabilities(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_network_ip_availability")
    params = _params(request)
    versions = {value for key, value in params if key == "ip_version"}
    if not versions <= {"4", "6"}:
        raise BadRequest(f"Invalid input for ip_version. Reason: {sorted(versions)} is not in [4, 6].",
                         extra={"type": "HTTPBadRequest"})
    with _db(request).session() as session:
        docs = ip_availability.availabilities(session, ip_versions={int(v) for v in versions} or None)
    kept = [(key, value) for key, value in params if key != "ip_version"]
    return views.select_docs(docs, kept, "network_ip_availabilities", _base(request) + "/v2.0", id_key="network_id")


@router.get("/v2.0/network-ip-availabilities/{network_id}")
def get_ip_availability(network_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_network_ip_availability")
    with _db(request).session() as session:
        return {"network_ip_availability": _fields(request, ip_availability.availability(session, network_id))}


# ---- networks ----------------------------------------------------------------------------------

@router.get("/v2.0/networks")
def list_networks(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_network")
    with _db(request).session() as session:
        rows = service.list_networks(session, ctx)
        subnets = _subnet_ids(session, [r.id for r in rows])
        docs = [views.network(r, subnets[r.id], ctx) for r in rows]
    return views.select_docs(docs, _params(request), "networks", _base(request) + "/v2.0")


@router.post("/v2.0/networks", status_code=201)
def create_network(body: CreateBody, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    if _bulk(body, "networks"):
        many = _parsed(NetworksCreateRequest, body).networks
        enforce(ctx, "network:create_network")
        with _db(request).session() as session:
            rows = [service.create_network(session, ctx, item) for item in many]
            return {"networks": [views.network(row, [], ctx) for row in rows]}
    one = _parsed(NetworkCreateRequest, body).network
    enforce(ctx, "network:create_network")
    with _db(request).session() as session:
        row = service.create_network(session, ctx, one)
        return {"network": views.network(row, [], ctx)}


def _network_doc(session: Session, ctx: RequestContext, row: Network) -> dict:
    return views.network(row, _subnet_ids(session, [row.id])[row.id], ctx)


@router.get("/v2.0/networks/{network_id}")
def get_network(network_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_network")
    with _db(request).session() as session:
        return {"network": _fields(request, _network_doc(session, ctx, service.get_network(session, ctx, network_id)))}


@router.put("/v2.0/networks/{network_id}")
def update_network(network_id: str, body: NetworkUpdateRequest, request: Request,
                   ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_network")
    with _db(request).session() as session:
        row = service.update_network(session, ctx, network_id, body.network)
        return {"network": _network_doc(session, ctx, row)}


@router.delete("/v2.0/networks/{network_id}", status_code=204)
def delete_network(network_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:delete_network")
    with _db(request).session() as session:
        service.delete_network(session, ctx, network_id)
    return Response(status_code=204)


# ---- subnets -----------------------------------------------------------------------------------

@router.get("/v2.0/subnets")
def list_subnets(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_subnet")
    with _db(request).session() as session:
        docs = [views.subnet(r, ctx) for r in service.list_subnets(session, ctx)]
    return views.select_docs(docs, _params(request), "subnets", _base(request) + "/v2.0")


@router.post("/v2.0/subnets", status_code=201)
def create_subnet(body: CreateBody, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    if _bulk(body, "subnets"):
        many = _parsed(SubnetsCreateRequest, body).subnets
        enforce(ctx, "network:create_subnet")
        with _db(request).session() as session:
            rows = [service.create_subnet(session, ctx, item) for item in many]
            return {"subnets": [views.subnet(row, ctx) for row in rows]}
    one = _parsed(SubnetCreateRequest, body).subnet
    enforce(ctx, "network:create_subnet")
    with _db(request).session() as session:
        return {"subnet": views.subnet(service.create_subnet(session, ctx, one), ctx)}


@router.get("/v2.0/subnets/{subnet_id}")
def get_subnet(subnet_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_subnet")
    with _db(request).session() as session:
        return {"subnet": _fields(request, views.subnet(service.get_subnet(session, ctx, subnet_id), ctx))}


@router.put("/v2.0/subnets/{subnet_id}")
def update_subnet(subnet_id: str, body: SubnetUpdateRequest, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_subnet")
    with _db(request).session() as session:
        return {"subnet": views.subnet(service.update_subnet(session, ctx, subnet_id, body.subnet), ctx)}


@router.delete("/v2.0/subnets/{subnet_id}", status_code=204)
def delete_subnet(subnet_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:delete_subnet")
    with _db(request).session() as session:
        service.delete_subnet(session, ctx, subnet_id)
    return Response(status_code=204)


# ---- ports -------------------------------------------------------------------------------------

@router.get("/v2.0/ports")
def list_ports(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_port")
    with _db(request).session() as session:
        docs = [views.port(r, service.fixed_ips(session, r.id), ctx) for r in service.list_ports(session, ctx)]
    return views.select_docs(docs, _params(request), "ports", _base(request) + "/v2.0")


@router.post("/v2.0/ports", status_code=201)
def create_port(body: CreateBody, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    if _bulk(body, "ports"):
        many = _parsed(PortsCreateRequest, body).ports
        enforce(ctx, "network:create_port")
        with _db(request).session() as session:
            rows = [service.create_port(session, ctx, item) for item in many]
            return {"ports": [views.port(row, service.fixed_ips(session, row.id), ctx) for row in rows]}
    one = _parsed(PortCreateRequest, body).port
    enforce(ctx, "network:create_port")
    with _db(request).session() as session:
        row = service.create_port(session, ctx, one)
        return {"port": views.port(row, service.fixed_ips(session, row.id), ctx)}


@router.get("/v2.0/ports/{port_id}")
def get_port(port_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_port")
    with _db(request).session() as session:
        row = service.get_port(session, ctx, port_id)
        return {"port": _fields(request, views.port(row, service.fixed_ips(session, row.id), ctx))}


@router.put("/v2.0/ports/{port_id}")
def update_port(port_id: str, body: PortUpdateRequest, request: Request,
                ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_port")
    with _db(request).session() as session:
        row = service.update_port(session, ctx, port_id, body.port)
        return {"port": views.port(row, service.fixed_ips(session, row.id), ctx)}


@router.delete("/v2.0/ports/{port_id}", status_code=204)
def delete_port(port_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:delete_port")
    with _db(request).session() as session:
        service.delete_port(session, ctx, port_id)
    return Response(status_code=204)


# ---- tags (networks, subnets, ports) -----------------------------------------------------------

Collection = Literal["networks", "subnets", "ports", "security-groups"]


class TagList(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    tags: list[Tag] = Field(max_length=service.MAX_TAGS)


@router.get("/v2.0/{collection}/{resource_id}/tags")
def get_tags(collection: Collection, resource_id: str, request: Request,
             ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_tags")
    with _db(request).session() as session:
        return {"tags": list(service.taggable(session, ctx, collection, resource_id).tags)}


@router.put("/v2.0/{collection}/{resource_id}/tags")
def replace_tags(collection: Collection, resource_id: str, body: TagList, request: Request,
                 ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_tags")
    with _db(request).session() as session:
        return {"tags": service.set_tags(service.taggable(session, ctx, collection, resource_id), body.tags)}


@router.delete("/v2.0/{collection}/{resource_id}/tags", status_code=204)
def clear_tags(collection: Collection, resource_id: str, request: Request,
               ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:update_tags")
    with _db(request).session() as session:
        service.set_tags(service.taggable(session, ctx, collection, resource_id), [])
    return Response(status_code=204)


def _valid_tag(tag: str) -> str:
    try:
        return TypeAdapter(Tag).validate_python(tag)
    except ValidationError:
        raise BadRequest(f"Invalid tag: {tag[:64]!r}", extra={"type": "InvalidInput"}) from None


@router.get("/v2.0/{collection}/{resource_id}/tags/{tag}", status_code=204)
def has_tag(collection: Collection, resource_id: str, tag: str, request: Request,
            ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:get_tags")
    with _db(request).session() as session:
        if tag not in service.taggable(session, ctx, collection, resource_id).tags:
            raise NotFound(f"Tag {tag} could not be found.", extra={"type": "TagNotFound"})
    return Response(status_code=204)


@router.put("/v2.0/{collection}/{resource_id}/tags/{tag}", status_code=201)
def add_tag(collection: Collection, resource_id: str, tag: str, request: Request,
            ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:update_tags")
    with _db(request).session() as session:
        row = service.taggable(session, ctx, collection, resource_id)
        service.set_tags(row, [*row.tags, _valid_tag(tag)])
    return Response(status_code=201)


@router.delete("/v2.0/{collection}/{resource_id}/tags/{tag}", status_code=204)
def remove_tag(collection: Collection, resource_id: str, tag: str, request: Request,
               ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:update_tags")
    with _db(request).session() as session:
        row = service.taggable(session, ctx, collection, resource_id)
        if tag not in row.tags:
            raise NotFound(f"Tag {tag} could not be found.", extra={"type": "TagNotFound"})
        service.set_tags(row, [t for t in row.tags if t != tag])
    return Response(status_code=204)


def build_network_app(settings: Settings, db: Database) -> FastAPI:
    app = service_app("network")
    app.state.settings = settings
    app.state.db = db
    app.include_router(security_groups_api.router)
    app.include_router(l3_api.router)
    app.include_router(router)
    return app
