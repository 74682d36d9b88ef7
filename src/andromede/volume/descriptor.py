"""Cinder v3 at /volume (catalog types block-storage and volumev3, the project id in the URL as Cinder's is)."""

from __future__ import annotations

from starlette.types import ASGIApp

from andromede.common.errors import ApiError
from andromede.identity.service import IdentityService
from andromede.image.store import ImageStore
from andromede.kms.component import KeyManager
from andromede.policy import volume as rules
from andromede.servicekit.descriptor import Assembly, CatalogEntry, InternalRoutes, ServiceDescriptor
from andromede.volume import internal, models, service
from andromede.volume.api import build_volume_app

_FAULTS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
           405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
           415: "badMediaType", 429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}


def cinder_error(error: ApiError) -> dict:
    """Cinder's Fault body (cinder/api/openstack/wsgi.py), the same shape as Nova's."""
    return {_FAULTS.get(error.status, "computeFault"): {"code": error.status, "message": error.message}}


def _app(assembly: Assembly) -> ASGIApp:
    return build_volume_app(assembly.db, assembly.components.get(KeyManager), assembly.settings.base_url)


def _components(assembly: Assembly) -> None:
    assembly.components.get(IdentityService).project_deleted_hooks.append(service.orphan_project_volumes)


def _internal(assembly: Assembly) -> InternalRoutes:
    return internal.internal_routes(assembly.components.get(KeyManager), assembly.components.get(ImageStore))


def _bootstrap(assembly: Assembly) -> None:
    with assembly.db.session() as session:
        service.ensure_default_type(session)


_PATH = "/volume/v3/%(project_id)s"
DESCRIPTOR = ServiceDescriptor(
    name="volume", prefix="/volume", error_format=cinder_error, build_app=_app,
    models=(models,), rules=(rules,),
    catalog=(CatalogEntry("block-storage", "cinder", _PATH, "Block Storage"),
             CatalogEntry("volumev3", "cinderv3", _PATH, "Block Storage v3")),
    components=_components, internal_routes=_internal, bootstrap=_bootstrap,
)
