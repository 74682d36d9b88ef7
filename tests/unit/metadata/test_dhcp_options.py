"""DhcpSpec(metadata=True): clients get a route to 169.254.169.254 via the DHCP server (option 121), with the
default route alongside when there is a gateway (RFC 3442 clients ignore option 3 once 121 is sent)."""

from __future__ import annotations

import dataclasses

from andromede.network.agent.drivers.base import DhcpSpec, DhcpSubnet, NetworkSpec
from andromede.network.agent.drivers.fake import FakeNetworkDriver
from andromede.network.agent.drivers.linux import dnsmasq

NET = "11111111-2222-4333-8444-555555555555"
SUBNET = "11111111-2222-4333-8444-666666666666"
PORT = "11111111-2222-4333-8444-777777777777"


def _spec(metadata: bool, **subnet: object) -> DhcpSpec:
    fields: dict = {"subnet_id": SUBNET, "cidr": "10.0.0.0/24", "server_address": "10.0.0.2", **subnet}
    return DhcpSpec(network_id=NET, port_id=PORT, mac="fa:16:3e:00:00:02", subnets=(DhcpSubnet(**fields),),
                    metadata=metadata)


def _routes(spec: DhcpSpec) -> str | None:
    lines = [line for line in dnsmasq.render_options(spec).splitlines() if "classless-static-route" in line]
    return lines[0].split("classless-static-route,", 1)[1] if lines else None


def test_metadata_route_via_the_dhcp_server_plus_the_default_route() -> None:
    assert _routes(_spec(True, gateway="10.0.0.1")) == "169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1"
    assert _routes(_spec(True)) == "169.254.169.254/32,10.0.0.2"  # no gateway: no default route either
    assert "option:router\n" in dnsmasq.render_options(_spec(True)).replace("tag:subnet0,", "")


def test_without_metadata_nothing_changes() -> None:
    assert _routes(_spec(False, gateway="10.0.0.1")) is None
    assert _routes(_spec(False, gateway="10.0.0.1", host_routes=(("192.168.0.0/16", "10.0.0.9"),))) == \
        "192.168.0.0/16,10.0.0.9,0.0.0.0/0,10.0.0.1"


def test_a_users_own_metadata_host_route_wins() -> None:
    routes = (("169.254.169.254/32", "10.0.0.1"),)
    assert _routes(_spec(True, gateway="10.0.0.1", host_routes=routes)) == \
        "169.254.169.254/32,10.0.0.1,0.0.0.0/0,10.0.0.1"


def test_the_fake_driver_records_the_flag() -> None:
    driver = FakeNetworkDriver()
    driver.ensure_network(NetworkSpec(network_id=NET, vni=5))
    driver.ensure_dhcp(_spec(True))
    assert driver.host.metadata == {NET} and driver.host.dhcp[NET].metadata
    driver.ensure_dhcp(dataclasses.replace(_spec(True), metadata=False))
    assert driver.host.metadata == set()
    driver.ensure_dhcp(_spec(True))
    driver.delete_dhcp(NET)
    assert driver.host.metadata == set()


def test_a_users_default_host_route_replaces_the_gateways() -> None:
    routes = (("10.9.0.5/32", "10.0.0.9"), ("0.0.0.0/0", "10.0.0.254"))
    assert _routes(_spec(True, gateway="10.0.0.1", host_routes=routes)) == \
        "169.254.169.254/32,10.0.0.2,10.9.0.5/32,10.0.0.9,0.0.0.0/0,10.0.0.254"
