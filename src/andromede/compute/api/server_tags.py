"""/servers/{id}/tags (microversion 2.26): list, replace, check, add and remove a server's tags."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import TypeAdapter, ValidationError

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, NotFound
from andromede.compute import server_tags, servers
from andromede.compute.api.common import db_of, views_of
from andromede.compute.api.microversion import version_of
from andromede.compute.schemas import Tag, TagsBody
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2.1/servers/{server_id}/tags")
SINCE = (2, 26)
_TAG = TypeAdapter(Tag)


def _check_version(request: Request) -> None:
    """Before 2.26 the route does not exist, as Nova answers it."""
    if version_of(request) < SINCE:
        raise NotFound("The resource could not be found.")


def _valid_tag(tag: str) -> str:
    try:
        return _TAG.validate_python(tag)
    except ValidationError:
        raise BadRequest(f"Invalid input for field/attribute tag. Value: {tag}. A tag is 1 to 60 characters, "
                         "without '/' or ','.") from None


@router.get("")
def list_tags(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:tags:index")
    _check_version(request)
    with db_of(request).session() as session:
        return {"tags": server_tags.tags_of(servers.get(session, ctx, server_id))}


@router.put("")
def replace_tags(server_id: str, body: TagsBody, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:servers:tags:update")
    _check_version(request)
    with db_of(request).session() as session:
        return {"tags": server_tags.replace(session, servers.get(session, ctx, server_id), body.tags)}


@router.delete("", status_code=204)
def delete_tags(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:servers:tags:update")
    _check_version(request)
    with db_of(request).session() as session:
        server_tags.replace(session, servers.get(session, ctx, server_id), [])
    return Response(status_code=204)


@router.get("/{tag}", status_code=204)
def check_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:servers:tags:index")
    _check_version(request)
    with db_of(request).session() as session:
        if tag not in server_tags.tags_of(servers.get(session, ctx, server_id)):
            raise NotFound(f"Tag {tag} could not be found.")
    return Response(status_code=204)


@router.put("/{tag}", status_code=201)
def add_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:servers:tags:update")
    _check_version(request)
    with db_of(request).session() as session:
        instance = servers.get(session, ctx, server_id)
        if not server_tags.add(session, instance, _valid_tag(tag)):
            return Response(status_code=204)
    location = f"{views_of(request).v21}/servers/{server_id}/tags/{tag}"
    return Response(status_code=201, headers={"Location": location})


@router.delete("/{tag}", status_code=204)
def delete_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "compute:servers:tags:update")
    _check_version(request)
    with db_of(request).session() as session:
        server_tags.remove(session, servers.get(session, ctx, server_id), tag)
    return Response(status_code=204)
