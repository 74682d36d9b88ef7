"""The request pipeline: plain ASGI middlewares, declared in order in api/app.py.

Each one is small and does one thing. They are plain ASGI (not BaseHTTPMiddleware) because they
run on every request and must not buffer bodies or spawn tasks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from andromede.common.context import RequestContext
from andromede.common.errors import ApiError, BadRequest, NotFound, PayloadTooLarge, ServerError, Unauthorized
from andromede.servicekit import errors, json_body
from andromede.servicekit.descriptor import LimitRule

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("andromede.api")

# Headers a client could use to claim an identity; only the token says who the caller is.
_SPOOFABLE = {b"x-roles", b"x-user-id", b"x-project-id", b"x-domain-id", b"x-is-admin-project",
              b"x-identity-status", b"x-service-token", b"x-user-name", b"x-project-name"}


def _state(scope: Scope) -> dict:
    return scope.setdefault("state", {})


async def send_error(scope: Scope, send: Send, error: ApiError) -> None:
    status, headers, body = errors.render(scope.get("path", ""), error)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestId:
    """Gives every request an id, returned as x-openstack-request-id and logged with errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        _state(scope)["request_id"] = request_id
        header = (b"x-openstack-request-id", request_id.encode())

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


class ErrorFormatter:
    """Turns ApiError into the owning service's error body; anything else into a bare 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ApiError as error:
            if not started:
                await send_error(scope, send, error)
        except Exception:
            log.exception("unhandled error in request %s", _state(scope).get("request_id"))
            if not started:  # otherwise the service app already answered with its formatted 500
                await send_error(scope, send, ServerError())


class RejectNul:
    """A NUL byte names nothing we store (PostgreSQL text cannot even hold one): 404 in paths, 400 in queries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "\x00" in scope.get("path", ""):
                raise NotFound()
            if b"%00" in scope.get("query_string", b"") or b"\x00" in scope.get("query_string", b""):
                raise BadRequest("Query parameters must not contain NUL bytes.")
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses bodies over the limit for the request with 413, whether declared or streamed.

    Each service declares its rule (by path prefix); a rule may allow a bigger body on its upload routes.
    """

    def __init__(self, app: ASGIApp, rules: dict[str, LimitRule], default: int) -> None:
        self.app = app
        self.rules = sorted(rules.items(), key=lambda item: len(item[0]), reverse=True)
        self.default = default

    def limit_for(self, scope: Scope) -> int | None:
        path = scope.get("path", "")
        for prefix, rule in self.rules:
            if path == prefix or path.startswith(prefix + "/"):
                return rule(scope)
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    raise PayloadTooLarge()
        seen = 0

        async def counting_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge()
            return message

        await self.app(scope, counting_receive, send)


def _declares_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
            return media_type.startswith(b"application/") and b"json" in media_type
    return False


class JsonBodies:
    """Checks a body declared as JSON (UTF-8, nesting depth) before any parser reads it; 400 if it is not.

    Such a body is read whole here, as every JSON route reads it anyway (BodyLimit, before this, bounds it), and
    handed on unchanged. Uploads are not JSON and stream past untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _declares_json(scope):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if body:
            json_body.check(body)
        replay: list[dict] = [{"type": "http.request", "body": body, "more_body": False}]
        if messages[-1]["type"] != "http.request":
            replay.append(messages[-1])  # a disconnect, for the app to see

        async def replaying_receive() -> dict:
            return replay.pop(0) if replay else await receive()

        await self.app(scope, replaying_receive, send)


TokenResolver = Callable[[str, str], RequestContext]


class Authentication:
    """X-Auth-Token → RequestContext in scope state; an invalid token is a 401 right here."""

    def __init__(self, app: ASGIApp, resolve: TokenResolver, identity_url: str) -> None:
        self.app = app
        self.resolve = resolve
        self.challenge = f'Keystone uri="{identity_url}"'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = _state(scope)
        token = None
        headers = []
        for name, value in scope.get("headers", []):
            if name == b"x-auth-token":
                token = value.decode("latin-1")
            if name not in _SPOOFABLE:
                headers.append((name, value))
        scope["headers"] = headers
        request_id = state["request_id"]
        if token:
            # Validation is a few indexed lookups and no hashing: cheap enough to run on the loop.
            try:
                state["context"] = self.resolve(token, request_id)
            except Unauthorized as error:
                raise Unauthorized("The request you have made requires authentication.",
                                   headers={"WWW-Authenticate": self.challenge}) from error
        else:
            state["context"] = RequestContext(request_id=request_id)
        await self.app(scope, receive, send)


class PolicyGuard:
    """Fails a successful response from a route that never called policy.enforce()/mark_public()."""

    def __init__(self, app: ASGIApp, strict: bool) -> None:
        self.app = app
        self.strict = strict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx: RequestContext = _state(scope)["context"]

        async def guarded_send(message: dict) -> None:
            # 3xx answers carry no data (e.g. the router's trailing-slash redirects) and need no policy.
            if (message["type"] == "http.response.start" and message["status"] < 300
                    and not ctx.policy_checked):
                log.error("PROGRAMMING ERROR: %s %s enforced no policy", scope["method"], scope["path"])
                if self.strict:
                    raise ServerError("Route enforced no policy.")
            await send(message)

        await self.app(scope, receive, guarded_send)
