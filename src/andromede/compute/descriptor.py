"""Nova v2.1 at /compute (microversions negotiated around the app), and compute's part of the internal API."""

from __future__ import annotations

from starlette.types import ASGIApp

from andromede.common.errors import ApiError
from andromede.compute import action_models, bootstrap, group_models, models
from andromede.compute.api import build_compute_app, internal
from andromede.compute.api.microversion import VERSIONS
from andromede.image.store import ImageStore
from andromede.policy import compute as rules
from andromede.servicekit.descriptor import Assembly, CatalogEntry, InternalRoutes, ServiceDescriptor
from andromede.servicekit.microversions import Microversions

_FAULTS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
           405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
           415: "badMediaType", 429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}


def nova_error(error: ApiError) -> dict:
    fault = _FAULTS.get(error.status, "computeFault")
    return {fault: {"code": error.status, "message": error.message}}


def _app(assembly: Assembly) -> ASGIApp:
    return Microversions(build_compute_app(assembly.settings, assembly.db), VERSIONS)


def _internal(assembly: Assembly) -> InternalRoutes:
    return internal.internal_routes(assembly.components.get(ImageStore))


def _bootstrap(assembly: Assembly) -> None:
    with assembly.db.session() as session:
        bootstrap.ensure_flavors(session)


DESCRIPTOR = ServiceDescriptor(
    name="compute", prefix="/compute", error_format=nova_error, build_app=_app,
    models=(models, group_models, action_models), rules=(rules,),
    catalog=(CatalogEntry("compute", "nova", "/compute/v2.1", "Compute"),),
    internal_routes=_internal, bootstrap=_bootstrap,
)
