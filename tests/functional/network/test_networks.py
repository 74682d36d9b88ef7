"""Neutron v2.0 networks, subnets and ports through the openstack CLI, openstacksdk and raw requests."""

from __future__ import annotations

import secrets
import socket

import httpx
import pytest

from tests.support.accounts import Admin, auth_headers
from tests.support.hosts import local_agent
from tests.support.server import Server

NET = "/network/v2.0"


def _error(response: httpx.Response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["NeutronError"]
    assert error["message"] and "Traceback" not in response.text
    if kind:
        assert error["type"] == kind, error
    return error


def _network(http: httpx.Client, token: str, **fields: object) -> dict:
    response = http.post(f"{NET}/networks", json={"network": {"name": f"n-{secrets.token_hex(3)}", **fields}},
                         headers=auth_headers(token))
    assert response.status_code == 201, response.text
    return response.json()["network"]


def _subnet(http: httpx.Client, token: str, network_id: str, cidr: str = "10.0.0.0/24",
            **fields: object) -> httpx.Response:
    return http.post(f"{NET}/subnets", json={"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4,
                                                        **fields}}, headers=auth_headers(token))


def test_discovery_and_extensions(server: Server, http: httpx.Client) -> None:
    root = http.get("/network/")
    assert root.status_code == 200 and root.json()["versions"][0]["id"] == "v2.0"
    token = server.openstack_json("token", "issue")["id"]
    aliases = {e["alias"] for e in http.get(f"{NET}/extensions", headers=auth_headers(token)).json()["extensions"]}
    assert {"external-net", "port-security", "allowed-address-pairs"} <= aliases
    assert "external-gateway-multihoming" not in aliases
    assert http.get(f"{NET}/extensions/nope", headers=auth_headers(token)).status_code == 404


def test_cli_network_subnet_port_lifecycle(server: Server) -> None:
    name = f"cli-{secrets.token_hex(3)}"
    network = server.openstack_json("network", "create", name)
    assert network["name"] == name and network["status"] == "ACTIVE"
    subnet = server.openstack_json("subnet", "create", "--network", name, "--subnet-range", "192.168.50.0/24",
                                   "--dns-nameserver", "192.168.50.53", f"{name}-sub")
    assert subnet["gateway_ip"] == "192.168.50.1"
    assert subnet["allocation_pools"] == [{"start": "192.168.50.2", "end": "192.168.50.254"}]
    port = server.openstack_json("port", "create", "--network", name, "--device-owner", "compute:nova",
                                 f"{name}-port")
    # The first pool address went to the network's DHCP port, made with the subnet.
    assert port["fixed_ips"][0]["ip_address"] == "192.168.50.3"
    assert port["mac_address"].startswith("fa:16:3e:")
    listed = server.openstack_json("port", "list", "--network", name, "--long")
    assert sorted((p["Name"], p["Device Owner"]) for p in listed) == [("", "network:dhcp"),
                                                                       (f"{name}-port", "compute:nova")]
    in_use = server.openstack("network", "delete", name, check=False)
    assert in_use.returncode != 0 and "in use" in in_use.stderr.lower()
    server.openstack("port", "delete", f"{name}-port")
    server.openstack("network", "delete", name)
    assert server.openstack("network", "show", name, check=False).returncode != 0


def test_allocation_and_fixed_ip_requests(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = admin.account().token(server)
    network = _network(http, token)
    subnet = _subnet(http, token, network["id"], "10.9.0.0/29").json()["subnet"]
    ips = []
    for _ in range(4):  # a /29 has 6 hosts: the gateway takes one, the network's DHCP port the first of the pool
        port = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=auth_headers(token))
        assert port.status_code == 201, port.text
        ips.append(port.json()["port"]["fixed_ips"][0]["ip_address"])
    assert ips == ["10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]
    _error(http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=auth_headers(token)),
           409, "IpAddressGenerationFailure")
    taken = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "fixed_ips": [
        {"subnet_id": subnet["id"], "ip_address": "10.9.0.3"}]}}, headers=auth_headers(token))
    _error(taken, 409, "IpAddressAlreadyAllocated")


def test_other_projects_see_404_and_cannot_plug_in(server: Server, admin: Admin, http: httpx.Client) -> None:
    alice, bob = admin.account(), admin.account()
    a, b = alice.token(server), bob.token(server)
    network = _network(http, a)
    subnet = _subnet(http, a, network["id"]).json()["subnet"]
    port = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=auth_headers(a)).json()
    for path in (f"/networks/{network['id']}", f"/subnets/{subnet['id']}", f"/ports/{port['port']['id']}"):
        _error(http.get(NET + path, headers=auth_headers(b)), 404)
        _error(http.delete(NET + path, headers=auth_headers(b)), 404)
    _error(http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=auth_headers(b)), 404,
           "NetworkNotFound")
    _error(_subnet(http, b, network["id"], "10.1.0.0/24"), 404, "NetworkNotFound")
    assert http.get(f"{NET}/networks", headers=auth_headers(b)).json()["networks"] == []
    # The same CIDR in another project is fine: tenant networks are isolated.
    assert _subnet(http, b, _network(http, b)["id"], "10.0.0.0/24").status_code == 201


@pytest.mark.parametrize("attribute,value", [("shared", False), ("router:external", False),
                                             ("provider:network_type", "vxlan"), ("provider:segmentation_id", 5000)])
def test_members_cannot_set_admin_only_attributes_even_to_defaults(server: Server, admin: Admin, http: httpx.Client,
                                                                   attribute: str, value: object) -> None:
    token = admin.account().token(server)
    response = http.post(f"{NET}/networks", json={"network": {"name": "x", attribute: value}},
                         headers=auth_headers(token))
    _error(response, 403)
    assert http.get(f"{NET}/networks", headers=auth_headers(token)).json()["networks"] == []


@pytest.mark.parametrize("cidr,fragment", [("10.0.0.1/24", "prefix should be"), ("0.0.0.0/0", "/0"),
                                           ("10.0.0.0/33", "not a valid"), ("banana", "not a valid"),
                                           ("10.0.0.0/31", "too small")])
def test_bad_cidrs(server: Server, admin: Admin, http: httpx.Client, cidr: str, fragment: str) -> None:
    token = admin.account().token(server)
    network = _network(http, token)
    error = _error(_subnet(http, token, network["id"], cidr), 400)
    assert fragment in error["message"]
    assert http.get(f"{NET}/subnets", headers=auth_headers(token)).json()["subnets"] == []


def test_overlap_and_bad_bodies(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = admin.account().token(server)
    network = _network(http, token)
    assert _subnet(http, token, network["id"], "10.2.0.0/16").status_code == 201
    error = _error(_subnet(http, token, network["id"], "10.2.3.0/24"), 400, "InvalidInput")
    assert "overlaps with another subnet" in error["message"]
    for body in (b"{broken", b'{"network": {"name": 5}}', b'{"network": {"admin_state_up": "yes"}}',
                 b'{"network": {"bogus": 1}}', b"[]"):
        response = http.post(f"{NET}/networks", content=body, headers={**auth_headers(token),
                                                                        "Content-Type": "application/json"})
        _error(response, 400)
    pools = _subnet(http, token, _network(http, token)["id"], "10.3.0.0/24",
                    allocation_pools=[{"start": "10.3.0.1", "end": "10.3.0.20"}])
    _error(pools, 400)  # the pool swallows the default gateway
    pairs = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "allowed_address_pairs": [
        {"ip_address": f"10.2.{i // 250}.{i % 250}"} for i in range(10_000)]}}, headers=auth_headers(token))
    assert pairs.status_code in (400, 413)


def test_host_routes_are_checked_on_create_and_on_update(server: Server, admin: Admin, http: httpx.Client) -> None:
    """Host routes of any length (a /32, a default route) are taken; a malformed one is a 400 on create and on
    update alike, and an update refused changes nothing (before, an update stored what it was given)."""
    token = admin.account().token(server)
    network = _network(http, token)
    routes = [{"destination": "10.9.0.5/32", "nexthop": "10.4.0.9"},
              {"destination": "0.0.0.0/0", "nexthop": "10.4.0.254"}]
    made = _subnet(http, token, network["id"], "10.4.0.0/24", host_routes=routes)
    assert made.status_code == 201, made.text
    subnet = made.json()["subnet"]
    assert subnet["host_routes"] == routes
    url = f"{NET}/subnets/{subnet['id']}"
    for bad in ({"destination": "garbage", "nexthop": "10.4.0.9"}, {"destination": "10.9.0.5", "nexthop": "10.4.0.9"},
                {"destination": "10.9.0.1/24", "nexthop": "10.4.0.9"}, {"destination": "10.9.0.0/24", "nexthop": "x"},
                {"destination": "2001:db8::/64", "nexthop": "10.4.0.9"},
                {"destination": "10.9.0.0/24", "nexthop": "2001:db8::1"}):
        _error(http.put(url, json={"subnet": {"host_routes": [bad]}}, headers=auth_headers(token)), 400)
        _error(_subnet(http, token, _network(http, token)["id"], "10.5.0.0/24", host_routes=[bad]), 400)
    assert http.get(url, headers=auth_headers(token)).json()["subnet"]["host_routes"] == routes
    updated = http.put(url, json={"subnet": {"host_routes": [routes[0]]}}, headers=auth_headers(token))
    assert updated.status_code == 200 and updated.json()["subnet"]["host_routes"] == [routes[0]]


def test_address_pairs_are_checked_on_create_and_on_update(server: Server, admin: Admin,
                                                           http: httpx.Client) -> None:
    """An allowed address pair is one address or a CIDR without host bits, on create and on update alike (an
    update used to store anything, and `10.6.0.5/24` passed on create; either then failed the port's filters on
    the agent). Stored in canonical form; a pair twice is refused."""
    token = admin.account().token(server)
    network = _network(http, token)
    assert _subnet(http, token, network["id"], "10.6.0.0/24").status_code == 201
    made = http.post(f"{NET}/ports", headers=auth_headers(token), json={"port": {
        "network_id": network["id"], "allowed_address_pairs": [
            {"ip_address": "10.6.0.200"}, {"ip_address": "10.6.1.0/24", "mac_address": "FA:16:3E:00:00:99"},
            {"ip_address": "2001:DB8::/64"}]}})
    assert made.status_code == 201, made.text
    port = made.json()["port"]
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.6.0.200", "mac_address": port["mac_address"]},
        {"ip_address": "10.6.1.0/24", "mac_address": "fa:16:3e:00:00:99"},
        {"ip_address": "2001:db8::/64", "mac_address": port["mac_address"]}]
    url = f"{NET}/ports/{port['id']}"
    for bad in ([{"ip_address": "10.6.0.5/24"}], [{"ip_address": "garbage"}], [{"ip_address": "10.6.0.0/33"}],
                [{"ip_address": "10.6.0.7"}, {"ip_address": "10.6.0.7"}], [{"ip_address": "10.6.0.0/24/1"}]):
        _error(http.put(url, json={"port": {"allowed_address_pairs": bad}}, headers=auth_headers(token)), 400)
        refused = http.post(f"{NET}/ports", headers=auth_headers(token), json={"port": {
            "network_id": network["id"], "name": "never", "allowed_address_pairs": bad}})
        _error(refused, 400)
    assert http.get(url, headers=auth_headers(token)).json()["port"]["allowed_address_pairs"] == \
        port["allowed_address_pairs"]
    listed = http.get(f"{NET}/ports", params={"network_id": network["id"], "name": "never"},
                      headers=auth_headers(token)).json()["ports"]
    assert listed == []


def test_sdk_filters_fields_and_pagination(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    made = {_network(http, token, description="paged")["id"] for _ in range(5)}
    page = http.get(f"{NET}/networks?limit=2&fields=id&fields=name", headers=auth_headers(token)).json()
    assert len(page["networks"]) == 2 and set(page["networks"][0]) == {"id", "name"}
    assert page["networks_links"][0]["rel"] == "next"
    import openstack.connection

    conn = openstack.connection.Connection(auth_url=server.identity_url, username=account.name,
                                           password=account.password, project_name=account.project_name,
                                           user_domain_name="Default", project_domain_name="Default",
                                           cacert=server.cacert)
    assert {n.id for n in conn.network.networks(limit=2)} == made
    assert {n.id for n in conn.network.networks(description="paged")} == made
    found = conn.network.find_network(next(iter(made)))
    assert found is not None


def test_tags_through_the_cli_and_across_projects(server: Server, admin: Admin, http: httpx.Client) -> None:
    name = f"tagged-{secrets.token_hex(3)}"
    server.openstack("network", "create", "--tag", "blue", "--tag", "prod", name)
    server.openstack("network", "set", "--tag", "eu", name)
    shown = server.openstack_json("network", "show", name)
    assert sorted(shown["tags"]) == ["blue", "eu", "prod"]
    listed = server.openstack_json("network", "list", "--tags", "blue,eu")
    assert [n["Name"] for n in listed] == [name]
    server.openstack("network", "unset", "--tag", "blue", name)
    assert sorted(server.openstack_json("network", "show", name)["tags"]) == ["eu", "prod"]

    other = admin.account().token(server)
    network_id = shown["id"]
    _error(http.get(f"{NET}/networks/{network_id}/tags", headers=auth_headers(other)), 404)
    _error(http.put(f"{NET}/networks/{network_id}/tags/x", headers=auth_headers(other)), 404)
    token = server.openstack_json("token", "issue")["id"]
    _error(http.put(f"{NET}/networks/{network_id}/tags", json={"tags": ["a,b"]}, headers=auth_headers(token)), 400)
    assert http.get(f"{NET}/networks/{network_id}/tags/eu", headers=auth_headers(token)).status_code == 204
    assert http.delete(f"{NET}/networks/{network_id}/tags", headers=auth_headers(token)).status_code == 204
    assert server.openstack_json("network", "show", name)["tags"] == []
    server.openstack("network", "delete", name)


def test_ipv6_slaac_subnets_give_ports_their_eui64_address(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = server.openstack_json("token", "issue")["id"]
    name = f"v6-{secrets.token_hex(3)}"
    network = server.openstack_json("network", "create", name)
    subnet = server.openstack_json("subnet", "create", "--network", network["id"], "--ip-version", "6",
                                   "--subnet-range", "2001:db8:5::/64", "--ipv6-ra-mode", "slaac",
                                   "--ipv6-address-mode", "slaac", name)
    assert (subnet["ipv6_ra_mode"], subnet["ipv6_address_mode"], subnet["gateway_ip"]) == \
        ("slaac", "slaac", "2001:db8:5::1")
    port = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "mac_address": "fa:16:3e:12:34:56"}},
                     headers=auth_headers(token))
    assert port.status_code == 201, port.text
    # What the guest makes itself from the router's advertisement (the MAC, FFFE in the middle, U/L bit flipped).
    expected = [{"subnet_id": subnet["id"], "ip_address": "2001:db8:5:0:f816:3eff:fe12:3456"}]
    assert port.json()["port"]["fixed_ips"] == expected
    # A router on the subnet takes its gateway address and tells the network host's agent to advertise it.
    router = server.openstack_json("router", "create", name)
    server.openstack("router", "add", "subnet", router["id"], subnet["id"])
    with local_agent(server).client() as agent:  # what the network host's agent reads
        document = agent.get(f"/internal/v1/hosts/{socket.gethostname()}/network").json()
    legs = next(r["interfaces"] for r in document["routers"] if r["router_id"] == router["id"])
    assert [(leg["ip"], leg["ra_mode"]) for leg in legs] == [("2001:db8:5::1", "slaac")]
    chosen = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "fixed_ips": [
        {"subnet_id": subnet["id"], "ip_address": "2001:db8:5::99"}]}}, headers=auth_headers(token))
    assert "automatic addresses" in _error(chosen, 400, "InvalidInput")["message"]

    def refused(cidr: str, version: int, fragment: str, **modes: str) -> None:
        before = http.get(f"{NET}/subnets", params={"network_id": network["id"]}, headers=auth_headers(token))
        response = http.post(f"{NET}/subnets", json={"subnet": {"network_id": network["id"], "cidr": cidr,
                                                                "ip_version": version, **modes}},
                             headers=auth_headers(token))
        assert fragment in _error(response, 400, "InvalidInput")["message"]
        after = http.get(f"{NET}/subnets", params={"network_id": network["id"]}, headers=auth_headers(token))
        assert after.json() == before.json()

    refused("2001:db8:6::/80", 6, "requires the prefix to be /64", ipv6_address_mode="slaac")
    refused("2001:db8:7::/64", 6, "must be the same value", ipv6_ra_mode="slaac",
            ipv6_address_mode="dhcpv6-stateful")
    refused("10.77.0.0/24", 4, "only valid for IPv6", ipv6_ra_mode="slaac")


def test_extra_dhcp_options_through_the_cli(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = server.openstack_json("token", "issue")["id"]
    name = f"edo-{secrets.token_hex(3)}"
    server.openstack_json("network", "create", name)
    server.openstack_json("subnet", "create", "--network", name, "--subnet-range", "10.61.0.0/24", name)
    port = server.openstack_json("port", "create", "--network", name, "--extra-dhcp-option", "name=mtu,value=1400",
                                 "--extra-dhcp-option", "name=ntp-server,value=10.61.0.9", name)

    def options(port_id: str) -> list[tuple]:
        shown = http.get(f"{NET}/ports/{port_id}", headers=auth_headers(token)).json()["port"]
        return sorted((o["opt_name"], o["opt_value"], o["ip_version"]) for o in shown["extra_dhcp_opts"])

    assert options(port["id"]) == [("mtu", "1400", 4), ("ntp-server", "10.61.0.9", 4)]
    # An update names the options it changes: the others stay; a null value removes one.
    server.openstack("port", "set", "--extra-dhcp-option", "name=mtu,value=1300", port["id"])
    assert options(port["id"]) == [("mtu", "1300", 4), ("ntp-server", "10.61.0.9", 4)]
    removed = http.put(f"{NET}/ports/{port['id']}", headers=auth_headers(token), json={"port": {
        "extra_dhcp_opts": [{"opt_name": "ntp-server", "opt_value": None}]}})
    assert removed.status_code == 200, removed.text
    assert options(port["id"]) == [("mtu", "1300", 4)]
    # The network host's DHCP server gets them with the port's lease.
    with local_agent(server).client() as agent:  # what the network host's agent reads
        document = agent.get(f"/internal/v1/hosts/{socket.gethostname()}/network").json()
    hosts = [h for d in document["dhcp"] for h in d["hosts"] if h["mac"] == port["mac_address"]]
    assert [h["options"] for h in hosts] == [[["mtu", "1300"]]]
    for bad in ({"opt_name": "mtu", "opt_value": "1400\ndhcp-script=/bin/sh"}, {"opt_name": "mtu", "opt_value": "#1"},
                {"opt_name": "no-such-option", "opt_value": "1"}, {"opt_name": "255", "opt_value": "1"},
                {"opt_name": "mtu", "opt_value": "1", "ip_version": 5}):
        refused = http.put(f"{NET}/ports/{port['id']}", headers=auth_headers(token),
                           json={"port": {"extra_dhcp_opts": [bad]}})
        _error(refused, 400)
        assert options(port["id"]) == [("mtu", "1300", 4)]
    twice = [{"opt_name": "mtu", "opt_value": "1"}, {"opt_name": "mtu", "opt_value": "2"}]
    _error(http.post(f"{NET}/ports", headers=auth_headers(token),
                     json={"port": {"network_id": port["network_id"], "extra_dhcp_opts": twice}}), 400)
