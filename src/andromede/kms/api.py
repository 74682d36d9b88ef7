"""Barbican v1 routes (mounted at /key-manager): version discovery, secrets and their payloads, ACLs, orders."""

from __future__ import annotations

import base64
import binascii
from contextlib import AbstractContextManager

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.types import ASGIApp

from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, NotFound, UnsupportedMediaType
from andromede.kms import orders, schemas, secrets, views
from andromede.kms.component import KeyManager
from andromede.kms.microversion import MAX_VERSION, MIN_VERSION, VERSIONS, text
from andromede.policy import enforce, mark_public
from andromede.servicekit import json_body
from andromede.servicekit.deps import context, raw_body
from andromede.servicekit.microversions import Microversions
from andromede.servicekit.service_app import service_app

router = APIRouter()
_JSON_ACCEPT = ("", "application/json", "*/*")


def _km(request: Request) -> KeyManager:
    return request.app.state.km


def _session(request: Request) -> AbstractContextManager[Session]:
    return _km(request).db.session()


def _version(request: Request) -> tuple[int, int]:
    return request.scope.get("state", {}).get("kms_version", MIN_VERSION)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _json(request: Request, body: bytes) -> object:
    if _media_type(request) != "application/json":
        raise UnsupportedMediaType("Unexpected content type. Expected content types are: ['application/json']")
    return json_body.decode(body)


def _version_doc(request: Request, microversions: bool) -> dict:
    links = [{"rel": "self", "href": f"{_km(request).settings.base_url}/key-manager/v1/"},
             {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}]
    if microversions:
        return {"id": "v1", "status": "CURRENT", "min_version": text(MIN_VERSION), "max_version": text(MAX_VERSION),
                "links": links}
    return {"id": "v1", "status": "stable", "links": links,
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.key-manager-v1+json"}]}


@router.get("/")
def versions(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    mark_public(ctx)
    if _version(request) >= (1, 1):
        return JSONResponse({"versions": [_version_doc(request, True)]}, status_code=300)
    return JSONResponse({"versions": {"values": [_version_doc(request, False)]}}, status_code=300)


@router.get("/v1")
@router.get("/v1/")
def version(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    return {"version": _version_doc(request, _version(request) >= (1, 1))}


# ---- secrets ---------------------------------------------------------------------------------------------------

@router.post("/v1/secrets", status_code=201)
@router.post("/v1/secrets/", status_code=201)
def create_secret(request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "key-manager:secrets:post")
    km = _km(request)
    fields = schemas.secret_fields(_json(request, body), max_bytes=km.settings.kms_max_secret_bytes)
    with _session(request) as session:
        secret = secrets.create(session, km, ctx.require_project(), ctx.user_id or "", fields)
        ref = km.secret_ref(secret.id)
    return JSONResponse({"secret_ref": ref}, status_code=201, headers={"Location": ref})


@router.get("/v1/secrets")
@router.get("/v1/secrets/")
def list_secrets(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "key-manager:secrets:get")
    km = _km(request)
    with _session(request) as session:
        rows, offset, limit, total = secrets.page(session, ctx.require_project(), request.query_params)
        items = [views.secret(km, row, _version(request)) for row in rows]
    return views.listing(km, "secrets", items, offset, limit, total, request.query_params.multi_items())


@router.get("/v1/secrets/{secret_id}", response_model=None)
def get_secret(secret_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict | Response:
    accept = request.headers.get("accept", "").strip().lower()
    if accept not in _JSON_ACCEPT:  # Barbican's deprecated way to read a payload
        return _payload(secret_id, request, ctx, accept)
    enforce(ctx, "key-manager:secret:get")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret:get", secrets.target(secret, acl))
        return views.secret(_km(request), secret, _version(request))


@router.get("/v1/secrets/{secret_id}/payload")
def get_payload(secret_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    return _payload(secret_id, request, ctx, request.headers.get("accept", ""))


def _payload(secret_id: str, request: Request, ctx: RequestContext, accept: str) -> Response:
    enforce(ctx, "key-manager:secret:decrypt")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret:decrypt", secrets.target(secret, acl))
        body, media_type = secrets.payload(session, _km(request), secret, accept)
    return Response(body, media_type=media_type)


@router.put("/v1/secrets/{secret_id}", status_code=204)
def put_payload(secret_id: str, request: Request, ctx: RequestContext = Depends(context),
                body: bytes = Depends(raw_body)) -> Response:
    enforce(ctx, "key-manager:secret:put")
    km = _km(request)
    media_type = _media_type(request)
    if media_type not in ("text/plain", "application/octet-stream"):
        raise UnsupportedMediaType(f"Content-Type of '{media_type}' is not supported for PUT.")
    raw = body
    if not raw:
        raise schemas.BadRequest("No data supplied to process.")
    if len(raw) > km.settings.kms_max_secret_bytes:
        raise schemas.TooLarge()
    if request.headers.get("content-encoding", "").strip().lower() == "base64":
        try:
            raw = base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise schemas.BadRequest("Invalid payload for Content-Encoding: base64.") from None
    if media_type == "text/plain":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise schemas.BadRequest("A text/plain payload must be UTF-8.") from None
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret:put", secrets.target(secret, acl))
        secrets.put_payload(session, km, secret, raw, media_type)
    return Response(status_code=204)


@router.delete("/v1/secrets/{secret_id}", status_code=204)
def delete_secret(secret_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "key-manager:secret:delete")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id, expired_too=True)
        enforce(ctx, "key-manager:secret:delete", secrets.target(secret, acl))
        secrets.delete(session, _km(request), secret)
    return Response(status_code=204)


@router.get("/v1/deletion-certificates/{resource_id}")
def get_deletion_certificate(resource_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    """Not Barbican's: the signed statement that a deleted secret's key was destroyed, for its project; that a
    deleted project's KEK was (the resource id is the project's), for a cloud admin."""
    enforce(ctx, "key-manager:deletion_certificate:get")
    with _session(request) as session:
        return secrets.deletion_certificate(session, ctx.project_id, resource_id, any_project=ctx.is_admin)


# ---- ACLs ------------------------------------------------------------------------------------------------------

@router.get("/v1/secrets/{secret_id}/acl")
def get_acl(secret_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "key-manager:secret_acls:get")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_acls:get", secrets.target(secret, acl))
        return views.acl(acl)


@router.put("/v1/secrets/{secret_id}/acl")
@router.patch("/v1/secrets/{secret_id}/acl")
def set_acl(secret_id: str, request: Request, ctx: RequestContext = Depends(context),
            body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "key-manager:secret_acls:put_patch")
    parsed = schemas.acl_body(_json(request, body))
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_acls:put_patch", secrets.target(secret, acl))
        replace = request.method == "PUT"
        if "read" in parsed:
            access, users = parsed["read"]
            secrets.set_acl(session, secret, acl, access, users, replace=replace)
        elif replace:
            secrets.delete_acl(session, acl)
    return {"acl_ref": f"{_km(request).secret_ref(secret_id)}/acl"}


@router.delete("/v1/secrets/{secret_id}/acl")
def delete_acl(secret_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "key-manager:secret_acls:delete")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_acls:delete", secrets.target(secret, acl))
        secrets.delete_acl(session, acl)
    return Response(status_code=200)


# ---- user metadata (Barbican's /metadata) -----------------------------------------------------------------------

@router.get("/v1/secrets/{secret_id}/metadata")
def get_metadata(secret_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "key-manager:secret_meta:get")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_meta:get", secrets.target(secret, acl))
        return {"metadata": dict(secret.user_metadata)}


@router.put("/v1/secrets/{secret_id}/metadata", status_code=201)
def put_metadata(secret_id: str, request: Request, ctx: RequestContext = Depends(context),
                 body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "key-manager:secret_meta:put")
    metadata = schemas.metadata_body(_json(request, body))
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_meta:put", secrets.target(secret, acl))
        secret.user_metadata = metadata
    return JSONResponse({"metadata_ref": f"{_km(request).secret_ref(secret_id)}/metadata"}, status_code=201)


@router.post("/v1/secrets/{secret_id}/metadata", status_code=201)
def add_metadatum(secret_id: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "key-manager:secret_meta:post")
    key, value = schemas.metadatum_body(_json(request, body))
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_meta:post", secrets.target(secret, acl))
        if key in secret.user_metadata:
            raise Conflict("Conflict. Key in request is already in the secret metadata")
        secret.user_metadata = {**secret.user_metadata, key: value}
    location = f"{_km(request).secret_ref(secret_id)}/metadata/{key}"
    return JSONResponse({"key": key, "value": value}, status_code=201, headers={"Location": location})


@router.get("/v1/secrets/{secret_id}/metadata/{key}")
def get_metadatum(secret_id: str, key: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "key-manager:secret_meta:get")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_meta:get", secrets.target(secret, acl))
        if key not in secret.user_metadata:
            raise NotFound("Secret metadata not found.")
        return {"key": key, "value": secret.user_metadata[key]}


@router.put("/v1/secrets/{secret_id}/metadata/{key}")
def put_metadatum(secret_id: str, key: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "key-manager:secret_meta:put")
    new_key, value = schemas.metadatum_body(_json(request, body))
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_meta:put", secrets.target(secret, acl))
        if key not in secret.user_metadata:
            raise NotFound("Secret metadata not found.")
        if new_key != key:
            raise Conflict("Key in request data does not match key in the request url.")
        secret.user_metadata = {**secret.user_metadata, key: value}
    return {"key": key, "value": value}


@router.delete("/v1/secrets/{secret_id}/metadata/{key}", status_code=204)
def delete_metadatum(secret_id: str, key: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "key-manager:secret_meta:delete")
    with _session(request) as session:
        secret, acl = secrets.find(session, ctx, secret_id)
        enforce(ctx, "key-manager:secret_meta:delete", secrets.target(secret, acl))
        if key not in secret.user_metadata:
            raise NotFound("Secret metadata not found.")
        secret.user_metadata = {k: v for k, v in secret.user_metadata.items() if k != key}
    return Response(status_code=204)


# ---- orders ----------------------------------------------------------------------------------------------------

@router.post("/v1/orders", status_code=202)
@router.post("/v1/orders/", status_code=202)
def create_order(request: Request, ctx: RequestContext = Depends(context),
                 body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "key-manager:orders:post")
    km = _km(request)
    order = schemas.key_order(_json(request, body), max_bytes=km.settings.kms_max_secret_bytes)
    with _session(request) as session:
        row = orders.create(session, km, ctx.require_project(), ctx.user_id or "", order)
        ref = km.order_ref(row.id)
    return JSONResponse({"order_ref": ref}, status_code=202, headers={"Location": ref})


@router.get("/v1/orders")
@router.get("/v1/orders/")
def list_orders(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "key-manager:orders:get")
    km = _km(request)
    offset, limit = secrets.paging(request.query_params)
    with _session(request) as session:
        rows, total = orders.page(session, ctx.require_project(), offset, limit)
        items = [views.order(km, row) for row in rows]
    return views.listing(km, "orders", items, offset, limit, total, request.query_params.multi_items())


@router.get("/v1/orders/{order_id}")
def get_order(order_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "key-manager:order:get")
    with _session(request) as session:
        return views.order(_km(request), orders.find(session, ctx, order_id))


@router.delete("/v1/orders/{order_id}", status_code=204)
def delete_order(order_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "key-manager:order:delete")
    with _session(request) as session:
        orders.delete(session, orders.find(session, ctx, order_id))
    return Response(status_code=204)


def build_kms_app(km: KeyManager) -> ASGIApp:
    app: FastAPI = service_app("key-manager")
    app.state.km = km
    app.include_router(router)
    return Microversions(app, VERSIONS)
