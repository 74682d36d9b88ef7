"""RBAC: readers read, members manage only their own things, and other users' secrets are 404."""

from __future__ import annotations

import httpx

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def test_reader_cannot_create(server: Server, admin: Admin, http: httpx.Client) -> None:
    reader = admin.account("reader")
    headers = auth_headers(reader.token(server))
    before = admin.client.get("/identity/v3/projects").json()["projects"]
    response = http.post("/identity/v3/projects", json={"project": {"name": "by-reader"}}, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == 403
    response = http.post("/identity/v3/users", json={"user": {"name": "by-reader"}}, headers=headers)
    assert response.status_code == 403
    assert admin.client.get("/identity/v3/projects").json()["projects"] == before


def test_member_cannot_manage_users_or_roles(server: Server, admin: Admin, http: httpx.Client) -> None:
    member = admin.account("member")
    headers = auth_headers(member.token(server))
    response = http.post("/identity/v3/users", json={"user": {"name": "by-member", "password": "x" * 12}},
                         headers=headers)
    assert response.status_code == 403
    assert admin.client.get("/identity/v3/users", params={"name": "by-member"}).json()["users"] == []
    admin_role = admin.role_id("admin")
    grant = http.put(f"/identity/v3/projects/{member.project_id}/users/{member.user_id}/roles/{admin_role}",
                     headers=headers)
    assert grant.status_code == 403
    assert http.get("/identity/v3/users", headers=headers).status_code == 403
    # ...but a member sees itself and its own project.
    assert http.get(f"/identity/v3/users/{member.user_id}", headers=headers).status_code == 200
    assert http.get(f"/identity/v3/projects/{member.project_id}", headers=headers).status_code == 200


def test_anonymous_calls_are_401(http: httpx.Client) -> None:
    for path in ("/identity/v3/projects", "/identity/v3/users", "/identity/v3/auth/catalog"):
        response = http.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["title"] == "Unauthorized"


def test_other_users_application_credentials_are_404(server: Server, admin: Admin, http: httpx.Client) -> None:
    alice, bob = admin.account(), admin.account()
    alice_headers = auth_headers(alice.token(server))
    created = http.post(f"/identity/v3/users/{alice.user_id}/application_credentials",
                        json={"application_credential": {"name": "alice-robot"}}, headers=alice_headers)
    assert created.status_code == 201, created.text
    credential_id = created.json()["application_credential"]["id"]

    bob_headers = auth_headers(bob.token(server))
    base = f"/identity/v3/users/{alice.user_id}/application_credentials"
    assert http.get(base, headers=bob_headers).status_code == 404
    assert http.get(f"{base}/{credential_id}", headers=bob_headers).status_code == 404
    assert http.delete(f"{base}/{credential_id}", headers=bob_headers).status_code == 404
    # Bob cannot reach it under his own user either.
    assert http.get(f"/identity/v3/users/{bob.user_id}/application_credentials/{credential_id}",
                    headers=bob_headers).status_code == 404
    assert http.get(f"{base}/{credential_id}", headers=alice_headers).status_code == 200


def test_other_users_ec2_credentials_are_404(server: Server, admin: Admin, http: httpx.Client) -> None:
    alice, bob = admin.account(), admin.account()
    alice_headers = auth_headers(alice.token(server))
    created = http.post(f"/identity/v3/users/{alice.user_id}/credentials/OS-EC2",
                        json={"tenant_id": alice.project_id}, headers=alice_headers)
    assert created.status_code == 201, created.text
    access = created.json()["credential"]["access"]
    credential_id = http.get("/identity/v3/credentials", headers=alice_headers).json()["credentials"][0]["id"]

    bob_headers = auth_headers(bob.token(server))
    ec2 = f"/identity/v3/users/{alice.user_id}/credentials/OS-EC2"
    assert http.get(ec2, headers=bob_headers).status_code == 404
    assert http.get(f"{ec2}/{access}", headers=bob_headers).status_code == 404
    assert http.delete(f"{ec2}/{access}", headers=bob_headers).status_code == 404
    assert http.get(f"/identity/v3/credentials/{credential_id}", headers=bob_headers).status_code == 404
    assert http.delete(f"/identity/v3/credentials/{credential_id}", headers=bob_headers).status_code == 404
    assert http.get("/identity/v3/credentials", headers=bob_headers).json()["credentials"] == []
    # Still there for its owner, secret included.
    mine = http.get(f"{ec2}/{access}", headers=alice_headers)
    assert mine.status_code == 200 and mine.json()["credential"]["secret"]


def test_openstacksdk_sees_identity_as_admin(server: Server) -> None:
    conn = server.sdk("andromede-admin")
    names = {project.name for project in conn.identity.projects()}
    assert {"admin", "demo"} <= names
    roles = {role.name for role in conn.identity.roles()}
    assert {"admin", "member", "reader"} <= roles


def test_no_ec2_credential_for_a_project_without_a_role(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    elsewhere, _ = admin.project("elsewhere")
    headers = auth_headers(account.token(server))
    ec2 = http.post(f"/identity/v3/users/{account.user_id}/credentials/OS-EC2", json={"tenant_id": elsewhere},
                    headers=headers)
    assert ec2.status_code == 403
    raw = http.post("/identity/v3/credentials", headers=headers, json={"credential": {
        "type": "ec2", "user_id": account.user_id, "project_id": elsewhere,
        "blob": '{"access": "AKIAFORGED", "secret": "s"}'}})
    assert raw.status_code == 403
    assert http.get("/identity/v3/credentials", headers=headers).json()["credentials"] == []


def test_restricted_application_credential_cannot_mint_credentials(server: Server, admin: Admin,
                                                                   http: httpx.Client) -> None:
    account = admin.account()
    headers = auth_headers(account.token(server))
    made = http.post(f"/identity/v3/users/{account.user_id}/application_credentials",
                     json={"application_credential": {"name": "restricted"}}, headers=headers).json()
    secret, cred_id = made["application_credential"]["secret"], made["application_credential"]["id"]
    app_token = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": {"id": cred_id, "secret": secret}}}}
    ).headers["X-Subject-Token"]
    app_headers = auth_headers(app_token)
    assert http.post(f"/identity/v3/users/{account.user_id}/application_credentials", headers=app_headers,
                     json={"application_credential": {"name": "child"}}).status_code == 403
    assert http.post(f"/identity/v3/users/{account.user_id}/credentials/OS-EC2", headers=app_headers,
                     json={"tenant_id": account.project_id}).status_code == 403
