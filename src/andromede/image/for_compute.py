"""What the compute service asks of the image service: the image a server boots from, as a read-only view."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.image import service


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


def visible_image(session: Session, ctx: RequestContext, image_id: str) -> BootImage:
    """The image if the caller may see it; Glance's 404 otherwise (compute words its own refusal)."""
    image = service.get_visible(session, ctx, image_id)
    return BootImage(id=image.id, status=image.status, disk_format=image.disk_format,
                     container_format=image.container_format, size=image.size, virtual_size=image.virtual_size,
                     min_disk=image.min_disk, min_ram=image.min_ram)
