"""Compute microversions: what a request asked for, checked against what we honour, echoed back."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from andromede.common.errors import BadRequest, NotAcceptable

Version = tuple[int, int]
MIN_VERSION: Version = (2, 1)
MAX_VERSION: Version = (2, 90)
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")  # Nova's: no leading zeros, "2.01" is garbage


def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def version_of(request: Request) -> Version:
    """The microversion this request is answered at (set by Microversions below)."""
    return getattr(request.state, "compute_version", MIN_VERSION)


def requested_version(headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    value = None
    for name, raw in headers:
        text = raw.decode("latin-1").strip()
        if name == b"openstack-api-version":
            for part in text.split(","):
                service, _, ver = part.strip().partition(" ")
                if service.lower() == "compute":
                    value = ver.strip()
        elif name == b"x-openstack-nova-api-version" and value is None:
            value = text
    if value is None:
        return MIN_VERSION
    if value.lower() == "latest":
        return MAX_VERSION
    match = _VERSION.match(value)
    if not match:
        raise BadRequest(f"Invalid API version request: {value}")
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise NotAcceptable(f"Version {value} is not supported by the API. Minimum is "
                            f"{version_text(MIN_VERSION)} and maximum is {version_text(MAX_VERSION)}.")
    return version


class Microversions:
    """Parses the requested compute microversion and echoes it on every answer, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version = requested_version(scope.get("headers", []))
        scope.setdefault("state", {})["compute_version"] = version
        text = version_text(version).encode()
        echo = [(b"openstack-api-version", b"compute " + text), (b"x-openstack-nova-api-version", text),
                (b"vary", b"OpenStack-API-Version, X-OpenStack-Nova-API-Version")]

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *echo]
            await send(message)

        await self.app(scope, receive, send_with_version)
