"""A write to one network wakes the agents of the hosts that carry it, and only them: an agent long-polling for a
host that carries only another network sleeps through it, its generation unmoved."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.accounts import Admin
from tests.support.hosts import add_host
from tests.support.server import Server

NET = "/network/v2.0"
HOST = "/internal/v1/hosts"
# No capacity: these hosts have no agent, and the scheduler must never send a later test's server to them.
RESOURCES = {"vcpus": 0, "memory_mib": 0, "disk_gib": 0, "accelerator": "fake"}


def _network_with_port(admin: Admin, name: str, host: str, cidr: str) -> tuple[dict, dict]:
    """A network whose one port is bound to HOST, in no security group (in the project's default group, each
    host would see the other's addresses as the group's members: a change to one would concern both)."""
    network = admin.client.post(f"{NET}/networks", json={"network": {"project_id": admin.project_id,
                                                                      "name": name}}).json()["network"]
    subnet = {"network_id": network["id"], "cidr": cidr, "ip_version": 4, "enable_dhcp": False,
              "project_id": admin.project_id}
    assert admin.client.post(f"{NET}/subnets", json={"subnet": subnet}).status_code == 201
    response = admin.client.post(f"{NET}/ports", json={"port": {"project_id": admin.project_id,
        "network_id": network["id"], "binding:host_id": host, "device_owner": "compute:nova",
        "device_id": secrets.token_hex(8), "security_groups": []}})
    assert response.status_code == 201, response.text
    return network, response.json()["port"]


def _long_poll(agent: httpx.Client, host: str, since: int, wait: float) -> tuple[dict, float]:
    started = time.monotonic()
    response = agent.get(f"{HOST}/{host}/network", params={"since": since, "wait": wait}, timeout=wait + 15)
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


def test_a_change_to_one_network_wakes_only_the_hosts_that_carry_it(server: Server, admin: Admin) -> None:
    suffix = secrets.token_hex(3)
    host_a, host_b = f"hv-a-{suffix}", f"hv-b-{suffix}"
    agents = {host: add_host(server, host).client() for host in (host_a, host_b)}
    for host, vtep in ((host_a, "192.0.2.31"), (host_b, "192.0.2.32")):
        assert agents[host].post(f"{HOST}/{host}", json={**RESOURCES, "vtep_address": vtep}).status_code == 200
    network_a, port_a = _network_with_port(admin, f"scope-a-{suffix}", host_a, "10.78.1.0/24")
    network_b, port_b = _network_with_port(admin, f"scope-b-{suffix}", host_b, "10.78.2.0/24")
    try:
        documents = {host: agents[host].get(f"{HOST}/{host}/network").json() for host in (host_a, host_b)}
        assert [n["id"] for n in documents[host_a]["networks"]] == [network_a["id"]]
        assert [n["id"] for n in documents[host_b]["networks"]] == [network_b["id"]]
        since = {host: documents[host]["generation"] for host in (host_a, host_b)}

        with ThreadPoolExecutor(2) as pool:
            carrying = pool.submit(_long_poll, agents[host_a], host_a, since[host_a], 20.0)
            elsewhere = pool.submit(_long_poll, agents[host_b], host_b, since[host_b], 3.0)
            time.sleep(0.5)  # both are waiting
            response = admin.client.put(f"{NET}/ports/{port_a['id']}", json={"port": {
                "allowed_address_pairs": [{"ip_address": "10.78.1.200"}]}})
            assert response.status_code == 200, response.text
            woken, woken_after = carrying.result()
            slept, slept_for = elsewhere.result()

        assert "unchanged" not in woken and woken["generation"] > since[host_a]
        assert woken_after < 5.0  # woken by the change, not by its 20 s timeout
        assert woken["ports"][0]["allowed_address_pairs"] == [{"ip_address": "10.78.1.200"}]
        assert slept == {"generation": since[host_b], "unchanged": True} and slept_for >= 2.5
        # Host B's document did not move at all: asked again, it is the same generation.
        assert agents[host_b].get(f"{HOST}/{host_b}/network").json()["generation"] == since[host_b]

        # A change to network B now wakes host B, and leaves host A's generation where it was.
        with ThreadPoolExecutor(1) as pool:
            carrying_b = pool.submit(_long_poll, agents[host_b], host_b, since[host_b], 20.0)
            time.sleep(0.5)
            assert admin.client.put(f"{NET}/networks/{network_b['id']}", json={"network": {
                "name": f"scope-b2-{suffix}"}}).status_code == 200
            woken_b, woken_b_after = carrying_b.result()
        assert "unchanged" not in woken_b and woken_b["generation"] > since[host_b] and woken_b_after < 5.0
        assert agents[host_a].get(f"{HOST}/{host_a}/network").json()["generation"] == woken["generation"]
    finally:
        for port in (port_a, port_b):
            admin.client.delete(f"{NET}/ports/{port['id']}")
        for network in (network_a, network_b):
            admin.client.delete(f"{NET}/networks/{network['id']}")
        for client in agents.values():
            client.close()


def test_a_host_moving_its_endpoint_wakes_the_hosts_it_shares_a_network_with(server: Server, admin: Admin) -> None:
    suffix = secrets.token_hex(3)
    host_a, host_a2, host_b = f"hv-a-{suffix}", f"hv-a2-{suffix}", f"hv-b-{suffix}"
    agents = {host: add_host(server, host).client() for host in (host_a, host_a2, host_b)}
    for index, host in enumerate((host_a, host_a2, host_b)):
        body = {**RESOURCES, "vtep_address": f"192.0.2.{41 + index}"}
        assert agents[host].post(f"{HOST}/{host}", json=body).status_code == 200
    network_a, port_a = _network_with_port(admin, f"vtep-a-{suffix}", host_a, "10.78.3.0/24")
    network_b, port_b = _network_with_port(admin, f"vtep-b-{suffix}", host_b, "10.78.4.0/24")
    response = admin.client.post(f"{NET}/ports", json={"port": {"project_id": admin.project_id,
        "network_id": network_a["id"], "binding:host_id": host_a2, "device_owner": "compute:nova",
        "device_id": secrets.token_hex(8), "security_groups": []}})
    assert response.status_code == 201, response.text
    port_a2 = response.json()["port"]
    try:
        since = {host: agents[host].get(f"{HOST}/{host}/network").json()["generation"] for host in agents}
        assert agents[host_a2].post(f"{HOST}/{host_a2}", json={**RESOURCES, "vtep_address": "192.0.2.99"}
                                    ).status_code == 200
        after = {host: agents[host].get(f"{HOST}/{host}/network").json() for host in agents}
        assert after[host_a]["generation"] > since[host_a]
        assert after[host_a]["networks"][0]["remote_vteps"].count("192.0.2.99") == 1
        assert after[host_b]["generation"] == since[host_b]  # it carries no network of host a2
    finally:
        for port in (port_a, port_a2, port_b):
            admin.client.delete(f"{NET}/ports/{port['id']}")
        for network in (network_a, network_b):
            admin.client.delete(f"{NET}/networks/{network['id']}")
        for client in agents.values():
            client.close()
