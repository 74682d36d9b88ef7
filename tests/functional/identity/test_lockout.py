"""Lockout after repeated failures, with the same answer for known and unknown users."""

from __future__ import annotations

import httpx

from tests.support.accounts import Admin
from tests.support.server import Server


def _attempt(http: httpx.Client, name: str, password: str) -> httpx.Response:
    return http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": name, "domain": {"id": "default"}, "password": password}}}}})


def _shape(response: httpx.Response) -> tuple:
    return response.status_code, response.text, response.headers.get("WWW-Authenticate")


def test_lockout_and_no_enumeration_oracle(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    known = [_attempt(http, account.name, "wrong-password-1") for _ in range(5)]
    unknown = [_attempt(http, "nobody-by-this-name", "wrong-password-1") for _ in range(5)]
    assert {_shape(r) for r in known} == {_shape(r) for r in unknown} == {_shape(known[0])}
    assert known[0].status_code == 401

    locked = _attempt(http, account.name, account.password)
    assert _shape(locked) == _shape(known[0])  # even the right password is refused while locked

    admin.client.patch(f"/identity/v3/users/{account.user_id}", json={"user": {"enabled": True}})
    assert _attempt(http, account.name, account.password).status_code == 201  # an admin unlocks
