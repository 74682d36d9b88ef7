"""No route blocks the event loop: every service is served from one asyncio loop, and FastAPI runs an `async def`
endpoint ON it, so a database session, a hash or a file write there stalls every other request of the process.
Endpoints are plain `def` (FastAPI runs them in a worker thread) unless listed below."""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from starlette.routing import Mount

# Each endpoint that stays async, why, and where its synchronous work goes.
ASYNC_ALLOWED = {
    # Hashing a secret is gated (hash_gate.slot() is an async semaphore) and runs in run_in_threadpool; a
    # rescope touches cached state only.
    "andromede.identity.api.auth:issue_token",
    "andromede.identity.api.credentials:create_application_credential",
    "andromede.identity.api.actors:change_password",
    # Hot reads: a cache hit is answered on the loop, a miss is computed in a worker thread (IdentityCache.amemo).
    "andromede.identity.api.auth:auth_catalog",
    "andromede.identity.api.auth:auth_projects",
    "andromede.identity.api.auth:auth_domains",
    "andromede.identity.api.auth:auth_system",
    # Streamed upload: only the request stream is read on the loop; the database, the disk writes and the image
    # inspection run in worker threads (ImageUploads.receive).
    "andromede.image.api:upload_image",
    # Agents' long-polls: the wait is a coroutine, each read of the database runs in a worker thread.
    "andromede.compute.api.internal:desired",
    "andromede.network.internal_api:desired_network",
    "andromede.volume.internal:desired",
    # The metadata service (a Starlette route): loading the instance and storing a password run in worker threads.
    "andromede.metadata.api:build_metadata_app.<locals>.serve",
    # The API root's version list: a constant document.
    "andromede.api.app:build_app.<locals>.root",
}


def _endpoints(node: object, prefix: str, seen: set[int]) -> Iterator[tuple[str, Callable]]:
    """(path, endpoint) of every route, through middleware, mounts and FastAPI's included routers."""
    if id(node) in seen:
        return
    seen.add(id(node))
    routes = getattr(node, "routes", None)
    if isinstance(routes, list):
        for route in routes:
            if isinstance(route, Mount):
                yield from _endpoints(route.app, prefix + route.path, seen)
            elif hasattr(route, "effective_route_contexts"):
                yield from ((prefix + c.path, c.endpoint) for c in route.effective_route_contexts() if c.endpoint)
            elif getattr(route, "endpoint", None) is not None:
                yield prefix + route.path, route.endpoint
        return
    inner = getattr(node, "app", None)
    if inner is not None:
        yield from _endpoints(inner, prefix, seen)


def _name(endpoint: Callable) -> str:
    return f"{endpoint.__module__}:{endpoint.__qualname__}"


def _app_endpoints() -> list[tuple[str, Callable]]:
    from andromede.api.app import build_app
    from andromede.common.config import Settings
    from andromede.db.engine import Database
    from andromede.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="andromede-loop-") as tmp:
        data = Path(tmp)
        settings = Settings(data_dir=data, tiny_image="skip", agent_driver="none",
                            database_url=f"sqlite:///{data / 'db.sqlite'}")
        db = Database(settings.db_url)
        upgrade(db.engine)
        try:
            return list(_endpoints(build_app(settings, db).asgi, "", set()))
        finally:
            db.engine.dispose()


def test_no_async_endpoint_outside_the_allowlist() -> None:
    endpoints = _app_endpoints()
    assert len(endpoints) > 100  # the walk reached every service
    offenders = sorted({f"{_name(e)} ({path})" for path, e in endpoints
                        if inspect.iscoroutinefunction(e) and _name(e) not in ASYNC_ALLOWED})
    assert not offenders, "async endpoints doing their work on the event loop:\n" + "\n".join(offenders)


def test_the_allowlist_names_only_live_async_endpoints() -> None:
    live = {_name(e) for _, e in _app_endpoints() if inspect.iscoroutinefunction(e)}
    assert not ASYNC_ALLOWED - live, f"stale entries: {sorted(ASYNC_ALLOWED - live)}"
