"""Images the cloud provides itself: the `tiny` guest, public, so a first `server create` just works."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select

from andromede.common.context import RequestContext
from andromede.common.ids import new_id
from andromede.identity.for_services import project_id_named
from andromede.image import service
from andromede.image.models import Image
from andromede.image.schemas import ImageCreate
from andromede.image.uploads import ImageUploads

log = logging.getLogger("andromede.image")
TINY = "tiny"


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def register_local_image(uploads: ImageUploads, path: Path, *, name: str, disk_format: str,
                         properties: dict[str, str]) -> str:
    """Create a public image owned by the admin project and stream `path` in, inspected like any upload."""
    with uploads.db.session() as session:
        ctx = RequestContext(request_id="bootstrap", user_id="bootstrap",
                             project_id=project_id_named(session, "admin") or "",
                             system_scope=True, roles=frozenset({"admin"}))
        image = service.create(session, ctx, ImageCreate.model_validate(
            {"name": name, "disk_format": disk_format, "container_format": "bare", "visibility": "public",
             **properties}), limits=uploads.limits)
        image_id = image.id
    asyncio.run(uploads.receive(ctx, image_id, _chunks(path)))
    return image_id


def ensure_tiny_image(uploads: ImageUploads, cache_dir: Path) -> None:
    with uploads.db.session() as session:
        present = session.scalars(select(Image.id).where(Image.name == TINY, Image.visibility == "public",
                                                         Image.status == "active")).first()
    if present:
        return
    from andromede.guest import build_tiny_image

    log.info("building the tiny guest image (cached in %s)", cache_dir)
    path = build_tiny_image(cache_dir)
    image_id = register_local_image(uploads, path, name=TINY, disk_format="raw",
                                    properties={"os_distro": "andromede-tiny", "os_type": "linux",
                                                "hw_disk_bus": "virtio", "build_id": new_id()[:8]})
    log.info("registered the tiny image as %s", image_id)
