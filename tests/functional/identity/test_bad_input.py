"""Bad input gets a 400/401/413 in Keystone's error format, never a 500 or a traceback, and changes nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.accounts import Admin
from tests.support.server import Server

TOKENS = "/identity/v3/auth/tokens"


def _assert_keystone_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body["error"]) >= {"code", "title", "message"}
    assert body["error"]["code"] == status
    assert "Traceback" not in response.text and "File \"" not in response.text
    assert response.headers["x-openstack-request-id"].startswith("req-")


def _state(admin: Admin) -> tuple:
    users = sorted(u["id"] for u in admin.client.get("/identity/v3/users").json()["users"])
    projects = sorted(p["id"] for p in admin.client.get("/identity/v3/projects").json()["projects"])
    return users, projects


def _password_body(password: str, methods: list[str] | None = None) -> dict:
    return {"auth": {"identity": {"methods": methods or ["password"], "password": {
        "user": {"name": "demo", "domain": {"id": "default"}, "password": password}}}}}


CASES = {
    "malformed json": (TOKENS, b'{"auth": {"identity": ', 400),
    "not an object": (TOKENS, b"[1, 2, 3]", 400),
    "wrong type for methods": (TOKENS, json.dumps({"auth": {"identity": {"methods": "password"}}}).encode(), 400),
    "wrong type for password": (TOKENS, json.dumps(_password_body(12345)).encode(), 400),  # type: ignore[arg-type]
    "unknown auth method": (TOKENS, json.dumps({"auth": {"identity": {"methods": ["kerberos"],
                                                                      "kerberos": {}}}}).encode(), 401),
    "repeated auth methods": (TOKENS, json.dumps(_password_body("x" * 12, ["password", "password"])).encode(), 400),
    "method without data": (TOKENS, json.dumps({"auth": {"identity": {"methods": ["password"]}}}).encode(), 400),
    "1 MiB password": (TOKENS, json.dumps(_password_body("p" * (1 << 20))).encode(), 413),
    "5 KiB password": (TOKENS, json.dumps(_password_body("p" * 5000)).encode(), 400),
    "10 MiB body": (TOKENS, b'{"auth": "' + b"a" * (10 << 20) + b'"}', 413),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_token_requests(server: Server, admin: Admin, http: httpx.Client, case: str) -> None:
    path, body, status = CASES[case]
    before = _state(admin)
    response = http.post(path, content=body, headers={"Content-Type": "application/json"})
    _assert_keystone_error(response, status)
    assert _state(admin) == before


@pytest.mark.parametrize("name", ["nul\x00byte", "new\nline", "", " padded ", "x" * 256, 42, None, ["list"]])
def test_bad_names_are_refused_without_side_effects(admin: Admin, name: object) -> None:
    before = _state(admin)
    for path, key in (("/identity/v3/projects", "project"), ("/identity/v3/users", "user")):
        response = admin.client.post(path, json={key: {"name": name}})
        _assert_keystone_error(response, 400)
    assert _state(admin) == before


def test_bad_update_bodies(admin: Admin) -> None:
    project_id, _ = admin.project("bad")
    before = admin.client.get(f"/identity/v3/projects/{project_id}").json()
    for body in ({"project": {"enabled": "yes"}}, {"project": {"name": "a\nb"}}, {"project": 3}, {}):
        response = admin.client.patch(f"/identity/v3/projects/{project_id}", json=body)
        _assert_keystone_error(response, 400)
    assert admin.client.get(f"/identity/v3/projects/{project_id}").json() == before


def test_short_password_is_refused(admin: Admin) -> None:
    before = _state(admin)
    response = admin.client.post("/identity/v3/users", json={"user": {"name": "shorty", "password": "abc"}})
    _assert_keystone_error(response, 400)
    assert _state(admin) == before


def test_unknown_paths_and_ids_are_404_in_keystone_format(admin: Admin) -> None:
    for path in ("/identity/v3/projects/not-a-uuid", "/identity/v3/users/%00", "/identity/v3/nothing-here",
                 "/identity/v3/widgets/1/users/2/roles/3"):
        _assert_keystone_error(admin.client.get(path), 404)


def test_garbage_token_is_401(http: httpx.Client) -> None:
    for token in ("garbage", "A" * 5000, "gAAAA" + "=" * 40):
        response = http.get("/identity/v3/auth/projects", headers={"X-Auth-Token": token})
        _assert_keystone_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_duplicate_names_conflict(admin: Admin) -> None:
    _, name = admin.project("dup")
    response = admin.client.post("/identity/v3/projects", json={"project": {"name": name}})
    _assert_keystone_error(response, 409)
