"""OpenStack microversions, as every service negotiates them: the version a request asks for in
`OpenStack-API-Version: <service> X.Y` (or a service's legacy header), checked against the range the service
honours (400 for garbage, 406 outside it, "latest" is the maximum), set on the request's state and echoed on every
answer, errors included, with `Vary`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from andromede.common.errors import BadRequest, NotAcceptable

Version = tuple[int, int]
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")  # OpenStack's: no leading zeros, "2.01" is garbage


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class VersionRange:
    """What one service honours and how it names itself on the wire."""

    names: tuple[str, ...]  # accepted in OpenStack-API-Version; the first is echoed
    minimum: Version
    maximum: Version
    state_key: str  # request.state attribute the routes read
    legacy_header: str | None = None  # e.g. Nova's "X-OpenStack-Nova-API-Version"

    def requested(self, headers: list[tuple[bytes, bytes]]) -> Version:
        legacy = self.legacy_header.lower().encode() if self.legacy_header is not None else None
        value = None
        for name, raw in headers:
            text = raw.decode("latin-1").strip()
            if name == b"openstack-api-version":
                for part in text.split(","):
                    service, _, asked = part.strip().partition(" ")
                    if service.lower() in self.names:
                        value = asked.strip()
            elif legacy is not None and name == legacy and value is None:
                value = text
        if value is None:
            return self.minimum
        if value.lower() == "latest":
            return self.maximum
        match = _VERSION.match(value)
        if not match:
            raise BadRequest(f"Invalid API version request: {value}")
        version = (int(match.group(1)), int(match.group(2)))
        if not self.minimum <= version <= self.maximum:
            raise NotAcceptable(f"Version {value} is not supported by the API. Minimum is "
                                f"{version_text(self.minimum)} and maximum is {version_text(self.maximum)}.")
        return version

    def echo(self, version: Version) -> list[tuple[bytes, bytes]]:
        text = version_text(version).encode()
        headers = [(b"openstack-api-version", self.names[0].encode() + b" " + text)]
        vary = "OpenStack-API-Version"
        if self.legacy_header is not None:
            headers.append((self.legacy_header.lower().encode(), text))
            vary += ", " + self.legacy_header
        return [*headers, (b"vary", vary.encode())]


class Microversions:
    """ASGI middleware: negotiates the version of every request to the wrapped service app."""

    def __init__(self, app: ASGIApp, versions: VersionRange) -> None:
        self.app, self.versions = app, versions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version = self.versions.requested(scope.get("headers", []))
        scope.setdefault("state", {})[self.versions.state_key] = version
        echo = self.versions.echo(version)

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *echo]
            await send(message)

        await self.app(scope, receive, send_with_version)
