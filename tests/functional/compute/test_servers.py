"""Servers through the real clients against the real API, with the fake hypervisor behind the agent.

The same lifecycle with real QEMU VMs is in tests/e2e/compute.
"""

from __future__ import annotations

import base64
import secrets
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.functional.image import corpus
from tests.support.accounts import Admin, auth_headers
from tests.support.polling import poll
from tests.support.server import Server


@pytest.fixture(scope="module")
def image_id(server: Server, admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = corpus.small_qcow2(tmp_path_factory.mktemp("img") / "base.qcow2", "64M")
    return admin.public_image(path, "base")


def _create(http: httpx.Client, token: str, image_id: str, **extra: object) -> httpx.Response:
    body = {"server": {"name": f"vm-{secrets.token_hex(3)}", "imageRef": image_id, "flavorRef": "1", **extra}}
    return http.post("/compute/v2.1/servers", json=body, headers=auth_headers(token))


def _server(http: httpx.Client, token: str, server_id: str) -> dict:
    response = http.get(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token))
    return response.json().get("server", {}) if response.status_code == 200 else {"status": response.status_code}


def _wait_status(http: httpx.Client, token: str, server_id: str, status: str) -> dict:
    poll(lambda: _server(http, token, server_id).get("status") == status
         and _server(http, token, server_id).get("OS-EXT-STS:task_state") is None, what=f"status {status}")
    return _server(http, token, server_id)


def test_cli_lifecycle_with_fake_hypervisor(server: Server, image_id: str) -> None:
    name = f"cli-{secrets.token_hex(3)}"
    created = server.openstack_json("server", "create", "--image", image_id, "--flavor", "m1.tiny",
                                    "--config-drive", "True", "--wait", name)
    assert created["status"] == "ACTIVE" and created["name"] == name
    shown = server.openstack_json("server", "show", name)
    assert shown["OS-EXT-STS:power_state"] in ("Running", 1) and shown["config_drive"] == "True"
    server.openstack("server", "stop", name)
    poll(lambda: server.openstack_json("server", "show", name)["status"] == "SHUTOFF", what="SHUTOFF")
    server.openstack("server", "start", name)
    poll(lambda: server.openstack_json("server", "show", name)["status"] == "ACTIVE", what="ACTIVE")
    server.openstack("server", "reboot", "--hard", "--wait", name)
    console = server.openstack("console", "log", "show", name).stdout
    assert "andromede-tiny: ready" in console
    server.openstack("server", "delete", "--wait", name)
    assert server.openstack("server", "show", name, check=False).returncode != 0


def test_api_shapes_metadata_and_console(server: Server, admin: Admin, http: httpx.Client, image_id: str) -> None:
    account = admin.account()
    token = account.token(server)
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    created = _create(http, token, image_id, metadata={"role": "web"}, user_data=user_data)
    assert created.status_code == 202, created.text
    doc = created.json()["server"]
    assert set(doc) == {"id", "links", "OS-DCF:diskConfig", "adminPass"}  # Nova answers the password once
    server_doc = _wait_status(http, token, doc["id"], "ACTIVE")
    assert server_doc["metadata"] == {"role": "web"} and server_doc["tenant_id"] == account.project_id
    assert "OS-EXT-SRV-ATTR:host" not in server_doc  # admin-only
    headers = auth_headers(token)
    http.put(f"/compute/v2.1/servers/{doc['id']}/metadata/tier", json={"meta": {"tier": "1"}}, headers=headers)
    assert http.get(f"/compute/v2.1/servers/{doc['id']}/metadata", headers=headers).json()["metadata"] == {
        "role": "web", "tier": "1"}
    poll(lambda: "ready" in http.post(f"/compute/v2.1/servers/{doc['id']}/action", headers=headers,
                                      json={"os-getConsoleOutput": {}}).json()["output"], what="console")
    tail = http.post(f"/compute/v2.1/servers/{doc['id']}/action", headers=headers,
                     json={"os-getConsoleOutput": {"length": 1}}).json()["output"]
    assert tail.count("\n") <= 1
    conflict = http.post(f"/compute/v2.1/servers/{doc['id']}/action", json={"os-start": None}, headers=headers)
    assert conflict.status_code == 409 and "conflictingRequest" in conflict.json()
    assert http.delete(f"/compute/v2.1/servers/{doc['id']}", headers=headers).status_code == 204
    assert http.get(f"/compute/v2.1/servers/{doc['id']}", headers=headers).status_code == 404


def test_list_filters_and_pagination(server: Server, admin: Admin, image_id: str) -> None:
    account = admin.account()
    conn_token = account.token(server)
    with server.http() as http:
        made = [_create(http, conn_token, image_id, name=f"page-{i}").json()["server"]["id"] for i in range(3)]
        page = http.get("/compute/v2.1/servers?limit=2", headers=auth_headers(conn_token)).json()
        assert len(page["servers"]) == 2 and page["servers_links"][0]["rel"] == "next"
        named = http.get("/compute/v2.1/servers/detail?name=page-1", headers=auth_headers(conn_token)).json()
        assert [s["name"] for s in named["servers"]] == ["page-1"]
    # openstacksdk follows servers_links to the end
    import openstack.connection

    conn = openstack.connection.Connection(auth_url=server.identity_url, username=account.name,
                                           password=account.password, project_name=account.project_name,
                                           user_domain_name="Default", project_domain_name="Default",
                                           cacert=server.cacert)
    assert {s.id for s in conn.compute.servers(limit=1)} == set(made)
    for server_id in made:
        admin.client.delete(f"/compute/v2.1/servers/{server_id}")


def test_other_projects_get_404_and_readers_cannot_create(server: Server, admin: Admin, http: httpx.Client,
                                                          image_id: str) -> None:
    alice, bob, reader = admin.account(), admin.account(), admin.account("reader")
    a = alice.token(server)
    server_id = _create(http, a, image_id).json()["server"]["id"]
    b = auth_headers(bob.token(server))
    assert http.get(f"/compute/v2.1/servers/{server_id}", headers=b).status_code == 404
    assert http.post(f"/compute/v2.1/servers/{server_id}/action", json={"os-getConsoleOutput": {}},
                     headers=b).status_code == 404
    assert http.delete(f"/compute/v2.1/servers/{server_id}", headers=b).status_code == 404
    assert server_id not in {s["id"] for s in http.get("/compute/v2.1/servers", headers=b).json()["servers"]}
    refused = _create(http, reader.token(server), image_id)
    assert refused.status_code == 403
    http.delete(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(a))


@pytest.mark.parametrize("change,status", [
    ({"imageRef": "00000000-0000-0000-0000-000000000000"}, 400),
    ({"flavorRef": "no-such-flavor"}, 400),
    ({"user_data": "not base64!!"}, 400),
    ({"user_data": "A" * 70000}, 400),
    ({"name": "x" * 10240}, 400),
    ({"key_name": "missing"}, 400),
    ({"networks": [{"uuid": "00000000-0000-0000-0000-000000000000"}]}, 400),
    ({"metadata": {"k": 5}}, 400),
])
def test_bad_server_requests_change_nothing(server: Server, admin: Admin, http: httpx.Client, image_id: str,
                                            change: dict, status: int) -> None:
    token = admin.account().token(server)
    response = _create(http, token, image_id, **change)
    assert response.status_code == status, response.text
    assert "badRequest" in response.json()
    assert http.get("/compute/v2.1/servers", headers=auth_headers(token)).json()["servers"] == []


def test_malformed_body_and_small_flavor(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = admin.account().token(server)
    response = http.post("/compute/v2.1/servers", content=b"{nope", headers={**auth_headers(token),
                                                                             "Content-Type": "application/json"})
    assert response.status_code == 400 and "badRequest" in response.json()
    big = admin.client.post("/image/v2/images", json={"name": "needs-5g", "disk_format": "qcow2",
                                                      "container_format": "bare", "visibility": "public",
                                                      "min_disk": 5}).json()
    with tempfile.TemporaryDirectory() as tmp:
        path = corpus.small_qcow2(Path(tmp) / "d.qcow2", "1M")
        admin.client.put(f"/image/v2/images/{big['id']}/file", content=path.read_bytes(),
                         headers={"Content-Type": "application/octet-stream"})
    too_small = _create(http, token, big["id"])
    assert too_small.status_code == 400
    assert too_small.json()["badRequest"]["message"] == (
        "Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is 1073741824 "
        "bytes, minimum size is 5368709120 bytes.")


def test_concurrent_creates_never_overcommit(server: Server, admin: Admin, http: httpx.Client,
                                             image_id: str) -> None:
    """20 creates at once against the fake host: what got placed fits its capacity, the rest is ERROR."""
    def host() -> dict:
        listed = admin.client.get("/compute/v2.1/os-hypervisors/detail").json()["hypervisors"]
        # The session server's own host: other tests add hosts without capacity (andromede host add).
        (only,) = (h for h in listed if h["hypervisor_hostname"] == socket.gethostname())
        return only

    poll(lambda: host()["memory_mb_used"] == 0, what="earlier tests' servers to be gone")
    capacity = host()["memory_mb"] // 256
    assert capacity < 20, "the fake host must be too small for 20 servers for this test to mean anything"
    accounts = [admin.account() for _ in range(4)]
    tokens = [a.token(server) for a in accounts]

    def create(index: int) -> str:
        response = _create(http, tokens[index % 4], image_id)
        assert response.status_code == 202, response.text
        return response.json()["server"]["id"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(create, range(20)))
    after = host()
    assert after["memory_mb_used"] <= after["memory_mb"]
    statuses = [admin.client.get(f"/compute/v2.1/servers/{i}").json()["server"]["status"] for i in ids]
    placed = [s for s in statuses if s != "ERROR"]
    assert len(placed) == capacity and after["memory_mb_used"] == capacity * 256
    assert statuses.count("ERROR") == 20 - capacity
    for server_id in ids:
        admin.client.delete(f"/compute/v2.1/servers/{server_id}")
