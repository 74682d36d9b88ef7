"""Glance v2 routes (mounted at /image)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Forbidden, NotFound, UnsupportedMediaType
from andromede.image import discovery, quotas, service
from andromede.image import schemas as s
from andromede.image.metadefs import api as metadefs_api
from andromede.image.models import Image
from andromede.image.store import ImageStore
from andromede.image.uploads import ImageUploads
from andromede.policy import enforce, mark_public
from andromede.servicekit import json_body
from andromede.servicekit.deps import context, raw_body
from andromede.servicekit.service_app import service_app

router = APIRouter()
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
PATCH_TYPE_2_0 = "application/openstack-images-v2.0-json-patch"
_PATCH = TypeAdapter(list[s.PatchOp])


def _uploads(request: Request) -> ImageUploads:
    return request.app.state.uploads


def _session(request: Request) -> AbstractContextManager[Session]:
    return _uploads(request).db.session()


def _invalid(exc: ValidationError) -> BadRequest:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ()))
    return BadRequest(f"Invalid input for field '{location}': {first.get('msg', 'invalid value')}.")


def _version(request: Request, ident: str, status: str) -> dict:
    base = _uploads(request).settings.base_url + "/image"
    return {"id": ident, "status": status, "links": [{"rel": "self", "href": f"{base}/v2/"}]}


@router.get("/")
def versions(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    mark_public(ctx)
    values = [_version(request, "v2.16", "CURRENT"), _version(request, "v2.0", "SUPPORTED")]
    return JSONResponse({"versions": values}, status_code=300)


@router.get("/v2")
@router.get("/v2/")
def version(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    return {"versions": [_version(request, "v2.16", "CURRENT")]}


@router.post("/v2/images", status_code=201)
def create_image(request: Request, ctx: RequestContext = Depends(context),
                 body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "image:add_image")
    try:
        parsed = s.ImageCreate.model_validate(json_body.decode(body))
    except ValidationError as exc:
        raise _invalid(exc) from None
    with _session(request) as session:
        doc = service.view(service.create(session, ctx, parsed, limits=_uploads(request).limits))
    location = f"{_uploads(request).settings.base_url}/image/v2/images/{doc['id']}"
    return JSONResponse(doc, status_code=201, headers={"Location": location})


@router.get("/v2/images")
def list_images(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_images")
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    with _session(request) as session:
        page, next_marker = service.list_images(session, ctx, params)
        doc: dict = {"images": [service.view(i) for i in page], "first": "/v2/images", "schema": "/v2/schemas/images"}
    if next_marker:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"] + [("marker", next_marker)]
        doc["next"] = "/v2/images?" + "&".join(f"{k}={v}" for k, v in query)
    return doc


@router.get("/v2/info/usage")
def get_usage(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_usage")
    with _session(request) as session:
        return {"usage": quotas.usage(session, _uploads(request).limits, ctx.project_id or "")}


@router.get("/v2/images/{image_id}")
def get_image(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_image")
    with _session(request) as session:
        return service.view(service.get_visible(session, ctx, image_id))


@router.patch("/v2/images/{image_id}")
def update_image(image_id: str, request: Request, ctx: RequestContext = Depends(context),
                 body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "image:modify_image")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (PATCH_TYPE, PATCH_TYPE_2_0):
        raise UnsupportedMediaType(f"Use Content-Type: {PATCH_TYPE}",
                                   headers={"Accept-Patch": f"{PATCH_TYPE_2_0}, {PATCH_TYPE}"})
    document = json_body.decode(body)
    if media_type == PATCH_TYPE_2_0:
        document = s.patch_from_v2_0(document)
    try:
        ops = _PATCH.validate_python(document)
    except ValidationError as exc:
        raise _invalid(exc) from None
    with _session(request) as session:
        image = service.get_owned(session, ctx, image_id)
        return service.view(service.apply_patch(session, ctx, image, ops, limits=_uploads(request).limits))


@router.delete("/v2/images/{image_id}", status_code=204)
def delete_image(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:delete_image")
    with _session(request) as session:
        service.delete(session, ctx, image_id)
    _uploads(request).store.delete(image_id)
    return Response(status_code=204)


@router.put("/v2/images/{image_id}/file", status_code=204)
async def upload_image(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:upload_image")
    chunks: AsyncIterator[bytes] = request.stream()
    length = request.headers.get("content-length", "")
    await _uploads(request).receive(ctx, image_id, chunks, declared_size=int(length) if length.isdigit() else None)
    return Response(status_code=204)


@router.get("/v2/images/{image_id}/file", response_model=None)
def download_image(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:download_image")
    with _session(request) as session:
        image = service.get_visible(session, ctx, image_id)
        status, checksum = image.status, image.checksum
    if status == "deactivated" and not ctx.is_admin:
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    path = _uploads(request).store.path(image_id)
    if status != "active" or not path.exists():
        return Response(status_code=204)
    return FileResponse(path, media_type="application/octet-stream", headers={"Content-MD5": checksum or ""})


@router.post("/v2/images/{image_id}/actions/deactivate", status_code=204)
def deactivate(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:deactivate")
    with _session(request) as session:
        service.set_active(session, ctx, image_id, active=False)
    return Response(status_code=204)


@router.post("/v2/images/{image_id}/actions/reactivate", status_code=204)
def reactivate(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:reactivate")
    with _session(request) as session:
        service.set_active(session, ctx, image_id, active=True)
    return Response(status_code=204)


@router.put("/v2/images/{image_id}/tags/{tag}", status_code=204)
def add_tag(image_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:modify_image")
    with _session(request) as session:
        image = service.get_owned(session, ctx, image_id)
        service.apply_patch(session, ctx, image, [s.PatchOp(op="replace", path="/tags", value=[*image.tags, tag])],
                            limits=_uploads(request).limits)
    return Response(status_code=204)


@router.delete("/v2/images/{image_id}/tags/{tag}", status_code=204)
def delete_tag(image_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:modify_image")
    with _session(request) as session:
        image = service.get_owned(session, ctx, image_id)
        if tag not in image.tags:
            raise NotFound(f"Tag {tag} not found.")
        remaining = [t for t in image.tags if t != tag]
        service.apply_patch(session, ctx, image, [s.PatchOp(op="replace", path="/tags", value=remaining)],
                            limits=_uploads(request).limits)
    return Response(status_code=204)


@router.post("/v2/images/{image_id}/members")
def add_member(image_id: str, request: Request, ctx: RequestContext = Depends(context),
               body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "image:add_member")
    try:
        created = s.MemberCreate.model_validate(json_body.decode(body))
    except ValidationError as exc:
        raise _invalid(exc) from None
    with _session(request) as session:
        row = service.add_member(session, ctx, image_id, created.member, limits=_uploads(request).limits)
        return service.member_view(row)


@router.get("/v2/images/{image_id}/members")
def list_members(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_members")
    with _session(request) as session:
        rows = service.members(session, ctx, image_id)
        return {"members": [service.member_view(r) for r in rows], "schema": "/v2/schemas/members"}


@router.get("/v2/images/{image_id}/members/{member}")
def get_member(image_id: str, member: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_member")
    with _session(request) as session:
        return service.member_view(service.get_member(session, ctx, image_id, member))


@router.put("/v2/images/{image_id}/members/{member}")
def update_member(image_id: str, member: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "image:modify_member")
    try:
        update = s.MemberUpdate.model_validate(json_body.decode(body))
    except ValidationError as exc:
        raise _invalid(exc) from None
    with _session(request) as session:
        return service.member_view(service.update_member(session, ctx, image_id, member, update.status))


@router.delete("/v2/images/{image_id}/members/{member}", status_code=204)
def delete_member(image_id: str, member: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:delete_member")
    with _session(request) as session:
        service.delete_member(session, ctx, image_id, member)
    return Response(status_code=204)


@router.get("/v2/schemas/image")
def image_schema(ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_images")
    return IMAGE_SCHEMA


@router.get("/v2/schemas/images")
def images_schema(ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_images")
    return {"name": "images", "properties": {"images": {"type": "array", "items": IMAGE_SCHEMA},
                                             "first": {"type": "string"}, "next": {"type": "string"},
                                             "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def _nullable(kind: str, **extra: object) -> dict:
    return {"type": [kind, "null"], **extra}


IMAGE_SCHEMA: dict = {
    "name": "image",
    "additionalProperties": {"type": "string"},
    "properties": {
        "id": {"type": "string", "readOnly": True},
        "name": _nullable("string", maxLength=255),
        "status": {"type": "string", "readOnly": True},
        "visibility": {"type": "string", "enum": list(s.VISIBILITIES)},
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "checksum": _nullable("string", readOnly=True),
        "os_hash_algo": _nullable("string", readOnly=True),
        "os_hash_value": _nullable("string", readOnly=True),
        "owner": _nullable("string"),
        "size": _nullable("integer", readOnly=True),
        "virtual_size": _nullable("integer", readOnly=True),
        "container_format": {"type": ["null", "string"], "enum": [None, *s.CONTAINER_FORMATS]},
        "disk_format": {"type": ["null", "string"], "enum": [None, *s.DISK_FORMATS]},
        "created_at": {"type": "string", "readOnly": True},
        "updated_at": {"type": "string", "readOnly": True},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "min_ram": {"type": "integer"},
        "min_disk": {"type": "integer"},
        "self": {"type": "string", "readOnly": True},
        "file": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
    },
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
              {"rel": "describedby", "href": "{schema}"}],
}


def build_image_app(uploads: ImageUploads) -> FastAPI:
    app = service_app("image")
    app.state.uploads = uploads
    app.include_router(router)
    app.include_router(discovery.router)
    app.include_router(metadefs_api.router)
    return app


__all__ = ["Image", "ImageStore", "build_image_app"]
