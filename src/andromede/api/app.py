"""The one ASGI app: every service mounted under its prefix, behind one ordered middleware list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from andromede.api import errors, middleware
from andromede.common.config import Settings
from andromede.common.errors import ApiError, MethodNotAllowed, NotFound
from andromede.compute.api import build_compute_app
from andromede.compute.api import internal as compute_internal
from andromede.compute.api.microversion import Microversions
from andromede.db.engine import Database
from andromede.hosts import credentials as host_credentials
from andromede.hosts.api import build_internal_app
from andromede.identity.api import build_identity_app
from andromede.identity.catalog import CatalogEntry
from andromede.identity.service import IdentityService
from andromede.image.api import build_image_app
from andromede.image.store import ImageStore
from andromede.image.uploads import ImageUploads
from andromede.metadata import signing
from andromede.metadata.api import build_metadata_app
from andromede.network import changes as network_changes
from andromede.network import internal_api as network_internal
from andromede.network.api import build_network_app
from andromede.policy import compute as _compute_rules  # noqa: F401
from andromede.policy import identity as _identity_rules  # noqa: F401  (registers the identity rules)
from andromede.policy import image as _image_rules  # noqa: F401
from andromede.policy import network as _network_rules  # noqa: F401


@dataclass(frozen=True)
class ServiceMount:
    prefix: str
    catalog: tuple[CatalogEntry, ...]
    error_format: errors.Formatter
    # How big a request body may be; a service with upload routes allows more there.
    body_limit: middleware.LimitRule


def _image_body_limit(settings: Settings) -> middleware.LimitRule:
    def limit(scope: dict) -> int:
        if scope.get("method") == "PUT" and scope.get("path", "").endswith("/file"):
            return settings.image_size_cap_bytes  # uploads stream to disk; the cap is checked as they arrive
        return settings.max_json_body_bytes

    return limit


def service_mounts(settings: Settings) -> list[ServiceMount]:
    def json_limit(_scope: dict) -> int:
        return settings.max_json_body_bytes

    return [
        ServiceMount("/identity", (CatalogEntry("identity", "keystone", "/identity/v3", "Identity"),),
                     errors.keystone, lambda _scope: settings.max_json_body_bytes),
        ServiceMount("/image", (CatalogEntry("image", "glance", "/image", "Image"),),
                     errors.glance, _image_body_limit(settings)),
        ServiceMount("/compute", (CatalogEntry("compute", "nova", "/compute/v2.1", "Compute"),),
                     errors.nova, json_limit),
        ServiceMount("/network", (CatalogEntry("network", "neutron", "/network", "Network"),),
                     errors.neutron, json_limit),
        ServiceMount("/internal", (), errors.keystone, lambda _scope: 4 * 1024 * 1024),
        # Guests, through their network's proxy and the host agent's relay: no token, a signed instance id.
        ServiceMount("/metadata", (), errors.keystone, lambda _scope: 64 * 1024),
    ]


def catalog_entries(settings: Settings) -> list[CatalogEntry]:
    return [entry for mount in service_mounts(settings) for entry in mount.catalog]


@dataclass(frozen=True)
class Assembled:
    asgi: Callable
    identity: IdentityService
    uploads: ImageUploads


def build_app(settings: Settings, db: Database) -> Assembled:
    identity = IdentityService(settings, db)
    identity.context_hooks.append(host_credentials.context_binder(identity.cache))
    mounts = service_mounts(settings)
    for mount in mounts:
        errors.register(mount.prefix, mount.error_format)
    network_scopes = network_changes.watch(db, settings.the_network_host)
    store = ImageStore(settings.data_dir / "images")
    store.sweep_partial()
    uploads = ImageUploads(settings, db, store)
    apps = {
        "/identity": build_identity_app(identity),
        "/image": build_image_app(uploads),
        "/compute": Microversions(build_compute_app(settings, db)),
        "/network": build_network_app(settings, db),
        "/internal": build_internal_app(settings, db, [compute_internal.internal_routes(store),
                                                       network_internal.internal_routes(network_scopes)]),
        "/metadata": build_metadata_app(db, settings.data_dir / signing.SECRET_FILE,
                                        network_host=settings.the_network_host),
    }

    async def root(request: Request) -> JSONResponse:
        request.scope["state"]["context"].policy_checked = True  # public index of service roots
        return JSONResponse({"services": {m.prefix.strip("/"): settings.base_url + m.prefix for m in mounts}})

    routes = [Route("/", root)] + [Mount(m.prefix, app=apps[m.prefix]) for m in mounts]  # type: ignore[arg-type]

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
        lambda inner: middleware.BodyLimit(inner, {m.prefix: m.body_limit for m in mounts},
                                           settings.max_json_body_bytes),
        lambda inner: middleware.Authentication(inner, identity.context_for_token, identity.url + "/v3"),
        middleware.JsonBodies,
        lambda inner: middleware.PolicyGuard(inner, settings.policy_strict),
    ]
    for layer in reversed(pipeline):
        app = layer(app)
    return Assembled(asgi=app, identity=identity, uploads=uploads)
