"""Glance's /v2/metadefs routes: the catalogue of properties that images (and other resources) can carry."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.image.metadefs import service
from andromede.image.metadefs.bodies import (
    AssociationBody,
    NamespaceBody,
    ObjectBody,
    PropertyBody,
    TagBody,
    TagsBody,
    without_echoed,
)
from andromede.image.metadefs.service import BASE
from andromede.image.uploads import ImageUploads
from andromede.policy import enforce
from andromede.servicekit import json_body
from andromede.servicekit.deps import context, raw_body

router = APIRouter(prefix="/v2/metadefs")
M = TypeVar("M", bound=BaseModel)
NS = "/namespaces/{namespace}"


def _session(request: Request) -> AbstractContextManager[Session]:
    uploads: ImageUploads = request.app.state.uploads
    return uploads.db.session()


def _parse(raw: bytes, model: type[M], *, name: str | None = None) -> M:
    """The body as `model`; for an update (`name` given), a body that names nothing keeps the current name."""
    body = without_echoed(json_body.decode(raw))
    if name is not None and isinstance(body, dict):
        body = {"name": name, **body}
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first.get("loc", ()))
        raise BadRequest(f"Invalid input for field '{location}': {first.get('msg', 'invalid value')}.") from None


def _created(doc: dict) -> JSONResponse:
    return JSONResponse(doc, status_code=201)


# ---- namespaces ---------------------------------------------------------------------------------

@router.get("/namespaces")
def list_namespaces(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_namespaces")
    params = dict(request.query_params)
    with _session(request) as session:
        page, next_marker = service.list_namespaces(session, ctx, params)
        doc: dict = {"namespaces": [service.namespace_view(session, ns) for ns in page],
                     "first": f"{BASE}", "schema": "/v2/schemas/metadefs/namespaces"}
    if next_marker:
        query = "&".join(f"{k}={v}" for k, v in params.items() if k != "marker")
        doc["next"] = f"{BASE}?{query + '&' if query else ''}marker={next_marker}"
    return doc


@router.post("/namespaces", status_code=201)
def create_namespace(request: Request, ctx: RequestContext = Depends(context),
                     body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "image:add_metadef_namespace")
    parsed = _parse(body, NamespaceBody)
    with _session(request) as session:
        return _created(service.namespace_view(session, service.create_namespace(session, ctx, parsed), full=True))


@router.get(NS)
def get_namespace(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_namespace")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return service.namespace_view(session, ns, full=True, resource_type=request.query_params.get("resource_type"))


@router.put(NS)
def update_namespace(namespace: str, request: Request, ctx: RequestContext = Depends(context),
                     body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "image:modify_metadef_namespace")
    parsed = _parse(body, NamespaceBody)
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        service.update_namespace(session, ctx, ns, parsed)
        return service.namespace_view(session, ns)


@router.delete(NS, status_code=204)
def delete_namespace(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:delete_metadef_namespace")
    with _session(request) as session:
        service.delete_namespace(session, service.get_owned_namespace(session, ctx, namespace))
    return Response(status_code=204)


# ---- objects ------------------------------------------------------------------------------------

@router.get(NS + "/objects")
def list_objects(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_objects")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return {"objects": [service.object_view(ns, i) for i in service.items(session, ns, "object")],
                "schema": "/v2/schemas/metadefs/objects"}


@router.post(NS + "/objects", status_code=201)
def create_object(namespace: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "image:add_metadef_object")
    parsed = _parse(body, ObjectBody)
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        return _created(service.object_view(ns, service.add_item(session, ns, "object", parsed.name, parsed.stored())))


@router.delete(NS + "/objects", status_code=204)
def delete_objects(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:delete_metadef_object")
    with _session(request) as session:
        service.delete_items(session, service.get_owned_namespace(session, ctx, namespace), "object")
    return Response(status_code=204)


@router.get(NS + "/objects/{name}")
def get_object(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_object")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return service.object_view(ns, service.get_item(session, ns, "object", name))


@router.put(NS + "/objects/{name}")
def update_object(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context),
                  body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "image:modify_metadef_object")
    parsed = _parse(body, ObjectBody, name=name)
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        item = service.get_item(session, ns, "object", name)
        service.update_item(session, ns, item, parsed.name, parsed.stored())
        return service.object_view(ns, item)


@router.delete(NS + "/objects/{name}", status_code=204)
def delete_object(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:delete_metadef_object")
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        service.check_unprotected(ns)
        session.delete(service.get_item(session, ns, "object", name))
    return Response(status_code=204)


# ---- properties ---------------------------------------------------------------------------------

@router.get(NS + "/properties")
def list_properties(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_properties")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return {"properties": {i.name: i.body for i in service.items(session, ns, "property")}}


def _named_property(raw: bytes, current: str | None = None) -> tuple[str, dict]:
    body = _parse(raw, PropertyBody, name=current)
    if body.name is None:
        raise BadRequest("Invalid input for field 'name': Field required.")
    return body.name, body.schema_fragment()


@router.post(NS + "/properties", status_code=201)
def create_property(namespace: str, request: Request, ctx: RequestContext = Depends(context),
                    body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "image:add_metadef_property")
    name, fragment = _named_property(body)
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        return _created(service.property_view(service.add_item(session, ns, "property", name, fragment)))


@router.delete(NS + "/properties", status_code=204)
def delete_properties(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:remove_metadef_property")
    with _session(request) as session:
        service.delete_items(session, service.get_owned_namespace(session, ctx, namespace), "property")
    return Response(status_code=204)


@router.get(NS + "/properties/{name}")
def get_property(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_property")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return service.property_view(service.get_item(session, ns, "property", name))


@router.put(NS + "/properties/{name}")
def update_property(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context),
                    body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "image:modify_metadef_property")
    new_name, fragment = _named_property(body, name)
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        item = service.get_item(session, ns, "property", name)
        service.update_item(session, ns, item, new_name, fragment)
        return service.property_view(item)


@router.delete(NS + "/properties/{name}", status_code=204)
def delete_property(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:remove_metadef_property")
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        service.check_unprotected(ns)
        session.delete(service.get_item(session, ns, "property", name))
    return Response(status_code=204)


# ---- tags ---------------------------------------------------------------------------------------

@router.get(NS + "/tags")
def list_tags(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_tags")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return {"tags": [service.tag_view(i) for i in service.items(session, ns, "tag")]}


@router.post(NS + "/tags", status_code=201)
def create_tags(namespace: str, request: Request, ctx: RequestContext = Depends(context),
                body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "image:add_metadef_tags")
    parsed = _parse(body, TagsBody)
    append = request.headers.get("x-openstack-append", "").lower() == "true"
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        if not append:
            service.check_unprotected(ns)
        rows = service.replace_tags(session, ns, [t.name for t in parsed.tags], append=append)
        return _created({"tags": [service.tag_view(i) for i in rows]})


@router.delete(NS + "/tags", status_code=204)
def delete_tags(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:delete_metadef_tags")
    with _session(request) as session:
        service.delete_items(session, service.get_owned_namespace(session, ctx, namespace), "tag")
    return Response(status_code=204)


@router.get(NS + "/tags/{name}")
def get_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_tag")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return service.tag_view(service.get_item(session, ns, "tag", name))


@router.post(NS + "/tags/{name}", status_code=201)
def create_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    enforce(ctx, "image:add_metadef_tag")
    try:
        TagBody(name=name)
    except ValidationError:
        raise BadRequest(f"Invalid tag name {name!r}.") from None
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        return _created(service.tag_view(service.add_item(session, ns, "tag", name, {})))


@router.put(NS + "/tags/{name}")
def update_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context),
               body: bytes = Depends(raw_body)) -> dict:
    enforce(ctx, "image:modify_metadef_tag")
    parsed = _parse(body, TagBody, name=name)
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        item = service.get_item(session, ns, "tag", name)
        service.update_item(session, ns, item, parsed.name, {})
        return service.tag_view(item)


@router.delete(NS + "/tags/{name}", status_code=204)
def delete_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:delete_metadef_tag")
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        service.check_unprotected(ns)
        session.delete(service.get_item(session, ns, "tag", name))
    return Response(status_code=204)


# ---- resource types -----------------------------------------------------------------------------

@router.get("/resource_types")
def list_resource_types(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:list_metadef_resource_types")
    with _session(request) as session:
        return {"resource_types": [{"name": r.name, **service.stamp(r)}
                                   for r in service.resource_types(session)]}


@router.get(NS + "/resource_types")
def list_associations(namespace: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_resource_type")
    with _session(request) as session:
        ns = service.get_namespace(session, ctx, namespace)
        return {"resource_type_associations": service.association_views(session, ns)}


@router.post(NS + "/resource_types", status_code=201)
def create_association(namespace: str, request: Request, ctx: RequestContext = Depends(context),
                       body: bytes = Depends(raw_body)) -> JSONResponse:
    enforce(ctx, "image:add_metadef_resource_type_association")
    parsed = _parse(body, AssociationBody)
    with _session(request) as session:
        ns = service.get_owned_namespace(session, ctx, namespace)
        row, name = service.associate(session, ctx, ns, parsed)
        return _created(service.association_view(row, name))


@router.delete(NS + "/resource_types/{name}", status_code=204)
def delete_association(namespace: str, name: str, request: Request,
                       ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "image:remove_metadef_resource_type_association")
    with _session(request) as session:
        service.dissociate(session, service.get_owned_namespace(session, ctx, namespace), name)
    return Response(status_code=204)
