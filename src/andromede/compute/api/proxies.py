"""Nova's proxy APIs, which clients still call at microversion 2.1 and Nova retired at 2.36: /os-security-groups,
/os-security-group-rules and /os-floating-ips answered from the network service, /images from the image service,
each through that service's API for compute and in Nova's shapes and words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field, StrictInt, StrictStr, StringConstraints, ValidationError

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, NotFound
from andromede.compute.api.common import db_of, settings_of, views_of
from andromede.compute.api.microversion import version_of
from andromede.compute.schemas import Lenient, Strict
from andromede.image import for_compute as images
from andromede.network import for_compute as network
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2.1")
RETIRED = (2, 36)
Text255 = Annotated[StrictStr, StringConstraints(max_length=255)]
Port = Annotated[StrictInt, Field(ge=-1, le=65535)] | Annotated[StrictStr, StringConstraints(pattern=r"^-?\d+$")]


class SecurityGroupBody(Strict):
    name: Text255
    description: Text255


class SecurityGroupRequest(Strict):
    security_group: SecurityGroupBody


class SecurityGroupRuleBody(Lenient):
    parent_group_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=36)]
    ip_protocol: Annotated[StrictStr, StringConstraints(max_length=16)] | None = None
    from_port: Port | None = None
    to_port: Port | None = None
    cidr: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None
    group_id: Annotated[StrictStr, StringConstraints(max_length=36)] | None = None


class SecurityGroupRuleRequest(Strict):
    security_group_rule: SecurityGroupRuleBody


def _served(request: Request) -> None:
    if version_of(request) >= RETIRED:
        raise NotFound("The resource could not be found.")


def _rule_doc(rule: network.NovaSecurityGroupRule) -> dict:
    return {"id": rule.id, "parent_group_id": rule.parent_group_id, "ip_protocol": rule.ip_protocol,
            "from_port": rule.from_port, "to_port": rule.to_port,
            "group": {"name": rule.group[0], "tenant_id": rule.group[1]} if rule.group else {},
            "ip_range": {"cidr": rule.cidr} if rule.cidr is not None else {}}


def _group_doc(group: network.NovaSecurityGroup) -> dict:
    return {"id": group.id, "name": group.name, "description": group.description, "tenant_id": group.tenant_id,
            "rules": [_rule_doc(rule) for rule in group.rules]}


# ---- security groups ---------------------------------------------------------------------------

@router.get("/os-security-groups")
def list_security_groups(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-security-groups:list")
    _served(request)
    all_tenants = request.query_params.get("all_tenants", "0").lower() not in ("0", "false", "no", "off")
    with db_of(request).session() as session:
        return {"security_groups": [_group_doc(g) for g in network.nova_security_groups(session, ctx, all_tenants)]}


@router.post("/os-security-groups")
def create_security_group(body: SecurityGroupRequest, request: Request,
                          ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-security-groups:create")
    _served(request)
    with db_of(request).session() as session:
        try:
            group = network.create_nova_security_group(session, ctx, body.security_group.name,
                                                       body.security_group.description)
        except ValidationError as exc:  # what Neutron refuses in a name or description (control characters...)
            field = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else "name"
            raise BadRequest(f"Invalid input for field/attribute {field}.") from None
        return {"security_group": _group_doc(group)}


@router.get("/os-security-groups/{group_id}")
def show_security_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-security-groups:show")
    _served(request)
    with db_of(request).session() as session:
        return {"security_group": _group_doc(network.nova_security_group(session, ctx, group_id))}


@router.delete("/os-security-groups/{group_id}", status_code=202)
def delete_security_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:os-security-groups:delete")
    _served(request)
    with db_of(request).session() as session:
        network.delete_nova_security_group(session, ctx, group_id)
    return Response(status_code=202)


@router.post("/os-security-group-rules")
def create_security_group_rule(body: SecurityGroupRuleRequest, request: Request,
                               ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-security-group-rules:create")
    _served(request)
    rule = body.security_group_rule
    with db_of(request).session() as session:
        created = network.create_nova_security_group_rule(
            session, ctx, rule.parent_group_id, rule.ip_protocol,
            int(rule.from_port) if rule.from_port is not None else None,
            int(rule.to_port) if rule.to_port is not None else None, rule.cidr, rule.group_id)
        return {"security_group_rule": _rule_doc(created)}


@router.delete("/os-security-group-rules/{rule_id}", status_code=202)
def delete_security_group_rule(rule_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:os-security-group-rules:delete")
    _served(request)
    with db_of(request).session() as session:
        network.delete_nova_security_group_rule(session, ctx, rule_id)
    return Response(status_code=202)


# ---- floating IPs ------------------------------------------------------------------------------

def _fip_doc(fip: network.NovaFloatingIp) -> dict:
    return {"id": fip.id, "ip": fip.ip, "fixed_ip": fip.fixed_ip, "instance_id": fip.instance_id, "pool": fip.pool}


@router.get("/os-floating-ips")
def list_floating_ips(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-floating-ips:list")
    _served(request)
    with db_of(request).session() as session:
        return {"floating_ips": [_fip_doc(fip) for fip in network.nova_floating_ips(session, ctx)]}


@router.get("/os-floating-ips/{fip_id}")
def show_floating_ip(fip_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:os-floating-ips:show")
    _served(request)
    with db_of(request).session() as session:
        return {"floating_ip": _fip_doc(network.nova_floating_ip(session, ctx, fip_id))}


# ---- images ------------------------------------------------------------------------------------

_STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "importing": "SAVING",
           "uploading": "SAVING", "killed": "DELETED", "deleted": "DELETED", "pending_delete": "DELETED",
           "deactivated": "ERROR"}
_PROGRESS = {"ACTIVE": 100, "SAVING": 25}


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _image_links(request: Request, image_id: str) -> list[Mapping[str, object]]:
    glance = settings_of(request).base_url + "/image"
    return [*views_of(request).links("images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image", "href": f"{glance}/images/{image_id}"}]


def _image_doc(request: Request, image: images.ListedImage, detail: bool) -> dict:
    if not detail:
        return {"id": image.id, "name": image.name, "links": _image_links(request, image.id)}
    status = _STATUS.get(image.status, "UNKNOWN")
    return {"id": image.id, "name": image.name, "minRam": image.min_ram, "minDisk": image.min_disk,
            "metadata": {k: v if isinstance(v, str) else str(v) for k, v in image.properties.items()},
            "created": _time(image.created_at), "updated": _time(image.updated_at), "status": status,
            "progress": _PROGRESS.get(status, 0), "OS-EXT-IMG-SIZE:size": image.size,
            "links": _image_links(request, image.id)}


@router.get("/images")
@router.get("/images/detail")
def list_images(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:images:list")
    _served(request)
    detail = request.url.path.endswith("/detail")
    with db_of(request).session() as session:
        return {"images": [_image_doc(request, image, detail) for image in images.listed_images(session, ctx)]}


@router.get("/images/{image_id}")
def show_image(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:images:show")
    _served(request)
    with db_of(request).session() as session:
        try:
            image = images.listed_image(session, ctx, image_id)
        except NotFound:
            raise NotFound("Image not found.") from None
        return {"image": _image_doc(request, image, detail=True)}
