"""Glance v2 at /image: the image store (shared with compute's internal routes) and its uploads."""

from __future__ import annotations

from pathlib import Path

from starlette.types import ASGIApp

from andromede.common.config import Settings
from andromede.common.errors import ApiError
from andromede.image import models
from andromede.image.api import build_image_app
from andromede.image.bootstrap import ensure_tiny_image
from andromede.image.metadefs import models as metadef_models
from andromede.image.metadefs.catalogue import load_catalogue
from andromede.image.store import ImageStore
from andromede.image.uploads import ImageUploads
from andromede.policy import image as rules
from andromede.servicekit.descriptor import Assembly, CatalogEntry, LimitRule, ServiceDescriptor


def glance_error(error: ApiError) -> dict:
    """What Glance's webob answers a JSON client: the SDK and OSC read `message`."""
    return {"message": error.message, "code": f"{error.status} {error.title}", "title": error.title}


def _body_limit(settings: Settings) -> LimitRule:
    def limit(scope: dict) -> int:
        if scope.get("method") == "PUT" and scope.get("path", "").endswith("/file"):
            return settings.image_size_cap_bytes  # uploads stream to disk; the cap is checked as they arrive
        return settings.max_json_body_bytes

    return limit


def _components(assembly: Assembly) -> None:
    store = ImageStore(assembly.settings.data_dir / "images")
    store.sweep_partial()
    assembly.components.provide(store)
    assembly.components.provide(ImageUploads(assembly.settings, assembly.db, store))


def _app(assembly: Assembly) -> ASGIApp:
    return build_image_app(assembly.components.get(ImageUploads))


def _bootstrap(assembly: Assembly) -> None:
    settings = assembly.settings
    load_catalogue(assembly.db)
    if settings.tiny_image == "skip":
        return
    from andromede.guest import default_cache_dir

    cache = Path(settings.guest_cache_dir) if settings.guest_cache_dir else default_cache_dir()
    ensure_tiny_image(assembly.components.get(ImageUploads), cache)


DESCRIPTOR = ServiceDescriptor(
    name="image", prefix="/image", error_format=glance_error, build_app=_app,
    models=(models, metadef_models), rules=(rules,),
    catalog=(CatalogEntry("image", "glance", "/image", "Image"),),
    body_limit=_body_limit, components=_components, bootstrap=_bootstrap,
)
