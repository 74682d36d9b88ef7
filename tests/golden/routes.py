"""Every route of the assembled app (method, full path template), read from the app itself, and which of them a
list of requests reached, matched the way the router matches (first route whose path and method fit)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.routing import Mount, compile_path


@dataclass(frozen=True)
class RouteKey:
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _walk(node: object, prefix: str, seen: set[int]) -> Iterator[RouteKey]:
    """Through middleware (`.app`), Starlette/FastAPI routers, mounts and FastAPI's included routers."""
    if id(node) in seen:
        return
    seen.add(id(node))
    routes = getattr(node, "routes", None)
    if isinstance(routes, list):
        for route in routes:
            if isinstance(route, Mount):
                yield from _walk(route.app, prefix + route.path, seen)
            elif hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.16x: include_router keeps a branch
                for context in route.effective_route_contexts():
                    yield from (RouteKey(m, prefix + context.path) for m in sorted(context.methods or ()))
            elif getattr(route, "methods", None):
                yield from (RouteKey(m, prefix + route.path) for m in sorted(route.methods))
            else:
                raise TypeError(f"a route the golden test cannot read: {route!r} under {prefix!r}")
        return
    inner = getattr(node, "app", None)
    if inner is None:
        raise TypeError(f"the golden test cannot see through {type(node).__name__} at {prefix!r}")
    yield from _walk(inner, prefix, seen)


def app_routes() -> list[RouteKey]:
    """The routes of the app `andromede up` serves, built on a throwaway SQLite database."""
    from andromede.api.app import build_app
    from andromede.common.config import Settings
    from andromede.db.engine import Database
    from andromede.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="andromede-routes-") as tmp:
        data = Path(tmp)
        settings = Settings(data_dir=data, tiny_image="skip", agent_driver="none",
                            database_url=f"sqlite:///{data / 'db.sqlite'}")
        db = Database(settings.db_url)
        upgrade(db.engine)
        try:
            return list(dict.fromkeys(_walk(build_app(settings, db).asgi, "", set())))
        finally:
            db.engine.dispose()


def matcher(routes: list[RouteKey]) -> callable:
    compiled = [(key, compile_path(key.path)[0]) for key in routes]

    def match(method: str, path: str) -> RouteKey | None:
        for key, regex in compiled:
            if key.method == method and regex.match(path):
                return key
        return None

    return match


# Routes whose every answer is a success: public version documents, with nothing to refuse (a wrong method on
# them is answered by no route, which the scenario also checks).
NO_ERROR_CASE = re.compile(r"^(GET|HEAD) (/|/identity/|/identity/v3/?|/image/|/image/v2/?|/compute/|/compute/v2/?"
                           r"|/compute/v2\.1/?|/network/|/network/v2\.0/?)$")

# Routes that exist only to refuse: the metadata service answers GET and HEAD; its other methods are routed so that
# their 405 comes in its own format.
NO_SUCCESS_CASE = re.compile(r"^(POST|PUT|PATCH|DELETE|OPTIONS) /metadata/\{path:path\}$")
