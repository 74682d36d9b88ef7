"""Nova's proxy APIs at microversion 2.1 (/os-security-groups, /os-security-group-rules, /os-floating-ips, /images)
and /extensions, as clients pinned to 2.1 call them: answered from the network and image services in Nova's shapes,
and another project's resources not found. Raw HTTP where no client command calls them any more."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from andromede.compute.api.microversion import MAX_VERSION
from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.functional.network.test_routers import external_networks
from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server

V21 = "/compute/v2.1"


@pytest.fixture()
def public_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    yield from external_networks(admin)


def test_security_groups_through_the_compute_proxy(server: Server, admin: Admin, http: httpx.Client) -> None:
    owner, intruder = admin.account(), admin.account()
    mine, theirs = auth_headers(owner.token(server)), auth_headers(intruder.token(server))
    created = http.post(f"{V21}/os-security-groups", headers=mine,
                        json={"security_group": {"name": "web", "description": "front"}})
    assert created.status_code == 200, created.text
    group = created.json()["security_group"]
    assert (group["name"], group["description"], group["tenant_id"], group["rules"]) == (
        "web", "front", owner.project_id, [])  # egress rules are not Nova's to show
    ssh = http.post(f"{V21}/os-security-group-rules", headers=mine, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"}})
    assert ssh.status_code == 200, ssh.text
    rule = ssh.json()["security_group_rule"]
    assert {k: rule[k] for k in ("parent_group_id", "ip_protocol", "from_port", "to_port", "ip_range", "group")} \
        == {"parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
            "ip_range": {"cidr": "10.0.0.0/8"}, "group": {}}
    peers = http.post(f"{V21}/os-security-group-rules", headers=mine, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "icmp", "from_port": -1, "to_port": -1,
        "group_id": group["id"]}}).json()["security_group_rule"]
    assert (peers["from_port"], peers["to_port"], peers["group"], peers["ip_range"]) == (
        -1, -1, {"name": "web", "tenant_id": owner.project_id}, {})
    # The network service holds the same group and rules.
    neutron = http.get(f"/network/v2.0/security-groups/{group['id']}", headers=mine).json()["security_group"]
    assert {(r["direction"], r["protocol"], r["port_range_min"]) for r in neutron["security_group_rules"]} >= {
        ("ingress", "tcp", 22), ("ingress", "icmp", None)}
    listed = http.get(f"{V21}/os-security-groups", headers=mine).json()["security_groups"]
    assert {"default", "web"} == {g["name"] for g in listed}
    assert http.get(f"{V21}/os-security-groups/{group['id']}", headers=mine).json()["security_group"]["rules"]

    # Another project: not found, and nothing changes.
    assert http.get(f"{V21}/os-security-groups/{group['id']}", headers=theirs).status_code == 404
    assert http.delete(f"{V21}/os-security-groups/{group['id']}", headers=theirs).status_code == 404
    assert http.delete(f"{V21}/os-security-group-rules/{rule['id']}", headers=theirs).status_code == 404
    stolen = http.post(f"{V21}/os-security-group-rules", headers=theirs, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 1, "to_port": 65535, "cidr": "0.0.0.0/0"}})
    assert stolen.status_code == 404 and set(stolen.json()) == {"itemNotFound"}
    assert group["id"] not in [g["id"] for g in http.get(f"{V21}/os-security-groups", headers=theirs).json()[
        "security_groups"]]
    assert len(http.get(f"{V21}/os-security-groups/{group['id']}", headers=mine).json()["security_group"]["rules"]) == 2

    bad = http.post(f"{V21}/os-security-groups", headers=mine, json={"security_group": {"name": "x"}})
    assert bad.status_code == 400 and set(bad.json()) == {"badRequest"}
    assert http.delete(f"{V21}/os-security-group-rules/{rule['id']}", headers=mine).status_code == 202
    assert http.delete(f"{V21}/os-security-groups/{group['id']}", headers=mine).status_code == 202
    assert http.get(f"{V21}/os-security-groups/{group['id']}", headers=mine).status_code == 404


def test_floating_ips_and_images_through_the_compute_proxy(server: Server, admin: Admin, http: httpx.Client,
                                                           image_id: str,  # noqa: F811
                                                           public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.41.0/24")
    owner, intruder = admin.account(), admin.account()
    mine, theirs = auth_headers(owner.token(server)), auth_headers(intruder.token(server))
    fip = http.post("/network/v2.0/floatingips", headers=mine,
                    json={"floatingip": {"floating_network_id": public["id"]}}).json()["floatingip"]
    try:
        listed = http.get(f"{V21}/os-floating-ips", headers=mine).json()["floating_ips"]
        assert listed == [{"id": fip["id"], "ip": fip["floating_ip_address"], "fixed_ip": None, "instance_id": None,
                           "pool": public["name"]}]
        shown = http.get(f"{V21}/os-floating-ips/{fip['id']}", headers=mine)
        assert shown.json() == {"floating_ip": listed[0]}
        assert http.get(f"{V21}/os-floating-ips/{fip['id']}", headers=theirs).status_code == 404
        assert http.get(f"{V21}/os-floating-ips", headers=theirs).json()["floating_ips"] == []
    finally:
        http.delete(f"/network/v2.0/floatingips/{fip['id']}", headers=mine)

    summary = http.get(f"{V21}/images", headers=mine).json()["images"]
    assert image_id in [i["id"] for i in summary]
    assert {link["rel"] for link in summary[0]["links"]} == {"self", "bookmark", "alternate"}
    detail = next(i for i in http.get(f"{V21}/images/detail", headers=mine).json()["images"] if i["id"] == image_id)
    assert (detail["status"], detail["progress"], detail["minRam"]) == ("ACTIVE", 100, 0)
    assert set(detail) == {"id", "name", "minRam", "minDisk", "metadata", "created", "updated", "status", "progress",
                           "OS-EXT-IMG-SIZE:size", "links"}
    assert http.get(f"{V21}/images/{image_id}", headers=mine).json()["image"] == detail
    missing = http.get(f"{V21}/images/00000000-0000-4000-8000-000000000000", headers=mine)
    assert missing.status_code == 404 and set(missing.json()) == {"itemNotFound"}
    if MAX_VERSION >= (2, 36):  # Nova retired the proxies at 2.36
        retired = http.get(f"{V21}/images", headers={**mine, "OpenStack-API-Version": "compute 2.36"})
        assert retired.status_code == 404


def test_extensions_through_the_cli(server: Server, admin: Admin, http: httpx.Client) -> None:
    listed = json.loads(server.openstack("extension", "list", "--compute", "-f", "json").stdout)
    aliases = {e["Alias"] for e in listed}
    assert {"os-server-groups", "os-instance-actions", "os-keypairs", "os-security-groups"} <= aliases
    headers = auth_headers(admin.account().token(server))
    shown = http.get(f"{V21}/extensions/os-server-groups", headers=headers).json()["extension"]
    assert shown["name"] == "ServerGroups" and shown["links"] == []
    assert http.get(f"{V21}/extensions/os-cells", headers=headers).status_code == 404
    assert http.get(f"{V21}/extensions").status_code == 401
