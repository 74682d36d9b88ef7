"""Issue 15, Neutron: what clients send that Neutron accepts — port filters by address, typed filter values, a
segmentation id given as a string, bulk create, tags on every standard resource, agents hidden from projects, an
unknown remote group, an external network deleted after its floating IPs."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.network.test_routers import NET, _error, _post, external_network, remove_external_network
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server


@pytest.fixture()
def member_token(server: Server, admin: Admin) -> str:
    return admin.account().token(server)


def _get(http: httpx.Client, token: str, path: str, **params: object) -> httpx.Response:
    return http.get(f"{NET}/{path}", params=params, headers=auth_headers(token))


def test_cli_port_list_by_fixed_ip(server: Server) -> None:
    name = f"fip-filter-{secrets.token_hex(3)}"
    server.openstack("network", "create", name)
    subnet = server.openstack_json("subnet", "create", "--network", name, "--subnet-range", "10.0.0.0/24",
                                   "--no-dhcp", f"{name}-sub")
    port = server.openstack_json("port", "create", "--network", name, "--fixed-ip",
                                 f"subnet={subnet['id']},ip-address=10.0.0.5", f"{name}-a")
    server.openstack("port", "create", "--network", name, f"{name}-b")
    by_address = server.openstack_json("port", "list", "--fixed-ip", "ip-address=10.0.0.5")
    assert [p["ID"] for p in by_address] == [port["id"]]
    both = server.openstack_json("port", "list", "--fixed-ip", f"subnet={name}-sub,ip-address=10.0.0.5")
    assert [p["ID"] for p in both] == [port["id"]]
    by_subnet = server.openstack_json("port", "list", "--fixed-ip", f"subnet={name}-sub")
    assert len(by_subnet) == 2
    by_substring = server.openstack_json("port", "list", "--network", name, "--fixed-ip", "ip-substring=0.0.5")
    assert [p["ID"] for p in by_substring] == [port["id"]]
    assert server.openstack_json("port", "list", "--fixed-ip", "ip-address=10.0.0.99") == []


def test_filters_never_answer_500(server: Server, http: httpx.Client, member_token: str) -> None:
    assert _get(http, member_token, "ports", fixed_ips="ip_address=10.0.0.5").status_code == 200
    assert _get(http, member_token, "ports", fixed_ips="ip_address=not-an-address").json()["ports"] == []
    _error(_get(http, member_token, "ports", fixed_ips="ip_address"), 400, "InvalidInput")
    _error(_get(http, member_token, "ports", fixed_ips="=x"), 400, "InvalidInput")
    seven = _error(_get(http, member_token, "subnets", ip_version="seven"), 400, "InvalidInput")
    assert seven["message"] == "Invalid input for operation: 'seven' is not an integer."
    assert _get(http, member_token, "subnets", ip_version="7").json()["subnets"] == []
    maybe = _error(_get(http, member_token, "networks", shared="maybe"), 400, "InvalidInput")
    assert "cannot be converted to boolean" in maybe["message"]
    for params in ({"admin_state_up": "x"}, {"limit": "x"}, {"marker": "x"}, {"sort_key": "nope"},
                   {"sort_dir": "up", "sort_key": "id"}, {"fixed_ips": "\x00"}):
        response = _get(http, member_token, "ports", **params)
        assert response.status_code in (200, 400), (params, response.text)


def test_typed_filters_convert_like_neutron(server: Server, http: httpx.Client, member_token: str) -> None:
    network = _post(http, member_token, "networks", name=f"typed-{secrets.token_hex(3)}", admin_state_up=False)
    _post(http, member_token, "subnets", network_id=network["id"], cidr="10.4.0.0/24", ip_version=4)
    down = [n["id"] for n in _get(http, member_token, "networks", admin_state_up="0").json()["networks"]]
    assert network["id"] in down
    mine = _get(http, member_token, "subnets", ip_version="4", network_id=network["id"]).json()["subnets"]
    assert len(mine) == 1


def test_cli_provider_segment_is_taken_as_a_number(server: Server, admin: Admin) -> None:
    name = f"seg-{secrets.token_hex(3)}"
    segment = str(20000 + secrets.randbelow(100000))
    network = server.openstack_json("network", "create", "--project", admin.project_id, "--provider-network-type",
                                    "vxlan", "--provider-segment", segment, name, cloud="andromede-admin")
    assert network["provider:segmentation_id"] == int(segment)
    listed = server.openstack_json("network", "list", "--provider-segment", segment, cloud="andromede-admin")
    assert [n["ID"] for n in listed] == [network["id"]]
    server.openstack("network", "delete", name, cloud="andromede-admin")


def test_bulk_create_networks_subnets_ports(server: Server, http: httpx.Client, member_token: str) -> None:
    names = [f"bulk-{secrets.token_hex(3)}" for _ in range(2)]
    made = http.post(f"{NET}/networks", json={"networks": [{"name": n} for n in names]},
                     headers=auth_headers(member_token))
    assert made.status_code == 201, made.text
    networks = made.json()["networks"]
    assert [n["name"] for n in networks] == names
    subnets = http.post(f"{NET}/subnets", json={"subnets": [
        {"network_id": networks[0]["id"], "cidr": "10.5.0.0/24", "ip_version": 4},
        {"network_id": networks[1]["id"], "cidr": "10.6.0.0/24", "ip_version": 4, "enable_dhcp": False}]},
        headers=auth_headers(member_token))
    assert subnets.status_code == 201, subnets.text
    assert [s["cidr"] for s in subnets.json()["subnets"]] == ["10.5.0.0/24", "10.6.0.0/24"]
    ports = http.post(f"{NET}/ports", json={"ports": [{"network_id": networks[1]["id"], "name": "a"},
                                                      {"network_id": networks[1]["id"], "name": "b"}]},
                      headers=auth_headers(member_token))
    assert ports.status_code == 201, ports.text
    assert [p["fixed_ips"][0]["ip_address"] for p in ports.json()["ports"]] == ["10.6.0.2", "10.6.0.3"]

    # All or nothing: the second port asks for an address the first one takes.
    before = _get(http, member_token, "ports", network_id=networks[1]["id"]).json()["ports"]
    clash = http.post(f"{NET}/ports", json={"ports": [
        {"network_id": networks[1]["id"], "fixed_ips": [{"ip_address": "10.6.0.9"}]},
        {"network_id": networks[1]["id"], "fixed_ips": [{"ip_address": "10.6.0.9"}]}]},
        headers=auth_headers(member_token))
    _error(clash, 409, "IpAddressAlreadyAllocated")
    assert _get(http, member_token, "ports", network_id=networks[1]["id"]).json()["ports"] == before
    bad = http.post(f"{NET}/networks", json={"networks": [{"name": "ok"}, {"name": 5}]},
                    headers=auth_headers(member_token))
    assert "networks.1.name" in _error(bad, 400)["message"]
    _error(http.post(f"{NET}/networks", json={"networks": []}, headers=auth_headers(member_token)), 400)
    assert not [n for n in _get(http, member_token, "networks").json()["networks"] if n["name"] == "ok"]


def test_sdk_bulk_create_ports(server: Server, http: httpx.Client, member_token: str) -> None:
    conn = server.sdk()
    network = conn.network.create_network(name=f"sdk-bulk-{secrets.token_hex(3)}")
    conn.network.create_subnet(network_id=network.id, cidr="10.7.0.0/24", ip_version=4)
    made = list(conn.network.create_ports([{"network_id": network.id, "name": "x"},
                                           {"network_id": network.id, "name": "y"}]))
    assert sorted(p.name for p in made) == ["x", "y"]
    for port in made:
        conn.network.delete_port(port.id)
    conn.network.delete_network(network.id)


def _group(http: httpx.Client, token: str) -> dict:
    made = http.post(f"{NET}/security-groups", json={"security_group": {"name": f"g-{secrets.token_hex(3)}"}},
                     headers=auth_headers(token))
    assert made.status_code == 201, made.text
    return made.json()["security_group"]


RESOURCES = ("networks", "subnets", "ports", "routers", "floatingips", "security-groups")


@pytest.fixture()
def public(admin: Admin) -> Iterator[dict]:
    network = external_network(admin, "172.24.41.0/24")
    yield network
    remove_external_network(admin, network["id"])


def _each_resource(http: httpx.Client, token: str, public: dict) -> dict[str, str]:
    network = _post(http, token, "networks", name=f"tag-{secrets.token_hex(3)}")
    subnet = _post(http, token, "subnets", network_id=network["id"], cidr="10.8.0.0/24", ip_version=4)
    port = _post(http, token, "ports", network_id=network["id"])
    router = _post(http, token, "routers", name=f"tag-{secrets.token_hex(3)}")
    fip = _post(http, token, "floatingips", floating_network_id=public["id"])
    group = _group(http, token)
    return dict(zip(RESOURCES, (network["id"], subnet["id"], port["id"], router["id"], fip["id"], group["id"]),
                    strict=True))


def test_tag_paths_on_every_resource(server: Server, http: httpx.Client, member_token: str, public: dict) -> None:
    headers = auth_headers(member_token)
    for collection, resource_id in _each_resource(http, member_token, public).items():
        base = f"{NET}/{collection}/{resource_id}/tags"
        replaced = http.put(base, json={"tags": ["blue", "red"]}, headers=headers)
        assert replaced.status_code == 200 and replaced.json() == {"tags": ["blue", "red"]}, (collection, replaced)
        assert http.put(f"{base}/green", headers=headers).status_code == 201
        assert http.get(f"{base}/green", headers=headers).status_code == 204
        assert sorted(http.get(base, headers=headers).json()["tags"]) == ["blue", "green", "red"]
        assert http.delete(f"{base}/red", headers=headers).status_code == 204
        _error(http.get(f"{base}/red", headers=headers), 404, "TagNotFound")
        _error(http.delete(f"{base}/red", headers=headers), 404, "TagNotFound")
        tagged = http.get(f"{NET}/{collection}", params={"tags": "blue,green"}, headers=headers).json()
        assert resource_id in [r["id"] for r in tagged[collection.replace("-", "_")]], collection
        assert http.delete(base, headers=headers).status_code == 204
        assert http.get(base, headers=headers).json() == {"tags": []}
        _error(http.put(base, json={"tags": ["a,b"]}, headers=headers), 400)
        missing = f"{NET}/{collection}/{uuid.uuid4()}/tags"
        _error(http.get(missing, headers=headers), 404)


def test_cli_network_tags(server: Server) -> None:
    name = f"cli-tag-{secrets.token_hex(3)}"
    server.openstack("network", "create", "--tag", "alpha", name)
    server.openstack("network", "set", "--tag", "beta", name)
    assert sorted(server.openstack_json("network", "show", name)["tags"]) == ["alpha", "beta"]
    listed = server.openstack_json("network", "list", "--tags", "alpha,beta")
    assert [n["Name"] for n in listed] == [name]
    assert [n["Name"] for n in server.openstack_json("network", "list", "--any-tags", "beta")] == [name]
    server.openstack("network", "set", "--no-tag", "--tag", "gamma", name)
    assert server.openstack_json("network", "show", name)["tags"] == ["gamma"]
    server.openstack("network", "unset", "--tag", "gamma", name)
    assert server.openstack_json("network", "show", name)["tags"] == []
    server.openstack("network", "delete", name)


def test_agents_are_hidden_from_projects(server: Server, admin: Admin, http: httpx.Client, member_token: str,
                                         tmp_path: Path) -> None:
    agents = admin.client.get(f"{NET}/agents").json()["agents"]
    assert agents
    listed = _get(http, member_token, "agents")
    assert listed.status_code == 200 and listed.json() == {"agents": []}
    hidden = _error(_get(http, member_token, f"agents/{agents[0]['id']}"), 404, "HTTPNotFound")
    assert hidden["message"] == "The resource could not be found."
    assert http.get(f"{NET}/agents").status_code == 401
    member = cli_as(server, admin.account("member"), tmp_path)
    shown = member("network", "agent", "list", "-f", "json")
    assert shown.stdout.strip() == "[]"  # type: ignore[attr-defined]


def test_unknown_remote_group_is_404(server: Server, http: httpx.Client, member_token: str) -> None:
    group = _group(http, member_token)
    for remote in ("not-a-uuid", str(uuid.uuid4())):
        refused = http.post(f"{NET}/security-group-rules", json={"security_group_rule": {
            "security_group_id": group["id"], "direction": "ingress", "remote_group_id": remote}},
            headers=auth_headers(member_token))
        error = _error(refused, 404, "SecurityGroupNotFound")
        assert error["message"] == f"Security group {remote} does not exist"
    rules = _get(http, member_token, "security-group-rules", security_group_id=group["id"]).json()
    assert len(rules["security_group_rules"]) == 2  # the two egress rules a new group starts with


def test_members_see_external_subnets(server: Server, admin: Admin, http: httpx.Client, member_token: str,
                                      public: dict) -> None:
    """Neutron's get_subnet: owner, or shared, or rule:external_network."""
    listed = _get(http, member_token, "subnets", network_id=public["id"]).json()["subnets"]
    assert [s["id"] for s in listed] == [public["subnet"]["id"]]
    shown = _get(http, member_token, f"subnets/{public['subnet']['id']}")
    assert shown.status_code == 200
    _error(http.delete(f"{NET}/subnets/{public['subnet']['id']}", headers=auth_headers(member_token)), 403)


def test_admin_deletes_external_network_with_unused_floating_ips(server: Server, admin: Admin, http: httpx.Client,
                                                                member_token: str) -> None:
    """Neutron's delete_disassociated_floatingips: the network's floating IPs no port uses go with it."""
    network = external_network(admin, "172.24.42.0/24")
    fip = _post(http, member_token, "floatingips", floating_network_id=network["id"])
    deleted = admin.client.delete(f"{NET}/networks/{network['id']}")
    assert deleted.status_code == 204, deleted.text
    _error(admin.client.get(f"{NET}/networks/{network['id']}"), 404, "NetworkNotFound")
    _error(http.get(f"{NET}/floatingips/{fip['id']}", headers=auth_headers(member_token)), 404)
    ports = admin.client.get(f"{NET}/ports", params={"network_id": network["id"]}).json()["ports"]
    assert ports == []


def test_a_router_gateway_keeps_the_external_network_in_use(server: Server, admin: Admin, http: httpx.Client,
                                                            member_token: str) -> None:
    network = external_network(admin, "172.24.44.0/24")
    router = _post(http, member_token, "routers", name=f"gw-{secrets.token_hex(3)}",
                   external_gateway_info={"network_id": network["id"]})
    _post(http, member_token, "floatingips", floating_network_id=network["id"])
    _error(admin.client.delete(f"{NET}/networks/{network['id']}"), 409, "NetworkInUse")
    assert admin.client.get(f"{NET}/networks/{network['id']}").status_code == 200
    assert http.delete(f"{NET}/routers/{router['id']}", headers=auth_headers(member_token)).status_code == 204
    assert admin.client.delete(f"{NET}/networks/{network['id']}").status_code == 204


def test_cli_admin_deletes_external_network_with_a_floating_ip(server: Server, admin: Admin) -> None:
    name = f"ext-{secrets.token_hex(3)}"

    def as_admin(*args: str) -> None:
        server.openstack(*args, cloud="andromede-admin")

    project = ("--project", admin.project_id)
    as_admin("network", "create", *project, "--external", name)
    as_admin("subnet", "create", *project, "--network", name, "--subnet-range", "172.24.43.0/24", "--no-dhcp",
             f"{name}-sub")
    as_admin("router", "create", *project, name)
    as_admin("router", "set", "--external-gateway", name, name)
    server.openstack_json("floating ip", "create", *project, name, cloud="andromede-admin")
    as_admin("router", "delete", name)
    as_admin("network", "delete", name)
    assert server.openstack("network", "show", name, check=False, cloud="andromede-admin").returncode != 0
