"""Glance's rules: who sees an image, who may change it, and its life from queued to active."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andromede.common.clock import isotime, utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, Forbidden, NotFound
from andromede.db.engine import matched_rows
from andromede.image import quotas
from andromede.image.models import Image, ImageId, ImageMember
from andromede.image.quotas import ImageLimits
from andromede.image.schemas import (
    CONTAINER_FORMATS,
    CORE,
    DISK_FORMATS,
    READ_ONLY,
    VISIBILITIES,
    ImageCreate,
    ImageView,
    MemberView,
    PatchOp,
)

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at",
             "min_disk", "min_ram", "visibility", "owner", "virtual_size")


def _not_found(image_id: str) -> NotFound:
    return NotFound(f"No image found with ID {image_id}")


def visible(session: Session, ctx: RequestContext, image: Image) -> bool:
    if ctx.is_admin or image.owner == ctx.project_id or image.visibility in ("public", "community"):
        return True
    if image.visibility == "shared" and ctx.project_id:
        return session.get(ImageMember, (image.id, ctx.project_id)) is not None
    return False


def get_visible(session: Session, ctx: RequestContext, image_id: str) -> Image:
    image = session.get(Image, image_id) if _looks_like_uuid(image_id) else None
    if image is None or not visible(session, ctx, image):
        raise _not_found(image_id)
    return image


def get_owned(session: Session, ctx: RequestContext, image_id: str) -> Image:
    """For changes: invisible is 404, visible-but-not-yours is 403 (as Glance answers)."""
    image = get_visible(session, ctx, image_id)
    if not ctx.is_admin and image.owner != ctx.project_id:
        raise Forbidden("You are not permitted to modify this image.")
    return image


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# ---- create / update / delete ------------------------------------------------------------------

def _check_visibility(ctx: RequestContext, visibility: str) -> None:
    if visibility == "public" and not ctx.is_admin:
        raise Forbidden("You are not authorized to publicize images; ask an administrator.")


def _check_property(key: str, value: Any) -> None:
    if key in READ_ONLY:
        raise Forbidden(f"Attribute '{key}' is read-only.")
    if not isinstance(value, str):
        raise BadRequest(f"Property '{key}' must be a string.")
    if not key or len(key) > 255 or any(ord(c) < 32 for c in key) or len(value) > 65535:
        raise BadRequest(f"Property '{key}' is not acceptable.")


def _duplicate_id(image_id: str) -> Conflict:
    return Conflict(f"Image ID {image_id} already exists!")


def create(session: Session, ctx: RequestContext, body: ImageCreate, *, limits: ImageLimits) -> Image:
    _check_visibility(ctx, body.visibility)
    if body.owner is not None and body.owner != ctx.project_id and not ctx.is_admin:
        raise Forbidden("You are not permitted to create images owned by another project.")
    properties = dict(body.model_extra or {})
    for key, value in properties.items():
        _check_property(key, value)
    tags = sorted(set(body.tags))
    quotas.check_properties(limits, properties)
    quotas.check_tags(limits, tags)
    owner = body.owner or ctx.project_id or ""
    quotas.check_count_total(session, limits, owner)
    image_id = body.id.lower() if body.id else str(uuid.uuid4())
    # The id registry keeps deleted images' ids too: a deleted id is as taken as a live one, for everyone.
    if session.get(ImageId, image_id) is not None or session.get(Image, image_id) is not None:
        raise _duplicate_id(image_id)
    now = utcnow()
    image = Image(id=image_id, name=body.name, owner=owner, status="queued",
                  visibility=body.visibility, protected=body.protected, os_hidden=body.os_hidden,
                  disk_format=body.disk_format, container_format=body.container_format, min_disk=body.min_disk,
                  min_ram=body.min_ram, tags=tags, properties=properties, created_at=now, updated_at=now)
    session.add(ImageId(id=image_id, owner=owner))
    session.add(image)
    try:
        session.flush()
    except IntegrityError:  # the same id created concurrently
        raise _duplicate_id(image_id) from None
    return image


def _core_value(image: Image, field: str, value: Any, ctx: RequestContext) -> None:
    def need(condition: bool, what: str) -> None:
        if not condition:
            raise BadRequest(f"Invalid value for '{field}': {what}.")

    if field == "name":
        need(value is None or (isinstance(value, str) and len(value) <= 255), "a string of at most 255 characters")
    elif field == "visibility":
        need(value in VISIBILITIES, "one of " + ", ".join(VISIBILITIES))
        _check_visibility(ctx, value)
    elif field in ("protected", "os_hidden"):
        need(isinstance(value, bool), "true or false")
    elif field in ("min_disk", "min_ram"):
        need(isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**31, "a non-negative integer")
    elif field in ("disk_format", "container_format"):
        allowed = DISK_FORMATS if field == "disk_format" else CONTAINER_FORMATS
        need(value in allowed, "one of " + ", ".join(allowed))
        if image.status != "queued":
            raise Forbidden(f"Attribute '{field}' can be only replaced for a queued image.")
    elif field == "tags":
        need(isinstance(value, list) and all(isinstance(t, str) and 0 < len(t) <= 255 for t in value),
             "a list of short strings")
        value = sorted(set(value))
    elif field in ("id", "owner"):
        raise Forbidden(f"Attribute '{field}' is read-only.")
    setattr(image, field, value)


def apply_patch(session: Session, ctx: RequestContext, image: Image, ops: list[PatchOp], *,
                limits: ImageLimits) -> Image:
    properties, tags_before = dict(image.properties), list(image.tags)
    for op in ops:
        field = op.path[1:].replace("~1", "/").replace("~0", "~")
        if field in READ_ONLY:
            raise Forbidden(f"Attribute '{field}' is read-only.")
        if field in CORE:
            if op.op == "remove":
                raise Forbidden(f"Attribute '{field}' cannot be removed.")
            _core_value(image, field, op.value, ctx)
            continue
        if op.op == "remove":
            if field not in properties:
                raise Conflict(f"Property {field} does not exist.")
            del properties[field]
            continue
        if op.op == "replace" and field not in properties:
            raise Conflict(f"Property {field} does not exist.")
        _check_property(field, op.value)
        properties[field] = op.value
    quotas.check_properties(limits, properties, before=image.properties)
    quotas.check_tags(limits, list(image.tags), before=tags_before)
    image.properties = properties
    image.updated_at = utcnow()
    session.flush()
    return image


def delete(session: Session, ctx: RequestContext, image_id: str) -> Image:
    image = get_owned(session, ctx, image_id)
    if image.protected:
        raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
    tombstone = session.get(ImageId, image.id)
    if tombstone is None:  # an image made before ids were registered
        tombstone = ImageId(id=image.id, owner=image.owner)
        session.add(tombstone)
    tombstone.deleted_at = utcnow()
    session.delete(image)
    return image


def set_active(session: Session, ctx: RequestContext, image_id: str, *, active: bool) -> None:
    image = get_owned(session, ctx, image_id)
    if image.status not in ("active", "deactivated"):
        raise Forbidden(f"Not allowed to {'reactivate' if active else 'deactivate'} an image in status "
                        f"'{image.status}'.")
    image.status = "active" if active else "deactivated"
    image.updated_at = utcnow()


def claim_upload(session: Session, ctx: RequestContext, image_id: str, *, limits: ImageLimits,
                 declared_size: int | None = None) -> Image:
    """queued -> saving, atomically, so two uploads can never write the same image.

    Refused (and the image left queued, as the caller's transaction rolls back) past the owner's uploads in
    progress or, when the client said how much it sends, past its storage quota.
    """
    image = get_owned(session, ctx, image_id)
    if not image.disk_format or not image.container_format:
        raise BadRequest("Properties disk_format and container_format must be set prior to uploading data.")
    quotas.lock_project(session, image.owner)
    if declared_size is not None:
        quotas.check_storage(session, limits, image.owner, declared_size)
    claimed = session.execute(update(Image).where(Image.id == image_id, Image.status == "queued")
                              .values(status="saving", updated_at=utcnow()))
    if matched_rows(claimed) != 1:
        raise Conflict(f"Image status transition from {image.status} to saving is not allowed")
    quotas.check_count_uploading(session, limits, image.owner)
    return image


# ---- listing -----------------------------------------------------------------------------------

def _sort_key(attribute: str) -> Callable[[Image], tuple[bool, Any]]:
    return lambda image: (getattr(image, attribute) is None, getattr(image, attribute) or 0)


def _sort_spec(params: dict[str, list[str]]) -> list[tuple[str, bool]]:
    spec: list[tuple[str, bool]] = []
    if "sort" in params:
        for part in ",".join(params["sort"]).split(","):
            key, _, direction = part.strip().partition(":")
            spec.append((key, (direction or "desc") == "desc"))
    else:
        keys = params.get("sort_key") or ["created_at"]
        dirs = params.get("sort_dir") or ["desc"]
        for index, key in enumerate(keys):
            spec.append((key, (dirs[index] if index < len(dirs) else dirs[-1]) == "desc"))
    for key, _ in spec:
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {key}.")
    if not any(key == "id" for key, _ in spec):
        spec.append(("id", spec[0][1] if spec else True))
    return spec


def list_images(session: Session, ctx: RequestContext, params: dict[str, list[str]]) -> tuple[list[Image], str | None]:
    def one(name: str) -> str | None:
        values = params.get(name)
        return values[-1] if values else None

    try:
        limit = min(int(one("limit") or 25), 1000)
    except ValueError as exc:
        raise BadRequest("limit param must be an integer") from exc
    if limit < 0:
        raise BadRequest("limit param must be positive")
    visibility = one("visibility")
    if visibility is not None and visibility not in (*VISIBILITIES, "all"):
        raise BadRequest("Invalid visibility value: " + visibility)
    member_status = one("member_status") or "accepted"

    query = select(Image)
    if not ctx.is_admin:
        shared = select(ImageMember.image_id).where(ImageMember.member == (ctx.project_id or ""))
        query = query.where(or_(Image.owner == ctx.project_id, Image.visibility.in_(("public", "community")),
                                Image.id.in_(shared)))
    # Narrowed in the database, so that other projects' community images (and their properties) are not
    # loaded by every listing that does not ask for them.
    if visibility is None:
        query = query.where(or_(Image.visibility != "community", Image.owner == (ctx.project_id or "")))
    elif visibility != "all":
        query = query.where(Image.visibility == visibility)
    query = query.where(Image.os_hidden == ((one("os_hidden") or "false").lower() == "true"))
    rows = list(session.scalars(query))
    members = {m.image_id: m.status for m in session.scalars(
        select(ImageMember).where(ImageMember.member == (ctx.project_id or "")))}

    def listed(image: Image) -> bool:
        if visibility not in (None, "all") and image.visibility != visibility:
            return False
        if visibility is None and image.visibility == "community" and image.owner != ctx.project_id:
            return False
        if image.visibility == "shared" and image.owner != ctx.project_id and not ctx.is_admin:
            return member_status == "all" or members.get(image.id) == member_status
        return True

    filters = {key: one(key) for key in ("name", "status", "owner", "disk_format", "container_format")}
    hidden = (one("os_hidden") or "false").lower() == "true"
    protected = one("protected")
    tags = params.get("tag", [])
    selected = [
        image for image in rows
        if listed(image) and image.os_hidden == hidden
        and all(value is None or getattr(image, key) == value for key, value in filters.items())
        and (protected is None or image.protected == (protected.lower() == "true"))
        and all(tag in image.tags for tag in tags)
    ]
    for key, descending in reversed(_sort_spec(params)):
        selected.sort(key=_sort_key(key), reverse=descending)
    marker = one("marker")
    if marker is not None:
        ids = [image.id for image in selected]
        if marker not in ids:
            raise BadRequest(f"Marker {marker} could not be found.")
        selected = selected[ids.index(marker) + 1:]
    page = selected[:limit]
    more = len(selected) > limit and limit > 0
    return page, page[-1].id if more else None


# ---- members -----------------------------------------------------------------------------------

def add_member(session: Session, ctx: RequestContext, image_id: str, member: str, *,
               limits: ImageLimits) -> ImageMember:
    image = get_owned(session, ctx, image_id)
    if image.visibility != "shared":
        raise Forbidden(f"Only shared images have members; this one is {image.visibility}.")
    if session.get(ImageMember, (image_id, member)) is not None:
        raise Conflict(f"Member {member} already exists for image {image_id}.")
    quotas.check_members(session, limits, image_id)
    now = utcnow()
    row = ImageMember(image_id=image_id, member=member, status="pending", created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def members(session: Session, ctx: RequestContext, image_id: str) -> list[ImageMember]:
    image = get_visible(session, ctx, image_id)
    query = select(ImageMember).where(ImageMember.image_id == image_id).order_by(ImageMember.created_at)
    if not ctx.is_admin and image.owner != ctx.project_id:
        query = query.where(ImageMember.member == ctx.project_id)
    return list(session.scalars(query))


def get_member(session: Session, ctx: RequestContext, image_id: str, member: str) -> ImageMember:
    for row in members(session, ctx, image_id):
        if row.member == member:
            return row
    raise NotFound(f"Member {member} not found for image {image_id}.")


def update_member(session: Session, ctx: RequestContext, image_id: str, member: str, status: str) -> ImageMember:
    row = get_member(session, ctx, image_id, member)
    if member != ctx.project_id:
        raise Forbidden("Only the member project may accept or reject a shared image.")
    row.status = status
    row.updated_at = utcnow()
    return row


def delete_member(session: Session, ctx: RequestContext, image_id: str, member: str) -> None:
    get_owned(session, ctx, image_id)
    row = session.get(ImageMember, (image_id, member))
    if row is None:
        raise NotFound(f"Member {member} not found for image {image_id}.")
    session.delete(row)


# ---- views -------------------------------------------------------------------------------------

def view(image: Image) -> dict:
    reserved = {k: v for k, v in image.properties.items() if k not in CORE and k not in READ_ONLY}
    return ImageView(
        **reserved, id=image.id, name=image.name, status=image.status, visibility=image.visibility,
        protected=image.protected, os_hidden=image.os_hidden, disk_format=image.disk_format,
        container_format=image.container_format, size=image.size, virtual_size=image.virtual_size,
        checksum=image.checksum, os_hash_algo=image.os_hash_algo, os_hash_value=image.os_hash_value,
        min_disk=image.min_disk, min_ram=image.min_ram, owner=image.owner, tags=list(image.tags),
        created_at=isotime(image.created_at, subsecond=False), updated_at=isotime(image.updated_at, subsecond=False),
        self=f"/v2/images/{image.id}", file=f"/v2/images/{image.id}/file",
    ).model_dump(mode="json")


def member_view(row: ImageMember) -> dict:
    return MemberView(image_id=row.image_id, member_id=row.member, status=row.status,
                      created_at=isotime(row.created_at, subsecond=False) or "",
                      updated_at=isotime(row.updated_at, subsecond=False) or "").model_dump(mode="json")
