"""What operators' tools ask of Nova besides servers: hypervisor statistics, search and servers, flavor pages,
servers by host. Driven through the openstack CLI (system-scoped admin) and raw HTTP, fake hypervisor behind."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.polling import poll
from tests.support.server import Server

V21 = "/compute/v2.1"
ADMIN = "andromede-admin"


def _boot(http: httpx.Client, token: str, image: str) -> str:
    body = {"server": {"name": f"hv-{secrets.token_hex(3)}", "imageRef": image, "flavorRef": "1", "networks": "none"}}
    response = http.post(f"{V21}/servers", json=body, headers=auth_headers(token))
    assert response.status_code == 202, response.text
    server_id: str = response.json()["server"]["id"]

    def active() -> bool:
        shown = http.get(f"{V21}/servers/{server_id}", headers=auth_headers(token)).json()["server"]
        return bool(shown["status"] == "ACTIVE")

    poll(active, 120, "the server to be ACTIVE")
    return server_id


def test_hypervisor_statistics_search_and_servers(server: Server, admin: Admin, http: httpx.Client,
                                                   image_id: str) -> None:  # noqa: F811
    member = admin.account()
    server_id = _boot(http, member.token(server), image_id)
    try:
        [listed] = server.openstack_json("hypervisor", "list", cloud=ADMIN)  # type: ignore[misc]
        name = listed["Hypervisor Hostname"]
        stats = server.openstack_json("hypervisor", "stats", "show", cloud=ADMIN)
        assert isinstance(stats, dict) and stats["count"] == 1 and stats["running_vms"] >= 1
        assert stats["vcpus_used"] >= 1 and stats["free_ram_mb"] == stats["memory_mb"] - stats["memory_mb_used"]

        found = admin.client.get(f"{V21}/os-hypervisors/{name[:4]}/search").json()["hypervisors"]
        assert [h["hypervisor_hostname"] for h in found] == [name] and "servers" not in found[0]
        with_servers = admin.client.get(f"{V21}/os-hypervisors/{name}/servers").json()["hypervisors"]
        assert server_id in {s["uuid"] for s in with_servers[0]["servers"]}
        for path in (f"{V21}/os-hypervisors/no-such-host/search", f"{V21}/os-hypervisors/no-such-host/servers"):
            missing = admin.client.get(path)
            assert missing.status_code == 404, missing.text
            assert missing.json()["itemNotFound"]["message"] == "No hypervisor matching 'no-such-host' could be found."

        # Where servers run is the operator's business: a project member learns nothing of it.
        for path in ("statistics", f"{name}/search", f"{name}/servers"):
            refused = http.get(f"{V21}/os-hypervisors/{path}", headers=auth_headers(member.token(server)))
            assert refused.status_code == 403, refused.text

        on_host = server.openstack_json("server", "list", "--all-projects", "--host", name, cloud=ADMIN)
        assert server_id in {s["ID"] for s in on_host}  # type: ignore[union-attr]
        elsewhere = server.openstack_json("server", "list", "--all-projects", "--host", "no-such-host", cloud=ADMIN)
        assert elsewhere == []
    finally:
        admin.delete_servers([server_id])


def test_a_members_host_filter_is_ignored(server: Server, admin: Admin, http: httpx.Client,
                                          image_id: str) -> None:  # noqa: F811
    """As Nova: `host` is an admin-only filter; a member's is dropped, and tells nothing about hosts."""
    member = admin.account()
    token = member.token(server)
    server_id = _boot(http, token, image_id)
    try:
        for host in ("no-such-host", "anything"):
            listed = http.get(f"{V21}/servers", params={"host": host}, headers=auth_headers(token)).json()
            assert [s["id"] for s in listed["servers"]] == [server_id]
    finally:
        admin.delete_servers([server_id])


def test_flavors_come_in_pages(server: Server, admin: Admin, http: httpx.Client, tmp_path: Path) -> None:
    extra = [admin.client.post(f"{V21}/flavors", json={"flavor": {
        "name": f"page-{secrets.token_hex(3)}", "ram": 1_000_000 + n, "vcpus": 1, "disk": 1}}).json()["flavor"]["id"]
        for n in range(3)]
    try:
        _pages(server, admin, http, tmp_path)
    finally:
        for flavor_id in extra:
            admin.client.delete(f"{V21}/flavors/{flavor_id}")


def _pages(server: Server, admin: Admin, http: httpx.Client, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account(), tmp_path)
    everything = json.loads(cli("flavor", "list", "-f", "json").stdout)  # type: ignore[attr-defined]
    assert len(everything) >= 5
    token = admin.account().token(server)
    first = http.get(f"{V21}/flavors", params={"limit": 2}, headers=auth_headers(token)).json()
    assert [f["id"] for f in first["flavors"]] == [f["ID"] for f in everything[:2]]
    [link] = first["flavors_links"]
    assert link["rel"] == "next" and f"marker={everything[1]['ID']}" in link["href"] and "limit=2" in link["href"]
    rest = http.get(link["href"], headers=auth_headers(token)).json()
    assert [f["id"] for f in rest["flavors"]] == [f["ID"] for f in everything[2:4]]

    paged = json.loads(cli("flavor", "list", "--limit", "1", "--marker", everything[0]["ID"],  # type: ignore[attr-defined]
                           "-f", "json").stdout)
    assert [f["ID"] for f in paged] == [everything[1]["ID"]]
    whole = http.get(f"{V21}/flavors/detail", params={"limit": 1000}, headers=auth_headers(token)).json()
    assert len(whole["flavors"]) == len(everything) and "flavors_links" not in whole

    for params, message in (({"limit": "x"}, "limit param must be an integer"),
                            ({"limit": "-1"}, "limit param must be positive"),
                            ({"marker": "no-such-flavor"}, "Marker no-such-flavor could not be found.")):
        refused = http.get(f"{V21}/flavors", params=params, headers=auth_headers(token))
        assert refused.status_code == 400 and refused.json()["badRequest"]["message"] == message, refused.text
