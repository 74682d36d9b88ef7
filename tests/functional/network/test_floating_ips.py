"""Neutron floating IPs through the openstack CLI and raw requests; the L3 agent's view of the result."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.network.test_routers import NET, _error, _post, external_networks, tenant_network
from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


@pytest.fixture()
def public_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    yield from external_networks(admin)


def _routed(http: httpx.Client, token: str, public: dict, cidr: str) -> tuple[dict, dict, dict]:
    """A router with a gateway on `public` and an interface on a fresh tenant subnet; and a port there."""
    network, subnet = tenant_network(http, token, cidr)
    router = _post(http, token, "routers", name=f"r-{secrets.token_hex(3)}",
                   external_gateway_info={"network_id": public["id"]})
    done = http.put(f"{NET}/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]},
                    headers=auth_headers(token))
    assert done.status_code == 200, done.text
    port = _post(http, token, "ports", network_id=network["id"], device_id="vm", device_owner="compute:nova")
    return router, subnet, port


def _fips(http: httpx.Client, token: str) -> list[dict]:
    return http.get(f"{NET}/floatingips", headers=auth_headers(token)).json()["floatingips"]


def test_cli_floating_ip_lifecycle(server: Server, public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.20.0/24")
    name = f"fip-{secrets.token_hex(3)}"
    server.openstack("network", "create", name)
    server.openstack("subnet", "create", "--network", name, "--subnet-range", "10.80.0.0/24", f"{name}-sub")
    port = server.openstack_json("port", "create", "--network", name, f"{name}-port")
    fip = server.openstack_json("floating ip", "create", public["name"])
    assert fip["floating_network_id"] == public["id"] and fip["status"] == "DOWN"
    assert fip["floating_ip_address"] == "172.24.20.10" and fip["port_id"] is None
    # Not routed yet: 404 ExternalGatewayForFloatingIPNotFound.
    refused = server.openstack("floating ip", "set", "--port", f"{name}-port", fip["id"], check=False)
    assert refused.returncode != 0 and "not reachable" in refused.stderr

    server.openstack("router", "create", name)
    server.openstack("router", "set", "--external-gateway", public["name"], name)
    server.openstack("router", "add", "subnet", name, f"{name}-sub")
    server.openstack("floating ip", "set", "--port", f"{name}-port", "172.24.20.10")
    shown = server.openstack_json("floating ip", "show", fip["id"])
    router_id = server.openstack_json("router", "show", name)["id"]
    assert shown["port_id"] == port["id"] and shown["router_id"] == router_id
    assert shown["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert shown["port_details"]["network_id"] == port["network_id"]
    for args in (("--port", port["id"]), ("--router", name), ("--floating-ip-address", "172.24.20.10")):
        assert [f["ID"] for f in server.openstack_json("floating ip", "list", *args)] == [fip["id"]], args
    # DOWN until the host agent has wired it and reports ACTIVE; one not associated stays DOWN.
    spare = server.openstack_json("floating ip", "create", public["name"])
    deadline = time.monotonic() + 30
    while server.openstack_json("floating ip", "show", fip["id"])["status"] != "ACTIVE":
        assert time.monotonic() < deadline, "the agent never reported the floating IP ACTIVE"
        time.sleep(0.5)
    for status, expected in (("ACTIVE", [fip["id"]]), ("DOWN", [spare["id"]])):
        listed = server.openstack_json("floating ip", "list", "--status", status, "--network", public["name"])
        assert [f["ID"] for f in listed] == expected, status
    server.openstack("floating ip", "delete", spare["id"])

    busy = server.openstack("router", "unset", "--external-gateway", name, check=False)
    assert busy.returncode != 0  # the floating IP needs the gateway
    server.openstack("floating ip", "unset", "--port", fip["id"])
    shown = server.openstack_json("floating ip", "show", fip["id"])
    assert shown["port_id"] is None and shown["router_id"] is None and shown["fixed_ip_address"] is None
    server.openstack("floating ip", "delete", fip["id"])
    assert server.openstack("floating ip", "show", fip["id"], check=False).returncode != 0
    server.openstack("router", "remove", "subnet", name, f"{name}-sub")
    server.openstack("router", "delete", name)
    server.openstack("port", "delete", f"{name}-port")
    server.openstack("network", "delete", name)


def test_create_refusals_change_nothing(server: Server, admin: Admin, http: httpx.Client,
                                       public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.21.0/24", ("172.24.21.10", "172.24.21.11"))
    token = admin.account().token(server)
    own, _ = tenant_network(http, token, "10.81.0.0/24")
    create = f"{NET}/floatingips"
    for body, status, kind in (
            ({"floating_network_id": public["id"], "floating_ip_address": "172.24.21.10"}, 403,
             "PolicyNotAuthorized"),  # members may not choose the address
            ({"floating_network_id": own["id"]}, 400, "BadRequest"),  # not external
            ({"floating_network_id": str(uuid.uuid4())}, 404, "NetworkNotFound"),
            ({"floating_network_id": public["id"], "subnet_id": str(uuid.uuid4())}, 400, "BadRequest"),
            ({"floating_network_id": public["id"], "fixed_ip_address": "10.81.0.5"}, 400, "BadRequest"),
            ({"floating_network_id": public["id"], "port_id": str(uuid.uuid4())}, 404, "PortNotFound"),
            ({"floating_network_id": public["id"], "dns_name": "x"}, 400, None),
            ({}, 400, None)):
        _error(http.post(create, json={"floatingip": body}, headers=auth_headers(token)), status, kind)
    assert _fips(http, token) == []
    assert admin.client.get(f"{NET}/ports", params={"network_id": public["id"]}).json()["ports"] == []

    # Admins choose addresses; taken, outside the network, or the gateway: refused.
    chosen = admin.client.post(create, json={"floatingip": {"project_id": admin.project_id,
        "floating_network_id": public["id"],
                                                            "floating_ip_address": "172.24.21.11"}})
    assert chosen.status_code == 201, chosen.text
    for address, status, kind in (("172.24.21.11", 409, "IpAddressAlreadyAllocated"),
                                  ("192.0.2.1", 400, "InvalidIpForNetwork"),
                                  ("172.24.21.1", 409, "IpAddressAlreadyAllocated")):
        _error(admin.client.post(create, json={"floatingip": {"project_id": admin.project_id,
            "floating_network_id": public["id"],
                                                              "floating_ip_address": address}}), status, kind)
    first = http.post(create, json={"floatingip": {"floating_network_id": public["id"]}}, headers=auth_headers(token))
    assert first.status_code == 201 and first.json()["floatingip"]["floating_ip_address"] == "172.24.21.10"
    _error(http.post(create, json={"floatingip": {"floating_network_id": public["id"]}}, headers=auth_headers(token)),
           409, "IpAddressGenerationFailure")
    assert len(_fips(http, token)) == 1
    # The floating IP's own port belongs to no project, and only the floating IP API removes it.
    fip_ports = admin.client.get(f"{NET}/ports", params={"device_owner": "network:floatingip",
                                                         "network_id": public["id"]}).json()["ports"]
    assert {p["project_id"] for p in fip_ports} == {""} and len(fip_ports) == 2
    _error(admin.client.delete(f"{NET}/ports/{fip_ports[0]['id']}"), 409, "ServicePortInUse")
    # As Neutron (delete_disassociated_floatingips): floating IPs no port uses go with their network.
    assert admin.client.delete(f"{NET}/networks/{public['id']}").status_code == 204
    assert _fips(http, token) == []


def test_association_rules(server: Server, admin: Admin, http: httpx.Client,
                           public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.22.0/24")
    token = admin.account().token(server)
    other = admin.account().token(server)
    router, subnet, port = _routed(http, token, public, "10.82.0.0/24")
    unrouted_net, _ = tenant_network(http, token, "10.83.0.0/24")
    unrouted = _post(http, token, "ports", network_id=unrouted_net["id"])
    _, _, foreign_port = _routed(http, other, public, "10.84.0.0/24")
    fip = _post(http, token, "floatingips", floating_network_id=public["id"])
    spare = _post(http, token, "floatingips", floating_network_id=public["id"])
    url = f"{NET}/floatingips/{fip['id']}"
    interface = http.get(f"{NET}/ports", params={"device_owner": "network:router_interface"},
                         headers=auth_headers(token)).json()["ports"][0]

    for body, status, kind in (
            ({"port_id": unrouted["id"]}, 404, "ExternalGatewayForFloatingIPNotFound"),
            ({"port_id": foreign_port["id"]}, 404, "PortNotFound"),
            ({"port_id": port["id"], "fixed_ip_address": "10.82.0.99"}, 400, "BadRequest"),
            ({"port_id": interface["id"]}, 400, "BadRequest"),
            ({"fixed_ip_address": "10.82.0.2"}, 400, "BadRequest"),
            ({"port_id": port["id"], "bogus": 1}, 400, None)):
        _error(http.put(url, json={"floatingip": body}, headers=auth_headers(token)), status, kind)
    assert {f["port_id"] for f in _fips(http, token)} == {None}

    address = port["fixed_ips"][0]["ip_address"]
    done = http.put(url, json={"floatingip": {"port_id": port["id"], "fixed_ip_address": address}},
                    headers=auth_headers(token))
    assert done.status_code == 200, done.text
    doc = done.json()["floatingip"]
    assert (doc["port_id"], doc["fixed_ip_address"], doc["router_id"], doc["status"]) == \
        (port["id"], address, router["id"], "DOWN")
    _error(http.put(f"{NET}/floatingips/{spare['id']}", json={"floatingip": {"port_id": port["id"]}},
                    headers=auth_headers(token)), 409, "FloatingIPPortAlreadyAssociated")
    # What the association holds in place.
    _error(http.put(f"{NET}/routers/{router['id']}", json={"router": {"external_gateway_info": {}}},
                    headers=auth_headers(token)), 409, "RouterExternalGatewayInUseByFloatingIp")
    _error(http.put(f"{NET}/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]},
                    headers=auth_headers(token)), 409, "RouterInterfaceInUseByFloatingIP")
    # Another project cannot see, change or delete it.
    for method in ("GET", "PUT", "DELETE"):
        _error(http.request(method, url, json={"floatingip": {"port_id": None}}, headers=auth_headers(other)), 404,
               "FloatingIPNotFound")
    assert all(f["id"] != fip["id"] for f in _fips(http, other))
    listed = http.get(f"{NET}/floatingips", params={"router_id": router["id"]}, headers=auth_headers(token))
    assert [f["id"] for f in listed.json()["floatingips"]] == [fip["id"]]
    # Deleting the associated port lets go of the floating IP.
    assert http.delete(f"{NET}/ports/{port['id']}", headers=auth_headers(token)).status_code == 204
    after = http.get(url, headers=auth_headers(token)).json()["floatingip"]
    assert (after["port_id"], after["fixed_ip_address"], after["router_id"]) == (None, None, None)
    assert http.delete(url, headers=auth_headers(token)).status_code == 204
    assert http.get(url, headers=auth_headers(token)).status_code == 404


def test_agent_view_status_and_nova_lookup(tmp_path: Path) -> None:
    """The service functions the host agent and Nova call, on a database of their own."""
    import andromede.registry  # noqa: F401  (every service's tables)
    from andromede.common.context import RequestContext
    from andromede.common.errors import BadRequest
    from andromede.db.base import Base
    from andromede.db.engine import Database
    from andromede.network import service as net
    from andromede.network.l3 import schemas, service
    from andromede.network.schemas import NetworkCreate, PortCreate, SubnetCreate

    db = Database(f"sqlite:///{tmp_path / 'l3.db'}")
    Base.metadata.create_all(db.engine)
    admin = RequestContext(request_id="r", user_id="u", project_id="p", system_scope=True, roles=frozenset({"admin"}))
    with db.session() as session:
        public = net.create_network(session, admin, NetworkCreate(name="public", external=True))
        net.create_subnet(session, admin, SubnetCreate(network_id=public.id, cidr="203.0.113.0/24"))
        private = net.create_network(session, admin, NetworkCreate(name="private"))
        subnet = net.create_subnet(session, admin, SubnetCreate(network_id=private.id, cidr="10.9.0.0/24"))
        vm = net.create_port(session, admin, PortCreate(network_id=private.id, device_owner="compute:nova"))
        router = service.create_router(session, admin, schemas.RouterCreate(
            name="r", external_gateway_info=schemas.GatewayInfo(network_id=public.id)))
        service.add_interface(session, admin, router.id, schemas.InterfaceRequest(subnet_id=subnet.id))
        fip = service.create_floating_ip(session, admin, schemas.FloatingIpCreate(
            floating_network_id=public.id, port_id=vm.id))
        service.create_floating_ip(session, admin, schemas.FloatingIpCreate(floating_network_id=public.id))
    with db.session() as session:
        [view] = service.agent_view(session)
        assert view.router_id == router.id and view.admin_state_up is True
        gateway = view.gateway
        assert gateway is not None
        assert (gateway.network_id, gateway.ip, gateway.prefixlen, gateway.upstream_gateway,
                gateway.enable_snat) == (public.id, "203.0.113.2", 24, "203.0.113.1", True)
        assert gateway.mac.startswith("fa:16:3e:")
        [interface] = view.interfaces
        assert (interface.network_id, interface.ip, interface.prefixlen, interface.subnet_cidr) == \
            (private.id, "10.9.0.1", 24, "10.9.0.0/24")
        # only the associated one
        assert [f.wire() for f in view.floating_ips] == [{"id": fip.id, "floating_ip": "203.0.113.3",
                                                         "fixed_ip": "10.9.0.3", "port_id": vm.id}]
        service.set_floating_ip_status(session, fip.id, "ACTIVE")
        service.set_floating_ip_status(session, str(uuid.uuid4()), "ACTIVE")  # gone meanwhile: ignored
        spare = next(f for f in service.list_floating_ips(session, admin) if f.port_id is None)
        service.set_floating_ip_status(session, spare.id, "ACTIVE")  # disassociated meanwhile: stays DOWN
        assert spare.status == "DOWN"
        with pytest.raises(BadRequest):
            service.set_floating_ip_status(session, fip.id, "BUILD")
        assert service.floating_ips_for_ports(session, [vm.id, "nope"]) == {vm.id: [("10.9.0.3", "203.0.113.3")]}
    with db.session() as session:
        assert service.get_floating_ip(session, admin, fip.id).status == "ACTIVE"
    db.engine.dispose()
