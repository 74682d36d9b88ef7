"""Neutron quotas: `openstack quota show/set` for the network resources, enforcement, and who may do what."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import yaml

from tests.functional.network.test_networks import _error
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server

NET = "/network/v2.0"
DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50, "security_group": 10,
            "security_group_rule": 100}


def _quota(http: httpx.Client, token: str, project_id: str, suffix: str = "") -> httpx.Response:
    return http.get(f"{NET}/quotas/{project_id}{suffix}", headers=auth_headers(token))


def test_members_read_their_own_quotas_and_only_admins_set_them(server: Server, admin: Admin,
                                                                http: httpx.Client, tmp_path: Path) -> None:
    alice, bob = admin.account(), admin.account()
    a = alice.token(server)
    assert _quota(http, a, alice.project_id).json() == {"quota": DEFAULTS}
    assert _quota(http, a, alice.project_id, "/default").json() == {"quota": DEFAULTS}
    details = _quota(http, a, alice.project_id, "/details").json()["quota"]
    assert details["port"] == {"used": 0, "limit": 500, "reserved": 0}
    assert http.get(f"{NET}/quotas/project", headers=auth_headers(a)).json() == {
        "project": {"project_id": alice.project_id}}
    _error(_quota(http, a, bob.project_id), 403)
    _error(http.get(f"{NET}/quotas", headers=auth_headers(a)), 403)
    _error(http.put(f"{NET}/quotas/{alice.project_id}", json={"quota": {"port": 1000}}, headers=auth_headers(a)),
           403)
    _error(http.delete(f"{NET}/quotas/{alice.project_id}", headers=auth_headers(a)), 403)
    assert _quota(http, a, alice.project_id).json() == {"quota": DEFAULTS}

    # Through the CLI: the admin sets, the member sees.
    server.openstack("quota", "set", "--networks", "7", "--ports", "42", "--secgroups", "3", "--secgroup-rules",
                     "-1", alice.project_name, cloud="andromede-admin")
    cli = cli_as(server, alice, tmp_path)
    shown = yaml.safe_load(cli("quota", "show", "--network", "-f", "json").stdout)
    usage = yaml.safe_load(cli("quota", "show", "--network", "--usage", "-f", "json").stdout)
    assert {row["Resource"]: row["In Use"] for row in usage}["networks"] == 0
    values = {row["Resource"]: row["Limit"] for row in shown}  # openstackclient shows the SDK's attribute names
    assert values["networks"] == 7 and values["ports"] == 42 and values["security_groups"] == 3
    assert values["security_group_rules"] == -1 and values["subnets"] == 100 and values["floating_ips"] == 50
    listed = http.get(f"{NET}/quotas", headers=admin.client.headers).json()["quotas"]
    mine = next(q for q in listed if q["project_id"] == alice.project_id)
    assert mine["network"] == 7 and mine["tenant_id"] == alice.project_id
    bad = http.put(f"{NET}/quotas/{alice.project_id}", json={"quota": {"port": -2}}, headers=admin.client.headers)
    _error(bad, 400)
    _error(http.put(f"{NET}/quotas/{alice.project_id}", json={"quota": {"bananas": 3}},
                    headers=admin.client.headers), 400)
    assert http.delete(f"{NET}/quotas/{alice.project_id}", headers=admin.client.headers).status_code == 204
    assert _quota(http, a, alice.project_id).json() == {"quota": DEFAULTS}


def test_quotas_are_enforced_with_neutrons_over_quota(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    headers = auth_headers(token)
    set_ = http.put(f"{NET}/quotas/{account.project_id}", json={"quota": {"port": 2, "network": 1, "subnet": 1,
                                                                          "security_group": 2}},
                    headers=admin.client.headers)
    assert set_.status_code == 200 and set_.json()["quota"]["port"] == 2

    network = http.post(f"{NET}/networks", json={"network": {"name": "q"}}, headers=headers).json()["network"]
    _error(http.post(f"{NET}/networks", json={"network": {"name": "q2"}}, headers=headers), 409, "OverQuota")
    subnet = {"subnet": {"network_id": network["id"], "cidr": "10.50.0.0/24", "ip_version": 4}}
    assert http.post(f"{NET}/subnets", json=subnet, headers=headers).status_code == 201
    subnet["subnet"]["cidr"] = "10.51.0.0/24"
    _error(http.post(f"{NET}/subnets", json=subnet, headers=headers), 409, "OverQuota")
    for _ in range(2):
        made = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=headers)
        assert made.status_code == 201, made.text
    error = _error(http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=headers), 409,
                   "OverQuota")
    assert "port" in error["message"]
    ports = [p for p in http.get(f"{NET}/ports", headers=headers).json()["ports"]
             if not p["device_owner"].startswith("network:")]
    assert len(ports) == 2

    # The default group counts: with a limit of 2, one more group fits.
    groups = {"security_group": {"name": f"g-{secrets.token_hex(3)}"}}
    assert http.post(f"{NET}/security-groups", json=groups, headers=headers).status_code == 201
    groups["security_group"]["name"] += "x"
    _error(http.post(f"{NET}/security-groups", json=groups, headers=headers), 409, "OverQuota")
    details = http.get(f"{NET}/quotas/{account.project_id}/details", headers=headers).json()["quota"]
    assert details["security_group"] == {"used": 2, "limit": 2, "reserved": 0}
    assert details["network"]["used"] == 1

    # Lowering a limit below usage is refused unless forced (openstack quota set --force).
    _error(http.put(f"{NET}/quotas/{account.project_id}", json={"quota": {"port": 1}},
                    headers=admin.client.headers), 400)
    forced = http.put(f"{NET}/quotas/{account.project_id}", json={"quota": {"port": 1, "force": True}},
                      headers=admin.client.headers)
    assert forced.status_code == 200 and forced.json()["quota"]["port"] == 1
    unlimited = http.put(f"{NET}/quotas/{account.project_id}", json={"quota": {"port": -1}},
                         headers=admin.client.headers)
    assert unlimited.status_code == 200
    assert http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=headers).status_code == 201


def test_rule_quota(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    headers = auth_headers(account.token(server))
    http.get(f"{NET}/security-groups", headers=headers)  # the default group and its 4 rules
    http.put(f"{NET}/quotas/{account.project_id}", json={"quota": {"security_group_rule": 7}},
             headers=admin.client.headers)
    group = http.post(f"{NET}/security-groups", json={"security_group": {"name": "r"}}, headers=headers)
    group_id = group.json()["security_group"]["id"]  # 6 rules now
    rule = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress", "protocol": "tcp",
                                    "port_range_min": 22, "port_range_max": 22}}
    assert http.post(f"{NET}/security-group-rules", json=rule, headers=headers).status_code == 201
    rule["security_group_rule"]["port_range_min"] = rule["security_group_rule"]["port_range_max"] = 80
    _error(http.post(f"{NET}/security-group-rules", json=rule, headers=headers), 409, "OverQuota")
