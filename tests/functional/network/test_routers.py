"""Neutron routers: external gateways and interfaces, through the openstack CLI and raw requests."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server

NET = "/network/v2.0"


def _error(response: httpx.Response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["NeutronError"]
    assert error["message"] and "Traceback" not in response.text
    if kind:
        assert error["type"] == kind, error
    return error


def _post(http: httpx.Client, token: str, collection: str, **fields: object) -> dict:
    singular = collection[:-1]
    response = http.post(f"{NET}/{collection}", json={singular: fields}, headers=auth_headers(token))
    assert response.status_code == 201, response.text
    return response.json()[singular]


def external_network(admin: Admin, cidr: str = "172.24.4.0/24", pool: tuple[str, str] | None = None) -> dict:
    """An admin's external network with one subnet (the pool defaults to .10-.100 of a /24).

    Every project sees external networks: take them through the `public_networks` fixture, which removes them
    (and what uses them) afterwards, so other tests' listings stay as they expect.
    """
    name = f"public-{secrets.token_hex(3)}"
    response = admin.client.post(f"{NET}/networks", json={"network": {"project_id": admin.project_id,
        "name": name, "router:external": True}})
    assert response.status_code == 201, response.text
    network = response.json()["network"]
    prefix = cidr.rsplit(".", 1)[0]
    start, end = pool or (f"{prefix}.10", f"{prefix}.100")
    response = admin.client.post(f"{NET}/subnets", json={"subnet": {"project_id": admin.project_id,
        "network_id": network["id"], "cidr": cidr, "ip_version": 4, "name": f"{name}-sub",
        "allocation_pools": [{"start": start, "end": end}]}})
    assert response.status_code == 201, response.text
    network["subnet"] = response.json()["subnet"]
    return network


def remove_external_network(admin: Admin, network_id: str) -> None:
    """Floating IPs, then routers' interfaces and gateways on it, then the network itself."""
    client = admin.client
    for fip in client.get(f"{NET}/floatingips", params={"floating_network_id": network_id}).json()["floatingips"]:
        client.delete(f"{NET}/floatingips/{fip['id']}")
    for router in client.get(f"{NET}/routers").json()["routers"]:
        if (router["external_gateway_info"] or {}).get("network_id") != network_id:
            continue
        for port in client.get(f"{NET}/ports", params={"device_id": router["id"],
                                                      "device_owner": "network:router_interface"}).json()["ports"]:
            client.put(f"{NET}/routers/{router['id']}/remove_router_interface", json={"port_id": port["id"]})
        client.put(f"{NET}/routers/{router['id']}", json={"router": {"external_gateway_info": None}})
    response = client.delete(f"{NET}/networks/{network_id}")
    assert response.status_code in (204, 404), response.text


def external_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    """The body of each test module's `public_networks` fixture: makes external networks, then removes them."""
    made: list[str] = []

    def make(cidr: str = "172.24.4.0/24", pool: tuple[str, str] | None = None) -> dict:
        network = external_network(admin, cidr, pool)
        made.append(network["id"])
        return network

    yield make
    for network_id in made:
        remove_external_network(admin, network_id)


@pytest.fixture()
def public_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    yield from external_networks(admin)


def tenant_network(http: httpx.Client, token: str, cidr: str = "10.0.0.0/24", **subnet: object) -> tuple[dict, dict]:
    network = _post(http, token, "networks", name=f"n-{secrets.token_hex(3)}")
    return network, _post(http, token, "subnets", network_id=network["id"], cidr=cidr, ip_version=4, **subnet)


def _state(http: httpx.Client, token: str, router_id: str) -> tuple:
    """What a refused request must leave unchanged: the router and the project's ports."""
    router = http.get(f"{NET}/routers/{router_id}", headers=auth_headers(token)).json()["router"]
    ports = http.get(f"{NET}/ports", headers=auth_headers(token)).json()["ports"]
    return (router["external_gateway_info"], router["revision_number"],
            sorted((p["id"], p["device_owner"], p["device_id"]) for p in ports if p["device_owner"] != "network:dhcp"))


def test_discovery_advertises_l3_without_multihoming(server: Server, http: httpx.Client) -> None:
    token = server.openstack_json("token", "issue")["id"]
    aliases = {e["alias"] for e in http.get(f"{NET}/extensions", headers=auth_headers(token)).json()["extensions"]}
    assert {"router", "ext-gw-mode"} <= aliases
    assert "external-gateway-multihoming" not in aliases and {"extraroute", "extraroute-atomic"} <= aliases
    collections = {r["collection"] for r in http.get(f"{NET}/").json()["resources"]}
    assert {"routers", "floatingips"} <= collections


def test_cli_router_lifecycle(server: Server, public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.10.0/24")
    name = f"r-{secrets.token_hex(3)}"
    router = server.openstack_json("router", "create", "--tag", "edge", name)
    assert router["status"] == "ACTIVE" and router["external_gateway_info"] is None
    assert router["tags"] == ["edge"]
    server.openstack("network", "create", f"{name}-net")
    server.openstack("subnet", "create", "--network", f"{name}-net", "--subnet-range", "10.60.0.0/24", f"{name}-sub")

    server.openstack("router", "set", "--external-gateway", public["name"], name)
    shown = server.openstack_json("router", "show", name)
    gateway = shown["external_gateway_info"]
    if isinstance(gateway, str):
        gateway = json.loads(gateway)
    assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
    assert gateway["external_fixed_ips"] == [{"subnet_id": public["subnet"]["id"], "ip_address": "172.24.10.10"}]
    refused = server.openstack("router", "set", "--external-gateway", public["name"], "--disable-snat", name,
                               check=False)
    assert refused.returncode != 0 and "disallowed by policy" in refused.stderr

    server.openstack("router", "add", "subnet", name, f"{name}-sub")
    ports = server.openstack_json("port", "list", "--router", name, "--long")
    assert [(p["Device Owner"], p["Fixed IP Addresses"][0]["ip_address"]) for p in ports] == \
        [("network:router_interface", "10.60.0.1")]
    listed = server.openstack_json("router", "list", "--long")
    assert name in [r["Name"] for r in listed]
    busy = server.openstack("router", "delete", name, check=False)
    assert busy.returncode != 0
    server.openstack("router", "remove", "subnet", name, f"{name}-sub")
    assert server.openstack_json("port", "list", "--router", name) == []

    port = server.openstack_json("port", "create", "--network", f"{name}-net", f"{name}-port")
    server.openstack("router", "add", "port", name, f"{name}-port")
    assert server.openstack_json("port", "show", port["id"])["device_owner"] == "network:router_interface"
    server.openstack("router", "remove", "port", name, f"{name}-port")
    assert server.openstack("port", "show", port["id"], check=False).returncode != 0  # Neutron deletes it

    server.openstack("router", "unset", "--external-gateway", name)
    assert server.openstack_json("router", "show", name)["external_gateway_info"] in (None, "")
    server.openstack("router", "delete", name)
    assert server.openstack("router", "show", name, check=False).returncode != 0
    server.openstack("network", "delete", f"{name}-net")


def test_gateway_rules(server: Server, admin: Admin, http: httpx.Client,
                       public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.11.0/24")
    token = admin.account().token(server)
    router = _post(http, token, "routers", name="gw")
    url = f"{NET}/routers/{router['id']}"
    before = _state(http, token, router["id"])
    own, _ = tenant_network(http, token)
    _error(http.put(url, json={"router": {"external_gateway_info": {"network_id": own["id"]}}},
                    headers=auth_headers(token)), 400, "BadRequest")
    hidden = admin.client.post(f"{NET}/networks", json={"network": {"project_id": admin.project_id,
        "name": "private-admin"}}).json()["network"]
    _error(http.put(url, json={"router": {"external_gateway_info": {"network_id": hidden["id"]}}},
                    headers=auth_headers(token)), 404, "NetworkNotFound")
    for info in ({"network_id": public["id"], "enable_snat": True},
                 {"network_id": public["id"], "external_fixed_ips": [{"ip_address": "172.24.11.50"}]}):
        _error(http.put(url, json={"router": {"external_gateway_info": info}}, headers=auth_headers(token)), 403,
               "PolicyNotAuthorized")
    _error(http.post(f"{NET}/routers", json={"router": {"name": "x", "distributed": False}},
                     headers=auth_headers(token)), 403)
    assert _state(http, token, router["id"]) == before

    done = http.put(url, json={"router": {"external_gateway_info": {"network_id": public["id"]}}},
                    headers=auth_headers(token))
    assert done.status_code == 200, done.text
    assert done.json()["router"]["external_gateway_info"]["enable_snat"] is True
    # The gateway port belongs to no project: members neither see nor delete it.
    assert all(p["device_owner"] != "network:router_gateway"
               for p in http.get(f"{NET}/ports", headers=auth_headers(token)).json()["ports"])
    gw_ports = admin.client.get(f"{NET}/ports", params={"device_id": router["id"]}).json()["ports"]
    assert [(p["device_owner"], p["project_id"]) for p in gw_ports] == [("network:router_gateway", "")]
    _error(admin.client.delete(f"{NET}/ports/{gw_ports[0]['id']}"), 409, "ServicePortInUse")
    # Admins may choose the address and switch SNAT off.
    changed = admin.client.put(url, json={"router": {"external_gateway_info": {
        "network_id": public["id"], "enable_snat": False,
        "external_fixed_ips": [{"subnet_id": public["subnet"]["id"], "ip_address": "172.24.11.77"}]}}})
    assert changed.status_code == 200, changed.text
    info = changed.json()["router"]["external_gateway_info"]
    assert info["enable_snat"] is False and info["external_fixed_ips"][0]["ip_address"] == "172.24.11.77"
    # The external network (and its subnet) stay in use while a gateway is on it.
    _error(admin.client.delete(f"{NET}/subnets/{public['subnet']['id']}"), 409, "SubnetInUse")
    _error(admin.client.delete(f"{NET}/networks/{public['id']}"), 409, "NetworkInUse")
    cleared = http.put(url, json={"router": {"external_gateway_info": {}}}, headers=auth_headers(token))
    assert cleared.status_code == 200 and cleared.json()["router"]["external_gateway_info"] is None
    assert admin.client.get(f"{NET}/ports", params={"device_id": router["id"]}).json()["ports"] == []
    assert http.delete(url, headers=auth_headers(token)).status_code == 204
    assert admin.client.delete(f"{NET}/networks/{public['id']}").status_code == 204


def test_interface_refusals_change_nothing(server: Server, admin: Admin, http: httpx.Client,
                                          public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.12.0/24")
    account = admin.account()
    token = account.token(server)
    other = admin.account().token(server)
    router = _post(http, token, "routers", name="ifaces")
    add = f"{NET}/routers/{router['id']}/add_router_interface"
    remove = f"{NET}/routers/{router['id']}/remove_router_interface"
    _, first = tenant_network(http, token, "10.70.0.0/24")
    second_net, overlapping = tenant_network(http, token, "10.70.0.0/25")
    _, no_gateway = tenant_network(http, token, "10.71.0.0/24", gateway_ip=None)
    _, foreign_subnet = tenant_network(http, other, "10.72.0.0/24")
    foreign_port = _post(http, other, "ports", network_id=foreign_subnet["network_id"])
    bound = _post(http, token, "ports", network_id=second_net["id"], device_id="vm-1", device_owner="compute:nova")

    ok = http.put(add, json={"subnet_id": first["id"]}, headers=auth_headers(token))
    assert ok.status_code == 200, ok.text
    info = ok.json()
    assert {"id", "subnet_id", "subnet_ids", "port_id", "network_id", "tenant_id", "project_id"} <= set(info)
    assert info["id"] == router["id"] and info["subnet_ids"] == [first["id"]]
    assert info["network_id"] == first["network_id"] and info["project_id"] == account.project_id
    interface = http.get(f"{NET}/ports/{info['port_id']}", headers=auth_headers(token)).json()["port"]
    assert interface["device_owner"] == "network:router_interface" and interface["device_id"] == router["id"]
    assert interface["fixed_ips"] == [{"subnet_id": first["id"], "ip_address": "10.70.0.1"}]

    before = _state(http, token, router["id"])
    for body, status, kind in (
            ({"subnet_id": first["id"]}, 400, "BadRequest"),  # already on the router
            ({"subnet_id": overlapping["id"]}, 400, "BadRequest"),  # overlaps 10.70.0.0/24
            ({"subnet_id": no_gateway["id"]}, 400, "BadRequest"),
            ({"subnet_id": public["subnet"]["id"]}, 400, "BadRequest"),  # the external network's subnet
            ({"subnet_id": foreign_subnet["id"]}, 404, "SubnetNotFound"),
            ({"port_id": foreign_port["id"]}, 404, "PortNotFound"),
            ({"port_id": bound["id"]}, 409, "PortInUse"),
            ({}, 400, "BadRequest"),
            ({"subnet_id": first["id"], "port_id": bound["id"]}, 400, "BadRequest"),
            ({"subnet_id": "not-a-uuid!"}, 400, None),
            ({"network_id": first["network_id"]}, 400, None)):
        _error(http.put(add, json=body, headers=auth_headers(token)), status, kind)
    _error(http.put(remove, json={"subnet_id": no_gateway["id"]}, headers=auth_headers(token)), 404,
           "RouterInterfaceNotFoundForSubnet")
    _error(http.put(remove, json={"port_id": bound["id"]}, headers=auth_headers(token)), 404,
           "RouterInterfaceNotFound")
    # In use: the router, its interface port, the subnet and the network cannot go.
    _error(http.delete(f"{NET}/routers/{router['id']}", headers=auth_headers(token)), 409, "RouterInUse")
    _error(http.delete(f"{NET}/ports/{info['port_id']}", headers=auth_headers(token)), 409, "ServicePortInUse")
    _error(http.delete(f"{NET}/subnets/{first['id']}", headers=auth_headers(token)), 409, "SubnetInUse")
    _error(http.delete(f"{NET}/networks/{first['network_id']}", headers=auth_headers(token)), 409, "NetworkInUse")
    # Another project sees none of it.
    for method, path in (("GET", f"/routers/{router['id']}"), ("DELETE", f"/routers/{router['id']}"),
                         ("PUT", f"/routers/{router['id']}/add_router_interface")):
        _error(http.request(method, NET + path, json={"subnet_id": foreign_subnet["id"]},
                            headers=auth_headers(other)), 404, "RouterNotFound")
    assert http.get(f"{NET}/routers", headers=auth_headers(other)).json()["routers"] == []
    assert _state(http, token, router["id"]) == before

    gone = http.put(remove, json={"subnet_id": first["id"]}, headers=auth_headers(token))
    assert gone.status_code == 200 and gone.json()["port_id"] == info["port_id"]
    assert http.get(f"{NET}/ports/{info['port_id']}", headers=auth_headers(token)).status_code == 404
    # Now the overlapping subnet is fine.
    assert http.put(add, json={"subnet_id": overlapping["id"]}, headers=auth_headers(token)).status_code == 200
    listed = http.get(f"{NET}/routers", params={"name": "ifaces", "fields": ["id", "name"]},
                      headers=auth_headers(token)).json()["routers"]
    assert listed == [{"id": router["id"], "name": "ifaces"}]


def _routes(server: Server, name: str) -> list[tuple[str, str]]:
    routes = server.openstack_json("router", "show", name)["routes"]
    if isinstance(routes, str):
        routes = json.loads(routes) if routes else []
    return sorted((r["destination"], r["nexthop"]) for r in routes)


def test_extra_routes_through_the_cli_and_their_refusals(server: Server, http: httpx.Client) -> None:
    token = server.openstack_json("token", "issue")["id"]
    name = f"r-{secrets.token_hex(3)}"
    router = server.openstack_json("router", "create", name)
    _network, subnet = tenant_network(http, token, "10.61.0.0/24")
    server.openstack("router", "add", "subnet", name, subnet["id"])

    server.openstack("router", "set", "--route", "destination=10.99.0.0/24,gateway=10.61.0.50", name)
    assert _routes(server, name) == [("10.99.0.0/24", "10.61.0.50")]
    server.openstack("router", "add", "route", "--route", "destination=10.98.0.0/24,gateway=10.61.0.51", name)
    assert _routes(server, name) == [("10.98.0.0/24", "10.61.0.51"), ("10.99.0.0/24", "10.61.0.50")]
    server.openstack("router", "remove", "route", "--route", "destination=10.98.0.0/24,gateway=10.61.0.51", name)
    assert _routes(server, name) == [("10.99.0.0/24", "10.61.0.50")]
    server.openstack("router", "add", "route", "--route", "destination=10.97.0.7/32,gateway=10.61.0.52", name)
    assert ("10.97.0.7/32", "10.61.0.52") in _routes(server, name)  # a host route
    server.openstack("router", "remove", "route", "--route", "destination=10.97.0.7/32,gateway=10.61.0.52", name)

    url, headers = f"{NET}/routers/{router['id']}", auth_headers(token)
    before = _state(http, token, router["id"]), _routes(server, name)
    refused = [
        ({"destination": "10.97.0.0/24", "nexthop": "192.0.2.1"}, "InvalidRoutes"),  # not on a connected subnet
        ({"destination": "10.97.0.0/24", "nexthop": "10.61.0.1"}, "InvalidRoutes"),  # the router's own address
        ({"destination": "10.97.0.0/24", "nexthop": "10.61.0.300"}, None),
        ({"destination": "10.97.0.5/24", "nexthop": "10.61.0.50"}, None),  # host bits set
        ({"destination": "not-a-cidr", "nexthop": "10.61.0.50"}, "InvalidRoutes"),
        ({"destination": "2001:db8::/64", "nexthop": "10.61.0.50"}, "InvalidRoutes"),
        ({"destination": "0.0.0.0/0", "nexthop": "10.61.0.50"}, "InvalidRoutes"),  # the gateway's
        ({"destination": "10.97.0.0/24", "nexthop": "10.61.0.50", "via": "x"}, None),
    ]
    for route, kind in refused:
        _error(http.put(url, json={"router": {"routes": [route]}}, headers=headers), 400, kind)
        _error(http.put(f"{url}/add_extraroutes", json={"router": {"routes": [route]}}, headers=headers), 400, kind)
    many = [{"destination": f"10.200.{i}.0/24", "nexthop": "10.61.0.50"} for i in range(31)]
    _error(http.put(url, json={"router": {"routes": many}}, headers=headers), 400)
    _error(http.post(f"{NET}/routers", json={"router": {"name": "x", "routes": []}}, headers=headers), 400)
    assert (_state(http, token, router["id"]), _routes(server, name)) == before

    busy = http.put(f"{url}/remove_router_interface", json={"subnet_id": subnet["id"]}, headers=headers)
    _error(busy, 409, "RouterInterfaceInUseByRoute")
    server.openstack("router", "unset", "--route", "destination=10.99.0.0/24,gateway=10.61.0.50", name)
    assert _routes(server, name) == []
    server.openstack("router", "remove", "subnet", name, subnet["id"])
    server.openstack("router", "delete", name)
