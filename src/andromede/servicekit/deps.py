"""FastAPI dependencies every service's routes share."""

from __future__ import annotations

from fastapi import Request

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest


async def context(request: Request) -> RequestContext:
    # async on purpose: FastAPI runs sync dependencies in a worker thread, a hop per request.
    return request.scope["state"]["context"]


async def raw_body(request: Request) -> bytes:
    """The request's body, read on the event loop, so the route itself can be a plain `def` that FastAPI runs in a
    worker thread (a route that is `async def` and then does database or crypto work stalls every other request of
    the process while it runs). The route decodes it with json_body.decode after its policy check, so a caller who
    may not call it learns nothing from a malformed body."""
    return await request.body()


def parse_bool(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on", ""):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value for {name}: expected a boolean.")
