"""What the compute service asks of the image service: the image a server boots from, as a read-only view."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.image import service
from andromede.image.models import Image


@dataclass(frozen=True)
class BootImage:
    """The facts about an image that decide whether, and on what disk, a server can boot from it."""
    id: str
    status: str
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    min_disk: int
    min_ram: int
    checksum: str | None  # of its data: a host checks what it downloaded
    os_hash_value: str | None


def _view(image: Image) -> BootImage:
    return BootImage(id=image.id, status=image.status, disk_format=image.disk_format,
                     container_format=image.container_format, size=image.size, virtual_size=image.virtual_size,
                     min_disk=image.min_disk, min_ram=image.min_ram, checksum=image.checksum,
                     os_hash_value=image.os_hash_value)


def visible_image(session: Session, ctx: RequestContext, image_id: str) -> BootImage:
    """The image if the caller may see it; Glance's 404 otherwise (compute words its own refusal)."""
    return _view(service.get_visible(session, ctx, image_id))


def booted_images(session: Session, image_ids: Iterable[str]) -> dict[str, BootImage]:
    """The images servers already boot from, by id, whoever may see them now (a host needs its servers' disks);
    an id no image has any more is left out."""
    return {image.id: _view(image) for image in session.scalars(select(Image).where(Image.id.in_(set(image_ids))))}


def booted_image(session: Session, image_id: str) -> BootImage | None:
    """One image a server already boots from (see booted_images), None when there is none of that id."""
    image = session.get(Image, image_id)
    return _view(image) if image is not None else None


@dataclass(frozen=True)
class ListedImage:
    """An image as Nova's /images proxy (microversion 2.1) shows it."""
    id: str
    name: str | None
    status: str
    size: int | None
    min_disk: int
    min_ram: int
    properties: dict
    created_at: datetime
    updated_at: datetime


def _listed(image: Image) -> ListedImage:
    return ListedImage(id=image.id, name=image.name, status=image.status, size=image.size, min_disk=image.min_disk,
                       min_ram=image.min_ram, properties=dict(image.properties), created_at=image.created_at,
                       updated_at=image.updated_at)


def listed_images(session: Session, ctx: RequestContext) -> list[ListedImage]:
    """Every image the caller sees, as Glance lists them by default (newest first), all pages."""
    found: list[ListedImage] = []
    params: dict[str, list[str]] = {"limit": ["1000"]}
    while True:
        page, marker = service.list_images(session, ctx, params)
        found += [_listed(image) for image in page]
        if marker is None:
            return found
        params = {"limit": ["1000"], "marker": [marker]}


def listed_image(session: Session, ctx: RequestContext, image_id: str) -> ListedImage:
    return _listed(service.get_visible(session, ctx, image_id))
