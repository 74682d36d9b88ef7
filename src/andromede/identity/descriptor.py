"""Keystone v3 at /identity. The assembly authenticates every request through the IdentityService provided here."""

from __future__ import annotations

from starlette.types import ASGIApp

from andromede.identity import models
from andromede.identity.api import build_identity_app
from andromede.identity.service import IdentityService
from andromede.policy import identity as rules
from andromede.servicekit import errors
from andromede.servicekit.descriptor import Assembly, CatalogEntry, ServiceDescriptor


def _components(assembly: Assembly) -> None:
    assembly.components.provide(IdentityService(assembly.settings, assembly.db))


def _app(assembly: Assembly) -> ASGIApp:
    return build_identity_app(assembly.components.get(IdentityService))


# Its bootstrap (the first admin, roles, the catalog of every service, clients' files) is `andromede up`'s own.
DESCRIPTOR = ServiceDescriptor(
    name="identity", prefix="/identity", error_format=errors.keystone, build_app=_app,
    models=(models,), rules=(rules,),
    catalog=(CatalogEntry("identity", "keystone", "/identity/v3", "Identity"),),
    components=_components,
)
