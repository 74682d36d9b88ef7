"""Keystone v3 routes, assembled into the identity service app (mounted at /identity)."""

from __future__ import annotations

from fastapi import FastAPI

from andromede.identity.api import (
    actors,
    auth,
    catalog,
    credentials,
    domain_config,
    endpoint_filter,
    implied_roles,
    resources,
    roles,
)
from andromede.identity.service import IdentityService
from andromede.servicekit.service_app import service_app


def build_identity_app(identity: IdentityService) -> FastAPI:
    app = service_app("identity")
    app.state.identity = identity
    for module in (auth, domain_config, resources, actors, implied_roles, roles, catalog, credentials, endpoint_filter):
        app.include_router(module.router)
    return app
