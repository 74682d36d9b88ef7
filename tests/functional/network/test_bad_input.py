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
