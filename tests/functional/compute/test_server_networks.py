"""Servers on Neutron networks: ports made and bound by Nova, `addresses`, status, cleanup, bad requests.

The fake hypervisor and the fake network driver sit behind the agent; tests/e2e/network boots real VMs.
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.functional.compute.test_servers import _create, _server, _wait_status, image_id, poll  # noqa: F401
from tests.support.accounts import Account, Admin, auth_headers
from tests.support.server import Server

NET = "/network/v2.0"


@pytest.fixture()
def member(admin: Admin) -> Account:
    return admin.account()


def _network(http: httpx.Client, token: str, cidr: str = "10.20.0.0/24") -> tuple[dict, dict]:
    network = http.post(f"{NET}/networks", json={"network": {"name": f"n-{secrets.token_hex(3)}"}},
                        headers=auth_headers(token)).json()["network"]
    subnet = http.post(f"{NET}/subnets", json={"subnet": {"network_id": network["id"], "cidr": cidr,
                                                          "ip_version": 4}}, headers=auth_headers(token))
    assert subnet.status_code == 201, subnet.text
    return network, subnet.json()["subnet"]


def _ports(http: httpx.Client, token: str, **filters: str) -> list[dict]:
    response = http.get(f"{NET}/ports", params=filters, headers=auth_headers(token))
    assert response.status_code == 200, response.text
    return response.json()["ports"]


def test_server_on_a_network_gets_a_bound_active_port_and_addresses(
        server: Server, http: httpx.Client, member: Account, image_id: str) -> None:  # noqa: F811
    token = member.token(server)
    network, subnet = _network(http, token)
    created = _create(http, token, image_id, networks=[{"uuid": network["id"]}])
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    doc = _wait_status(http, token, server_id, "ACTIVE")
    [port] = _ports(http, token, device_id=server_id)
    assert port["device_owner"].startswith("compute:") and port["network_id"] == network["id"]
    [fixed] = port["fixed_ips"]
    assert fixed["subnet_id"] == subnet["id"]
    [address] = doc["addresses"][network["name"]]
    assert address == {"version": 4, "addr": fixed["ip_address"], "OS-EXT-IPS:type": "fixed",
                       "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}
    poll(lambda: _ports(http, token, device_id=server_id)[0]["status"] == "ACTIVE", what="port ACTIVE")
    # The network host also made the network's DHCP port.
    poll(lambda: any(p["device_owner"] == "network:dhcp" for p in _ports(http, member.token(server),
                                                                        network_id=network["id"])),
         what="DHCP port")
    listed = http.get("/compute/v2.1/servers/detail", headers=auth_headers(token)).json()["servers"]
    assert [s["addresses"] for s in listed if s["id"] == server_id] == [doc["addresses"]]

    assert http.delete(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token)).status_code == 204
    assert _ports(http, token, device_id=server_id) == []


def test_own_port_is_used_and_kept_after_delete(server: Server, http: httpx.Client, member: Account,
                                                image_id: str) -> None:  # noqa: F811
    token = member.token(server)
    network, _ = _network(http, token, "10.21.0.0/24")
    port = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}},
                     headers=auth_headers(token)).json()["port"]
    created = _create(http, token, image_id, networks=[{"port": port["id"]}])
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    _wait_status(http, token, server_id, "ACTIVE")
    shown = http.get(f"{NET}/ports/{port['id']}", headers=auth_headers(token)).json()["port"]
    assert shown["device_id"] == server_id
    # The same port cannot go to a second server.
    again = _create(http, token, image_id, networks=[{"port": port["id"]}])
    assert again.status_code == 409, again.text
    assert http.delete(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token)).status_code == 204
    kept = http.get(f"{NET}/ports/{port['id']}", headers=auth_headers(token)).json()["port"]
    assert kept["device_id"] == "" and kept["device_owner"] == ""


def test_one_available_network_is_used_when_none_is_named_and_auto_makes_one(
        server: Server, http: httpx.Client, admin: Admin, image_id: str) -> None:  # noqa: F811
    fresh = admin.account()
    token = fresh.token(server)
    auto = _create(http, token, image_id, networks="auto")
    assert auto.status_code == 202, auto.text
    auto_id = auto.json()["server"]["id"]
    [port] = _ports(http, token, device_id=auto_id)
    networks = http.get(f"{NET}/networks", headers=auth_headers(token)).json()["networks"]
    assert [n["name"] for n in networks if n["id"] == port["network_id"]] == ["auto_allocated_network"]
    omitted = _create(http, token, image_id)  # exactly one network is available: it is used
    assert omitted.status_code == 202, omitted.text
    [port2] = _ports(http, token, device_id=omitted.json()["server"]["id"])
    assert port2["network_id"] == port["network_id"]
    _network(http, token, "10.22.0.0/24")
    ambiguous = _create(http, token, image_id)
    assert ambiguous.status_code == 409 and "Multiple possible networks" in ambiguous.text
    for server_id in (auto_id, omitted.json()["server"]["id"]):
        assert http.delete(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token)).status_code == 204


def test_bad_network_requests_change_nothing(server: Server, http: httpx.Client, admin: Admin,
                                             image_id: str) -> None:  # noqa: F811
    owner, other = admin.account(), admin.account()
    owner_token, other_token = owner.token(server), other.token(server)
    network, _ = _network(http, owner_token, "10.23.0.0/24")
    foreign_port = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}},
                             headers=auth_headers(owner_token)).json()["port"]
    bare = http.post(f"{NET}/networks", json={"network": {"name": "no-subnet"}},
                     headers=auth_headers(other_token)).json()["network"]

    def servers() -> list[str]:
        return [s["id"] for s in http.get("/compute/v2.1/servers", headers=auth_headers(other_token)).json()["servers"]]

    before_servers, before_ports = servers(), _ports(http, other_token)
    cases = [
        ([{"uuid": network["id"]}], 400),  # another project's network: not found
        ([{"port": foreign_port["id"]}], 400),  # another project's port: not found
        ([{"uuid": "00000000-0000-4000-8000-000000000000"}], 400),
        ([{"uuid": bare["id"]}], 400),  # a network without a subnet
        ([{"uuid": bare["id"], "fixed_ip": "not-an-ip"}], 400),
        ([{}], 400),
    ]
    for networks, status in cases:
        response = _create(http, other_token, image_id, networks=networks)
        assert response.status_code == status, (networks, response.text)
        assert "computeFault" not in response.text and "Traceback" not in response.text
    assert servers() == before_servers and _ports(http, other_token) == before_ports


def test_security_groups_at_boot_and_by_action(server: Server, http: httpx.Client, member: Account,
                                               image_id: str) -> None:  # noqa: F811
    token = member.token(server)
    network, _ = _network(http, token, "10.24.0.0/24")
    web = http.post(f"{NET}/security-groups", json={"security_group": {"name": "web"}},
                    headers=auth_headers(token)).json()["security_group"]
    created = _create(http, token, image_id, networks=[{"uuid": network["id"]}], security_groups=[{"name": "web"}])
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    [port] = _ports(http, token, device_id=server_id)
    assert port["security_groups"] == [web["id"]]
    unknown = _create(http, token, image_id, networks=[{"uuid": network["id"]}], security_groups=[{"name": "nope"}])
    assert unknown.status_code == 400, unknown.text

    def action(body: dict) -> httpx.Response:
        return http.post(f"/compute/v2.1/servers/{server_id}/action", json=body, headers=auth_headers(token))

    assert _server(http, token, server_id)["security_groups"] == [{"name": "web"}]
    missing = action({"addSecurityGroup": {"name": "no-such-group"}})  # Nova: 404 itemNotFound, nothing changed
    assert missing.status_code == 404 and "no-such-group" in missing.json()["itemNotFound"]["message"]
    assert action({"addSecurityGroup": {"name": "default"}}).status_code == 202
    assert len(_ports(http, token, device_id=server_id)[0]["security_groups"]) == 2
    assert _server(http, token, server_id)["security_groups"] == [{"name": "default"}, {"name": "web"}]
    assert action({"removeSecurityGroup": {"name": "web"}}).status_code == 202
    assert action({"removeSecurityGroup": {"name": "web"}}).status_code == 404
    assert _ports(http, token, device_id=server_id)[0]["security_groups"] != [web["id"]]
    assert http.delete(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token)).status_code == 204


def test_interfaces_attach_and_detach_through_the_cli(server: Server, http: httpx.Client,
                                                      image_id: str) -> None:  # noqa: F811
    name = f"nic-{secrets.token_hex(3)}"
    try:
        _attach_and_detach(server, http, image_id, name)
    finally:  # the demo project must not keep networks: other tests boot there without naming one
        server.openstack("server", "delete", "--wait", name, check=False)
        for suffix in ("a", "b"):
            server.openstack("network", "delete", f"{name}-{suffix}", check=False)


def _attach_and_detach(server: Server, http: httpx.Client, image_id: str, name: str) -> None:  # noqa: F811
    server.openstack("network", "create", f"{name}-a")
    server.openstack("subnet", "create", "--network", f"{name}-a", "--subnet-range", "10.25.0.0/24", f"{name}-sa")
    server.openstack("network", "create", f"{name}-b")
    server.openstack("subnet", "create", "--network", f"{name}-b", "--subnet-range", "10.26.0.0/24", f"{name}-sb")
    created = server.openstack_json("server", "create", "--image", image_id, "--flavor", "m1.tiny", "--nic",
                                    f"net-id={name}-a", "--wait", name)
    server.openstack("server", "add", "network", name, f"{name}-b")
    shown = server.openstack_json("server", "show", name)
    assert set(shown["addresses"]) == {f"{name}-a", f"{name}-b"}
    own = server.openstack_json("port", "create", "--network", f"{name}-b", f"{name}-own")
    server.openstack("server", "add", "port", name, own["id"])
    ports = server.openstack_json("port", "list", "--server", created["id"])
    assert len(ports) == 3
    listed = http.get(f"/compute/v2.1/servers/{created['id']}/os-interface",
                      headers=auth_headers(server.token("demo", _demo_password(server), "demo")))
    assert len(listed.json()["interfaceAttachments"]) == 3
    server.openstack("server", "remove", "port", name, own["id"])
    kept = server.openstack_json("port", "show", own["id"])
    assert kept["device_id"] == ""  # the user's port stays, unplugged
    server.openstack("port", "delete", own["id"])
    assert len(server.openstack_json("port", "list", "--server", created["id"])) == 2
    server.openstack("server", "delete", "--wait", name)
    left = server.openstack_json("port", "list", "--network", f"{name}-a", "--long")
    assert [p["Device Owner"] for p in left] == ["network:dhcp"]  # Nova's port went with the server


def _demo_password(server: Server) -> str:
    import yaml

    return yaml.safe_load(server.clouds_yaml.read_text())["clouds"]["andromede"]["auth"]["password"]
