"""Discovery, flavors, keypairs, limits, availability zones, and the admin hypervisor/service views."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.common.clock import isotime, utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, Forbidden, NotFound
from andromede.common.ids import is_uuid
from andromede.compute import flavors, keypairs
from andromede.compute.api.common import db_of, next_link, settings_of, views_of
from andromede.compute.api.microversion import MAX_VERSION, MIN_VERSION, version_of, version_text
from andromede.compute.models import Flavor, Instance
from andromede.compute.schemas import (
    AbsoluteLimits236View,
    AbsoluteLimits257View,
    AbsoluteLimitsView,
    ExtraSpecs,
    FlavorAccessView,
    FlavorAction,
    FlavorCreateRequest,
    FlavorUpdateRequest,
    KeypairCreateRequest,
    LimitsView,
)
from andromede.compute.servers import QUOTA_DEFAULTS
from andromede.compute.views import hypervisor_id as hypervisor_uuid
from andromede.compute.views import instance_name, service_id
from andromede.hosts import service as hosts
from andromede.hosts.liveness import is_alive
from andromede.hosts.service import HostView
from andromede.policy import enforce, mark_public
from andromede.servicekit.deps import context

router = APIRouter()
MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]


def _v20(base: str) -> dict:
    return {"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "", "updated": "2025-07-04T12:00:00Z",
            "links": [{"rel": "self", "href": f"{base}/v2/"}]}


def _v21(base: str) -> dict:
    return {"id": "v2.1", "status": "CURRENT", "version": version_text(MAX_VERSION),
            "min_version": version_text(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/v2.1/"}]}


@router.get("/")
def versions(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    base = views_of(request).base
    return {"versions": [_v20(base), _v21(base)]}


@router.get("/v2")
@router.get("/v2/")
def version_20(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    return {"version": {**_v20(views_of(request).base), "media-types": MEDIA}}


@router.get("/v2.1")
@router.get("/v2.1/")
def version_21(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    return {"version": {**_v21(views_of(request).base), "media-types": MEDIA}}


# ---- flavors -----------------------------------------------------------------------------------

MAX_PAGE = 1000  # Nova's osapi_max_limit


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise BadRequest(f"Invalid {name} filter [{value}]") from exc
    if not 0 <= number < 2**31:  # flavor sizes are 32-bit in Nova's schema; past 64 bits the database fails
        raise BadRequest(f"Invalid {name} filter [{value}]")
    return number


@router.get("/v2.1/flavors")
@router.get("/v2.1/flavors/detail")
def list_flavors(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:list")
    detail = request.url.path.endswith("/detail")
    views = views_of(request)
    with db_of(request).session() as session:
        rows = flavors.list_flavors(session, ctx, is_public=request.query_params.get("is_public"),
                                    min_ram=_int_param(request, "minRam"), min_disk=_int_param(request, "minDisk"))
        page, limit = _page(request, rows, lambda flavor: flavor.id)
        result: dict = {"flavors": [views.flavor(row, detail=detail) for row in page]}
    if page and len(page) == limit:
        path = "flavors/detail" if detail else "flavors"
        result["flavors_links"] = next_link(f"{views.v21}/{path}", dict(request.query_params), page[-1].id)
    return result


Row = TypeVar("Row")


def _page(request: Request, rows: list[Row], key: Callable[[Row], str]) -> tuple[list[Row], int]:
    """Nova's limit (at most MAX_PAGE) and marker (the key of the last row of the previous page: a flavor's id,
    a keypair's name)."""
    marker, limit = request.query_params.get("marker"), MAX_PAGE
    if "limit" in request.query_params:
        try:
            limit = int(request.query_params["limit"])
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
        limit = min(limit, MAX_PAGE)
    if marker is not None:
        ids = [key(row) for row in rows]
        if marker not in ids:
            raise BadRequest(f"Marker {marker} could not be found.")
        rows = rows[ids.index(marker) + 1:]
    return rows[:limit], limit


@router.get("/v2.1/flavors/{flavor_id}")
def get_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:show")
    with db_of(request).session() as session:
        return {"flavor": views_of(request).flavor(flavors.get(session, ctx, flavor_id))}


@router.post("/v2.1/flavors")
def create_flavor(body: FlavorCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:create")
    if "description" in body.flavor.model_fields_set and version_of(request) < (2, 55):
        raise BadRequest("Invalid input for field/attribute flavor. Additional properties are not allowed "
                         "('description' was unexpected)")
    with db_of(request).session() as session:
        return {"flavor": views_of(request).flavor(flavors.create(session, body.flavor))}


@router.put("/v2.1/flavors/{flavor_id}")
def update_flavor(flavor_id: str, body: FlavorUpdateRequest, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    """2.55: a flavor's description is the one thing that changes after it is made."""
    enforce(ctx, "compute:flavors:update")
    if version_of(request) < (2, 55):
        raise NotFound("The resource could not be found.")
    with db_of(request).session() as session:
        flavor = flavors.get(session, ctx, flavor_id)
        flavor.description = body.flavor.description
        return {"flavor": views_of(request).flavor(flavor)}


@router.delete("/v2.1/flavors/{flavor_id}", status_code=202)
def delete_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:flavors:delete")
    with db_of(request).session() as session:
        flavors.delete_flavor(session, flavor_id)
    return Response(status_code=202)


@router.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
def get_extra_specs(flavor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:show")
    with db_of(request).session() as session:
        return {"extra_specs": dict(flavors.get(session, ctx, flavor_id).extra_specs)}


@router.post("/v2.1/flavors/{flavor_id}/os-extra_specs")
def set_extra_specs(flavor_id: str, body: ExtraSpecs, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:update")
    with db_of(request).session() as session:
        flavor = flavors.get(session, ctx, flavor_id)
        flavor.extra_specs = {**flavor.extra_specs, **body.extra_specs}
        return {"extra_specs": dict(flavor.extra_specs)}


@router.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def get_extra_spec(flavor_id: str, key: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:show")
    with db_of(request).session() as session:
        specs = flavors.get(session, ctx, flavor_id).extra_specs
        if key not in specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        return {key: specs[key]}


@router.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", status_code=200)
def delete_extra_spec(flavor_id: str, key: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:flavors:update")
    with db_of(request).session() as session:
        flavor = flavors.get(session, ctx, flavor_id)
        if key not in flavor.extra_specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        flavor.extra_specs = {k: v for k, v in flavor.extra_specs.items() if k != key}
    return Response(status_code=200)


@router.get("/v2.1/flavors/{flavor_id}/os-flavor-access")
def flavor_access(flavor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:access")
    with db_of(request).session() as session:
        rows = flavors.access(session, flavor_id)
        return {"flavor_access": [FlavorAccessView(flavor_id=r.flavor_id, tenant_id=r.project_id) for r in rows]}


@router.post("/v2.1/flavors/{flavor_id}/action")
def flavor_action(flavor_id: str, body: FlavorAction, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:flavors:access")
    with db_of(request).session() as session:
        if body.add is not None:
            if version_of(request) >= (2, 7) and flavors.get(session, ctx, flavor_id).is_public:
                raise Conflict("Can not add access to a public flavor.")
            flavors.add_access(session, flavor_id, body.add.tenant)
        elif body.remove is not None:
            flavors.remove_access(session, flavor_id, body.remove.tenant)
        else:
            raise BadRequest("Expected addTenantAccess or removeTenantAccess.")
        session.flush()
        rows = flavors.access(session, flavor_id)
        return {"flavor_access": [FlavorAccessView(flavor_id=r.flavor_id, tenant_id=r.project_id) for r in rows]}


# ---- keypairs ----------------------------------------------------------------------------------

def _keypair_owner(request: Request, ctx: RequestContext) -> str:
    user_id = request.query_params.get("user_id")
    if user_id and user_id != ctx.user_id:
        if not ctx.is_admin:
            raise NotFound(f"Keypairs of user {user_id} could not be found.")
        return user_id
    return ctx.user_id or ""


@router.get("/v2.1/os-keypairs")
def list_keypairs(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:keypairs")
    views = views_of(request)
    with db_of(request).session() as session:
        rows = keypairs.list_keypairs(session, _keypair_owner(request, ctx))
        if views.version >= (2, 35):  # pages: limit, and the last name of the previous page as marker
            rows, limit = _page(request, rows, lambda keypair: keypair.name)
        result: dict = {"keypairs": [{"keypair": views.keypair_summary(r)} for r in rows]}
    if views.version >= (2, 35) and rows and len(rows) == limit:
        result["keypairs_links"] = next_link(f"{views.v21}/os-keypairs", dict(request.query_params), rows[-1].name)
    return result


@router.post("/v2.1/os-keypairs")
def create_keypair(body: KeypairCreateRequest, request: Request, response: Response,
                   ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:keypairs")
    version, given = version_of(request), body.keypair.model_fields_set
    for field, since in (("type", (2, 2)), ("user_id", (2, 10))):
        if field in given and version < since:
            raise BadRequest(f"Invalid input for field/attribute keypair. Additional properties are not allowed "
                             f"('{field}' was unexpected)")
    owner = ctx.user_id or ""
    if body.keypair.user_id and body.keypair.user_id != owner:  # 2.10: an admin makes a pair for another user
        if not ctx.is_admin:
            raise Forbidden("Policy doesn't allow os_compute_api:os-keypairs:create to be performed.")
        owner = body.keypair.user_id
    with db_of(request).session() as session:
        row, private_key = keypairs.create(session, owner, body.keypair.name, body.keypair.public_key,
                                           body.keypair.type)
        doc = views_of(request).keypair_created(row, private_key)
    if version >= (2, 2):  # 201 Created, where 2.1 answered 200
        response.status_code = 201
    return {"keypair": doc}


@router.get("/v2.1/os-keypairs/{name}")
def get_keypair(name: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:keypairs")
    with db_of(request).session() as session:
        return {"keypair": views_of(request).keypair(keypairs.get(session, _keypair_owner(request, ctx), name))}


@router.delete("/v2.1/os-keypairs/{name}", status_code=202)
def delete_keypair(name: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:keypairs")
    with db_of(request).session() as session:
        keypairs.delete(session, _keypair_owner(request, ctx), name)
    return Response(status_code=204 if version_of(request) >= (2, 2) else 202)  # 2.2: 204, as a delete answers


# ---- limits, zones, hypervisors, services ------------------------------------------------------

@router.get("/v2.1/limits")
def limits(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:limits")
    with db_of(request).session() as session:
        count, cores, ram = session.execute(
            select(func.count(), func.coalesce(func.sum(Instance.flavor["vcpus"].as_integer()), 0),
                   func.coalesce(func.sum(Instance.flavor["ram"].as_integer()), 0))
            .where(Instance.project_id == ctx.project_id, Instance.deleted.is_(False))).one()
    version = version_of(request)
    shape = AbsoluteLimitsView if version < (2, 36) else AbsoluteLimits236View if version < (2, 57) \
        else AbsoluteLimits257View
    absolute = shape(maxTotalInstances=QUOTA_DEFAULTS["instances"], maxTotalCores=QUOTA_DEFAULTS["cores"],
                                  maxTotalRAMSize=QUOTA_DEFAULTS["ram"], totalInstancesUsed=count,
                                  totalCoresUsed=int(cores), totalRAMUsed=int(ram))
    return {"limits": LimitsView(absolute=absolute)}


@router.get("/v2.1/os-availability-zone")
@router.get("/v2.1/os-availability-zone/detail")
def availability_zones(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    detail = request.url.path.endswith("/detail")
    enforce(ctx, "compute:availability_zones:detail" if detail else "compute:availability_zones")
    with db_of(request).session() as session:
        listed = hosts.listed(session)
    zones: dict[str, list[HostView]] = {}
    for host in listed:
        zones.setdefault(host.availability_zone, []).append(host)
    info = []
    for zone, members in sorted(zones.items()):
        entry: dict = {"zoneName": zone, "zoneState": {"available": any(h.enabled for h in members)},
                       "hosts": None}
        if detail:
            entry["hosts"] = {h.name: {"nova-compute": {"available": True, "active": h.enabled,
                                                        "updated_at": isotime(h.last_seen)}} for h in members}
        info.append(entry)
    return {"availabilityZoneInfo": info}


def _hosts_with_counts(request: Request) -> list[tuple[HostView, int]]:
    with db_of(request).session() as session:
        counts = dict(session.execute(select(Instance.host, func.count()).where(Instance.deleted.is_(False))
                                      .group_by(Instance.host)).all())
        return [(h, counts.get(h.name, 0)) for h in hosts.listed(session, order="created_at")]


@router.get("/v2.1/os-hypervisors")
@router.get("/v2.1/os-hypervisors/detail")
def hypervisors(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:hypervisors")
    detail = request.url.path.endswith("/detail")
    views = views_of(request)
    found = [(i + 1, h, n) for i, (h, n) in enumerate(_hosts_with_counts(request))]
    if views.version < (2, 53):
        return {"hypervisors": [views.hypervisor(h, i, n, detail=detail) for i, h, n in found]}
    # 2.53: the search and servers routes become query parameters; 2.33: pages (marker is a hypervisor id).
    pattern = request.query_params.get("hypervisor_hostname_pattern")
    if pattern is not None:
        found = [entry for entry in found if pattern in entry[1].name]
        if not found:
            raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    with_servers = request.query_params.get("with_servers", "false").lower() in ("1", "true", "yes", "on")
    marker = request.query_params.get("marker")
    if marker is not None:
        ids = [hypervisor_uuid(h.name) for _, h, _ in found]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        found = found[ids.index(marker) + 1:]
    limit = _int_param(request, "limit")
    page = found if limit is None else found[:limit]
    docs = []
    with db_of(request).session() as session:
        for index, host, running in page:
            doc = views.hypervisor(host, index, running, detail=detail)
            if with_servers:  # 2.75: the key even when no server runs there
                doc["servers"] = _servers_on(session, host.name)
            docs.append(doc)
    result: dict = {"hypervisors": docs}
    if limit is not None and page and len(page) == limit:
        path = "os-hypervisors/detail" if detail else "os-hypervisors"
        result["hypervisors_links"] = next_link(f"{views.v21}/{path}", dict(request.query_params),
                                                hypervisor_uuid(page[-1][1].name))
    return result


def _servers_on(session: Session, host: str) -> list[dict]:
    uuids = session.scalars(select(Instance.uuid).where(Instance.deleted.is_(False), Instance.host == host)
                            .order_by(Instance.created_at, Instance.uuid)).all()
    return [{"name": instance_name(uuid), "uuid": uuid} for uuid in uuids]


@router.get("/v2.1/os-hypervisors/statistics")
def hypervisor_statistics(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    """Nova's sums over every hypervisor (deprecated upstream at 2.88, still used by dashboards)."""
    enforce(ctx, "compute:hypervisors")
    if version_of(request) >= (2, 88):
        raise NotFound("The resource could not be found.")
    rows = _hosts_with_counts(request)
    free_disk = sum(h.disk_gib - h.used_disk_gib for h, _ in rows)
    return {"hypervisor_statistics": {
        "count": len(rows), "vcpus": sum(h.vcpus for h, _ in rows), "memory_mb": sum(h.memory_mib for h, _ in rows),
        "local_gb": sum(h.disk_gib for h, _ in rows), "vcpus_used": sum(h.used_vcpus for h, _ in rows),
        "memory_mb_used": sum(h.used_memory_mib for h, _ in rows),
        "local_gb_used": sum(h.used_disk_gib for h, _ in rows),
        "free_ram_mb": sum(h.memory_mib - h.used_memory_mib for h, _ in rows), "free_disk_gb": free_disk,
        "current_workload": 0, "running_vms": sum(n for _, n in rows), "disk_available_least": free_disk}}


def _matching(request: Request, pattern: str) -> list[tuple[int, HostView, int]]:
    if version_of(request) >= (2, 53):  # replaced by hypervisor_hostname_pattern and with_servers
        raise NotFound("The resource could not be found.")
    found = [(i + 1, h, n) for i, (h, n) in enumerate(_hosts_with_counts(request)) if pattern in h.name]
    if not found:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


@router.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
def hypervisor_uptime(hypervisor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    """Nova's uptime of one hypervisor: the host's uptime(1) line, as its agent last reported it (by uuid from
    2.53; from 2.88 the hypervisor's own document carries it and this route is gone)."""
    enforce(ctx, "compute:hypervisors")
    views = views_of(request)
    if views.version >= (2, 88):
        raise NotFound("The resource could not be found.")
    by_uuid = views.version >= (2, 53)
    if by_uuid and not is_uuid(hypervisor_id):
        raise BadRequest(f"Invalid uuid {hypervisor_id}")
    for index, (host, running) in enumerate(_hosts_with_counts(request)):
        if (hypervisor_uuid(host.name) if by_uuid else str(index + 1)) == hypervisor_id:
            doc = views.hypervisor(host, index + 1, running, detail=False)
            return {"hypervisor": {**doc, "uptime": host.uptime}}
    raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


@router.get("/v2.1/os-hypervisors/{pattern}/search")
def search_hypervisors(pattern: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:hypervisors")
    views = views_of(request)
    return {"hypervisors": [views.hypervisor(h, i, n, detail=False) for i, h, n in _matching(request, pattern)]}


@router.get("/v2.1/os-hypervisors/{pattern}/servers")
def hypervisor_servers(pattern: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    """The servers on each matching hypervisor, by instance name and id (the key is left out where none runs)."""
    enforce(ctx, "compute:hypervisors")
    views, docs = views_of(request), []
    matching = _matching(request, pattern)
    with db_of(request).session() as session:
        for index, host, running in matching:
            doc = views.hypervisor(host, index, running, detail=False)
            uuids = session.scalars(select(Instance.uuid).where(Instance.deleted.is_(False), Instance.host == host.name)
                                    .order_by(Instance.created_at, Instance.uuid)).all()
            if uuids:
                doc["servers"] = [{"name": instance_name(uuid), "uuid": uuid} for uuid in uuids]
            docs.append(doc)
    return {"hypervisors": docs}


@router.get("/v2.1/os-hypervisors/{hypervisor_id}")
def hypervisor(hypervisor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:hypervisors")
    views = views_of(request)
    by_uuid = views.version >= (2, 53)
    if by_uuid and not is_uuid(hypervisor_id):
        raise BadRequest(f"Invalid uuid {hypervisor_id}")
    for index, (host, running) in enumerate(_hosts_with_counts(request)):
        if (hypervisor_uuid(host.name) if by_uuid else str(index + 1)) == hypervisor_id:
            doc = views.hypervisor(host, index + 1, running, detail=True)
            if by_uuid and request.query_params.get("with_servers", "").lower() in ("1", "true", "yes", "on"):
                with db_of(request).session() as session:
                    doc["servers"] = _servers_on(session, host.name)
            return {"hypervisor": doc}
    raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


@router.get("/v2.1/os-aggregates")
def aggregates(ctx: RequestContext = Depends(context)) -> dict:
    """Host aggregates are not served: each host carries its zone itself. The empty list is what
    `openstack hypervisor show` and `aggregate list` read."""
    enforce(ctx, "compute:aggregates")
    return {"aggregates": []}


@router.get("/v2.1/os-services")
def services(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    enforce(ctx, "compute:services")
    now = utcnow()
    version = version_of(request)
    docs = [{"id": service_id(host.name) if version >= (2, 53) else index + 1, "binary": "nova-compute",
             "host": host.name, "zone": host.availability_zone,
             "status": "enabled" if host.enabled else "disabled",
             "state": "up" if is_alive(host.last_seen, now) else "down",
             "updated_at": isotime(host.last_seen), "disabled_reason": None}
            for index, (host, _count) in enumerate(_hosts_with_counts(request))]
    if version >= (2, 11):  # 2.11: whether an operator forced the service down (never, here)
        for doc in docs:
            doc["forced_down"] = False
    return JSONResponse({"services": docs})


__all__ = ["Flavor", "router", "settings_of"]
