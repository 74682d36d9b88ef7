"""Neutron security groups, their rules and port membership through the openstack CLI and raw requests."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.functional.network.test_networks import _error
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server

NET = "/network/v2.0"


def _groups(http: httpx.Client, token: str) -> list[dict]:
    response = http.get(f"{NET}/security-groups", headers=auth_headers(token))
    assert response.status_code == 200, response.text
    return response.json()["security_groups"]


def _rules(http: httpx.Client, token: str) -> list[dict]:
    response = http.get(f"{NET}/security-group-rules", headers=auth_headers(token))
    assert response.status_code == 200, response.text
    return sorted(response.json()["security_group_rules"], key=lambda r: r["id"])


def _group(http: httpx.Client, token: str, **fields: object) -> dict:
    response = http.post(f"{NET}/security-groups", json={"security_group": {
        "name": f"sg-{secrets.token_hex(3)}", **fields}}, headers=auth_headers(token))
    assert response.status_code == 201, response.text
    return response.json()["security_group"]


def _add_rule(http: httpx.Client, token: str, group_id: str, **fields: object) -> httpx.Response:
    return http.post(f"{NET}/security-group-rules", json={"security_group_rule": {
        "security_group_id": group_id, "direction": "ingress", **fields}}, headers=auth_headers(token))


def _ports(http: httpx.Client, token: str) -> list[dict]:
    """The project's own ports (the platform's DHCP ports come and go on their own)."""
    ports = http.get(f"{NET}/ports", headers=auth_headers(token)).json()["ports"]
    return [p for p in ports if not p["device_owner"].startswith("network:")]


def _network(http: httpx.Client, token: str, cidr: str = "10.20.0.0/24") -> str:
    network = http.post(f"{NET}/networks", json={"network": {"name": f"n-{secrets.token_hex(3)}"}},
                        headers=auth_headers(token)).json()["network"]
    subnet = http.post(f"{NET}/subnets", json={"subnet": {"network_id": network["id"], "cidr": cidr,
                                                          "ip_version": 4}}, headers=auth_headers(token))
    assert subnet.status_code == 201, subnet.text
    return network["id"]


def test_every_project_gets_one_default_group_with_neutrons_four_rules(server: Server, admin: Admin,
                                                                     http: httpx.Client) -> None:
    token = admin.account().token(server)
    with ThreadPoolExecutor(6) as pool:  # concurrent first requests still make a single default
        listed = list(pool.map(lambda _: _groups(http, token), range(6)))
    assert all(len(groups) == 1 for groups in listed)
    assert len({groups[0]["id"] for groups in listed}) == 1
    default = listed[0][0]
    assert default["name"] == "default" and default["stateful"] is True and default["shared"] is False
    assert {"id", "description", "project_id", "tenant_id", "tags", "revision_number", "created_at",
            "updated_at", "security_group_rules"} <= set(default)
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"], r["protocol"], r["remote_ip_prefix"])
             for r in default["security_group_rules"]}
    assert rules == {("ingress", "IPv4", default["id"], None, None), ("ingress", "IPv6", default["id"], None, None),
                     ("egress", "IPv4", None, None, None), ("egress", "IPv6", None, None, None)}
    assert all(r["belongs_to_default_sg"] for r in default["security_group_rules"])
    assert len(_rules(http, token)) == 4
    assert [g["id"] for g in _groups(http, token)] == [default["id"]]


def test_cli_security_group_and_rule_lifecycle(server: Server, admin: Admin, tmp_path: Path) -> None:
    account = admin.account()
    cli = cli_as(server, account, tmp_path)

    def as_json(*args: str) -> dict | list:
        return yaml.safe_load(cli(*args, "-f", "json").stdout)

    default = as_json("security", "group", "show", "default")
    assert default["name"] == "default" and len(default["rules"]) == 4
    name = f"web-{secrets.token_hex(3)}"
    group = as_json("security", "group", "create", "--description", "web servers", name)
    assert group["name"] == name and len(group["rules"]) == 2  # new groups get the two egress rules
    ssh = as_json("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", name)
    assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"]) == ("tcp", 22, 22)
    assert ssh["remote_ip_prefix"] == "0.0.0.0/0" and ssh["direction"] == "ingress"
    web = as_json("security", "group", "rule", "create", "--protocol", "udp", "--dst-port", "8000:8100",
                  "--remote-ip", "192.0.2.0/24", name)
    assert (web["port_range_min"], web["port_range_max"], web["normalized_cidr"]) == (8000, 8100, "192.0.2.0/24")
    ping = as_json("security", "group", "rule", "create", "--protocol", "icmp", "--icmp-type", "8",
                   "--icmp-code", "0", name)
    assert (ping["protocol"], ping["port_range_min"], ping["port_range_max"]) == ("icmp", 8, 0)
    v6 = as_json("security", "group", "rule", "create", "--protocol", "ipv6-icmp", "--ethertype", "IPv6", name)
    assert v6["ether_type"] == "IPv6" and v6["remote_ip_prefix"] == "::/0"
    peers = as_json("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "5432",
                    "--remote-group", "default", name)
    assert peers["remote_group_id"] == default["id"] and peers["remote_ip_prefix"] is None
    gre = as_json("security", "group", "rule", "create", "--protocol", "47", "--egress", name)
    assert gre["protocol"] == "47" and gre["direction"] == "egress"

    duplicate = cli("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", name,
                    check=False)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    listed = as_json("security", "group", "rule", "list", name)
    assert len(listed) == 8
    assert {r["ID"] for r in listed} >= {ssh["id"], web["id"], ping["id"], v6["id"], peers["id"], gre["id"]}
    shown = as_json("security", "group", "rule", "show", ssh["id"])
    assert shown["security_group_id"] == group["id"]
    cli("security", "group", "rule", "delete", ssh["id"])
    assert len(as_json("security", "group", "rule", "list", name)) == 7

    cli("security", "group", "set", "--name", f"{name}-2", "--description", "renamed", name)
    renamed = as_json("security", "group", "show", f"{name}-2")
    assert renamed["description"] == "renamed" and renamed["revision_number"] > group["revision_number"]
    assert name not in {g["Name"] for g in as_json("security", "group", "list")}

    # Ports: the default group unless told otherwise; --no-security-group empties the list.
    net = f"net-{secrets.token_hex(3)}"
    cli("network", "create", net)
    cli("subnet", "create", "--network", net, "--subnet-range", "10.30.0.0/24", f"{net}-sub")
    plain = as_json("port", "create", "--network", net, f"{net}-a")
    assert plain["security_group_ids"] == [default["id"]]
    chosen = as_json("port", "create", "--network", net, "--security-group", f"{name}-2", f"{net}-b")
    assert chosen["security_group_ids"] == [group["id"]]
    busy = cli("security", "group", "delete", f"{name}-2", check=False)
    assert busy.returncode != 0 and "in use" in busy.stderr
    cli("port", "set", "--no-security-group", f"{net}-b")
    assert as_json("port", "show", f"{net}-b")["security_group_ids"] == []
    cli("port", "set", "--security-group", f"{name}-2", "--security-group", "default", f"{net}-a")
    assert sorted(as_json("port", "show", f"{net}-a")["security_group_ids"]) == sorted([default["id"], group["id"]])
    by_group = as_json("port", "list", "--security-group", group["id"])  # OSC passes the value through as-is
    assert [p["Name"] for p in by_group] == [f"{net}-a"]
    cli("port", "delete", f"{net}-a", f"{net}-b")
    cli("security", "group", "delete", f"{name}-2")
    assert cli("security", "group", "show", f"{name}-2", check=False).returncode != 0
    # The rule that named `default` as remote group lived in the deleted group; default keeps its four.
    assert len(as_json("security", "group", "rule", "list", "default")) == 4


BAD_RULES = [
    ({"protocol": "banana"}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": 256}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20}, 400, "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 20}, 400, "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 70000}, 400, "SecurityGroupInvalidPortValue"),
    ({"port_range_min": 22, "port_range_max": 22}, 400, "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "gre", "port_range_min": 22, "port_range_max": 22}, 400, "SecurityGroupInvalidProtocolForPort"),
    ({"protocol": "icmp", "port_range_min": 256}, 400, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_max": 0}, 400, "SecurityGroupMissingIcmpType"),
    ({"ethertype": "IPv4", "remote_ip_prefix": "2001:db8::/64"}, 400, "SecurityGroupRuleParameterConflict"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, 400, "SecurityGroupRuleParameterConflict"),
    ({"ethertype": "IPv7"}, 400, "SecurityGroupRuleInvalidEtherType"),
    ({"remote_ip_prefix": "10.0.0.0/40"}, 400, "InvalidCIDR"),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv4"}, 400, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "SELF"}, 400, "SecurityGroupMultipleRemoteEntites"),
    ({"direction": "upward"}, 400, None),
    ({"protocol": "tcp", "bogus": 1}, 400, None),
    ({"remote_group_id": "00000000-0000-4000-8000-000000000000"}, 404, "SecurityGroupNotFound"),
]


@pytest.mark.parametrize("fields,status,kind", BAD_RULES)
def test_bad_rules_are_refused_with_neutrons_errors_and_change_nothing(
        server: Server, admin: Admin, http: httpx.Client, fields: dict, status: int, kind: str | None) -> None:
    token = admin.account().token(server)
    group = _group(http, token)
    fields = {k: group["id"] if v == "SELF" else v for k, v in fields.items()}
    before = _rules(http, token)
    _error(_add_rule(http, token, group["id"], **fields), status, kind)
    assert _rules(http, token) == before


def test_mixed_case_protocol_is_accepted_and_normalised_like_neutron(server: Server, admin: Admin,
                                                                    http: httpx.Client) -> None:
    # Neutron's convert_protocol lower-cases known names, so "TCP" is valid and stored as "tcp"; the same rule
    # spelled "6" is then a duplicate.
    token = admin.account().token(server)
    group = _group(http, token)
    created = _add_rule(http, token, group["id"], protocol="TCP", port_range_min=80, port_range_max=80,
                        ethertype="ipv4")
    assert created.status_code == 201, created.text
    rule = created.json()["security_group_rule"]
    assert rule["protocol"] == "tcp" and rule["ethertype"] == "IPv4"
    before = _rules(http, token)
    error = _error(_add_rule(http, token, group["id"], protocol="6", port_range_min=80, port_range_max=80), 409,
                   "SecurityGroupRuleExists")
    assert rule["id"] in error["message"]
    assert _rules(http, token) == before


def test_default_group_rules_for_the_group_itself(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = admin.account().token(server)
    default = _groups(http, token)[0]
    assert default["name"] == "default"
    before = _rules(http, token)
    for call in (lambda: http.delete(f"{NET}/security-groups/{default['id']}", headers=auth_headers(token)),
                 lambda: http.put(f"{NET}/security-groups/{default['id']}", json={"security_group": {"name": "x"}},
                                  headers=auth_headers(token)),
                 lambda: http.post(f"{NET}/security-groups", json={"security_group": {"name": "Default"}},
                                   headers=auth_headers(token))):
        _error(call(), 409)
    assert [g["id"] for g in _groups(http, token)] == [default["id"]] and _rules(http, token) == before
    described = http.put(f"{NET}/security-groups/{default['id']}", json={"security_group": {"description": "d"}},
                         headers=auth_headers(token))
    assert described.status_code == 200 and described.json()["security_group"]["description"] == "d"


def test_other_projects_groups_and_rules_are_404(server: Server, admin: Admin, http: httpx.Client) -> None:
    a, b = admin.account().token(server), admin.account().token(server)
    group = _group(http, a)
    rule = _add_rule(http, a, group["id"], protocol="tcp", port_range_min=22, port_range_max=22).json()
    rule_id = rule["security_group_rule"]["id"]
    for path in (f"/security-groups/{group['id']}", f"/security-group-rules/{rule_id}"):
        _error(http.get(NET + path, headers=auth_headers(b)), 404)
        _error(http.delete(NET + path, headers=auth_headers(b)), 404)
    _error(http.put(f"{NET}/security-groups/{group['id']}", json={"security_group": {"name": "mine"}},
                    headers=auth_headers(b)), 404, "SecurityGroupNotFound")
    before = _rules(http, b)
    _error(_add_rule(http, b, group["id"], protocol="udp"), 404, "SecurityGroupNotFound")
    own = _group(http, b)
    _error(_add_rule(http, b, own["id"], remote_group_id=group["id"]), 404, "SecurityGroupNotFound")
    assert len(_rules(http, b)) == len(before) + 2  # only b's new group's own egress rules
    assert group["id"] not in {g["id"] for g in _groups(http, b)}
    assert rule_id not in {r["id"] for r in _rules(http, b)}
    network_id = _network(http, b)
    _error(http.post(f"{NET}/ports", json={"port": {"network_id": network_id, "security_groups": [group["id"]]}},
                     headers=auth_headers(b)), 404, "SecurityGroupNotFound")
    assert _ports(http, b) == []


def test_port_security_and_security_groups(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = admin.account().token(server)
    network_id = _network(http, token, "10.40.0.0/24")
    default = next(g for g in _groups(http, token) if g["name"] == "default")
    group = _group(http, token)

    def port(**fields: object) -> httpx.Response:
        return http.post(f"{NET}/ports", json={"port": {"network_id": network_id, **fields}},
                         headers=auth_headers(token))

    made = port().json()["port"]
    assert made["security_groups"] == [default["id"]] and made["port_security_enabled"] is True
    assert port(security_groups=[]).json()["port"]["security_groups"] == []
    assert port(security_groups=[group["id"]]).json()["port"]["security_groups"] == [group["id"]]
    bare = port(port_security_enabled=False).json()["port"]
    assert bare["security_groups"] == []
    before = _ports(http, token)
    _error(port(port_security_enabled=False, security_groups=[group["id"]]), 400,
           "PortSecurityAndIPRequiredForSecurityGroups")
    _error(port(security_groups=["not-a-uuid!"]), 400)
    assert _ports(http, token) == before

    def update(port_id: str, **fields: object) -> httpx.Response:
        return http.put(f"{NET}/ports/{port_id}", json={"port": fields}, headers=auth_headers(token))

    _error(update(made["id"], port_security_enabled=False), 409, "PortSecurityPortHasSecurityGroup")
    _error(update(bare["id"], security_groups=[group["id"]]), 400, "PortSecurityAndIPRequiredForSecurityGroups")
    unsecured = update(made["id"], port_security_enabled=False, security_groups=[]).json()["port"]
    assert unsecured["security_groups"] == [] and unsecured["port_security_enabled"] is False
    secured = update(bare["id"], port_security_enabled=True, security_groups=[group["id"], default["id"]])
    assert sorted(secured.json()["port"]["security_groups"]) == sorted([group["id"], default["id"]])
    filtered = http.get(f"{NET}/ports?security_groups={group['id']}", headers=auth_headers(token)).json()["ports"]
    assert bare["id"] in {p["id"] for p in filtered} and made["id"] not in {p["id"] for p in filtered}


def test_security_group_tags_through_the_cli(server: Server) -> None:
    name = f"tagged-{secrets.token_hex(3)}"
    created = server.openstack_json("security", "group", "create", "--tag", "blue", name)
    assert created["tags"] == ["blue"]
    server.openstack("security", "group", "set", "--tag", "red", name)
    assert sorted(server.openstack_json("security", "group", "show", name)["tags"]) == ["blue", "red"]
    assert [g["Name"] for g in server.openstack_json("security", "group", "list", "--tags", "red")] == [name]
    server.openstack("security", "group", "delete", name)
