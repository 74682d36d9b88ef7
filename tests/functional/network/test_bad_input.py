"""Input that could reach dnsmasq, nftables or the kernel: refused in Neutron's format, nothing created."""

from __future__ import annotations

import httpx

from tests.functional.network.test_networks import NET, _error, _network, _subnet
from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def test_dhcp_values_with_newlines_and_huge_address_pair_lists_are_refused(server: Server, admin: Admin,
                                                                           http: httpx.Client) -> None:
    token = admin.account().token(server)
    network = _network(http, token)
    injected = ["8.8.8.8\nserver=/corp/10.0.0.1", "8.8.8.8\n", "8.8.8.8,9.9.9.9", "dhcp-script=/bin/sh"]
    for value in injected:
        _error(_subnet(http, token, network["id"], dns_nameservers=[value]), 400)
    _error(_subnet(http, token, network["id"], host_routes=[{"destination": "10.1.0.0/24\n",
                                                             "nexthop": "10.0.0.1"}]), 400)
    _error(_subnet(http, token, network["id"], host_routes=[{"destination": "10.1.0.0/24",
                                                             "nexthop": "10.0.0.1\ndhcp-option=3"}]), 400)
    subnets = http.get(f"{NET}/subnets", params={"network_id": network["id"]}, headers=auth_headers(token))
    assert subnets.json()["subnets"] == []
    assert _subnet(http, token, network["id"]).status_code == 201

    def ports() -> list[str]:
        listed = http.get(f"{NET}/ports", params={"network_id": network["id"]}, headers=auth_headers(token))
        return sorted(p["id"] for p in listed.json()["ports"])

    before = ports()
    opts = [{"opt_name": "dns-server", "opt_value": "1.1.1.1\ndhcp-script=/bin/sh"}]
    _error(http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "extra_dhcp_opts": opts}},
                     headers=auth_headers(token)), 400)
    pairs = [{"ip_address": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"} for i in range(10_000)]
    huge = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "allowed_address_pairs": pairs}},
                     headers=auth_headers(token))
    _error(huge, huge.status_code)
    assert huge.status_code in (400, 413)  # 413 when the list alone is larger than any request body allowed
    _error(http.post(f"{NET}/ports", json={"port": {"network_id": network["id"],
                                                    "allowed_address_pairs": pairs[:11]}},
                     headers=auth_headers(token)), 400)
    _error(http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "mac_address": "fa:16:3e:00:00:0\n"}},
                     headers=auth_headers(token)), 400)
    assert ports() == before


NULLABLE = {"subnets": {"gateway_ip", "dns_nameservers", "host_routes"},
            "ports": {"allowed_address_pairs", "extra_dhcp_opts", "security_groups"},
            "routers": {"external_gateway_info", "routes"}}


def test_null_is_refused_where_it_means_nothing(server: Server, admin: Admin, http: httpx.Client) -> None:
    """An update setting name, admin_state_up, mtu... to null was a 500 (a NOT NULL column); it is a 400 in
    Neutron's format that changes nothing. Where null has a meaning (no gateway, no routes, no groups) it works."""
    token = admin.account().token(server)
    headers = auth_headers(token)
    network = _network(http, token)
    subnet = _subnet(http, token, network["id"], "10.8.0.0/24").json()["subnet"]
    made = {"networks": network, "subnets": subnet}
    for collection, body in (("ports", {"network_id": network["id"]}), ("routers", {"name": "r"}),
                             ("security-groups", {"name": "g"})):
        key = collection.rstrip("s").replace("-", "_")
        response = http.post(f"{NET}/{collection}", json={key: body}, headers=headers)
        assert response.status_code == 201, response.text
        made[collection] = response.json()[key]
    fields = {"networks": ["name", "description", "admin_state_up", "mtu", "port_security_enabled"],
              "subnets": ["name", "description", "enable_dhcp", "allocation_pools", "gateway_ip", "dns_nameservers",
                          "host_routes"],
              "ports": ["name", "description", "admin_state_up", "device_id", "device_owner", "fixed_ips",
                        "port_security_enabled", "security_groups", "allowed_address_pairs", "extra_dhcp_opts"],
              "routers": ["name", "description", "admin_state_up", "external_gateway_info", "routes"],
              "security-groups": ["name", "description"]}
    for collection, names in fields.items():
        key = collection.rstrip("s").replace("-", "_")
        url = f"{NET}/{collection}/{made[collection]['id']}"
        for name in names:
            before = http.get(url, headers=headers).json()[key]
            response = http.put(url, json={key: {name: None}}, headers=headers)
            if name in NULLABLE.get(collection, set()):
                assert response.status_code == 200, (collection, name, response.text)
            else:
                assert "cannot be null" in _error(response, 400)["message"], (collection, name)
                after = http.get(url, headers=headers).json()[key]
                assert after == before, (collection, name)


def test_updates_that_would_strand_other_resources_are_refused(server: Server, admin: Admin,
                                                                http: httpx.Client) -> None:
    """As Neutron: a network stays shared while another project has a port on it, and external while a router's
    gateway is on it (409, nothing changed); a subnet's gateway never lands inside its pools (400), whichever of
    the two an update moves."""
    shared = admin.client.post(f"{NET}/networks", json={"network": {"project_id": admin.project_id,
        "name": "sh", "shared": True}}).json()["network"]
    assert admin.client.post(f"{NET}/subnets", json={"subnet": {"project_id": admin.project_id,
        "network_id": shared["id"], "cidr": "10.12.0.0/24",
                                                                "ip_version": 4}}).status_code == 201
    token = admin.account().token(server)
    port = http.post(f"{NET}/ports", json={"port": {"network_id": shared["id"]}}, headers=auth_headers(token))
    assert port.status_code == 201, port.text
    url = f"{NET}/networks/{shared['id']}"
    _error(admin.client.put(url, json={"network": {"shared": False}}), 409, "InvalidSharedSetting")
    assert admin.client.get(url).json()["network"]["shared"] is True
    assert http.delete(f"{NET}/ports/{port.json()['port']['id']}", headers=auth_headers(token)).status_code == 204
    assert admin.client.put(url, json={"network": {"shared": False}}).json()["network"]["shared"] is False
    assert admin.client.delete(url).status_code == 204

    public = admin.client.post(f"{NET}/networks", json={"network": {"project_id": admin.project_id,
        "name": "ex", "router:external": True}})
    public_id = public.json()["network"]["id"]
    try:
        assert admin.client.post(f"{NET}/subnets", json={"subnet": {"project_id": admin.project_id,
            "network_id": public_id, "cidr": "172.24.44.0/24", "ip_version": 4}}).status_code == 201
        router = admin.client.post(f"{NET}/routers", json={"router": {"project_id": admin.project_id,
            "name": "gw", "external_gateway_info": {"network_id": public_id}}}).json()["router"]
        url = f"{NET}/networks/{public_id}"
        _error(admin.client.put(url, json={"network": {"router:external": False}}), 409, "ExternalNetworkInUse")
        assert admin.client.get(url).json()["network"]["router:external"] is True
        assert admin.client.delete(f"{NET}/routers/{router['id']}").status_code == 204
        assert admin.client.put(url, json={"network": {"router:external": False}}).status_code == 200
    finally:
        admin.client.delete(f"{NET}/networks/{public_id}")

    network = _network(http, token)
    subnet = _subnet(http, token, network["id"], "10.13.0.0/24").json()["subnet"]
    url = f"{NET}/subnets/{subnet['id']}"
    _error(http.put(url, json={"subnet": {"gateway_ip": "10.13.0.50"}}, headers=auth_headers(token)), 400)
    _error(http.put(url, json={"subnet": {"allocation_pools": [{"start": "10.13.0.1", "end": "10.13.0.9"}]}},
                    headers=auth_headers(token)), 400)
    after = http.get(url, headers=auth_headers(token)).json()["subnet"]
    assert (after["gateway_ip"], after["allocation_pools"]) == (subnet["gateway_ip"], subnet["allocation_pools"])
    moved = http.put(url, json={"subnet": {"gateway_ip": "10.13.0.254", "allocation_pools": [
        {"start": "10.13.0.1", "end": "10.13.0.200"}]}}, headers=auth_headers(token))
    assert moved.status_code == 200, moved.text
