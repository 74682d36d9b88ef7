"""Nova v2.1 (mounted at /compute), with microversion negotiation wrapped around the app."""

from __future__ import annotations

from fastapi import FastAPI

from andromede.common.config import Settings
from andromede.compute.api import (
    extensions,
    instance_actions,
    interfaces,
    proxies,
    resources,
    server_admin_actions,
    server_groups,
    server_tags,
    servers,
    volume_attachments,
)
from andromede.db.engine import Database
from andromede.servicekit.service_app import service_app


def build_compute_app(settings: Settings, db: Database) -> FastAPI:
    app = service_app("compute")
    app.state.settings = settings
    app.state.db = db
    app.include_router(resources.router)
    app.include_router(servers.router)
    app.include_router(server_tags.router)
    app.include_router(interfaces.router)
    app.include_router(volume_attachments.router)
    app.include_router(server_groups.router)
    app.include_router(server_admin_actions.router)
    app.include_router(instance_actions.router)
    app.include_router(extensions.router)
    app.include_router(proxies.router)
    return app
