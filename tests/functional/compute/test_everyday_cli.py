"""The openstack commands people run every day on a server's networking, one after another, as a user would:
subnets edited in place, security groups and fixed IPs added to and removed from a running server, floating IPs
given and taken back, ports' groups and address pairs changed. Fake hypervisor and network driver."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.functional.network.test_routers import external_networks
from tests.support.accounts import Admin
from tests.support.server import Server


@pytest.fixture()
def public_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    yield from external_networks(admin)


def test_everyday_networking_commands(server: Server, image_id: str,  # noqa: F811
                                      public_networks: Callable[..., dict]) -> None:
    name = f"ev-{secrets.token_hex(3)}"
    public = public_networks("172.24.31.0/24")
    try:
        _everyday(server, image_id, public, name)
    finally:  # the demo project must not keep networks: other tests boot there without naming one
        server.openstack("server", "delete", "--wait", name, check=False)
        for fip in server.openstack_json("floating ip", "list", "--network", public["id"]):
            server.openstack("floating ip", "delete", fip["ID"], check=False)
        server.openstack("router", "remove", "subnet", name, f"{name}-sub", check=False)
        server.openstack("router", "delete", name, check=False)
        server.openstack("security group", "delete", f"{name}-web", check=False)
        server.openstack("network", "delete", name, check=False)


# The fixed-IP actions are Nova's multinic API, retired at 2.44; OSC and the SDK negotiate 2.90, so a user pins
# the last version that has them, as against Nova.
AT_243 = ("--os-compute-api-version", "2.43")


def _everyday(server: Server, image_id: str, public: dict, name: str) -> None:  # noqa: F811
    os, js = server.openstack, server.openstack_json
    os("network", "create", "--description", "first", name)
    os("network", "set", "--description", "app tier", name)
    assert js("network", "show", name)["description"] == "app tier"
    os("subnet", "create", "--network", name, "--subnet-range", "10.31.0.0/24", "--allocation-pool",
       "start=10.31.0.10,end=10.31.0.99", "--dns-nameserver", "10.31.0.53", f"{name}-sub")
    os("subnet", "set", "--dns-nameserver", "10.31.0.54", "--allocation-pool", "start=10.31.0.200,end=10.31.0.209",
       f"{name}-sub")
    subnet = js("subnet", "show", f"{name}-sub")
    assert sorted(subnet["dns_nameservers"]) == ["10.31.0.53", "10.31.0.54"]  # the client puts new ones first
    assert {(p["start"], p["end"]) for p in subnet["allocation_pools"]} == {
        ("10.31.0.10", "10.31.0.99"), ("10.31.0.200", "10.31.0.209")}
    os("subnet", "unset", "--dns-nameserver", "10.31.0.53", f"{name}-sub")
    assert js("subnet", "show", f"{name}-sub")["dns_nameservers"] == ["10.31.0.54"]

    os("router", "create", name)
    os("router", "set", "--external-gateway", public["name"], name)
    os("router", "add", "subnet", name, f"{name}-sub")
    os("security group", "create", f"{name}-web")
    os("security group rule", "create", "--protocol", "tcp", "--dst-port", "80:80", f"{name}-web")
    created = js("server", "create", "--image", image_id, "--flavor", "m1.tiny", "--nic", f"net-id={name}",
                 "--wait", name)

    os("server", "add", "security group", name, f"{name}-web")
    [port] = js("port", "list", "--server", created["id"])
    groups = js("port", "show", port["ID"])["security_group_ids"]
    assert len(groups) == 2
    os("server", "remove", "security group", name, f"{name}-web")
    assert len(js("port", "show", port["ID"])["security_group_ids"]) == 1

    def addresses() -> set[str]:
        return {f["ip_address"] for p in js("port", "list", "--server", created["id"])
                for f in js("port", "show", p["ID"])["fixed_ips"]}

    def port_addresses() -> set[str]:
        return {f["ip_address"] for f in js("port", "show", port["ID"])["fixed_ips"]}

    before = port_addresses()
    sdk = server.sdk()

    def add_fixed_ip(network_id: str) -> object:  # addFixedIp: Nova retired it at 2.44, the SDK negotiates 2.90
        return sdk.compute.post(f"/servers/{created['id']}/action", json={"addFixedIp": {"networkId": network_id}},
                                microversion="2.43", raise_exc=False)

    assert add_fixed_ip(js("network", "show", name)["id"]).status_code == 202  # type: ignore[attr-defined]
    [second] = port_addresses() - before  # a second address on the same port
    refused_add = add_fixed_ip(public["id"])  # no port of the server there
    assert refused_add.status_code == 400 and "could not be found for instance" in refused_add.text  # type: ignore[attr-defined]
    os(*AT_243, "server", "remove", "fixed ip", name, second)  # removeFixedIp: the port stays with its first one
    assert len(js("port", "show", port["ID"])["fixed_ips"]) == 1 and second not in addresses()
    refused = os(*AT_243, "server", "remove", "fixed ip", name, "10.31.0.250", check=False)
    assert refused.returncode != 0 and "does not have fixed IP" in refused.stderr
    os(*AT_243, "server", "add", "fixed ip", "--fixed-ip-address", "10.31.0.205", name, name)  # attaches a NIC
    assert "10.31.0.205" in addresses()
    os(*AT_243, "server", "remove", "fixed ip", name, "10.31.0.205")
    assert "10.31.0.205" not in addresses()

    fip = js("floating ip", "create", public["name"])
    os("server", "add", "floating ip", name, fip["floating_ip_address"])
    assert js("floating ip", "show", fip["id"])["port_id"] is not None
    shown = js("server", "show", name)
    assert fip["floating_ip_address"] in str(shown["addresses"])
    os("server", "remove", "floating ip", name, fip["floating_ip_address"])
    assert js("floating ip", "show", fip["id"])["port_id"] is None
    os("floating ip", "set", "--port", port["ID"], fip["id"])
    os("floating ip", "unset", "--port", fip["id"])
    assert js("floating ip", "show", fip["id"])["port_id"] is None

    os("port", "set", "--security-group", f"{name}-web", port["ID"])
    assert len(js("port", "show", port["ID"])["security_group_ids"]) == 2
    os("port", "unset", "--security-group", f"{name}-web", port["ID"])
    assert len(js("port", "show", port["ID"])["security_group_ids"]) == 1
    os("port", "set", "--allowed-address", "ip-address=10.31.0.250", port["ID"])
    assert js("port", "show", port["ID"])["allowed_address_pairs"][0]["ip_address"] == "10.31.0.250"
    mac = js("port", "show", port["ID"])["mac_address"]  # Neutron fills a pair's MAC in: unset must name it
    os("port", "unset", "--allowed-address", f"ip-address=10.31.0.250,mac-address={mac}", port["ID"])
    assert js("port", "show", port["ID"])["allowed_address_pairs"] == []
    os("port", "set", "--no-security-group", "--disable-port-security", port["ID"])
    shown_port = js("port", "show", port["ID"])
    assert shown_port["security_group_ids"] == [] and shown_port["port_security_enabled"] is False
    os("port", "set", "--enable-port-security", "--security-group", "default", port["ID"])
    assert js("port", "show", port["ID"])["port_security_enabled"] is True
