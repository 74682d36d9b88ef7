"""Keystone's admin APIs a cloud operator (system-scoped) drives with the real client: regions with a chosen id,
implied roles and their effect on tokens, system grants, project tags, and Keystone's input limits."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import httpx

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server

ADMIN_CLOUD = "andromede-admin"
V3 = "/identity/v3"


def test_a_region_with_a_chosen_id(server: Server, admin: Admin) -> None:
    name = f"region-{secrets.token_hex(3)}"
    created = server.openstack_json("region", "create", name, "--description", "north", cloud=ADMIN_CLOUD)
    assert created["region"] == name
    server.openstack("region", "set", name, "--description", "north-east", cloud=ADMIN_CLOUD)
    assert server.openstack_json("region", "show", name, cloud=ADMIN_CLOUD)["description"] == "north-east"
    put = admin.client.put(f"{V3}/regions/{name}-b", json={"region": {"description": "b"}})
    assert put.status_code == 201 and put.json()["region"]["id"] == f"{name}-b"
    again = admin.client.put(f"{V3}/regions/{name}-b", json={"region": {}})
    assert again.status_code == 409
    mismatch = admin.client.put(f"{V3}/regions/{name}-c", json={"region": {"id": "other"}})
    assert mismatch.status_code == 400
    assert admin.client.get(f"{V3}/regions/{name}-c").status_code == 404


def test_implied_roles_reach_tokens_and_effective_assignments(server: Server, admin: Admin,
                                                             http: httpx.Client) -> None:
    prior, implied = f"prior-{secrets.token_hex(3)}", f"implied-{secrets.token_hex(3)}"
    server.openstack("role", "create", prior, cloud=ADMIN_CLOUD)
    server.openstack("role", "create", implied, cloud=ADMIN_CLOUD)
    server.openstack("implied", "role", "create", prior, "--implied-role", implied, cloud=ADMIN_CLOUD)
    listed = server.openstack_json("implied", "role", "list", cloud=ADMIN_CLOUD)
    assert any(row["Prior Role Name"] == prior and row["Implied Role Name"] == implied for row in listed)
    prior_id, implied_id = admin.role_id(prior), admin.role_id(implied)
    path = f"{V3}/roles/{prior_id}/implies/{implied_id}"
    shown = admin.client.get(path).json()["role_inference"]
    assert shown["prior_role"]["id"] == prior_id and shown["implies"]["id"] == implied_id
    assert admin.client.head(path).status_code == 204
    assert admin.client.get(f"{V3}/roles/{prior_id}/implies").json()["role_inference"]["implies"][0]["id"] \
        == implied_id
    circular = admin.client.put(f"{V3}/roles/{implied_id}/implies/{prior_id}")
    assert circular.status_code == 400
    assert admin.client.put(f"{V3}/roles/{prior_id}/implies/{admin.role_id('admin')}").status_code == 403

    account = admin.account(prior)
    token = http.post(f"{V3}/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": account.user_id, "password": account.password}}},
        "scope": {"project": {"id": account.project_id}}}}).json()["token"]
    assert {prior, implied} <= {role["name"] for role in token["roles"]}
    effective = admin.client.get(f"{V3}/role_assignments", params={"user.id": account.user_id,
                                                                   "effective": ""}).json()["role_assignments"]
    by_role = {row["role"]["id"]: row for row in effective}
    assert by_role[implied_id]["links"]["prior_role"].endswith(f"/roles/{prior_id}")

    server.openstack("implied", "role", "delete", prior, "--implied-role", implied, cloud=ADMIN_CLOUD)
    assert admin.client.get(path).status_code == 404
    again = http.post(f"{V3}/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": account.user_id, "password": account.password}}},
        "scope": {"project": {"id": account.project_id}}}}).json()["token"]
    assert implied not in {role["name"] for role in again["roles"]}


def test_system_grants_for_users_and_groups(server: Server, admin: Admin) -> None:
    account = admin.account()
    group = admin.client.post(f"{V3}/groups", json={"group": {"name": f"g-{secrets.token_hex(3)}"}}).json()["group"]
    reader = admin.role_id("reader")
    server.openstack("role", "add", "--system", "all", "--user", account.user_id, "reader", cloud=ADMIN_CLOUD)
    assert admin.client.put(f"{V3}/system/groups/{group['id']}/roles/{reader}").status_code == 204
    assert admin.client.head(f"{V3}/system/groups/{group['id']}/roles/{reader}").status_code == 204
    listed = admin.client.get(f"{V3}/role_assignments", params={"scope.system": "all"}).json()["role_assignments"]
    actors = {row.get("user", row.get("group", {})).get("id") for row in listed}
    assert {account.user_id, group["id"]} <= actors
    system_token = server.token(account.name, account.password, system=True)
    assert system_token
    assert admin.client.delete(f"{V3}/system/groups/{group['id']}/roles/{reader}").status_code == 204


def test_project_tags_through_the_client(server: Server, admin: Admin) -> None:
    project_id, name = admin.project("tagged")
    server.openstack("project", "set", name, "--tag", "blue", "--tag", "prod", cloud=ADMIN_CLOUD)
    assert sorted(server.openstack_json("project", "show", name, cloud=ADMIN_CLOUD)["tags"]) == ["blue", "prod"]
    listed = server.openstack_json("project", "list", "--tags", "blue,prod", cloud=ADMIN_CLOUD)
    assert [row["ID"] for row in listed] == [project_id]
    path = f"{V3}/projects/{project_id}/tags"
    assert admin.client.put(f"{path}/green").status_code == 201
    assert admin.client.head(f"{path}/green").status_code == 204
    assert admin.client.get(f"{path}/missing").status_code == 404
    assert admin.client.put(f"{path}/a,b").status_code == 400
    assert sorted(admin.client.get(path).json()["tags"]) == ["blue", "green", "prod"]
    assert admin.client.get(f"{V3}/projects", params={"not-tags-any": "green"}).status_code == 200
    assert project_id not in {p["id"] for p in admin.client.get(
        f"{V3}/projects", params={"not-tags-any": "green"}).json()["projects"]}
    assert admin.client.put(path, json={"tags": ["one"]}).json() == {"tags": ["one"]}
    assert admin.client.delete(path).status_code == 204
    assert admin.client.get(path).json() == {"tags": []}


def test_a_member_reads_but_cannot_tag_their_project(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    path = f"{V3}/projects/{account.project_id}/tags"
    assert http.get(path, headers=auth_headers(token)).status_code == 200
    assert http.put(f"{path}/mine", headers=auth_headers(token)).status_code == 403
    assert admin.client.get(path).json() == {"tags": []}


def test_keystone_input_limits(server: Server, admin: Admin) -> None:
    long_name = "p" * 65
    for collection, key in (("projects", "project"), ("domains", "domain")):
        refused = admin.client.post(f"{V3}/{collection}", json={key: {"name": long_name}})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == 400
    assert admin.client.get(f"{V3}/projects", params={"name": long_name}).json()["projects"] == []
    nowhere = admin.client.post(f"{V3}/users", json={"user": {"name": "u-nowhere", "domain_id": "f" * 32}})
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["code"] == 404
    assert admin.client.get(f"{V3}/users", params={"name": "u-nowhere"}).json()["users"] == []


def test_an_ec2_credential_takes_new_keys_and_another_project(server: Server, admin: Admin,
                                                              http: httpx.Client) -> None:
    """Tempest's credential test: the blob's keys and the project change, the id stays."""
    account = admin.account()
    second = admin.project("ec2")
    admin.client.put(f"{V3}/projects/{second[0]}/users/{account.user_id}/roles/{admin.role_id('member')}")
    old = f"access-{secrets.token_hex(4)}"
    created = admin.client.post(f"{V3}/credentials", json={"credential": {
        "type": "ec2", "user_id": account.user_id, "project_id": account.project_id,
        "blob": f'{{"access": "{old}", "secret": "s1"}}'}})
    assert created.status_code == 201, created.text
    cred_id = created.json()["credential"]["id"]
    new = f"access-{secrets.token_hex(4)}"
    updated = admin.client.patch(f"{V3}/credentials/{cred_id}", json={"credential": {
        "type": "ec2", "project_id": second[0], "blob": f'{{"access": "{new}", "secret": "s2"}}'}})
    assert updated.status_code == 200, updated.text
    body = updated.json()["credential"]
    assert body["id"] == cred_id and body["project_id"] == second[0]
    token = account.token(server)
    ec2 = f"{V3}/users/{account.user_id}/credentials/OS-EC2"
    assert http.get(f"{ec2}/{new}", headers=auth_headers(token)).json()["credential"]["secret"] == "s2"
    assert http.get(f"{ec2}/{old}", headers=auth_headers(token)).status_code == 404
    bound = admin.client.patch(f"{V3}/credentials/{cred_id}", json={"credential": {
        "blob": f'{{"access": "{new}", "secret": "s3", "trust_id": "t"}}'}})
    assert bound.status_code == 400
    elsewhere = admin.client.patch(f"{V3}/credentials/{cred_id}", json={"credential": {
        "project_id": admin.project("no-role")[0]}})
    assert elsewhere.status_code == 400
    assert admin.client.get(f"{V3}/credentials/{cred_id}").json()["credential"]["project_id"] == second[0]


def test_endpoint_groups_filter_a_projects_catalog(server: Server, admin: Admin, tmp_path: Path,
                                                   http: httpx.Client) -> None:
    account = admin.account()
    service = admin.client.post(f"{V3}/services", json={"service": {"type": f"t-{secrets.token_hex(3)}",
                                                                    "name": "filtered"}}).json()["service"]
    endpoint = admin.client.post(f"{V3}/endpoints", json={"endpoint": {
        "service_id": service["id"], "interface": "public", "url": "https://filtered.example/v1",
        "region_id": "RegionOne"}}).json()["endpoint"]
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"service_id": service["id"]}))
    name = f"eg-{secrets.token_hex(3)}"
    group = server.openstack_json("endpoint", "group", "create", name, str(filters), cloud=ADMIN_CLOUD)
    assert group["filters"] == {"service_id": service["id"]}
    server.openstack("endpoint", "group", "add", "project", name, account.project_id, cloud=ADMIN_CLOUD)
    eg = f"{V3}/OS-EP-FILTER/endpoint_groups/{group['id']}"
    assert [e["id"] for e in admin.client.get(f"{eg}/endpoints").json()["endpoints"]] == [endpoint["id"]]
    assert [p["id"] for p in admin.client.get(f"{eg}/projects").json()["projects"]] == [account.project_id]

    catalog = http.get(f"{V3}/auth/catalog", headers=auth_headers(account.token(server))).json()["catalog"]
    assert [entry["id"] for entry in catalog] == [service["id"]]
    admin_catalog = admin.client.get(f"{V3}/auth/catalog").json()["catalog"]
    assert len(admin_catalog) > 1  # a scope with no filter sees every endpoint

    server.openstack("endpoint", "group", "remove", "project", name, account.project_id, cloud=ADMIN_CLOUD)
    identity = admin.client.get(f"{V3}/endpoints", params={"interface": "public"}).json()["endpoints"][0]
    server.openstack("endpoint", "add", "project", identity["id"], account.project_id, cloud=ADMIN_CLOUD)
    project_eps = f"{V3}/OS-EP-FILTER/projects/{account.project_id}/endpoints"
    assert [e["id"] for e in admin.client.get(project_eps).json()["endpoints"]] == [identity["id"]]
    assert admin.client.head(f"{project_eps}/{identity['id']}").status_code == 204
    catalog = http.get(f"{V3}/auth/catalog", headers=auth_headers(account.token(server))).json()["catalog"]
    assert [e["id"] for entry in catalog for e in entry["endpoints"]] == [identity["id"]]
    server.openstack("endpoint", "remove", "project", identity["id"], account.project_id, cloud=ADMIN_CLOUD)
    assert admin.client.head(f"{project_eps}/{identity['id']}").status_code == 404
    bad = admin.client.post(f"{V3}/OS-EP-FILTER/endpoint_groups", json={"endpoint_group": {
        "name": "bad", "filters": {"colour": "blue"}}})
    assert bad.status_code == 400
    server.openstack("endpoint", "group", "delete", name, cloud=ADMIN_CLOUD)
    assert admin.client.get(eg).status_code == 404
    admin.client.delete(f"{V3}/services/{service['id']}")


def test_domain_configuration_is_a_stored_document(server: Server, admin: Admin) -> None:
    domain = admin.client.post(f"{V3}/domains", json={"domain": {"name": f"d-{secrets.token_hex(3)}"}}).json()
    path = f"{V3}/domains/{domain['domain']['id']}/config"
    assert admin.client.get(path).status_code == 404
    config = {"identity": {"driver": "ldap"},
              "ldap": {"url": "ldap://directory.example", "user_tree_dn": "ou=Users,dc=example", "password": "pw"}}
    created = admin.client.put(path, json={"config": config})
    assert created.status_code == 201, created.text
    assert created.json()["config"] == {"identity": {"driver": "ldap"}, "ldap": {
        "url": "ldap://directory.example", "user_tree_dn": "ou=Users,dc=example"}}  # the password never shows
    assert admin.client.get(f"{path}/ldap/url").json() == {"config": {"url": "ldap://directory.example"}}
    patched = admin.client.patch(f"{path}/ldap", json={"config": {"ldap": {"url": "ldaps://other.example"}}})
    assert patched.status_code == 200 and patched.json()["config"]["ldap"]["url"] == "ldaps://other.example"
    refused = admin.client.patch(path, json={"config": {"nova": {"url": "x"}}})
    assert refused.status_code == 403
    assert admin.client.put(path, json={"config": {"ldap": {"secret_sauce": "x"}}}).status_code == 403
    assert admin.client.put(path, json={"config": config}).status_code == 200
    assert admin.client.get(f"{V3}/domains/config/default").json()["config"]["identity"]["driver"] == "sql"
    assert admin.client.get(f"{V3}/domains/config/ldap/url/default").json() == {"config": {"url": "ldap://localhost"}}
    assert admin.client.delete(f"{path}/ldap/user_tree_dn").status_code == 204
    assert admin.client.get(f"{path}/ldap/user_tree_dn").status_code == 404
    assert admin.client.delete(path).status_code == 204
    assert admin.client.get(path).status_code == 404
    assert admin.client.get(f"{V3}/domains/{'0' * 32}/config").status_code == 404


def test_the_json_home_document_advertises_what_is_served(server: Server, http: httpx.Client) -> None:
    from tests.golden import routes

    response = http.get(f"{V3}", headers={"Accept": "application/json-home"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json-home")
    resources = response.json()["resources"]
    match = routes.matcher(routes.app_routes())
    rel = "https://docs.openstack.org/api/openstack-identity/3/rel/"
    ext = "https://docs.openstack.org/api/openstack-identity/3/ext/"
    for wanted in ("implied_role", "role_inferences", "system_group_role", "project_tags", "domain_config",
                   "region", "auth_tokens"):
        assert rel + wanted in resources
    assert ext + "OS-EP-FILTER/1.0/rel/endpoint_groups" in resources
    for relation, resource in resources.items():
        template = resource.get("href", resource.get("href-template"))
        concrete = re.sub(r"\{(\w+)\}", "x1", template)
        served = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if match(m, concrete) is not None]
        assert served, relation
        for var, param in resource.get("href-vars", {}).items():
            assert param.endswith("/param/" + var)
    # Without asking for it, /v3 is the version document as before.
    assert "version" in http.get(f"{V3}").json()


def test_domain_specific_roles_count_through_what_they_imply(server: Server, admin: Admin,
                                                              http: httpx.Client) -> None:
    domain = admin.client.post(f"{V3}/domains", json={"domain": {"name": f"d-{secrets.token_hex(3)}"}}).json()
    domain_id = domain["domain"]["id"]
    local = admin.client.post(f"{V3}/roles", json={"role": {"name": "operator", "domain_id": domain_id}})
    assert local.status_code == 201, local.text
    local_id = local.json()["role"]["id"]
    assert admin.client.get(f"{V3}/roles", params={"domain_id": domain_id}).json()["roles"][0]["id"] == local_id
    member = admin.role_id("member")
    assert admin.client.put(f"{V3}/roles/{local_id}/implies/{member}").status_code == 201
    assert admin.client.put(f"{V3}/roles/{member}/implies/{local_id}").status_code == 403  # global -> local

    project = admin.client.post(f"{V3}/projects", json={"project": {"name": "p-local", "domain_id": domain_id}})
    project_id = project.json()["project"]["id"]
    user = admin.client.post(f"{V3}/users", json={"user": {"name": "u-local", "domain_id": domain_id,
                                                           "password": "Local-Secret-123"}}).json()["user"]
    grant = f"{V3}/projects/{project_id}/users/{user['id']}/roles/{local_id}"
    assert admin.client.put(grant).status_code == 204
    elsewhere = admin.account()
    wrong = admin.client.put(f"{V3}/projects/{elsewhere.project_id}/users/{user['id']}/roles/{local_id}")
    assert wrong.status_code == 403
    assert admin.client.put(f"{V3}/system/users/{user['id']}/roles/{local_id}").status_code == 400

    token = http.post(f"{V3}/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": user["id"], "password": "Local-Secret-123"}}}, "scope": {"project": {"id": project_id}}}})
    assert token.status_code == 201, token.text
    names = {role["name"] for role in token.json()["token"]["roles"]}
    assert "member" in names and "operator" not in names
    effective = admin.client.get(f"{V3}/role_assignments", params={"user.id": user["id"], "effective": ""})
    assert local_id not in {row["role"]["id"] for row in effective.json()["role_assignments"]}
    direct = admin.client.get(f"{V3}/role_assignments", params={"user.id": user["id"]}).json()["role_assignments"]
    assert [row["role"]["id"] for row in direct] == [local_id]


def test_a_project_acting_as_a_domain_is_a_domain(server: Server, admin: Admin, http: httpx.Client) -> None:
    name = f"pd-{secrets.token_hex(3)}"
    created = admin.client.post(f"{V3}/projects", json={"project": {"name": name, "is_domain": True}})
    assert created.status_code == 201, created.text
    project = created.json()["project"]
    assert project["is_domain"] is True and project["domain_id"] is None and project["parent_id"] is None
    assert admin.client.get(f"{V3}/domains/{project['id']}").json()["domain"]["name"] == name
    listed = admin.client.get(f"{V3}/projects", params={"is_domain": "true"}).json()["projects"]
    assert project["id"] in {p["id"] for p in listed} and all(p["is_domain"] for p in listed)
    assert project["id"] not in {p["id"] for p in admin.client.get(f"{V3}/projects").json()["projects"]}
    child = admin.client.post(f"{V3}/projects", json={"project": {"name": "inside", "domain_id": project["id"]}})
    assert child.status_code == 201 and child.json()["project"]["domain_id"] == project["id"]
    nested = admin.client.post(f"{V3}/projects", json={"project": {"name": "x", "is_domain": True,
                                                                   "parent_id": child.json()["project"]["id"]}})
    assert nested.status_code == 400
    manager = admin.account("manager")
    refused = http.post(f"{V3}/projects", headers=auth_headers(manager.token(server)),
                        json={"project": {"name": "mine", "is_domain": True}})
    assert refused.status_code == 403
    assert admin.client.get(f"{V3}/domains", params={"name": "mine"}).json()["domains"] == []


def test_services_and_endpoints_reference_regions(server: Server, admin: Admin) -> None:
    region = f"r-{secrets.token_hex(3)}"
    server.openstack("region", "create", region, cloud=ADMIN_CLOUD)
    kind = f"t-{secrets.token_hex(3)}"
    service = server.openstack_json("service", "create", kind, "--name", "svc", cloud=ADMIN_CLOUD)
    endpoint = server.openstack_json("endpoint", "create", service["id"], "public", "https://svc.example/v1",
                                     "--region", region, cloud=ADMIN_CLOUD)
    assert endpoint["region"] == region
    listed = server.openstack_json("endpoint", "list", "--region", region, cloud=ADMIN_CLOUD)
    assert [row["ID"] for row in listed] == [endpoint["id"]]
    unknown = admin.client.post(f"{V3}/endpoints", json={"endpoint": {
        "service_id": service["id"], "interface": "admin", "url": "https://x.example", "region_id": "nowhere"}})
    assert unknown.status_code == 400 and "region_id" in unknown.json()["error"]["message"]
    no_service = admin.client.post(f"{V3}/endpoints", json={"endpoint": {
        "service_id": "0" * 32, "interface": "admin", "url": "https://x.example"}})
    assert no_service.status_code == 400
    legacy = f"legacy-{secrets.token_hex(3)}"
    made = admin.client.post(f"{V3}/endpoints", json={"endpoint": {
        "service_id": service["id"], "interface": "internal", "url": "https://x.example", "region": legacy}})
    assert made.status_code == 201 and made.json()["endpoint"]["region_id"] == legacy
    assert admin.client.get(f"{V3}/regions/{legacy}").status_code == 200
    assert admin.client.delete(f"{V3}/regions/{region}").status_code == 409  # it still has an endpoint
    server.openstack("service", "delete", service["id"], cloud=ADMIN_CLOUD)
    assert admin.client.get(f"{V3}/endpoints/{endpoint['id']}").status_code == 404
    assert admin.client.delete(f"{V3}/regions/{region}").status_code == 204
