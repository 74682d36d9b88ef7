"""What Glance clients probe before they act: import methods, stores, and the member and metadefs schemas."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.image.metadefs.schemas import SCHEMAS
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2")
STORE_ID = "local"
_UUID = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

MEMBER_SCHEMA: dict = {
    "name": "member",
    "properties": {
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "image_id": {"type": "string", "description": "An identifier for the image", "pattern": _UUID},
        "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
        "status": {"type": "string", "description": "The status of this image member",
                   "enum": ["pending", "accepted", "rejected"]},
        "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
        "schema": {"readOnly": True, "type": "string"},
    },
    "additionalProperties": False,
}
MEMBERS_SCHEMA: dict = {
    "name": "members",
    "properties": {"members": {"type": "array", "items": MEMBER_SCHEMA}, "first": {"type": "string"},
                   "next": {"type": "string"}, "schema": {"type": "string"}},
    "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
              {"rel": "describedby", "href": "{schema}"}],
}


@router.get("/info/import")
def import_methods(ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_import_info")
    # Interoperable image import (POST /v2/images/{id}/import) is not served: image data arrives by upload only.
    return {"import-methods": {"description": "Import methods available.", "type": "array", "value": []}}


@router.get("/info/stores")
def stores(ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_stores")
    return {"stores": [{"id": STORE_ID, "description": "Image data on the control node's local disk.",
                        "default": "true"}]}


@router.get("/schemas/member")
def member_schema(ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_members")
    return MEMBER_SCHEMA


@router.get("/schemas/members")
def members_schema(ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_members")
    return MEMBERS_SCHEMA


@router.get("/schemas/metadefs/{name}")
def metadefs_schema(name: str, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "image:get_metadef_namespaces")
    if name not in SCHEMAS:
        raise NotFound(f"No metadata definitions schema named {name}.")
    return SCHEMAS[name]
