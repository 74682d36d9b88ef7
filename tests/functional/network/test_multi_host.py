"""Several hosts: each agent reports its VXLAN endpoint with its heartbeat, and each host's network document
names the endpoints of the other hosts that carry the same networks (their VMs' ports, the network host).
Each host is added with `andromede host add` and acts through its own credential, as a real agent does."""

from __future__ import annotations

import secrets

import httpx

from tests.support.accounts import Admin
from tests.support.hosts import add_host
from tests.support.server import Server

NET = "/network/v2.0"
HOST = "/internal/v1/hosts"
# No capacity: these hosts have no agent, and the scheduler must never send a later test's server to them.
RESOURCES = {"vcpus": 0, "memory_mib": 0, "disk_gib": 0, "accelerator": "fake"}


def _register(agents: dict[str, httpx.Client], host: str, vtep: str | None) -> None:
    body = {**RESOURCES, **({"vtep_address": vtep} if vtep is not None else {})}
    response = agents[host].post(f"{HOST}/{host}", json=body)
    assert response.status_code == 200, response.text


def _bound_port(admin: Admin, network_id: str, host: str) -> dict:
    response = admin.client.post(f"{NET}/ports", json={"port": {"project_id": admin.project_id,
        "network_id": network_id, "binding:host_id": host, "device_owner": "compute:nova",
        "device_id": secrets.token_hex(8)}})
    assert response.status_code == 201, response.text
    return response.json()["port"]


def _remote_vteps(agents: dict[str, httpx.Client], host: str, network_id: str) -> list[str] | None:
    document = agents[host].get(f"{HOST}/{host}/network").json()
    return next((n["remote_vteps"] for n in document["networks"] if n["id"] == network_id), None)


def test_hosts_sharing_a_network_flood_to_each_other(server: Server, admin: Admin) -> None:
    suffix = secrets.token_hex(3)
    a, b, c, loop = (f"{name}-{suffix}" for name in ("hv-a", "hv-b", "hv-c", "hv-loop"))
    agents = {host: add_host(server, host).client() for host in (a, b, c, loop)}
    _register(agents, a, "192.0.2.10")
    _register(agents, b, "192.0.2.11")
    _register(agents, c, "192.0.2.12")
    _register(agents, loop, "127.0.0.1")  # a single-host agent: never a flood target
    network = admin.client.post(f"{NET}/networks", json={"network": {"project_id": admin.project_id,
                                                                      "name": f"mh-{suffix}"}}).json()["network"]
    subnet = {"network_id": network["id"], "cidr": "10.77.0.0/24", "ip_version": 4, "enable_dhcp": False,
              "project_id": admin.project_id}
    assert admin.client.post(f"{NET}/subnets", json={"subnet": subnet}).status_code == 201
    ports = [_bound_port(admin, network["id"], host) for host in (a, b, loop)]

    assert set(_remote_vteps(agents, a, network["id"]) or []) >= {"192.0.2.11"}
    assert set(_remote_vteps(agents, b, network["id"]) or []) >= {"192.0.2.10"}
    for host in (a, b):
        assert not {"192.0.2.12", "127.0.0.1"} & set(_remote_vteps(agents, host, network["id"]) or [])
    assert _remote_vteps(agents, c, network["id"]) is None  # no port there: the network is not on host c

    for bad in ("not-an-address", "192.0.2.300", 42, "192.0.2.1; reboot"):  # refused, and nothing changes
        response = agents[b].post(f"{HOST}/{b}", json={**RESOURCES, "vtep_address": bad})
        assert response.status_code in (400, 422) and "Traceback" not in response.text, response.text
    assert "192.0.2.11" in (_remote_vteps(agents, a, network["id"]) or [])

    # A host that moves its endpoint is followed; one that stops reporting it drops out.
    _register(agents, b, "192.0.2.21")
    assert "192.0.2.21" in (_remote_vteps(agents, a, network["id"]) or [])
    _register(agents, b, None)
    assert not {"192.0.2.11", "192.0.2.21"} & set(_remote_vteps(agents, a, network["id"]) or [])

    for port in ports:
        admin.client.delete(f"{NET}/ports/{port['id']}")
    admin.client.delete(f"{NET}/networks/{network['id']}")
    for client in agents.values():
        client.close()
