"""The middleware pipeline on a tiny app: request ids, error format, body limit, and the policy guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from andromede.api import middleware
from andromede.common.context import RequestContext
from andromede.common.errors import Unauthorized
from andromede.policy import mark_public
from andromede.servicekit.deps import context
from andromede.servicekit.service_app import service_app


def _resolver(token: str, request_id: str) -> RequestContext:
    if token != "good":
        raise Unauthorized()
    return RequestContext(request_id=request_id, user_id="u1", roles=frozenset({"member"}))


def _app(strict: bool) -> TestClient:
    app = service_app("test")

    @app.get("/enforced")
    def enforced(ctx: RequestContext = Depends(context)) -> dict:
        mark_public(ctx)
        return {"user": ctx.user_id}

    @app.get("/forgot")
    def forgot() -> dict:
        return {"oops": True}

    @app.post("/echo")
    def echo(body: dict, ctx: RequestContext = Depends(context)) -> dict:
        mark_public(ctx)
        return body

    @app.get("/boom")
    def boom(ctx: RequestContext = Depends(context)) -> dict:
        mark_public(ctx)
        raise RuntimeError("secret-canary in an exception")

    asgi = middleware.PolicyGuard(app, strict=strict)
    asgi = middleware.JsonBodies(asgi)
    asgi = middleware.Authentication(asgi, _resolver, "https://id.example/v3")
    asgi = middleware.BodyLimit(asgi, {}, 1024)
    asgi = middleware.RejectNul(asgi)
    asgi = middleware.ErrorFormatter(asgi)
    asgi = middleware.RequestId(asgi)
    return TestClient(asgi, raise_server_exceptions=False)


def test_request_id_and_context() -> None:
    client = _app(strict=True)
    response = client.get("/enforced", headers={"X-Auth-Token": "good"})
    assert response.json() == {"user": "u1"}
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_invalid_token_is_401_with_challenge() -> None:
    response = _app(strict=True).get("/enforced", headers={"X-Auth-Token": "bad"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Keystone uri="https://id.example/v3"'
    assert response.json()["error"]["code"] == 401


def test_policy_guard_fails_unenforced_routes_in_strict_mode() -> None:
    assert _app(strict=True).get("/forgot").status_code == 500
    assert _app(strict=False).get("/forgot").status_code == 200


@pytest.mark.parametrize("size,status", [(100, 200), (5000, 413)])
def test_body_limit(size: int, status: int) -> None:
    response = _app(strict=True).post("/echo", json={"x": "a" * size})
    assert response.status_code == status


def test_unexpected_errors_leak_nothing() -> None:
    response = _app(strict=True).get("/boom")
    assert response.status_code == 500
    assert "canary" not in response.text and "Traceback" not in response.text
    assert response.json()["error"]["code"] == 500


def test_spoofed_identity_headers_are_dropped(tmp_path: Path) -> None:
    response = _app(strict=True).get("/enforced", headers={"X-Roles": "admin", "X-User-Id": "root"})
    assert response.json() == {"user": None}


@pytest.mark.parametrize("content_type,body,status", [
    ("application/json", b'{"x": ' + b"[" * 65 + b"]" * 65 + b"}", 400),
    ("application/json; charset=utf-8", b'{"x": ' + b"[" * 63 + b"]" * 63 + b"}", 200),
    ("application/json", '{"x": 1}'.encode("utf-16"), 400),
    ("application/json", b"\xef\xbb\xbf{}", 400),
    ("application/merge-patch+json", b'{"x": "\xff"}', 400),
    ("application/json", b'{"x": "\xc3\xa9"}', 200),
])
def test_json_bodies_are_checked_before_any_parser(content_type: str, body: bytes, status: int) -> None:
    response = _app(strict=True).post("/echo", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["code"] == 400


def test_json_bodies_reach_the_route_unchanged_in_chunks() -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"x": '
        yield b'"chunked"}'

    response = _app(strict=True).post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.json() == {"x": "chunked"}
