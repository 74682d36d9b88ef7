"""Metadata definitions attacked as a hostile tenant: another project's private namespace does not exist for
it, the public catalogue is the operators' to change, and nothing is changed by the attempts."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server

NAMESPACES = "/image/v2/metadefs/namespaces"


def _private_namespace(http: httpx.Client, token: str) -> str:
    name = f"Secret::{secrets.token_hex(4)}"
    body = {"namespace": name, "properties": {"p": {"title": "P", "type": "string"}},
            "objects": [{"name": "O"}], "tags": [{"name": "t"}],
            "resource_type_associations": [{"name": "OS::Glance::Image"}]}
    response = http.post(NAMESPACES, json=body, headers=auth_headers(token))
    assert response.status_code == 201, response.text
    return name


def test_another_projects_private_namespace_is_404_on_every_route(server: Server, admin: Admin,
                                                                   http: httpx.Client, tmp_path: Path) -> None:
    owner, attacker = admin.account(), admin.account()
    name = _private_namespace(http, owner.token(server))
    evil = auth_headers(attacker.token(server))
    ns = f"{NAMESPACES}/{name}"
    attempts = [
        ("GET", ns, None), ("PUT", ns, {"namespace": name, "visibility": "private"}), ("DELETE", ns, None),
        ("GET", f"{ns}/objects", None), ("POST", f"{ns}/objects", {"name": "X"}), ("DELETE", f"{ns}/objects", None),
        ("GET", f"{ns}/objects/O", None), ("PUT", f"{ns}/objects/O", {"name": "O"}),
        ("DELETE", f"{ns}/objects/O", None),
        ("GET", f"{ns}/properties", None), ("POST", f"{ns}/properties", {"name": "q", "title": "Q", "type": "string"}),
        ("DELETE", f"{ns}/properties", None), ("GET", f"{ns}/properties/p", None),
        ("PUT", f"{ns}/properties/p", {"name": "p", "title": "P", "type": "integer"}),
        ("DELETE", f"{ns}/properties/p", None),
        ("GET", f"{ns}/tags", None), ("POST", f"{ns}/tags", {"tags": [{"name": "x"}]}), ("DELETE", f"{ns}/tags", None),
        ("GET", f"{ns}/tags/t", None), ("POST", f"{ns}/tags/x", None), ("PUT", f"{ns}/tags/t", {"name": "u"}),
        ("DELETE", f"{ns}/tags/t", None),
        ("GET", f"{ns}/resource_types", None), ("POST", f"{ns}/resource_types", {"name": "OS::Nova::Flavor"}),
        ("DELETE", f"{ns}/resource_types/OS::Glance::Image", None),
    ]
    for method, path, body in attempts:
        response = http.request(method, path, json=body, headers=evil)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert name not in response.text or "was not found" in response.json()["message"]
    listed = http.get(NAMESPACES, headers=evil).json()["namespaces"]
    assert name not in {n["namespace"] for n in listed}
    assert name not in {n["namespace"] for n in http.get(NAMESPACES, params={"visibility": "private"},
                                                          headers=evil).json()["namespaces"]}
    # The CLI says the same: no such namespace.
    run = cli_as(server, attacker, tmp_path)
    assert run("image", "metadef", "namespace", "show", name, check=False).returncode != 0

    # Nothing changed: the owner still sees all of it, as it was.
    shown = http.get(ns, headers=auth_headers(owner.token(server))).json()
    assert shown["visibility"] == "private" and list(shown["properties"]) == ["p"]
    assert [o["name"] for o in shown["objects"]] == ["O"] and shown["tags"] == [{"name": "t"}]
    assert [a["name"] for a in shown["resource_type_associations"]] == ["OS::Glance::Image"]


def test_a_member_cannot_publish_or_change_the_public_catalogue(server: Server, admin: Admin,
                                                                http: httpx.Client) -> None:
    account = admin.account()
    headers = auth_headers(account.token(server))
    name = f"Public::{secrets.token_hex(4)}"
    assert http.post(NAMESPACES, json={"namespace": name, "visibility": "public"}, headers=headers
                     ).status_code == 403
    assert http.post(NAMESPACES, json={"namespace": name, "owner": admin.project_id}, headers=headers
                     ).status_code == 403
    assert http.get(f"{NAMESPACES}/{name}", headers=admin.client.headers).status_code == 404
    # Its own private namespace cannot be made public either.
    mine = _private_namespace(http, account.token(server))
    assert http.put(f"{NAMESPACES}/{mine}", json={"namespace": mine, "visibility": "public"},
                    headers=headers).status_code == 403
    assert http.get(f"{NAMESPACES}/{mine}", headers=headers).json()["visibility"] == "private"
    # Nor can it add a resource type to the list every project reads.
    invented = f"Evil::{secrets.token_hex(3)}"
    assert http.post(f"{NAMESPACES}/{mine}/resource_types", json={"name": invented}, headers=headers
                     ).status_code == 404
    types = http.get("/image/v2/metadefs/resource_types", headers=headers).json()["resource_types"]
    assert invented not in {t["name"] for t in types}

    catalogue = f"{NAMESPACES}/OS::Compute::QemuImage"
    before = http.get(catalogue, headers=headers).json()
    for method, path, body in [
        ("PUT", catalogue, {"namespace": "OS::Compute::QemuImage", "visibility": "public"}),
        ("DELETE", catalogue, None),
        ("POST", f"{catalogue}/properties", {"name": "hw_evil", "title": "E", "type": "string"}),
        ("PUT", f"{catalogue}/properties/hw_disk_bus", {"name": "hw_disk_bus", "title": "D", "type": "string",
                                                        "enum": ["ide"]}),
        ("DELETE", f"{catalogue}/properties/hw_disk_bus", None),
        ("DELETE", f"{catalogue}/properties", None),
        ("POST", f"{catalogue}/tags/evil", None),
        ("DELETE", f"{catalogue}/resource_types/OS::Glance::Image", None),
    ]:
        response = http.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
    assert http.get(catalogue, headers=headers).json() == before

    # A project-scoped admin is its project's administrator, not the cloud's: still 403 for public.
    project_admin = server.admin_token(project_scoped=True)
    assert http.post(NAMESPACES, json={"namespace": f"{name}-pa", "visibility": "public"},
                     headers=auth_headers(project_admin)).status_code == 403
    # The cloud operator may.
    made = http.post(NAMESPACES, json={"namespace": name, "visibility": "public"}, headers=admin.client.headers)
    assert made.status_code == 201, made.text
    assert http.get(f"{NAMESPACES}/{name}", headers=headers).status_code == 200
    assert http.delete(f"{NAMESPACES}/{name}", headers=headers).status_code == 403
    assert http.delete(f"{NAMESPACES}/{name}", headers=admin.client.headers).status_code == 204
