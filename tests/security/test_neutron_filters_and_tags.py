"""Issue 15's Neutron additions seen by a hostile project: address filters, bulk create, tags and agents reach no
other project's resources, and a refusal leaves nothing behind."""

from __future__ import annotations

import secrets
import uuid

import httpx

from tests.functional.network.test_routers import NET, _error, _post
from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def _victim(http: httpx.Client, token: str) -> tuple[dict, dict]:
    network = _post(http, token, "networks", name=f"victim-{secrets.token_hex(3)}")
    _post(http, token, "subnets", network_id=network["id"], cidr="10.66.0.0/24", ip_version=4, enable_dhcp=False)
    port = _post(http, token, "ports", network_id=network["id"], fixed_ips=[{"ip_address": "10.66.0.5"}])
    return network, port


def test_address_filters_never_reach_another_project(server: Server, admin: Admin, http: httpx.Client) -> None:
    victim = admin.account().token(server)
    attacker = auth_headers(admin.account().token(server))
    _network, port = _victim(http, victim)
    subnet_id = port["fixed_ips"][0]["subnet_id"]
    for value in ("ip_address=10.66.0.5", f"subnet_id={subnet_id}", "ip_address_substr=10.66"):
        listed = http.get(f"{NET}/ports", params={"fixed_ips": value}, headers=attacker)
        assert listed.status_code == 200 and listed.json()["ports"] == [], value
    # the victim's own filter finds it: the filter works, the scope hides it
    mine = http.get(f"{NET}/ports", params={"fixed_ips": "ip_address=10.66.0.5"}, headers=auth_headers(victim))
    assert [p["id"] for p in mine.json()["ports"]] == [port["id"]]


def test_bulk_create_on_another_projects_network_makes_nothing(server: Server, admin: Admin,
                                                              http: httpx.Client) -> None:
    victim = admin.account().token(server)
    attacker_token = admin.account().token(server)
    attacker = auth_headers(attacker_token)
    network, _port = _victim(http, victim)
    own = _post(http, attacker_token, "networks", name=f"own-{secrets.token_hex(3)}")
    _post(http, attacker_token, "subnets", network_id=own["id"], cidr="10.67.0.0/24", ip_version=4)
    before = http.get(f"{NET}/ports", headers=attacker).json()["ports"]
    refused = http.post(f"{NET}/ports", json={"ports": [{"network_id": own["id"]}, {"network_id": network["id"]}]},
                        headers=attacker)
    _error(refused, 404, "NetworkNotFound")
    assert http.get(f"{NET}/ports", headers=attacker).json()["ports"] == before
    subnets = http.post(f"{NET}/subnets", json={"subnets": [
        {"network_id": own["id"], "cidr": "10.68.0.0/24", "ip_version": 4},
        {"network_id": network["id"], "cidr": "10.69.0.0/24", "ip_version": 4}]}, headers=attacker)
    _error(subnets, 404, "NetworkNotFound")
    assert [s["cidr"] for s in http.get(f"{NET}/subnets", params={"network_id": own["id"]},
                                        headers=attacker).json()["subnets"]] == ["10.67.0.0/24"]
    victim_subnets = http.get(f"{NET}/subnets", params={"network_id": network["id"]}, headers=auth_headers(victim))
    assert [s["cidr"] for s in victim_subnets.json()["subnets"]] == ["10.66.0.0/24"]


def test_tags_on_another_projects_resources_are_404(server: Server, admin: Admin, http: httpx.Client) -> None:
    victim = admin.account().token(server)
    attacker = auth_headers(admin.account().token(server))
    network, port = _victim(http, victim)
    assert http.put(f"{NET}/networks/{network['id']}/tags/mine", headers=auth_headers(victim)).status_code == 201
    for collection, resource_id in (("networks", network["id"]), ("ports", port["id"])):
        base = f"{NET}/{collection}/{resource_id}/tags"
        for method, path, body in (("GET", base, None), ("PUT", base, {"tags": ["x"]}), ("DELETE", base, None),
                                   ("GET", f"{base}/mine", None), ("PUT", f"{base}/x", None),
                                   ("DELETE", f"{base}/mine", None)):
            response = http.request(method, path, json=body, headers=attacker)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["NeutronError"]["type"] in ("NetworkNotFound", "PortNotFound")
    shown = http.get(f"{NET}/networks/{network['id']}", headers=auth_headers(victim)).json()["network"]
    assert shown["tags"] == ["mine"]


def test_agents_stay_hidden_and_unknown_remote_groups_leak_nothing(server: Server, admin: Admin,
                                                                   http: httpx.Client) -> None:
    victim = admin.account().token(server)
    attacker = auth_headers(admin.account().token(server))
    assert http.get(f"{NET}/agents", headers=attacker).json() == {"agents": []}
    assert http.get(f"{NET}/agents/{uuid.uuid4()}", headers=attacker).status_code == 404
    their_group = http.post(f"{NET}/security-groups", json={"security_group": {"name": "theirs"}},
                            headers=auth_headers(victim)).json()["security_group"]
    mine = http.post(f"{NET}/security-groups", json={"security_group": {"name": "mine"}},
                     headers=attacker).json()["security_group"]
    # another project's group as remote: the same 404 as a group that does not exist
    refused = http.post(f"{NET}/security-group-rules", json={"security_group_rule": {
        "security_group_id": mine["id"], "direction": "ingress", "remote_group_id": their_group["id"]}},
        headers=attacker)
    _error(refused, 404, "SecurityGroupNotFound")
