"""Token documents, discovery, scopes and role assignments as keystoneauth and Tempest read them."""

from __future__ import annotations

import re

import httpx

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def test_version_discovery(server: Server, http: httpx.Client) -> None:
    root = http.get("/identity/", headers={"Accept": "application/json"})
    assert root.status_code == 300
    assert root.headers["Location"] == server.identity_url + "/"
    (version,) = root.json()["versions"]["values"]
    assert version["id"].startswith("v3") and version["status"] == "stable"
    assert version["media-types"] == [{"base": "application/json",
                                       "type": "application/vnd.openstack.identity-v3+json"}]
    for path in ("/identity/v3", "/identity/v3/"):
        response = http.get(path)
        assert response.status_code == 200
        assert response.json()["version"]["links"][0]["href"] == server.identity_url + "/"
    assert re.fullmatch(r"req-[0-9a-f-]{36}", root.headers["x-openstack-request-id"])


def test_validate_returns_the_issued_document(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    issued = http.post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {
            "user": {"name": account.name, "domain": {"name": "Default"}, "password": account.password}}},
        "scope": {"project": {"name": account.project_name, "domain": {"name": "Default"}}}}})
    assert issued.status_code == 201
    token = issued.headers["X-Subject-Token"]
    body = issued.json()["token"]
    assert body["methods"] == ["password"]
    assert body["expires_at"] > body["issued_at"]
    assert body["user"]["id"] == account.user_id and body["user"]["domain"]["id"] == "default"
    assert body["project"]["id"] == account.project_id
    assert {"member", "reader"} <= {role["name"] for role in body["roles"]}
    assert len(body["audit_ids"][0]) == 22
    endpoint = body["catalog"][0]["endpoints"][0]
    assert endpoint["region"] == endpoint["region_id"] == "RegionOne"

    validated = http.get("/identity/v3/auth/tokens", headers={**auth_headers(token), "X-Subject-Token": token})
    assert validated.status_code == 200
    assert validated.headers["X-Subject-Token"] == token
    assert validated.json()["token"] == body
    nocatalog = http.get("/identity/v3/auth/tokens?nocatalog",
                         headers={**auth_headers(token), "X-Subject-Token": token}).json()["token"]
    assert "catalog" not in nocatalog


def test_another_users_token_cannot_be_inspected_by_a_member(server: Server, admin: Admin,
                                                             http: httpx.Client) -> None:
    alice, bob = admin.account(), admin.account()
    alice_token, bob_token = alice.token(server), bob.token(server)
    response = http.get("/identity/v3/auth/tokens", headers={**auth_headers(bob_token), "X-Subject-Token": alice_token})
    assert response.status_code == 403
    assert http.delete("/identity/v3/auth/tokens",
                       headers={**auth_headers(bob_token), "X-Subject-Token": alice_token}).status_code == 403
    assert http.get("/identity/v3/auth/projects", headers=auth_headers(alice_token)).status_code == 200


def test_unscoped_token_and_scope_listing(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    second = admin.project("second")
    member = admin.role_id("member")
    admin.client.put(f"/identity/v3/projects/{second[0]}/users/{account.user_id}/roles/{member}")
    unscoped = http.post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {
            "user": {"id": account.user_id, "password": account.password}}}, "scope": "unscoped"}})
    assert unscoped.status_code == 201
    assert "project" not in unscoped.json()["token"] and "catalog" not in unscoped.json()["token"]
    token = unscoped.headers["X-Subject-Token"]
    projects = http.get("/identity/v3/auth/projects", headers=auth_headers(token)).json()["projects"]
    assert {p["id"] for p in projects} == {account.project_id, second[0]}
    catalog = http.get("/identity/v3/auth/catalog", headers=auth_headers(account.token(server))).json()
    assert {"identity", "image", "compute"} <= {entry["type"] for entry in catalog["catalog"]}
    outsider = admin.project("outsider")
    refused = http.post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": token}}, "scope": {"project": {"id": outsider[0]}}}})
    assert refused.status_code == 401


def test_role_assignments_with_names(server: Server, admin: Admin) -> None:
    account = admin.account("reader")
    listed = admin.client.get("/identity/v3/role_assignments",
                              params={"user.id": account.user_id, "include_names": "true"}).json()
    (assignment,) = listed["role_assignments"]
    assert assignment["role"]["name"] == "reader"
    assert assignment["user"] == {"id": account.user_id, "name": account.name,
                                  "domain": {"id": "default", "name": "Default"}}
    assert assignment["scope"]["project"]["id"] == account.project_id
    assert assignment["scope"]["project"]["name"] == account.project_name
    by_project = admin.client.get("/identity/v3/role_assignments",
                                  params={"scope.project.id": account.project_id}).json()["role_assignments"]
    assert [a["user"]["id"] for a in by_project] == [account.user_id]


def test_groups_grant_roles_to_members(server: Server, admin: Admin, http: httpx.Client) -> None:
    project_id, project_name = admin.project("grp")
    other = admin.account()
    group = admin.client.post("/identity/v3/groups", json={"group": {"name": f"g-{project_name}"}}).json()["group"]
    admin.client.put(f"/identity/v3/groups/{group['id']}/users/{other.user_id}")
    member = admin.role_id("member")
    assert admin.client.put(
        f"/identity/v3/projects/{project_id}/groups/{group['id']}/roles/{member}").status_code == 204
    token = server.token(other.name, other.password, project_name)
    assert http.get("/identity/v3/auth/projects", headers=auth_headers(token)).status_code == 200
    effective = admin.client.get("/identity/v3/role_assignments", params={
        "user.id": other.user_id, "effective": "true"}).json()["role_assignments"]
    assert project_id in {a["scope"].get("project", {}).get("id") for a in effective}
    admin.client.delete(f"/identity/v3/groups/{group['id']}/users/{other.user_id}")
    assert http.get("/identity/v3/auth/projects", headers=auth_headers(token)).status_code == 401


def test_catalog_crud_as_admin(admin: Admin) -> None:
    region = admin.client.post("/identity/v3/regions", json={"region": {"id": "RegionTwo"}})
    assert region.status_code == 201
    service = admin.client.post("/identity/v3/services", json={"service": {"type": "extra", "name": "x"}}).json()
    endpoint = admin.client.post("/identity/v3/endpoints", json={"endpoint": {
        "service_id": service["service"]["id"], "interface": "public", "url": "https://x.example/v1",
        "region_id": "RegionTwo"}})
    assert endpoint.status_code == 201, endpoint.text
    assert endpoint.json()["endpoint"]["region"] == "RegionTwo"
    assert admin.client.delete(f"/identity/v3/services/{service['service']['id']}").status_code == 204
    assert admin.client.delete("/identity/v3/regions/RegionTwo").status_code == 204


def test_domain_and_system_scopes(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    reader = admin.role_id("reader")
    assert admin.client.put(f"/identity/v3/domains/default/users/{account.user_id}/roles/{reader}").status_code == 204
    assert admin.client.put(f"/identity/v3/system/users/{account.user_id}/roles/{reader}").status_code == 204
    identity = {"methods": ["password"], "password": {"user": {"id": account.user_id, "password": account.password}}}
    domain = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": identity,
                                                                  "scope": {"domain": {"name": "Default"}}}})
    assert domain.status_code == 201, domain.text
    assert domain.json()["token"]["domain"] == {"id": "default", "name": "Default"}
    domain_token = domain.headers["X-Subject-Token"]
    # A domain reader lists the domain's projects and users, but cannot change them.
    assert http.get("/identity/v3/users", params={"domain_id": "default"},
                    headers=auth_headers(domain_token)).status_code == 200
    assert http.post("/identity/v3/projects", json={"project": {"name": "nope"}},
                     headers=auth_headers(domain_token)).status_code == 403

    system = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": identity,
                                                                  "scope": {"system": {"all": True}}}})
    assert system.status_code == 201, system.text
    assert system.json()["token"]["system"] == {"all": True}
    system_token = system.headers["X-Subject-Token"]
    assert http.get("/identity/v3/auth/system", headers=auth_headers(system_token)).json()["system"] == [{"all": True}]
    assert http.get("/identity/v3/domains", headers=auth_headers(system_token)).status_code == 200
    assert http.delete(f"/identity/v3/users/{account.user_id}",
                       headers=auth_headers(system_token)).status_code == 403
