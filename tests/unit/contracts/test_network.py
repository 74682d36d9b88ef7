"""Network's server→agent contract: the host document round-trips byte for byte (a pair without a MAC stays
without one), an agent tolerates what it does not know or what an older server left out, and a document that
breaks the contract is refused with the field named, as a PermanentError."""

from __future__ import annotations

import json
import uuid

import pytest

from andromede.agentlib.errors import PermanentError
from andromede.contracts.network import AddressPair, HostNetworkDocument, Members, SecurityGroup, Unchanged
from andromede.network.agent.reconciler import parse_document, security_group_specs

DOCUMENT = {
    "generation": 42,
    "networks": [{"id": "n1", "vni": 1000, "mtu": 1450, "remote_vteps": ["192.0.2.7"]}],
    "ports": [{"id": "p1", "network_id": "n1", "mac": "fa:16:3e:00:00:03", "fixed_ips": ["10.0.0.3"],
               "allowed_address_pairs": [{"ip_address": "10.0.0.99"},
                                         {"ip_address": "10.0.1.0/24", "mac_address": "fa:16:3e:00:00:09"}],
               "port_security": True, "device_id": "vm1", "device_owner": "compute:nova", "admin_state_up": True,
               "security_groups": ["g1"]}],
    "dhcp": [{"network_id": "n1", "port_id": "d1", "mac": "fa:16:3e:00:00:02", "mtu": 1450,
              "subnets": [{"id": "s1", "cidr": "10.0.0.0/24", "server_address": "10.0.0.2", "gateway": "10.0.0.1",
                           "dns_servers": ["192.0.2.53"], "host_routes": [["10.9.0.0/16", "10.0.0.254"]]}],
              "hosts": [{"mac": "fa:16:3e:00:00:03", "ip": "10.0.0.3", "hostname": "host-10-0-0-3",
                         "options": [["mtu", "1400"]]}]}],
    "security_groups": {"g1": {"rules": [
        {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
         "port_range_max": 22, "remote_ip_prefix": "192.0.2.0/24", "remote_group_id": None},
        {"direction": "egress", "ethertype": "IPv6", "protocol": None, "port_range_min": None,
         "port_range_max": None, "remote_ip_prefix": None, "remote_group_id": "g1"}],
        "members": {"IPv4": ["10.0.0.3"], "IPv6": ["fd00::3"]}}},
    "routers": [{"router_id": "r1", "admin_state_up": True,
                 "gateway": {"network_id": "x1", "port_id": "gp", "mac": "fa:16:3e:00:00:0a", "ip": "203.0.113.2",
                             "prefixlen": 24, "upstream_gateway": "203.0.113.1", "enable_snat": True},
                 "interfaces": [{"port_id": "ip", "network_id": "n1", "mac": "fa:16:3e:00:00:01", "ip": "10.0.0.1",
                                 "prefixlen": 24, "subnet_cidr": "10.0.0.0/24", "ra_mode": None}],
                 "floating_ips": [{"id": "f1", "floating_ip": "203.0.113.3", "fixed_ip": "10.0.0.3",
                                   "port_id": "p1"}],
                 "routes": [{"destination": "10.8.0.0/16", "nexthop": "10.0.0.254"}]}],
    "external": [{"network_id": "x1", "host_cidr": "203.0.113.1/24", "cidr": "203.0.113.0/24"}],
    "network_host": True,
    "metadata_callers": {"n1": {"10.0.0.3": ["vm1", "project1"]}},
}


def test_the_wire_document_round_trips_byte_for_byte() -> None:
    parsed = HostNetworkDocument.model_validate(DOCUMENT)
    assert json.dumps(parsed.wire()) == json.dumps(DOCUMENT)
    assert parsed.metadata_callers["n1"]["10.0.0.3"] == ("vm1", "project1")
    assert parsed.security_groups["g1"].members.ipv6 == ("fd00::3",)
    assert json.dumps(Unchanged(generation=7).wire()) == '{"generation": 7, "unchanged": true}'


def test_a_pair_without_a_mac_is_sent_without_one() -> None:
    assert AddressPair(ip_address="10.0.0.9").wire() == {"ip_address": "10.0.0.9"}
    assert SecurityGroup(members=Members(ipv4=("10.0.0.3",))).wire() == {
        "rules": [], "members": {"IPv4": ["10.0.0.3"], "IPv6": []}}


def test_newer_fields_are_ignored_and_fields_an_older_server_left_out_default() -> None:
    newer = {**DOCUMENT, "trunks": [], "ports": [{**DOCUMENT["ports"][0], "qos_policy_id": "q1"}]}
    assert HostNetworkDocument.model_validate(newer) == HostNetworkDocument.model_validate(DOCUMENT)
    older = parse_document({"generation": 1, "networks": [{"id": "n1", "vni": 1000, "mtu": 1450}]})
    assert older.networks[0].remote_vteps == () and older.routers == () and older.metadata_callers == {}


@pytest.mark.parametrize("change,field", [
    ({"networks": [{"id": "n1", "vni": "many", "mtu": 1450}]}, "networks.0.vni"),
    ({"security_groups": {"g1": {"rules": [{"direction": "sideways", "ethertype": "IPv4"}]}}},
     "security_groups.g1.rules.0.direction"),
    ({"routers": [{"admin_state_up": True}]}, "routers.0.router_id"),
])
def test_a_document_that_breaks_the_contract_is_a_permanent_error_naming_the_field(change: dict, field: str) -> None:
    with pytest.raises(PermanentError, match=f"network document is invalid: {field}"):
        parse_document({**DOCUMENT, **change})


def test_rules_reach_the_driver_as_the_server_normalised_them() -> None:
    group = str(uuid.uuid4())  # the driver's types take canonical ids only
    document = json.loads(json.dumps(DOCUMENT).replace('"g1"', f'"{group}"'))
    [spec] = security_group_specs(parse_document(document).security_groups)
    assert [(r.protocol, r.remote_ip_prefix) for r in spec.rules] == [("tcp", "192.0.2.0/24"), (None, None)]
    assert spec.members_v4 == ("10.0.0.3/32",) and spec.members_v6 == ("fd00::3/128",)
