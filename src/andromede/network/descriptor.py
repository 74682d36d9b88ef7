"""Neutron v2.0 at /network (with routers and security groups), and network's part of the internal API."""

from __future__ import annotations

from starlette.types import ASGIApp

from andromede.common.errors import ApiError
from andromede.network import changes, internal_api, models
from andromede.network.api import build_network_app
from andromede.network.bootstrap import ensure_public_network
from andromede.network.l3 import models as l3_models
from andromede.network.security_groups import models as security_group_models
from andromede.policy import network as rules
from andromede.servicekit.descriptor import Assembly, CatalogEntry, InternalRoutes, ServiceDescriptor

_TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
          405: "HTTPMethodNotAllowed", 409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge",
          415: "HTTPUnsupportedMediaType"}


def neutron_error(error: ApiError) -> dict:
    kind = error.extra.get("type") or _TYPES.get(error.status, "HTTPInternalServerError")
    return {"NeutronError": {"type": kind, "message": error.message, "detail": ""}}


def _components(assembly: Assembly) -> None:
    assembly.components.provide(changes.watch(assembly.db, assembly.settings.the_network_host))


def _app(assembly: Assembly) -> ASGIApp:
    return build_network_app(assembly.settings, assembly.db)


def _internal(assembly: Assembly) -> InternalRoutes:
    return internal_api.internal_routes(assembly.components.get(changes.NetworkScopes))


def _bootstrap(assembly: Assembly) -> None:
    with assembly.db.session() as session:
        ensure_public_network(session, assembly.settings)


DESCRIPTOR = ServiceDescriptor(
    name="network", prefix="/network", error_format=neutron_error, build_app=_app,
    models=(models, l3_models, security_group_models), rules=(rules,),
    catalog=(CatalogEntry("network", "neutron", "/network", "Network"),),
    components=_components, internal_routes=_internal, bootstrap=_bootstrap,
)
