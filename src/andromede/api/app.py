"""The one ASGI app: every service of the registry mounted under its prefix, behind one ordered middleware list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from andromede import registry
from andromede.api import middleware
from andromede.common.config import Settings
from andromede.common.errors import ApiError, MethodNotAllowed, NotFound
from andromede.db.engine import Database
from andromede.identity.service import IdentityService
from andromede.servicekit import errors
from andromede.servicekit.descriptor import Assembly, CatalogEntry, LimitRule, ServiceDescriptor


def catalog_entries(services: Sequence[ServiceDescriptor] = registry.SERVICES) -> list[CatalogEntry]:
    return [entry for service in services for entry in service.catalog]


def _body_limit(service: ServiceDescriptor, settings: Settings) -> LimitRule:
    if service.body_limit is not None:
        return service.body_limit(settings)
    return lambda _scope: settings.max_json_body_bytes


@dataclass(frozen=True)
class Assembled:
    asgi: ASGIApp
    # The services' shared components (the identity service, image uploads...) and what bootstraps them.
    assembly: Assembly


def build_app(settings: Settings, db: Database,
              services: Sequence[ServiceDescriptor] = registry.SERVICES) -> Assembled:
    assembly = Assembly(settings, db, tuple(services))
    for service in services:
        errors.register(service.prefix, service.error_format)
    for service in services:
        if service.components is not None:
            service.components(assembly)
    apps = {service.prefix: service.build_app(assembly) for service in services}
    identity = assembly.components.get(IdentityService)

    async def root(request: Request) -> JSONResponse:
        request.scope["state"]["context"].policy_checked = True  # public index of service roots
        return JSONResponse({"services": {s.prefix.strip("/"): settings.base_url + s.prefix for s in services}})

    routes: list[BaseRoute] = [Route("/", root), *(Mount(prefix, app=app) for prefix, app in apps.items())]

    async def api_error(request: Request, exc: Exception) -> Response:
        # Errors raised between the router and a service app (e.g. microversion checks) still get the
        # owning service's format.
        assert isinstance(exc, ApiError)
        status, headers, body = errors.render(request.scope["path"], exc)
        return Response(body, status_code=status, headers={k.decode(): v.decode() for k, v in headers})

    async def unrouted(request: Request, exc: Exception) -> Response:
        # No mount matched (e.g. a path with an encoded newline, which Starlette's patterns do not span): the
        # answer is still in the format of the service whose prefix the path names.
        assert isinstance(exc, StarletteHTTPException)
        mapped = NotFound() if exc.status_code == 404 else MethodNotAllowed() if exc.status_code == 405 else ApiError()
        mapped.status = exc.status_code
        return await api_error(request, mapped)

    app: Callable = Starlette(routes=routes, exception_handlers={ApiError: api_error,
                                                                 StarletteHTTPException: unrouted})

    # The pipeline, outermost first. Read bottom-up, this is what a request passes through.
    pipeline: list[Callable[[Callable], Callable]] = [
        middleware.RequestId,
        middleware.ErrorFormatter,
        middleware.RejectNul,
        lambda inner: middleware.BodyLimit(inner, {s.prefix: _body_limit(s, settings) for s in services},
                                           settings.max_json_body_bytes),
        lambda inner: middleware.Authentication(inner, identity.context_for_token, identity.url + "/v3"),
        middleware.JsonBodies,
        lambda inner: middleware.PolicyGuard(inner, settings.policy_strict),
    ]
    for layer in reversed(pipeline):
        app = layer(app)
    return Assembled(asgi=app, assembly=assembly)
