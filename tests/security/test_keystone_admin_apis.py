"""Keystone's admin APIs stay the cloud operator's: `admin` or `manager` on a project is no way in, and a member
cannot change another user's password. Each attack is refused and changes nothing."""

from __future__ import annotations

import secrets

import httpx

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server

V3 = "/identity/v3"


def test_project_admins_and_managers_cannot_run_the_catalog_or_roles(server: Server, admin: Admin,
                                                                    http: httpx.Client) -> None:
    manager = admin.account("manager")
    attackers = {"project admin": server.admin_token(project_scoped=True), "manager": manager.token(server)}
    member, reader = admin.role_id("member"), admin.role_id("reader")
    region = f"evil-{secrets.token_hex(3)}"
    before = admin.client.get(f"{V3}/role_inferences").json()
    endpoint = admin.client.get(f"{V3}/endpoints").json()["endpoints"][0]["id"]
    for who, token in attackers.items():
        headers = auth_headers(token)
        attempts = [
            http.put(f"{V3}/regions/{region}", headers=headers, json={"region": {}}),
            http.post(f"{V3}/regions", headers=headers, json={"region": {"id": region}}),
            http.put(f"{V3}/roles/{reader}/implies/{member}", headers=headers),
            http.delete(f"{V3}/roles/{admin.role_id('member')}/implies/{reader}", headers=headers),
            http.put(f"{V3}/system/users/{manager.user_id}/roles/{admin.role_id('admin')}", headers=headers),
            http.put(f"{V3}/domains/default/config", headers=headers,
                     json={"config": {"identity": {"driver": "ldap"}}}),
            http.get(f"{V3}/domains/default/config", headers=headers),
            http.post(f"{V3}/OS-EP-FILTER/endpoint_groups", headers=headers,
                      json={"endpoint_group": {"name": "evil", "filters": {"interface": "public"}}}),
            http.put(f"{V3}/OS-EP-FILTER/projects/{manager.project_id}/endpoints/{endpoint}", headers=headers),
        ]
        assert [a.status_code for a in attempts] == [403] * len(attempts), (who, [a.text for a in attempts])
    assert admin.client.get(f"{V3}/regions/{region}").status_code == 404
    assert admin.client.get(f"{V3}/role_inferences").json() == before
    assert admin.client.get(f"{V3}/system/users/{manager.user_id}/roles").json()["roles"] == []
    assert admin.client.get(f"{V3}/domains/default/config").status_code == 404
    assert admin.client.get(f"{V3}/OS-EP-FILTER/endpoint_groups", params={"name": "evil"}).json()[
        "endpoint_groups"] == []
    assert admin.client.get(f"{V3}/OS-EP-FILTER/projects/{manager.project_id}/endpoints").json()["endpoints"] == []


def test_a_member_cannot_tag_another_project(server: Server, admin: Admin, http: httpx.Client) -> None:
    attacker, victim = admin.account("manager"), admin.account()
    path = f"{V3}/projects/{victim.project_id}/tags"
    headers = auth_headers(attacker.token(server))
    assert http.put(f"{path}/pwned", headers=headers).status_code == 403
    assert http.put(path, headers=headers, json={"tags": ["pwned"]}).status_code == 403
    assert admin.client.get(path).json() == {"tags": []}


def test_a_member_cannot_change_another_users_password(server: Server, admin: Admin, http: httpx.Client) -> None:
    attacker, victim = admin.account(), admin.account()
    for original in (attacker.password, victim.password):
        response = http.post(f"{V3}/users/{victim.user_id}/password", headers=auth_headers(attacker.token(server)),
                             json={"user": {"original_password": original, "password": "Stolen-Secret-999"}})
        assert response.status_code == 403
    assert victim.token(server)
