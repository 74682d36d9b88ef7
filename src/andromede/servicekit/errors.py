"""Error bodies in each API's own wire format, chosen by the path prefix of the request: each service's descriptor
names its format, the assembly registers it under the service's prefix."""

from __future__ import annotations

import json
from collections.abc import Callable

from andromede.common.errors import ApiError

ErrorFormat = Callable[[ApiError], dict]


def keystone(error: ApiError) -> dict:
    """Keystone's error body; also the format of any path no service claims."""
    extra = {k: v for k, v in error.extra.items() if k != "type"}
    return {"error": {"code": error.status, "title": error.title, "message": error.message}, **extra}


_FORMATTERS: list[tuple[str, ErrorFormat]] = []


def register(prefix: str, formatter: ErrorFormat) -> None:
    """`formatter` answers for every path under `prefix` (the longest registered prefix wins)."""
    _FORMATTERS[:] = [item for item in _FORMATTERS if item[0] != prefix]
    _FORMATTERS.append((prefix, formatter))
    _FORMATTERS.sort(key=lambda item: len(item[0]), reverse=True)


def formatter_for(path: str) -> ErrorFormat:
    for prefix, formatter in _FORMATTERS:
        if path == prefix or path.startswith(prefix + "/"):
            return formatter
    return keystone


def render(path: str, error: ApiError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(formatter_for(path)(error)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    return error.status, headers, body
