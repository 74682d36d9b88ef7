"""Issue 13, items 1 and 2: a tenant on a network the admin shared gets a port and an address, never the
network owner's powers (spoofing, DHCP, the subnet's gateway) — Neutron's port and l3 rules.

Each attack runs as project B with the real `openstack` CLI where the CLI can say it (raw HTTP otherwise), and
checks the refusal and that nothing changed: no port made, the owner's ports, the network and B's router as they
were. The shared network is removed after each test: every project sees it, and other tests list networks.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.functional.compute.test_servers import image_id  # noqa: F401  (a session fixture)
from tests.functional.network.test_routers import external_networks, tenant_network
from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.server import Server

NET = "/network/v2.0"
CIDR, GATEWAY, POOL = "10.77.0.0/24", "10.77.0.1", ("10.77.0.10", "10.77.0.200")
FREE = "10.77.0.150"  # in the pool, held by no port
SET_ASIDE = "10.77.0.250"  # outside the pool: the owner's to give


@dataclass
class Shared:
    network: dict
    subnet: dict
    victim: dict  # the port of another tenant's VM on it (made by the owner)


@dataclass
class Tenant:
    account: Account
    token: str
    cli: Callable[..., object]


def _remove_network(admin: Admin, network_id: str) -> None:
    client = admin.client
    ports = client.get(f"{NET}/ports", params={"network_id": network_id}).json()["ports"]
    for fip in client.get(f"{NET}/floatingips").json()["floatingips"]:
        if fip["port_id"] in {p["id"] for p in ports}:
            client.put(f"{NET}/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}})
    for port in ports:
        if port["device_owner"] == "network:router_interface":
            client.put(f"{NET}/routers/{port['device_id']}/remove_router_interface", json={"port_id": port["id"]})
        elif port["device_owner"] != "network:dhcp":
            client.delete(f"{NET}/ports/{port['id']}")
    response = client.delete(f"{NET}/networks/{network_id}")
    assert response.status_code == 204, response.text


@pytest.fixture()
def shared(admin: Admin) -> Iterator[Shared]:
    name = f"shared-{secrets.token_hex(3)}"
    response = admin.client.post(f"{NET}/networks", json={"network": {"name": name, "shared": True,
                                                                            "project_id": admin.project_id}})
    assert response.status_code == 201, response.text
    network = response.json()["network"]
    try:
        response = admin.client.post(f"{NET}/subnets", json={"subnet": {
            "network_id": network["id"], "name": f"{name}-sub", "cidr": CIDR, "ip_version": 4,
            "project_id": admin.project_id,
            "allocation_pools": [{"start": POOL[0], "end": POOL[1]}]}})
        assert response.status_code == 201, response.text
        subnet = response.json()["subnet"]
        response = admin.client.post(f"{NET}/ports", json={"port": {
            "network_id": network["id"], "name": "victim", "device_owner": "compute:nova", "device_id": "vm-a",
            "project_id": admin.project_id}})
        assert response.status_code == 201, response.text
        yield Shared(network, subnet, response.json()["port"])
    finally:
        _remove_network(admin, network["id"])


@pytest.fixture()
def tenant(server: Server, admin: Admin, tmp_path: Path) -> Tenant:
    account = admin.account()
    return Tenant(account, account.token(server), cli_as(server, account, tmp_path))


@pytest.fixture()
def public_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    yield from external_networks(admin)


def _network_state(admin: Admin, network_id: str) -> tuple:
    """Everything a refused request on the shared network must leave as it was: the network, its subnets and
    every port on it (any project's), with their addresses, MACs and protections."""
    client = admin.client
    network = client.get(f"{NET}/networks/{network_id}").json()["network"]
    subnets = client.get(f"{NET}/subnets", params={"network_id": network_id}).json()["subnets"]
    ports = client.get(f"{NET}/ports", params={"network_id": network_id}).json()["ports"]
    return (network["revision_number"],
            sorted((s["id"], s["gateway_ip"], str(s["allocation_pools"]), s["revision_number"]) for s in subnets),
            sorted((p["id"], p["project_id"], p["mac_address"], str(p["fixed_ips"]), p["device_owner"],
                    p["device_id"], p["port_security_enabled"], str(p["allowed_address_pairs"]),
                    p["binding:host_id"], p["revision_number"]) for p in ports))


def _refused(result: object, status: int | None, words: str) -> None:
    """The CLI failed, with the API's status (None: the client refused before asking) and these words."""
    assert result.returncode != 0, result.stdout  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert words in stderr and (status is None or str(status) in stderr), stderr


def _neutron_error(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == kind and "Traceback" not in response.text, error
    return error["message"]


# ---- item 1: a port on the shared network, with the owner's powers -----------------------------------------

CREATE_ATTACKS = {
    "port security off": lambda s: ["--disable-port-security"],
    "any source address": lambda s: ["--allowed-address", "ip-address=0.0.0.0/0"],
    "a chosen free address": lambda s: ["--fixed-ip", f"subnet={s.subnet['id']},ip-address={FREE}"],
    "the gateway address": lambda s: ["--fixed-ip", f"subnet={s.subnet['id']},ip-address={GATEWAY}"],
    "the victim's MAC": lambda s: ["--mac-address", s.victim["mac_address"]],
    "a DHCP server port": lambda s: ["--device-owner", "network:dhcp"],
    "a router interface port": lambda s: ["--device-owner", "network:router_interface"],
    "bound to a host": lambda s: ["--host", "compute-1"],
    "a binding profile": lambda s: ["--binding-profile", "trusted=true"],
}


@pytest.mark.parametrize("attack", sorted(CREATE_ATTACKS))
def test_tenant_cannot_create_a_port_with_the_owners_powers(admin: Admin, shared: Shared, tenant: Tenant,
                                                            attack: str) -> None:
    before = _network_state(admin, shared.network["id"])
    result = tenant.cli("port", "create", "--network", shared.network["id"], *CREATE_ATTACKS[attack](shared), "p",
                        check=False)
    _refused(result, 403, "is disallowed by policy")
    assert _network_state(admin, shared.network["id"]) == before
    assert tenant.cli("port", "list", "-f", "value", "-c", "ID").stdout.strip() == ""  # type: ignore[attr-defined]


def test_tenant_still_gets_a_port_and_an_address_from_a_subnet(admin: Admin, shared: Shared, tenant: Tenant) -> None:
    """What a shared network is for: a port, an address the pools hand out, even from a named subnet."""
    plain = tenant.cli("port", "create", "--network", shared.network["id"], "-f", "value", "-c", "fixed_ips", "p1")
    by_subnet = tenant.cli("port", "create", "--network", shared.network["id"], "--fixed-ip",
                           f"subnet={shared.subnet['id']}", "-f", "value", "-c", "fixed_ips", "p2")
    for result in (plain, by_subnet):
        assert shared.subnet["id"] in result.stdout and "10.77.0." in result.stdout  # type: ignore[attr-defined]
    assert len(tenant.cli("port", "list", "-f", "value", "-c", "ID").stdout.split()) == 2  # type: ignore[attr-defined]


UPDATE_ATTACKS = {
    "port security off": lambda s: ["--no-security-group", "--disable-port-security"],
    "any source address": lambda s: ["--allowed-address", "ip-address=0.0.0.0/0"],
    "move to the gateway address": lambda s: ["--no-fixed-ip", "--fixed-ip",
                                              f"subnet={s.subnet['id']},ip-address={GATEWAY}"],
    "take the victim's address": lambda s: ["--no-fixed-ip", "--fixed-ip", f"subnet={s.subnet['id']},ip-address="
                                            f"{s.victim['fixed_ips'][0]['ip_address']}"],
    "add a chosen address": lambda s: ["--fixed-ip", f"subnet={s.subnet['id']},ip-address={FREE}"],
    "become the DHCP server": lambda s: ["--device-owner", "network:dhcp"],
    "become a router interface": lambda s: ["--device-owner", "network:router_interface"],
    "bind to a host": lambda s: ["--host", "compute-1"],
}


@pytest.mark.parametrize("attack", sorted(UPDATE_ATTACKS))
def test_tenant_cannot_give_its_port_the_owners_powers(admin: Admin, shared: Shared, tenant: Tenant,
                                                       attack: str) -> None:
    tenant.cli("port", "create", "--network", shared.network["id"], "p")
    before = _network_state(admin, shared.network["id"])
    result = tenant.cli("port", "set", *UPDATE_ATTACKS[attack](shared), "p", check=False)
    _refused(result, 403, "is disallowed by policy")
    assert _network_state(admin, shared.network["id"]) == before


def test_refusal_names_the_rules_in_neutrons_format(shared: Shared, tenant: Tenant, http: httpx.Client) -> None:
    body = {"port": {"network_id": shared.network["id"], "fixed_ips": [{"subnet_id": shared.subnet["id"],
                                                                        "ip_address": FREE}]}}
    message = _neutron_error(http.post(f"{NET}/ports", json=body, headers=auth_headers(tenant.token)), 403,
                             "PolicyNotAuthorized")
    assert "rule:create_port:fixed_ips:ip_address" in message and message.endswith("is disallowed by policy")
    # A subnet alone is what a shared network offers (rule:shared); an update of the addresses is the owner's.
    body["port"]["fixed_ips"] = [{"subnet_id": shared.subnet["id"]}]
    created = http.post(f"{NET}/ports", json=body, headers=auth_headers(tenant.token))
    assert created.status_code == 201, created.text
    port = created.json()["port"]
    message = _neutron_error(http.put(f"{NET}/ports/{port['id']}", json=body | {"port": {
        "fixed_ips": [{"subnet_id": shared.subnet["id"]}]}}, headers=auth_headers(tenant.token)), 403,
        "PolicyNotAuthorized")
    assert "rule:update_port:fixed_ips" in message
    # Even set to what it already is: an explicit attribute is held to its rule whatever its value.
    _neutron_error(http.put(f"{NET}/ports/{port['id']}", json={"port": {"port_security_enabled": True}},
                            headers=auth_headers(tenant.token)), 403, "PolicyNotAuthorized")


def test_tenant_cannot_touch_the_owners_ports_or_subnet(admin: Admin, shared: Shared, tenant: Tenant,
                                                        http: httpx.Client) -> None:
    before = _network_state(admin, shared.network["id"])
    headers = auth_headers(tenant.token)
    victim = f"{NET}/ports/{shared.victim['id']}"
    _neutron_error(http.put(victim, json={"port": {"port_security_enabled": False}}, headers=headers), 404,
                   "PortNotFound")
    _neutron_error(http.delete(victim, headers=headers), 404, "PortNotFound")
    dhcp = admin.client.get(f"{NET}/ports", params={"network_id": shared.network["id"],
                                                    "device_owner": "network:dhcp"}).json()["ports"]
    for port in dhcp:
        _neutron_error(http.delete(f"{NET}/ports/{port['id']}", headers=headers), 404, "PortNotFound")
    for change in (["--gateway", FREE], ["--allocation-pool", f"start={SET_ASIDE},end=10.77.0.254"]):
        _refused(tenant.cli("subnet", "set", *change, shared.subnet["id"], check=False), 403, "another project")
    _refused(tenant.cli("subnet", "create", "--network", shared.network["id"], "--subnet-range", "10.77.1.0/24",
                        "s", check=False), 403, "another project")
    for change in (["--disable-port-security"], ["--name", "mine"]):
        _refused(tenant.cli("network", "set", *change, shared.network["id"], check=False), 403, "another project")
    _refused(tenant.cli("network", "delete", shared.network["id"], check=False), 403, "another project")
    network_tags = f"{NET}/networks/{shared.network['id']}/tags"
    _neutron_error(http.put(network_tags, json={"tags": ["mine"]}, headers=headers), 404, "NetworkNotFound")
    assert _network_state(admin, shared.network["id"]) == before


def test_tenant_cannot_boot_a_server_at_a_chosen_address_on_it(admin: Admin, shared: Shared, tenant: Tenant,
                                                               image_id: str) -> None:  # noqa: F811
    """Nova creates the server's port with the tenant's rights: the same rule, through `server create --nic`."""
    before = _network_state(admin, shared.network["id"])
    result = tenant.cli("server", "create", "--image", image_id, "--flavor", "m1.tiny", "--nic",
                        f"net-id={shared.network['id']},v4-fixed-ip={FREE}", "vm", check=False)
    _refused(result, 403, "is disallowed by policy")
    assert tenant.cli("server", "list", "-f", "value", "-c", "ID").stdout.strip() == ""  # type: ignore[attr-defined]
    assert _network_state(admin, shared.network["id"]) == before


def test_tenant_cannot_add_or_remove_addresses_through_nova(admin: Admin, shared: Shared, tenant: Tenant,
                                                            http: httpx.Client, image_id: str) -> None:  # noqa: F811
    """Nova's addFixedIp/removeFixedIp actions change the port with the tenant's own rights, as Nova does: on a
    network the tenant does not own, a port's addresses are the owner's to change (they drained the shared pool
    before). The CLI's `server add fixed ip` attaches a new port instead, which a tenant may."""
    created = tenant.cli("server", "create", "--image", image_id, "--flavor", "m1.tiny", "--nic",
                         f"net-id={shared.network['id']}", "--wait", "-f", "json", "vm")
    server = json.loads(created.stdout)  # type: ignore[attr-defined]
    port = admin.client.get(f"{NET}/ports", params={"device_id": server["id"]}).json()["ports"][0]
    before = _network_state(admin, shared.network["id"])
    action = f"/compute/v2.1/servers/{server['id']}/action"
    for body in ({"addFixedIp": {"networkId": shared.network["id"]}},
                 {"removeFixedIp": {"address": port["fixed_ips"][0]["ip_address"]}}):
        refused = http.post(action, json=body, headers=auth_headers(tenant.token))
        assert refused.status_code == 403, refused.text
        assert "disallowed by policy" in refused.json()["forbidden"]["message"]
    assert _network_state(admin, shared.network["id"]) == before
    tenant.cli("server", "delete", "--wait", server["id"])


def test_external_network_gives_tenants_no_port_of_their_own(admin: Admin, tenant: Tenant,
                                                             public_networks: Callable[..., dict]) -> None:
    """The floating-IP network: every project sees it, none plugs a port into it (Neutron: rule:create_port),
    and once shared, no tenant chooses an address on it either."""
    public = public_networks("172.24.77.0/24")
    subnet_id = public["subnet"]["id"]
    before = _network_state(admin, public["id"])
    for extra in ([], ["--fixed-ip", f"subnet={subnet_id},ip-address=172.24.77.50"]):
        _refused(tenant.cli("port", "create", "--network", public["id"], *extra, "p", check=False), 403,
                 "rule:create_port")
    assert _network_state(admin, public["id"]) == before
    assert admin.client.put(f"{NET}/networks/{public['id']}", json={"network": {"shared": True}}).status_code == 200
    before = _network_state(admin, public["id"])
    for extra in (["--fixed-ip", f"subnet={subnet_id},ip-address=172.24.77.50"], ["--disable-port-security"]):
        _refused(tenant.cli("port", "create", "--network", public["id"], *extra, "p", check=False), 403,
                 "is disallowed by policy")
    assert _network_state(admin, public["id"]) == before
    assert tenant.cli("port", "list", "-f", "value", "-c", "ID").stdout.strip() == ""  # type: ignore[attr-defined]


# ---- item 2: a tenant's router and the shared subnet's gateway ---------------------------------------------

def _router_state(tenant: Tenant, router: str) -> tuple:
    shown = tenant.cli("router", "show", router, "-f", "json").stdout  # type: ignore[attr-defined]
    ports = tenant.cli("port", "list", "--router", router, "-f", "value", "-c", "ID").stdout  # type: ignore[attr-defined]
    return shown, ports


def test_tenant_router_cannot_take_the_shared_subnets_gateway(admin: Admin, shared: Shared, tenant: Tenant) -> None:
    tenant.cli("router", "create", "r")
    before = _network_state(admin, shared.network["id"]), _router_state(tenant, "r")
    result = tenant.cli("router", "add", "subnet", "r", shared.subnet["id"], check=False)
    _refused(result, 400, "is not owned by project making the request")
    assert (_network_state(admin, shared.network["id"]), _router_state(tenant, "r")) == before
    holders = [p for p in admin.client.get(f"{NET}/ports", params={"network_id": shared.network["id"]}).json()["ports"]
               if any(f["ip_address"] == GATEWAY for f in p["fixed_ips"])]
    assert holders == []
    # What the tenant may do: attach by a port of its own, at an address the pools handed out.
    port = tenant.cli("port", "create", "--network", shared.network["id"], "-f", "value", "-c", "id", "p")
    tenant.cli("router", "add", "port", "r", "p")
    assert tenant.cli("port", "show", "p", "-f", "value", "-c", "device_owner").stdout.strip() == \
        "network:router_interface", port  # type: ignore[attr-defined]


@pytest.mark.parametrize("address", ["set aside", "gateway"])
def test_tenant_router_cannot_take_an_address_the_pools_do_not_give(admin: Admin, shared: Shared, tenant: Tenant,
                                                                    address: str) -> None:
    """A port of the tenant's own holding an address out of the pools (the owner made it for the tenant, and may
    since have made it the subnet's gateway) never becomes the tenant router's interface."""
    response = admin.client.post(f"{NET}/ports", json={"port": {
        "network_id": shared.network["id"], "project_id": tenant.account.project_id, "name": "p",
        "fixed_ips": [{"subnet_id": shared.subnet["id"], "ip_address": SET_ASIDE}]}})
    assert response.status_code == 201, response.text
    if address == "gateway":
        moved = admin.client.put(f"{NET}/subnets/{shared.subnet['id']}", json={"subnet": {"gateway_ip": SET_ASIDE}})
        assert moved.status_code == 200, moved.text
    tenant.cli("router", "create", "r")
    before = _network_state(admin, shared.network["id"]), _router_state(tenant, "r")
    result = tenant.cli("router", "add", "port", "r", "p", check=False)
    _refused(result, 400, "out of the allocation pool")
    assert (_network_state(admin, shared.network["id"]), _router_state(tenant, "r")) == before


# ---- floating IPs: another project's port -------------------------------------------------------------------

def test_floating_ip_cannot_point_at_another_projects_port(server: Server, admin: Admin, tenant: Tenant,
                                                           http: httpx.Client,
                                                           public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.78.0/24")
    owner = admin.account()
    a = owner.token(server)
    network, subnet = tenant_network(http, a, "10.78.0.0/24")
    router = http.post(f"{NET}/routers", json={"router": {"name": "ra", "external_gateway_info": {
        "network_id": public["id"]}}}, headers=auth_headers(a)).json()["router"]
    assert http.put(f"{NET}/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]},
                    headers=auth_headers(a)).status_code == 200
    victim = http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "device_owner": "compute:nova",
                                                      "device_id": "vm-a"}}, headers=auth_headers(a)).json()["port"]
    b = auth_headers(tenant.token)
    fip = http.post(f"{NET}/floatingips", json={"floatingip": {"floating_network_id": public["id"]}},
                    headers=b).json()["floatingip"]
    _neutron_error(http.put(f"{NET}/floatingips/{fip['id']}", json={"floatingip": {"port_id": victim["id"]}},
                            headers=b), 404, "PortNotFound")
    _neutron_error(http.post(f"{NET}/floatingips", json={"floatingip": {
        "floating_network_id": public["id"], "port_id": victim["id"]}}, headers=b), 404, "PortNotFound")
    mine = http.get(f"{NET}/floatingips", headers=b).json()["floatingips"]
    assert [(f["id"], f["port_id"], f["revision_number"]) for f in mine] == [(fip["id"], None, fip["revision_number"])]
    assert admin.client.get(f"{NET}/floatingips", params={"port_id": victim["id"]}).json()["floatingips"] == []
    # And through the CLI, by id: the tenant's client cannot even name the port.
    _refused(tenant.cli("floating ip", "set", "--port", victim["id"], fip["id"], check=False), None, "No Port found")


def test_floating_ip_on_the_shared_network_is_never_carried_by_a_third_projects_router(
        server: Server, admin: Admin, shared: Shared, tenant: Tenant, http: httpx.Client,
        public_networks: Callable[..., dict]) -> None:
    """B's router reaches the shared subnet (by a port of B's) and the floating-IP network first: a floating IP of
    another project C on that subnet must not go through it (B's extra routes would steer C's traffic). It goes
    through the router at the subnet's gateway, the owner's, or nowhere."""
    public = public_networks("172.24.79.0/24")
    tenant.cli("router", "create", "--external-gateway", public["id"], "rb")
    tenant.cli("port", "create", "--network", shared.network["id"], "pb")
    tenant.cli("router", "add", "port", "rb", "pb")
    c = auth_headers(admin.account().token(server))
    victim = http.post(f"{NET}/ports", json={"port": {"network_id": shared.network["id"], "device_id": "vm-c",
                                                      "device_owner": "compute:nova"}}, headers=c).json()["port"]
    fip = http.post(f"{NET}/floatingips", json={"floatingip": {"floating_network_id": public["id"]}},
                    headers=c).json()["floatingip"]
    _neutron_error(http.put(f"{NET}/floatingips/{fip['id']}", json={"floatingip": {"port_id": victim["id"]}},
                            headers=c), 404, "ExternalGatewayForFloatingIPNotFound")
    assert http.get(f"{NET}/floatingips/{fip['id']}", headers=c).json()["floatingip"]["router_id"] is None
    owners = admin.client.post(f"{NET}/routers", json={"router": {"name": "ra", "project_id": admin.project_id,
                                                                  "external_gateway_info": {
        "network_id": public["id"]}}}).json()["router"]
    try:
        done = admin.client.put(f"{NET}/routers/{owners['id']}/add_router_interface",
                                json={"subnet_id": shared.subnet["id"]})
        assert done.status_code == 200, done.text
        associated = http.put(f"{NET}/floatingips/{fip['id']}", json={"floatingip": {"port_id": victim["id"]}},
                              headers=c)
        assert associated.status_code == 200, associated.text
        assert associated.json()["floatingip"]["router_id"] == owners["id"]
    finally:  # the admin's router would outlive the test (the fixtures remove networks and ports)
        http.delete(f"{NET}/floatingips/{fip['id']}", headers=c)
        admin.client.put(f"{NET}/routers/{owners['id']}/remove_router_interface",
                         json={"subnet_id": shared.subnet["id"]})
        assert admin.client.delete(f"{NET}/routers/{owners['id']}").status_code == 204
