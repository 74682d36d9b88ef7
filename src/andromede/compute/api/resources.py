"""Discovery, flavors, keypairs, limits, availability zones, and the admin hypervisor/service views."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from andromede.common.clock import isotime, utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, NotFound
from andromede.compute import flavors, keypairs
from andromede.compute.api.common import db_of, next_link, settings_of, views_of
from andromede.compute.api.microversion import MAX_VERSION, MIN_VERSION, version_text
from andromede.compute.models import Flavor, Instance
from andromede.compute.schemas import (
    AbsoluteLimitsView,
    ExtraSpecs,
    FlavorAccessView,
    FlavorAction,
    FlavorCreateRequest,
    KeypairCreateRequest,
    LimitsView,
)
from andromede.compute.servers import QUOTA_DEFAULTS
from andromede.compute.views import instance_name
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
        page, limit = _page(request, rows)
        result: dict = {"flavors": [views.flavor(row, detail=detail) for row in page]}
    if page and len(page) == limit:
        path = "flavors/detail" if detail else "flavors"
        result["flavors_links"] = next_link(f"{views.v21}/{path}", dict(request.query_params), page[-1].id)
    return result


def _page(request: Request, rows: list[Flavor]) -> tuple[list[Flavor], int]:
    """Nova's limit (at most MAX_PAGE) and marker (the last flavor id of the previous page)."""
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
        ids = [row.id for row in rows]
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
    with db_of(request).session() as session:
        return {"flavor": views_of(request).flavor(flavors.create(session, body.flavor))}


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
    with db_of(request).session() as session:
        rows = keypairs.list_keypairs(session, _keypair_owner(request, ctx))
        return {"keypairs": [{"keypair": views_of(request).keypair_summary(r)} for r in rows]}


@router.post("/v2.1/os-keypairs")
def create_keypair(body: KeypairCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:keypairs")
    with db_of(request).session() as session:
        row, private_key = keypairs.create(session, ctx.user_id or "", body.keypair.name, body.keypair.public_key)
        return {"keypair": views_of(request).keypair_created(row, private_key)}


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
    return Response(status_code=202)


# ---- limits, zones, hypervisors, services ------------------------------------------------------

@router.get("/v2.1/limits")
def limits(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:limits")
    with db_of(request).session() as session:
        count, cores, ram = session.execute(
            select(func.count(), func.coalesce(func.sum(Instance.flavor["vcpus"].as_integer()), 0),
                   func.coalesce(func.sum(Instance.flavor["ram"].as_integer()), 0))
            .where(Instance.project_id == ctx.project_id, Instance.deleted.is_(False))).one()
    absolute = AbsoluteLimitsView(maxTotalInstances=QUOTA_DEFAULTS["instances"], maxTotalCores=QUOTA_DEFAULTS["cores"],
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
    rows = _hosts_with_counts(request)
    return {"hypervisors": [views_of(request).hypervisor(h, i + 1, n, detail=detail) for i, (h, n) in enumerate(rows)]}


@router.get("/v2.1/os-hypervisors/statistics")
def hypervisor_statistics(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    """Nova's sums over every hypervisor (deprecated upstream at 2.88, still used by dashboards)."""
    enforce(ctx, "compute:hypervisors")
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
    found = [(i + 1, h, n) for i, (h, n) in enumerate(_hosts_with_counts(request)) if pattern in h.name]
    if not found:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


@router.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
def hypervisor_uptime(hypervisor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    """Nova's uptime of one hypervisor: the host's uptime(1) line, as its agent last reported it."""
    enforce(ctx, "compute:hypervisors")
    rows = _hosts_with_counts(request)
    index = int(hypervisor_id) if hypervisor_id.isdigit() else 0
    if not 1 <= index <= len(rows):
        raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    host, running = rows[index - 1]
    doc = views_of(request).hypervisor(host, index, running, detail=False)
    return {"hypervisor": {**doc, "uptime": host.uptime}}


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
    for index, (host, running) in enumerate(_hosts_with_counts(request)):
        if str(index + 1) == hypervisor_id:
            return {"hypervisor": views_of(request).hypervisor(host, index + 1, running, detail=True)}
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
    docs = [{"id": index + 1, "binary": "nova-compute", "host": host.name, "zone": host.availability_zone,
             "status": "enabled" if host.enabled else "disabled",
             "state": "up" if is_alive(host.last_seen, now) else "down",
             "updated_at": isotime(host.last_seen), "disabled_reason": None}
            for index, (host, _count) in enumerate(_hosts_with_counts(request))]
    return JSONResponse({"services": docs})


__all__ = ["Flavor", "router", "settings_of"]
