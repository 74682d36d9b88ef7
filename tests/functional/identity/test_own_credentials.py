"""A user looks after their own token, password and application credentials, as Keystone lets them."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server

TOKENS = "/identity/v3/auth/tokens"


def test_a_member_validates_and_checks_their_own_token(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = admin.account().token(server)
    both = {**auth_headers(token), "X-Subject-Token": token}
    assert http.get(TOKENS, headers=both).status_code == 200
    assert http.head(TOKENS, headers=both).status_code == 200


def test_an_admin_token_rescopes_to_a_project(server: Server, admin: Admin, http: httpx.Client) -> None:
    system = server.admin_token()
    rescoped = http.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {"id": system}},
                                                "scope": {"project": {"id": admin.project_id}}}})
    assert rescoped.status_code == 201, rescoped.text
    body = rescoped.json()["token"]
    assert body["project"]["id"] == admin.project_id
    assert "token" in body["methods"]
    back = http.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {
        "id": rescoped.headers["X-Subject-Token"]}}, "scope": {"system": {"all": True}}}})
    assert back.status_code == 201, back.text
    assert back.json()["token"]["system"] == {"all": True}


def test_a_user_changes_their_own_password(server: Server, admin: Admin, http: httpx.Client) -> None:
    account, other = admin.account(), admin.account()
    token = account.token(server)
    path = f"/identity/v3/users/{account.user_id}/password"
    wrong = http.post(path, headers=auth_headers(token), json={"user": {
        "original_password": "not-it-" + account.password, "password": "a-new-Secret-123"}})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == 401
    elsewhere = http.post(f"/identity/v3/users/{other.user_id}/password", headers=auth_headers(token), json={
        "user": {"original_password": account.password, "password": "a-new-Secret-123"}})
    assert elsewhere.status_code == 403
    changed = http.post(path, headers=auth_headers(token), json={"user": {
        "original_password": account.password, "password": "a-new-Secret-123"}})
    assert changed.status_code == 204, changed.text
    assert server.token(account.name, "a-new-Secret-123", account.project_name)
    # The other user's password still works: nothing changed there.
    assert other.token(server)


def test_a_user_changes_their_password_with_the_client(server: Server, admin: Admin, tmp_path: Path) -> None:
    account = admin.account()
    cli = cli_as(server, account, tmp_path)
    # --option=VALUE: a random password may start with '-', which the CLI would read as an option.
    cli("user", "password", "set", f"--original-password={account.password}", "--password=b-new-Secret-456")
    assert server.token(account.name, "b-new-Secret-456", account.project_name)


def test_application_credential_expiry_keeps_its_z(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    path = f"/identity/v3/users/{account.user_id}/application_credentials"
    created = http.post(path, headers=auth_headers(token), json={"application_credential": {
        "name": "ci", "expires_at": "2099-02-27T18:30:59.000000Z"}})
    assert created.status_code == 201, created.text
    assert created.json()["application_credential"]["expires_at"] == "2099-02-27T18:30:59.000000Z"
    shown = http.get(f"{path}/{created.json()['application_credential']['id']}", headers=auth_headers(token))
    assert shown.json()["application_credential"]["expires_at"] == "2099-02-27T18:30:59.000000Z"


def test_revoking_a_rescoped_token_leaves_its_parent(server: Server, admin: Admin, http: httpx.Client) -> None:
    """Tempest's rescope test: revoke the token scoped to one project, rescope the first token to another."""
    account = admin.account()
    second = admin.project("second")
    admin.client.put(f"/identity/v3/projects/{second[0]}/users/{account.user_id}/roles/{admin.role_id('member')}")
    unscoped = account.token(server, scoped=False)

    def rescope(project_id: str) -> httpx.Response:
        return http.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                                                "scope": {"project": {"id": project_id}}}})

    first = rescope(account.project_id)
    assert first.status_code == 201, first.text
    child = first.headers["X-Subject-Token"]
    assert admin.client.delete(TOKENS, headers={"X-Subject-Token": child}).status_code == 204
    assert admin.client.get(TOKENS, headers={"X-Subject-Token": child}).status_code == 404
    again = rescope(second[0])
    assert again.status_code == 201, again.text
    assert again.json()["token"]["project"]["id"] == second[0]


def test_an_admin_project_token_rescopes_to_the_system(server: Server, admin: Admin, http: httpx.Client) -> None:
    project_token = server.admin_token(project_scoped=True)
    back = http.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {"id": project_token}},
                                            "scope": {"system": {"all": True}}}})
    assert back.status_code == 201, back.text
