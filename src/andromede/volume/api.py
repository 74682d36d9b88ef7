"""Cinder v3 routes (mounted at /volume): version discovery, volumes, types, availability zones, quotas, limits.
Project routes carry the project id in the path (`/v3/{project_id}/...`), as Cinder's catalog URL does."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from andromede.common.clock import isotime
from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.db.engine import Database
from andromede.kms.component import KeyManager
from andromede.policy import enforce, mark_public
from andromede.servicekit import json_body
from andromede.servicekit.deps import context, raw_body
from andromede.servicekit.microversions import Microversions
from andromede.servicekit.service_app import service_app
from andromede.volume import actions, attachments, schemas, service, snapshots, transfers, types
from andromede.volume.microversion import MAX_VERSION, MIN_VERSION, VERSIONS, text
from andromede.volume.models import Volume, VolumeSnapshot, VolumeTransfer, VolumeType

router = APIRouter()
_NO_PROJECT = "-"  # what a project-less URL (Cinder 3.67, what the SDK uses with a system token) stands for
_COLLECTIONS = ("volumes", "types", "limits", "os-quota-sets", "os-availability-zone", "os-volume-transfer",
                "snapshots")


def _db(request: Request) -> AbstractContextManager[Session]:
    db: Database = request.app.state.db
    return db.session()


def _base(request: Request) -> str:
    return f"{request.app.state.base_url}/volume"


def _project(ctx: RequestContext, project_id: str) -> str:
    """The path's project must be the token's (a cloud admin may name any): another is a 404, never a 403."""
    if project_id == _NO_PROJECT:
        return ctx.project_id or _NO_PROJECT
    if project_id != ctx.project_id and not ctx.is_admin:
        raise NotFound("The resource could not be found.")
    return project_id


def _version_doc(request: Request) -> dict:
    return {"id": "v3.0", "status": "CURRENT", "version": text(MAX_VERSION), "min_version": text(MIN_VERSION),
            "updated": "2023-09-20T00:00:00Z",
            "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": f"{_base(request)}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


@router.get("/")
def versions(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    mark_public(ctx)
    return JSONResponse({"versions": [_version_doc(request)]}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
@router.get("/v3/{project_id}")
@router.get("/v3/{project_id}/")
def version(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    return {"versions": [_version_doc(request)]}


# ---- volumes ---------------------------------------------------------------------------------------------------

def _links(request: Request, project_id: str, kind: str, item_id: str) -> list[dict]:
    return [{"rel": "self", "href": f"{_base(request)}/v3/{project_id}/{kind}/{item_id}"},
            {"rel": "bookmark", "href": f"{_base(request)}/{project_id}/{kind}/{item_id}"}]


def _volume_view(request: Request, ctx: RequestContext, volume: Volume, vtype: VolumeType | None) -> dict:
    view: dict[str, Any] = {
        "id": volume.id, "name": volume.name, "description": volume.description, "size": volume.size,
        "status": volume.status, "availability_zone": volume.availability_zone,
        "created_at": isotime(volume.created_at), "updated_at": isotime(volume.updated_at),
        "attachments": attachments.cinder_view(volume),
        "volume_type": vtype.name if vtype else None, "snapshot_id": volume.source_snapshot_id,
        "source_volid": volume.source_volume_id if not volume.source_snapshot_id else None,
        "metadata": volume.metadata_, "user_id": volume.user_id, "bootable": "true" if volume.image_id else "false",
        "encrypted": volume.encryption_key_id is not None, "replication_status": None, "consistencygroup_id": None,
        "multiattach": False, "migration_status": None, "os-vol-tenant-attr:tenant_id": volume.project_id,
        "links": _links(request, volume.project_id, "volumes", volume.id)}
    if ctx.is_admin:
        view["os-vol-host-attr:host"] = volume.host
    return view


def _types(session: Session) -> dict[str, VolumeType]:
    return {row.id: row for row in session.scalars(select(VolumeType))}


def _filtered(request: Request, ctx: RequestContext, session: Session, project_id: str) -> list[Volume]:
    params = request.query_params
    query = select(Volume)
    if not (ctx.is_admin and params.get("all_tenants", "0").lower() in ("1", "true")):
        query = query.where(Volume.project_id == project_id)
    if params.get("name") is not None:
        query = query.where(Volume.name == params["name"])
    if params.get("status") is not None:
        query = query.where(Volume.status == params["status"])
    rows = list(session.scalars(query))
    if params.get("metadata"):
        wanted = schemas.metadata_filter(params["metadata"])
        rows = [v for v in rows if all(v.metadata_.get(k) == val for k, val in wanted.items())]
    key, reverse = schemas.sort(params.get("sort"), params.get("sort_key"), params.get("sort_dir"))
    rows.sort(key=lambda v: (getattr(v, key) is None, getattr(v, key) or "", v.id), reverse=reverse)
    marker = params.get("marker")
    if marker:
        ids = [v.id for v in rows]
        if marker not in ids:
            raise NotFound(f"Marker {marker} could not be found.")
        rows = rows[ids.index(marker) + 1:]
    limit = schemas.limit(params.get("limit"))
    return rows if limit is None else rows[:limit]


@router.get("/v3/{project_id}/volumes")
def list_volumes(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get_all")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        rows = _filtered(request, ctx, session, project_id)
        return {"volumes": [{"id": v.id, "name": v.name, "links": _links(request, v.project_id, "volumes", v.id)}
                            for v in rows]}


@router.get("/v3/{project_id}/volumes/detail")
def list_volumes_detail(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get_all")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        types = _types(session)
        rows = _filtered(request, ctx, session, project_id)
        return {"volumes": [_volume_view(request, ctx, v, types.get(v.volume_type_id)) for v in rows]}


@router.post("/v3/{project_id}/volumes", status_code=202)
def create_volume(project_id: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "volume:create")
    project_id = _project(ctx, project_id)
    fields = schemas.volume_create(json_body.decode(body))
    with _db(request) as session:
        volume = service.create(session, request.app.state.km, ctx, fields)
        return {"volume": _volume_view(request, ctx, volume, session.get(VolumeType, volume.volume_type_id))}


@router.get("/v3/{project_id}/volumes/{volume_id}")
def show_volume(project_id: str, volume_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        volume = service.find(session, ctx, volume_id)
        return {"volume": _volume_view(request, ctx, volume, session.get(VolumeType, volume.volume_type_id))}


@router.put("/v3/{project_id}/volumes/{volume_id}")
def update_volume(project_id: str, volume_id: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "volume:update")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        volume = service.find(session, ctx, volume_id)
        service.update(volume, schemas.volume_update(json_body.decode(body)))
        session.flush()
        return {"volume": _volume_view(request, ctx, volume, session.get(VolumeType, volume.volume_type_id))}


@router.post("/v3/{project_id}/volumes/{volume_id}/metadata")
@router.put("/v3/{project_id}/volumes/{volume_id}/metadata")
def set_volume_metadata(project_id: str, volume_id: str, request: Request, ctx: RequestContext = Depends(context),
                        body: bytes = Depends(raw_body)) -> dict:
    """POST merges keys into the volume's metadata, PUT replaces it (Cinder's volume metadata API)."""
    enforce(ctx, "volume:update_volume_metadata")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        volume = service.find(session, ctx, volume_id)
        given = schemas.metadata_body(json_body.decode(body))
        merged = given if request.method == "PUT" else {**volume.metadata_, **given}
        service.update(volume, {"metadata": merged})
        return {"metadata": volume.metadata_}


@router.get("/v3/{project_id}/volumes/{volume_id}/metadata")
def get_volume_metadata(project_id: str, volume_id: str, request: Request,
                        ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        return {"metadata": service.find(session, ctx, volume_id).metadata_}


@router.delete("/v3/{project_id}/volumes/{volume_id}/metadata/{key}")
def delete_volume_metadata(project_id: str, volume_id: str, key: str, request: Request,
                           ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "volume:update_volume_metadata")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        volume = service.find(session, ctx, volume_id)
        if key not in volume.metadata_:
            raise NotFound(f"Metadata item was not found: {key}")
        service.update(volume, {"metadata": {k: v for k, v in volume.metadata_.items() if k != key}})
    return Response(status_code=200)


@router.post("/v3/{project_id}/volumes/{volume_id}/action", status_code=202)
def volume_action(project_id: str, volume_id: str, request: Request, body: bytes = Depends(raw_body),
                  ctx: RequestContext = Depends(context)) -> Response:
    """Cinder's volume actions; os-extend only for now."""
    enforce(ctx, "volume:extend")
    project_id = _project(ctx, project_id)
    argument = actions.parse(json_body.decode(body))
    with _db(request) as session:
        volume = service.find(session, ctx, volume_id)
        actions.extend(session, volume, actions.new_size(argument))
    return Response(status_code=202)


@router.delete("/v3/{project_id}/volumes/{volume_id}", status_code=202)
def delete_volume(project_id: str, volume_id: str, request: Request,
                  ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "volume:delete")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        service.delete(session, request.app.state.km, service.find(session, ctx, volume_id))
    return Response(status_code=202)


# ---- transfers ---------------------------------------------------------------------------------------------

_TRANSFERS = "os-volume-transfer"


def _transfer_view(request: Request, transfer: VolumeTransfer, *, detail: bool = True) -> dict:
    view: dict[str, Any] = {"id": transfer.id, "name": transfer.name, "volume_id": transfer.volume_id,
                            "links": _links(request, transfer.project_id, _TRANSFERS, transfer.id)}
    if detail:
        view["created_at"] = isotime(transfer.created_at)
    return view


@router.post(f"/v3/{{project_id}}/{_TRANSFERS}", status_code=202)
def create_transfer(project_id: str, request: Request, ctx: RequestContext = Depends(context),
                    body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "volume:create_transfer")
    project_id = _project(ctx, project_id)
    fields = schemas.transfer_create(json_body.decode(body))
    with _db(request) as session:
        transfer, auth_key = transfers.create(session, ctx, fields["volume_id"], fields.get("name"))
        return {"transfer": {**_transfer_view(request, transfer), "auth_key": auth_key}}


@router.get(f"/v3/{{project_id}}/{_TRANSFERS}")
@router.get(f"/v3/{{project_id}}/{_TRANSFERS}/detail")
def list_transfers(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get_all_transfers")
    project_id = _project(ctx, project_id)
    owner = ctx.project_id if project_id == _NO_PROJECT else project_id
    detail = request.url.path.endswith("/detail")
    with _db(request) as session:
        return {"transfers": [_transfer_view(request, t, detail=detail)
                              for t in transfers.listing(session, owner or "")]}


@router.get(f"/v3/{{project_id}}/{_TRANSFERS}/{{transfer_id}}")
def show_transfer(project_id: str, transfer_id: str, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get_transfer")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        return {"transfer": _transfer_view(request, transfers.find(session, ctx, transfer_id))}


@router.delete(f"/v3/{{project_id}}/{_TRANSFERS}/{{transfer_id}}", status_code=202)
def delete_transfer(project_id: str, transfer_id: str, request: Request,
                    ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "volume:delete_transfer")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        transfers.delete(session, transfers.find(session, ctx, transfer_id))
    return Response(status_code=202)


@router.post(f"/v3/{{project_id}}/{_TRANSFERS}/{{transfer_id}}/accept", status_code=202)
def accept_transfer(project_id: str, transfer_id: str, request: Request, ctx: RequestContext = Depends(context),
                    body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "volume:accept_transfer")
    project_id = _project(ctx, project_id)
    auth_key = schemas.transfer_accept(json_body.decode(body))
    with _db(request) as session:
        transfer = transfers.accept(session, request.app.state.km, ctx, transfer_id, auth_key)
        return {"transfer": _transfer_view(request, transfer, detail=False)}


# ---- snapshots ---------------------------------------------------------------------------------------------

_SNAPSHOT_SORT = {"created_at", "updated_at", "name", "id", "size", "status"}


def _snapshot_view(snapshot: VolumeSnapshot, *, detail: bool = True) -> dict:
    view: dict[str, Any] = {
        "id": snapshot.id, "created_at": isotime(snapshot.created_at), "updated_at": isotime(snapshot.updated_at),
        "name": snapshot.name, "description": snapshot.description, "volume_id": snapshot.volume_id,
        "status": snapshot.status, "size": snapshot.size, "metadata": snapshot.metadata_}
    if detail:
        view.update({"os-extended-snapshot-attributes:progress": "100%" if snapshot.status == "available" else "0%",
                     "os-extended-snapshot-attributes:project_id": snapshot.project_id,
                     "user_id": snapshot.user_id, "group_snapshot_id": None, "consumes_quota": True})
    return view


def _filtered_snapshots(request: Request, ctx: RequestContext, session: Session,
                        project_id: str) -> list[VolumeSnapshot]:
    params = request.query_params
    query = select(VolumeSnapshot)
    if not (ctx.is_admin and params.get("all_tenants", "0").lower() in ("1", "true")):
        query = query.where(VolumeSnapshot.project_id == project_id)
    for field in ("name", "status", "volume_id"):
        if params.get(field) is not None:
            query = query.where(getattr(VolumeSnapshot, field) == params[field])
    rows = list(session.scalars(query))
    key, reverse = schemas.sort(params.get("sort"), params.get("sort_key"), params.get("sort_dir"))
    rows.sort(key=lambda s: (getattr(s, key) is None, getattr(s, key) or "", s.id), reverse=reverse)
    marker = params.get("marker")
    if marker:
        ids = [s.id for s in rows]
        if marker not in ids:
            raise NotFound(f"Marker {marker} could not be found.")
        rows = rows[ids.index(marker) + 1:]
    limit = schemas.limit(params.get("limit"))
    return rows if limit is None else rows[:limit]


@router.post("/v3/{project_id}/snapshots", status_code=202)
def create_snapshot(project_id: str, request: Request, body: bytes = Depends(raw_body),
                    ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:create_snapshot")
    project_id = _project(ctx, project_id)
    fields = schemas.snapshot_create(json_body.decode(body))
    with _db(request) as session:
        return {"snapshot": _snapshot_view(snapshots.create(session, ctx, fields))}


@router.get("/v3/{project_id}/snapshots")
@router.get("/v3/{project_id}/snapshots/detail")
def list_snapshots(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get_all_snapshots")
    project_id = _project(ctx, project_id)
    detail = request.url.path.endswith("/detail")
    with _db(request) as session:
        rows = _filtered_snapshots(request, ctx, session, project_id)
        return {"snapshots": [_snapshot_view(s, detail=detail) for s in rows]}


@router.get("/v3/{project_id}/snapshots/{snapshot_id}")
def show_snapshot(project_id: str, snapshot_id: str, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get_snapshot")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        return {"snapshot": _snapshot_view(snapshots.find(session, ctx, snapshot_id))}


@router.put("/v3/{project_id}/snapshots/{snapshot_id}")
def update_snapshot(project_id: str, snapshot_id: str, request: Request, body: bytes = Depends(raw_body),
                    ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:update_snapshot")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        snapshot = snapshots.find(session, ctx, snapshot_id)
        snapshots.update(snapshot, schemas.snapshot_update(json_body.decode(body)))
        session.flush()
        return {"snapshot": _snapshot_view(snapshot)}


@router.delete("/v3/{project_id}/snapshots/{snapshot_id}", status_code=202)
def delete_snapshot(project_id: str, snapshot_id: str, request: Request,
                    ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "volume:delete_snapshot")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        snapshots.delete(session, snapshots.find(session, ctx, snapshot_id))
    return Response(status_code=202)


@router.get("/v3/{project_id}/snapshots/{snapshot_id}/metadata")
def get_snapshot_metadata(project_id: str, snapshot_id: str, request: Request,
                          ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:get_snapshot_metadata")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        return {"metadata": snapshots.find(session, ctx, snapshot_id).metadata_}


@router.post("/v3/{project_id}/snapshots/{snapshot_id}/metadata")
@router.put("/v3/{project_id}/snapshots/{snapshot_id}/metadata")
def set_snapshot_metadata(project_id: str, snapshot_id: str, request: Request, body: bytes = Depends(raw_body),
                          ctx: RequestContext = Depends(context)) -> dict:
    """POST merges keys into the snapshot's metadata, PUT replaces it (Cinder's snapshot metadata API)."""
    enforce(ctx, "volume:update_snapshot_metadata")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        snapshot = snapshots.find(session, ctx, snapshot_id)
        given = schemas.metadata_body(json_body.decode(body))
        merged = given if request.method == "PUT" else {**snapshot.metadata_, **given}
        snapshots.update(snapshot, {"metadata": merged})
        return {"metadata": snapshot.metadata_}


@router.delete("/v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}")
def delete_snapshot_metadata(project_id: str, snapshot_id: str, key: str, request: Request,
                             ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "volume:delete_snapshot_metadata")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        snapshot = snapshots.find(session, ctx, snapshot_id)
        if key not in snapshot.metadata_:
            raise NotFound(f"Metadata item was not found: {key}")
        snapshots.update(snapshot, {"metadata": {k: v for k, v in snapshot.metadata_.items() if k != key}})
    return Response(status_code=200)


# ---- types, zones, quotas, limits ------------------------------------------------------------------------------

@router.get("/v3/{project_id}/types")
def list_types(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume_extension:types_manage:get")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        service.ensure_default_type(session)
        shown = [t for t in _types(session).values() if t.is_public or ctx.is_admin]
        return {"volume_types": [types.view(t) for t in sorted(shown, key=lambda t: t.name)]}


@router.get("/v3/{project_id}/types/{type_id}")
def show_type(project_id: str, type_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume_extension:types_manage:get")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        service.ensure_default_type(session)
        if type_id == "default":
            return {"volume_type": types.view(service.ensure_default_type(session))}
        return {"volume_type": types.view(service.find_type(session, type_id, ctx))}


@router.post("/v3/{project_id}/types")
def create_type(project_id: str, request: Request, ctx: RequestContext = Depends(context),
                body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "volume_extension:types_manage:create")
    project_id = _project(ctx, project_id)
    document = json_body.decode(body)
    with _db(request) as session:
        return {"volume_type": types.view(types.create(session, document))}


@router.delete("/v3/{project_id}/types/{type_id}", status_code=202)
def delete_type(project_id: str, type_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "volume_extension:types_manage:delete")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        types.delete(session, types.find_for_admin(session, type_id))
    return Response(status_code=202)


@router.get("/v3/{project_id}/types/{type_id}/encryption")
def show_encryption(project_id: str, type_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume_extension:volume_type_encryption:get")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        return types.encryption_view(types.find_for_admin(session, type_id))


@router.post("/v3/{project_id}/types/{type_id}/encryption")
def create_encryption(project_id: str, type_id: str, request: Request, ctx: RequestContext = Depends(context),
                      body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "volume_extension:volume_type_encryption:create")
    project_id = _project(ctx, project_id)
    document = json_body.decode(body)
    with _db(request) as session:
        vtype = types.find_for_admin(session, type_id)
        types.set_encryption(session, vtype, document)
        return {"encryption": types.encryption_view(vtype)}


@router.delete("/v3/{project_id}/types/{type_id}/encryption/{encryption_id}", status_code=202)
def delete_encryption(project_id: str, type_id: str, encryption_id: str, request: Request,
                      ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "volume_extension:volume_type_encryption:delete")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        types.remove_encryption(session, types.find_for_admin(session, type_id), encryption_id)
    return Response(status_code=202)


@router.get("/v3/{project_id}/os-availability-zone")
def availability_zones(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume_extension:availability_zone_list")
    project_id = _project(ctx, project_id)
    return {"availabilityZoneInfo": [{"zoneName": service.DEFAULT_ZONE, "zoneState": {"available": True}}]}


@router.get("/v3/{project_id}/os-quota-sets/{target_project}")
def show_quotas(project_id: str, target_project: str, request: Request,
                ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume_extension:quotas:show")
    project_id = _project(ctx, project_id)
    if target_project != ctx.project_id and not ctx.is_admin:
        raise NotFound("The resource could not be found.")
    with _db(request) as session:
        limits = service.quotas(session, target_project)
        used = service.usage(session, target_project)
    if request.query_params.get("usage", "false").lower() in ("1", "true"):
        sets: dict[str, Any] = {k: {"limit": v, "in_use": used[k], "reserved": 0, "allocated": 0}
                                for k, v in limits.items()}
        sets["per_volume_gigabytes"] = {"limit": -1, "in_use": 0, "reserved": 0, "allocated": 0}
        sets["backups"] = {"limit": 10, "in_use": 0, "reserved": 0, "allocated": 0}
        sets["backup_gigabytes"] = {"limit": 1000, "in_use": 0, "reserved": 0, "allocated": 0}
        sets["groups"] = {"limit": 10, "in_use": 0, "reserved": 0, "allocated": 0}
    else:
        sets = {**limits, "per_volume_gigabytes": -1, "backups": 10, "backup_gigabytes": 1000, "groups": 10}
    return {"quota_set": {"id": target_project, **sets}}


@router.put("/v3/{project_id}/os-quota-sets/{target_project}")
def update_quotas(project_id: str, target_project: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "volume_extension:quotas:update")
    project_id = _project(ctx, project_id)
    document = json_body.decode(body)
    with _db(request) as session:
        service.set_quotas(session, target_project, schemas.quota_update(document))
        return {"quota_set": {**service.quotas(session, target_project), "per_volume_gigabytes": -1,
                              "backups": 10, "backup_gigabytes": 1000, "groups": 10}}


@router.get("/v3/{project_id}/limits")
def limits(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "volume:limits")
    project_id = _project(ctx, project_id)
    with _db(request) as session:
        quota, used = service.quotas(session, project_id), service.usage(session, project_id)
    return {"limits": {"rate": [], "absolute": {
        "maxTotalVolumes": quota["volumes"], "maxTotalVolumeGigabytes": quota["gigabytes"],
        "maxTotalSnapshots": quota["snapshots"], "maxTotalBackups": 10, "maxTotalBackupGigabytes": 1000,
        "totalVolumesUsed": used["volumes"], "totalGigabytesUsed": used["gigabytes"],
        "totalSnapshotsUsed": used["snapshots"], "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0}}}


class ProjectlessUrls:
    """`/v3/volumes...` is `/v3/{the token's project}/volumes...`, as Cinder serves it since 3.67."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            head, sep, rest = path.partition("/v3/")
            if sep and rest.split("/", 1)[0] in _COLLECTIONS:
                path = f"{head}/v3/{_NO_PROJECT}/{rest}"
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def build_volume_app(db: Database, km: KeyManager, base_url: str) -> ASGIApp:
    app: FastAPI = service_app("volume")
    app.state.db = db
    app.state.km = km
    app.state.base_url = base_url.rstrip("/")
    app.include_router(router)
    return Microversions(ProjectlessUrls(app), VERSIONS)

