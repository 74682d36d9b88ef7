"""Routers without a kernel: spec validation, names, the router and external nftables tables, the fake's walk."""

from __future__ import annotations

from dataclasses import replace

import pytest

from andromede.network.agent.drivers.base import (
    FloatingIp,
    NetworkSpec,
    PortSpec,
    RouterGateway,
    RouterInterface,
    RouterSpec,
    check_host_cidr,
)
from andromede.network.agent.drivers.fake import HOST, FakeGuest, FakeHost, FakeNetworkDriver
from andromede.network.agent.drivers.linux import external, names, router

ROUTER = "5410a37b-f200-4fc0-b9ae-cb8b551129fc"
EXT = "28cfcbf4-78e1-4635-a13e-4fe0a1cc2b01"
NET = "ca57e0d3-44f0-45f3-bde4-5ad47a451a8f"
NET2 = "0f3c2d1e-1111-4222-8333-944455556666"
GW_PORT = "8a0cf1ac-5fea-49d1-a351-fe32b90dbd48"
IF_PORT = "11111111-2222-3333-4444-555555555555"
IF_PORT2 = "22222222-2222-3333-4444-555555555555"
VM_PORT = "33333333-2222-3333-4444-555555555555"


def gateway(**kw: object) -> RouterGateway:
    fields: dict[str, object] = {
        "network_id": EXT,
        "port_id": GW_PORT,
        "mac": "fa:16:3e:00:00:01",
        "ip": "172.24.4.2",
        "prefixlen": 24,
        "upstream_gateway": "172.24.4.1",
    }
    return RouterGateway(**{**fields, **kw})  # type: ignore[arg-type]


def interface(ip: str = "10.0.0.1", port: str = IF_PORT, net: str = NET, prefixlen: int = 24) -> RouterInterface:
    return RouterInterface(port_id=port, network_id=net, mac="fa:16:3e:00:00:02", ip=ip, prefixlen=prefixlen)


def spec(**kw: object) -> RouterSpec:
    fields: dict[str, object] = {"router_id": ROUTER, "gateway": gateway(), "interfaces": (interface(),)}
    return RouterSpec(**{**fields, **kw})  # type: ignore[arg-type]


# ---- validation ----


@pytest.mark.parametrize(
    "change",
    [
        {"router_id": "not-a-uuid"},
        {"floating_ips": (FloatingIp("172.24.4.10", "10.0.0.5"),), "gateway": None},  # a FIP needs a gateway
        {"floating_ips": (FloatingIp("172.24.4.10", "10.9.0.5"),)},  # fixed IP outside every interface subnet
        {"floating_ips": (FloatingIp("172.24.4.10", "10.0.0.1"),)},  # the router's own address
        {"floating_ips": (FloatingIp("172.24.4.2", "10.0.0.5"),)},  # the gateway's address
        {"floating_ips": (FloatingIp("10.0.0.9", "10.0.0.5"),)},  # a floating IP inside a tenant subnet
        {"floating_ips": (FloatingIp("172.24.4.10", "10.0.0.5"), FloatingIp("172.24.4.10", "10.0.0.6"))},
        {"floating_ips": (FloatingIp("172.24.4.10", "10.0.0.5"), FloatingIp("172.24.4.11", "10.0.0.5"))},
        {"interfaces": (interface(), interface("10.0.0.129", port=IF_PORT2, net=NET2, prefixlen=25))},  # overlap
        {"interfaces": (interface("172.24.4.9"),)},  # overlaps the gateway's subnet
        {"interfaces": (interface(port=GW_PORT),)},  # one port as interface and gateway
        {"interfaces": (interface(), interface("10.1.0.1", net=NET2))},  # one port on two networks
    ],
)
def test_bad_router_specs_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        spec(**change)


@pytest.mark.parametrize(
    "change",
    [
        {"ip": "2001:db8::1"},  # SNAT needs an IPv4 gateway
        {"upstream_gateway": "172.25.0.1"},  # not on the external subnet
        {"upstream_gateway": "172.24.4.2"},  # itself
        {"prefixlen": 33},
        {"mac": "01:16:3e:00:00:01"},  # multicast
        {"enable_snat": "yes"},
    ],
)
def test_bad_gateways_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        gateway(**change)


def test_good_specs_pass() -> None:
    two_addresses = (interface(), RouterInterface(IF_PORT, NET, "fa:16:3e:00:00:02", "2001:db8::1", 64))
    assert spec(interfaces=two_addresses, floating_ips=(FloatingIp("172.24.4.10", "10.0.0.5"),))
    assert spec(gateway=None, interfaces=())
    assert gateway(upstream_gateway=None, enable_snat=False)


@pytest.mark.parametrize("bad", ["172.24.4.0/24", "172.24.4.255/24", "172.24.4.1", "2001:db8::1/64", "172.24.4.01/24"])
def test_host_cidr_is_a_host_address_with_a_prefix(bad: str) -> None:
    assert str(check_host_cidr("172.24.4.1/24").network) == "172.24.4.0/24"
    with pytest.raises(ValueError):
        check_host_cidr(bad)


# ---- names ----


def test_router_names_follow_neutron_and_round_trip() -> None:
    assert names.router_namespace("p-", ROUTER) == f"p-qrouter-{ROUTER}"
    assert names.router_of_namespace("p-", f"p-qrouter-{ROUTER}") == ROUTER
    assert names.router_of_namespace("p-", f"qrouter-{ROUTER}") is None
    assert names.router_interface_name(IF_PORT) == "qr-11111111-22"
    assert names.router_gateway_name(GW_PORT) == "qg-8a0cf1ac-5f"
    alias = names.router_device_alias(GW_PORT, EXT, gateway=True)
    assert names.parse_router_device_alias(alias) == (GW_PORT, EXT, True)
    assert names.parse_router_device_alias(names.router_device_alias(IF_PORT, NET, gateway=False)) == (
        IF_PORT,
        NET,
        False,
    )
    assert names.parse_router_device_alias(names.port_alias(IF_PORT, NET)) is None  # never mistaken for a VM port
    assert names.network_of_external_table(names.external_table(EXT)) == EXT


# ---- the nftables tables ----


def test_router_table_nats_floating_ips_and_snats_the_rest() -> None:
    floating = (FloatingIp("172.24.4.11", "10.0.0.6"), FloatingIp("172.24.4.10", "10.0.0.5"))
    text = router.render_router_table(spec(floating_ips=floating))

    assert text.startswith("table ip andromede-router {}\ndelete table ip andromede-router\n")
    assert "elements = { 172.24.4.10 : 10.0.0.5, 172.24.4.11 : 10.0.0.6 }" in text
    assert "elements = { 10.0.0.5 : 172.24.4.10, 10.0.0.6 : 172.24.4.11 }" in text
    assert "elements = { 10.0.0.0/24 }" in text
    assert "dnat to ip daddr map @floating_dnat" in text
    qg = "qg-8a0cf1ac-5f"
    floating_snat = f'oifname "{qg}" snat to ip saddr map @floating_snat'
    default_snat = f'oifname "{qg}" ip saddr @snat_sources snat to 172.24.4.2'
    assert text.index(floating_snat) < text.index(default_snat)  # a floating IP wins over the router's address
    assert f'iifname "{qg}" ct state new ct status & dnat == 0 drop' in text
    assert f'iifname "{qg}" oifname "{qg}" drop' in text


def test_router_table_without_snat_or_gateway() -> None:
    no_snat = router.render_router_table(spec(gateway=gateway(enable_snat=False)))
    assert "snat to 172.24.4.2" not in no_snat and "ct status" not in no_snat
    assert "    elements" not in no_snat  # empty maps and set: no elements line (nft refuses `{ }`)

    isolated = router.render_router_table(spec(gateway=None))
    assert "oifname" not in isolated and "iifname" not in isolated


def test_snat_sources_are_ipv4_interface_subnets_collapsed() -> None:
    interfaces = (
        interface("10.0.0.1", prefixlen=25),
        interface("10.0.0.129", port=IF_PORT2, net=NET2, prefixlen=25),
        RouterInterface(IF_PORT, NET, "fa:16:3e:00:00:02", "2001:db8::1", 64),
    )
    assert router.snat_sources(spec(interfaces=interfaces)) == ["10.0.0.0/24"]
    assert router.snat_sources(spec(gateway=gateway(enable_snat=False))) == []


def test_router_table_parses_back() -> None:
    listing = {
        "nftables": [
            {"map": {"name": "floating_dnat", "elem": [["172.24.4.11", "10.0.0.6"], ["172.24.4.10", "10.0.0.5"]]}},
            {"set": {"name": "snat_sources", "elem": [{"prefix": {"addr": "10.0.0.0", "len": 24}}]}},
        ]
    }
    floating, snat = router.parse_router_table(listing)
    assert floating == (FloatingIp("172.24.4.10", "10.0.0.5"), FloatingIp("172.24.4.11", "10.0.0.6"))
    assert snat
    assert router.parse_router_table({}) == ((), False)


def test_external_table_masquerades_routed_traffic_only() -> None:
    text = external.render_external_table(EXT, "172.24.4.1/24")
    assert f"table ip andromede-external-{EXT} {{}}\ndelete table ip andromede-external-{EXT}\n" in text
    assert 'ip saddr 172.24.4.0/24 ip daddr != 172.24.4.0/24 oifname != "brq*" masquerade' in text
    with pytest.raises(ValueError):
        external.render_external_table(EXT, "172.24.4.0/24")


# ---- the fake's reachability walk ----


def fake_world(**router_changes: object) -> FakeHost:
    host = FakeHost()
    driver = FakeNetworkDriver(host)
    driver.ensure_network(NetworkSpec(network_id=EXT, vni=1))
    driver.ensure_network(NetworkSpec(network_id=NET, vni=2))
    driver.ensure_external_access(EXT, "172.24.4.1/24")
    driver.ensure_router(spec(**router_changes))
    port = PortSpec(port_id=VM_PORT, network_id=NET, mac="fa:16:3e:00:00:05", fixed_ips=("10.0.0.5",))
    driver.ensure_port(port)
    host.guests["vm"] = FakeGuest(VM_PORT, "10.0.0.5", 24, "10.0.0.1")
    return host


def test_fake_walk_applies_snat_and_floating_ips() -> None:
    host = fake_world()
    assert host.trace("vm", "172.24.4.1") == (HOST, "172.24.4.2")
    assert host.trace("vm", "10.0.0.1") == (f"router:{ROUTER}", "10.0.0.5")
    assert host.trace(HOST, "10.0.0.5") is None  # no route, and no floating IP

    host = fake_world(floating_ips=(FloatingIp("172.24.4.10", "10.0.0.5"),))
    assert host.trace(HOST, "172.24.4.10") == ("vm", "172.24.4.1")
    assert host.trace("vm", "172.24.4.1") == (HOST, "172.24.4.10")


def test_fake_walk_honours_anti_spoofing_and_gateways() -> None:
    host = fake_world()
    host.guests["vm"] = FakeGuest(VM_PORT, "10.0.0.6", 24, "10.0.0.1")  # not the port's address
    assert host.trace("vm", "10.0.0.1") is None
    host.guests["vm"] = FakeGuest(VM_PORT, "10.0.0.5", 24, None)  # no default route
    assert host.trace("vm", "172.24.4.1") is None
    host.guests["vm"] = FakeGuest(VM_PORT, "10.0.0.5", 24, "10.0.0.1")
    FakeNetworkDriver(host).ensure_router(replace(spec(), gateway=gateway(upstream_gateway=None)))
    assert host.trace("vm", "172.24.4.1") == (HOST, "172.24.4.2")  # on-link: no default route needed
