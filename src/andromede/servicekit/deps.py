"""FastAPI dependencies every service's routes share."""

from __future__ import annotations

from fastapi import Request

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest


async def context(request: Request) -> RequestContext:
    # async on purpose: FastAPI runs sync dependencies in a worker thread, a hop per request.
    return request.scope["state"]["context"]


def parse_bool(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on", ""):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value for {name}: expected a boolean.")
