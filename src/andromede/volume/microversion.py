"""Cinder's microversions (`OpenStack-API-Version: volume 3.x`): 3.0 only so far (what this service honours);
3.0 when none is asked, echoed on every answer, 406 past the maximum."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from andromede.common.errors import BadRequest, NotAcceptable

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 0)
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def requested(headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    value = None
    for name, raw in headers:
        if name == b"openstack-api-version":
            for part in raw.decode("latin-1").split(","):
                service, _, ver = part.strip().partition(" ")
                if service.lower() in ("volume", "block-storage"):
                    value = ver.strip()
    if value is None:
        return MIN_VERSION
    if value.lower() == "latest":
        return MAX_VERSION
    match = _VERSION.match(value)
    if not match:
        raise BadRequest(f"Invalid API version request: {value}")
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise NotAcceptable(f"Version {value} is not supported by the API. Minimum is {text(MIN_VERSION)} and "
                            f"maximum is {text(MAX_VERSION)}.")
    return version


class Microversions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version = requested(scope.get("headers", []))
        scope.setdefault("state", {})["volume_version"] = version
        echo = [(b"openstack-api-version", b"volume " + text(version).encode()),
                (b"vary", b"OpenStack-API-Version")]

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *echo]
            await send(message)

        await self.app(scope, receive, send_with_version)
