"""Error bodies in each API's own wire format, chosen by the path prefix of the request."""

from __future__ import annotations

import json
from collections.abc import Callable

from andromede.common.errors import ApiError

Formatter = Callable[[ApiError], dict]

_NOVA_FAULTS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
                415: "badMediaType", 429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}


def keystone(error: ApiError) -> dict:
    extra = {k: v for k, v in error.extra.items() if k != "type"}
    return {"error": {"code": error.status, "title": error.title, "message": error.message}, **extra}


def glance(error: ApiError) -> dict:
    """What Glance's webob answers a JSON client: the SDK and OSC read `message`."""
    return {"message": error.message, "code": f"{error.status} {error.title}", "title": error.title}


_NEUTRON_TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
                  405: "HTTPMethodNotAllowed", 409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge",
                  415: "HTTPUnsupportedMediaType"}


def neutron(error: ApiError) -> dict:
    kind = error.extra.get("type") or _NEUTRON_TYPES.get(error.status, "HTTPInternalServerError")
    return {"NeutronError": {"type": kind, "message": error.message, "detail": ""}}


def nova(error: ApiError) -> dict:
    fault = _NOVA_FAULTS.get(error.status, "computeFault")
    return {fault: {"code": error.status, "message": error.message}}


_FORMATTERS: list[tuple[str, Formatter]] = []


def register(prefix: str, formatter: Formatter) -> None:
    _FORMATTERS.append((prefix, formatter))
    _FORMATTERS.sort(key=lambda item: len(item[0]), reverse=True)


def formatter_for(path: str) -> Formatter:
    for prefix, formatter in _FORMATTERS:
        if path == prefix or path.startswith(prefix + "/"):
            return formatter
    return keystone


def render(path: str, error: ApiError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(formatter_for(path)(error)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    return error.status, headers, body
