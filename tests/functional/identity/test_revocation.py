"""Revocation: revoked tokens, disabled users, removed roles and deleted credentials stop working at once."""

from __future__ import annotations

import httpx

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def _whoami(http: httpx.Client, token: str) -> int:
    return http.get("/identity/v3/auth/projects", headers=auth_headers(token)).status_code


def test_revoked_token_is_404_to_validate_and_401_to_use(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    headers = {**auth_headers(token), "X-Subject-Token": token}
    assert http.head("/identity/v3/auth/tokens", headers=headers).status_code == 200
    assert http.delete("/identity/v3/auth/tokens", headers=headers).status_code == 204

    admin_check = {"X-Subject-Token": token}
    assert admin.client.get("/identity/v3/auth/tokens", headers=admin_check).status_code == 404
    assert admin.client.head("/identity/v3/auth/tokens", headers=admin_check).status_code == 404
    assert _whoami(http, token) == 401
    assert account.token(server) != token  # a new login still works


def test_rescoped_chain_is_revoked_together(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    unscoped = account.token(server, scoped=False)
    rescoped = http.post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}},
        "scope": {"project": {"id": account.project_id}}}})
    assert rescoped.status_code == 201, rescoped.text
    child = rescoped.headers["X-Subject-Token"]
    body = rescoped.json()["token"]
    assert body["audit_ids"][1] and body["methods"][0] == "token"
    http.delete("/identity/v3/auth/tokens", headers={**auth_headers(unscoped), "X-Subject-Token": unscoped})
    assert _whoami(http, child) == 401


def test_disabled_user_loses_access(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    assert _whoami(http, token) == 200
    response = admin.client.patch(f"/identity/v3/users/{account.user_id}", json={"user": {"enabled": False}})
    assert response.status_code == 200
    assert _whoami(http, token) == 401
    refused = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": account.user_id, "password": account.password}}}}})
    assert refused.status_code == 401
    admin.client.patch(f"/identity/v3/users/{account.user_id}", json={"user": {"enabled": True}})
    assert _whoami(http, token) == 401  # re-enabling does not resurrect old tokens


def test_removed_role_invalidates_project_token(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    member = admin.role_id("member")
    removed = admin.client.delete(
        f"/identity/v3/projects/{account.project_id}/users/{account.user_id}/roles/{member}")
    assert removed.status_code == 204
    assert _whoami(http, token) == 401
    assert admin.client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404


def test_disabled_project_invalidates_its_tokens(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    admin.client.patch(f"/identity/v3/projects/{account.project_id}", json={"project": {"enabled": False}})
    assert _whoami(http, token) == 401


def test_deleted_application_credential_revokes_its_tokens(server: Server, admin: Admin,
                                                           http: httpx.Client) -> None:
    account = admin.account()
    headers = auth_headers(account.token(server))
    created = http.post(f"/identity/v3/users/{account.user_id}/application_credentials",
                        json={"application_credential": {"name": "short-lived"}}, headers=headers).json()
    credential = created["application_credential"]
    issued = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": credential["id"], "secret": credential["secret"]}}}})
    assert issued.status_code == 201, issued.text
    assert issued.json()["token"]["application_credential"]["id"] == credential["id"]
    app_token = issued.headers["X-Subject-Token"]
    assert _whoami(http, app_token) == 200
    deleted = http.delete(f"/identity/v3/users/{account.user_id}/application_credentials/{credential['id']}",
                          headers=headers)
    assert deleted.status_code == 204
    assert _whoami(http, app_token) == 401


def test_password_change_revokes_tokens(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    changed = http.post(f"/identity/v3/users/{account.user_id}/password", headers=auth_headers(token),
                        json={"user": {"password": "another-long-password", "original_password": account.password}})
    assert changed.status_code == 204, changed.text
    assert _whoami(http, token) == 401
    assert server.token(account.name, "another-long-password", account.project_name)
