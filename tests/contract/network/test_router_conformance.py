"""Routers, SNAT, floating IPs and the external network's host side, the same way against the fake and Linux.

The "outside" is the host side of the external network (DevStack's br-ex with 172.24.4.1/24): in the Linux runs
the first harness host's namespace, where ensure_external_access puts that address on the external bridge.
Guests are namespaces plugged into ports (see the network suite), with the router interface as default gateway.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from andromede.network import ipam
from andromede.network.agent.drivers.base import (
    DriverError,
    ExtraRoute,
    FloatingIp,
    NetworkSpec,
    PortSpec,
    RouterGateway,
    RouterInterface,
    RouterSpec,
    SecurityGroupRule,
    SecurityGroupSpec,
)
from andromede.network.agent.drivers.linux import names
from andromede.network.agent.drivers.linux.nft import link_local
from tests.contract.network.harness import Harness, LinuxHarness, new_id, sh, socket_in
from tests.support.polling import poll

HOST_CIDR = "172.24.4.1/24"
OUTSIDE = "172.24.4.1"


def network(vni: int) -> NetworkSpec:
    return NetworkSpec(network_id=new_id(), vni=vni)


def mac(n: int) -> str:
    return f"fa:16:3e:00:01:{n:02x}"


def external(h: Harness, vni: int = 100) -> NetworkSpec:
    ext = network(vni)
    h.driver.ensure_network(ext)
    h.driver.ensure_external_access(ext.network_id, HOST_CIDR)
    return ext


def router(
    ext: NetworkSpec | None,
    *nets: NetworkSpec,
    gateway_ip: str = "172.24.4.2",
    floating: tuple[FloatingIp, ...] = (),
    snat: bool = True,
    n: int = 1,
) -> RouterSpec:
    gateway = None
    if ext is not None:
        gateway = RouterGateway(
            network_id=ext.network_id,
            port_id=new_id(),
            mac=mac(0x80 + n),
            ip=gateway_ip,
            prefixlen=24,
            upstream_gateway=OUTSIDE,
            enable_snat=snat,
        )
    interfaces = tuple(
        RouterInterface(
            port_id=new_id(), network_id=net.network_id, mac=mac(0x10 * n + i), ip=f"10.{i}.0.1", prefixlen=24
        )
        for i, net in enumerate(nets)
    )
    return RouterSpec(router_id=new_id(), gateway=gateway, interfaces=interfaces, floating_ips=floating)


def plug(h: Harness, net: NetworkSpec, ip: str, n: int) -> str:
    """A guest at `ip`/24 on `net` behind an unfiltered port, its default route via x.x.x.1."""
    # Port security off: security groups would otherwise (rightly) keep the outside out; this suite is about L3.
    spec = PortSpec(
        port_id=new_id(), network_id=net.network_id, mac=mac(0x40 + n), fixed_ips=(ip,), port_security=False
    )
    gateway = ip.rsplit(".", 1)[0] + ".1"
    endpoint = h.guest(spec, f"{ip}/24", gateway)
    h.driver.ensure_port(spec)
    return endpoint


def taps(spec: RouterSpec) -> set[str]:
    ports = {i.port_id for i in spec.interfaces} | ({spec.gateway.port_id} if spec.gateway else set())
    return {"tap" + p[:11] for p in ports}


# ---- building and listing ----


def test_router_on_a_missing_network_is_refused(harness: Harness) -> None:
    ext = external(harness)
    spec = router(ext, network(201))  # the tenant network was never ensured

    with pytest.raises(DriverError):
        harness.driver.ensure_router(spec)

    assert harness.driver.list_routers() == {}
    assert not harness.has_router_namespace(spec.router_id)


def test_ensure_router_is_idempotent_and_listed(harness: Harness) -> None:
    ext, tenant = external(harness), network(202)
    harness.driver.ensure_network(tenant)
    floating = (FloatingIp(floating_ip="172.24.4.10", fixed_ip="10.0.0.5"),)
    spec = router(ext, tenant, floating=floating)

    harness.driver.ensure_router(spec)
    harness.driver.ensure_router(spec)

    state = harness.driver.list_routers()[spec.router_id]
    assert spec.gateway is not None
    assert (state.gateway, state.interfaces, state.floating_ips, state.snat) == (
        spec.gateway.port_id,
        {spec.interfaces[0].port_id},
        floating,
        True,
    )
    tenant_ports = harness.observe(tenant.network_id)
    ext_ports = harness.observe(ext.network_id)
    assert tenant_ports is not None and ext_ports is not None
    assert "tap" + spec.interfaces[0].port_id[:11] in tenant_ports.bridge_ports
    assert "tap" + spec.gateway.port_id[:11] in ext_ports.bridge_ports
    assert harness.new_driver().list_routers() == harness.driver.list_routers()  # a restarted agent adopts it


def test_interfaces_and_gateway_removed_from_the_spec_disappear(harness: Harness) -> None:
    ext, one, two = external(harness), network(203), network(204)
    for net in (one, two):
        harness.driver.ensure_network(net)
    spec = router(ext, one, two)
    harness.driver.ensure_router(spec)

    harness.driver.ensure_router(replace(spec, gateway=None, interfaces=spec.interfaces[:1]))

    state = harness.driver.list_routers()[spec.router_id]
    assert (state.gateway, state.interfaces, state.snat) == (None, {spec.interfaces[0].port_id}, False)
    observed_two, observed_ext = harness.observe(two.network_id), harness.observe(ext.network_id)
    assert observed_two is not None and observed_two.bridge_ports == {f"vxlan-{two.vni}"}
    assert observed_ext is not None and observed_ext.bridge_ports == {f"vxlan-{ext.vni}"}


def test_delete_router_removes_its_namespace_and_devices(harness: Harness) -> None:
    ext, tenant = external(harness), network(205)
    harness.driver.ensure_network(tenant)
    spec = router(ext, tenant, floating=(FloatingIp(floating_ip="172.24.4.10", fixed_ip="10.0.0.5"),))
    harness.driver.ensure_router(spec)

    harness.driver.delete_router(spec.router_id)
    harness.driver.delete_router(spec.router_id)

    assert spec.router_id not in harness.driver.list_routers()
    assert not harness.has_router_namespace(spec.router_id)
    for net in (tenant, ext):
        observed = harness.observe(net.network_id)
        assert observed is not None and not observed.bridge_ports & taps(spec)
    assert not harness.ping(harness.outside(), "172.24.4.2")


def test_external_access_is_refused_on_a_missing_network(harness: Harness) -> None:
    with pytest.raises(DriverError):
        harness.driver.ensure_external_access(new_id(), HOST_CIDR)


# ---- what guests and the outside reach ----


def test_guest_reaches_its_router_and_the_outside_through_snat(harness: Harness) -> None:
    ext, tenant = external(harness), network(206)
    harness.driver.ensure_network(tenant)
    harness.driver.ensure_router(router(ext, tenant))
    guest = plug(harness, tenant, "10.0.0.5", 1)
    harness.listen(harness.outside(), 8080)

    assert harness.ping(guest, "10.0.0.1")
    assert harness.ping(guest, OUTSIDE)
    assert harness.connect(guest, OUTSIDE, 8080) == "172.24.4.2"  # the gateway's address: SNAT
    assert harness.ping(harness.outside(), "172.24.4.2")
    assert harness.connect(harness.outside(), "10.0.0.5", 22) is None  # no way in without a floating IP


def test_floating_ip_reaches_the_guest_and_is_its_source_until_removed(harness: Harness) -> None:
    ext, tenant = external(harness), network(207)
    harness.driver.ensure_network(tenant)
    spec = router(ext, tenant, floating=(FloatingIp(floating_ip="172.24.4.10", fixed_ip="10.0.0.5"),))
    harness.driver.ensure_router(spec)
    guest = plug(harness, tenant, "10.0.0.5", 1)
    outside = harness.outside()
    harness.listen(guest, 22)
    harness.listen(outside, 8080)

    assert harness.ping(outside, "172.24.4.10")
    assert harness.connect(outside, "172.24.4.10", 22) == OUTSIDE  # 1:1 NAT: the guest sees the real client
    assert harness.connect(guest, OUTSIDE, 8080) == "172.24.4.10"

    harness.driver.ensure_router(replace(spec, floating_ips=()))

    assert not harness.ping(outside, "172.24.4.10")
    assert harness.connect(outside, "172.24.4.10", 22) is None
    assert harness.connect(guest, OUTSIDE, 8080) == "172.24.4.2"  # back to the router's SNAT
    assert harness.driver.list_routers()[spec.router_id].floating_ips == ()


def test_two_tenants_with_the_same_cidr_are_routed_independently(harness: Harness) -> None:
    ext, one, two = external(harness), network(208), network(209)
    for net in (one, two):
        harness.driver.ensure_network(net)
    first = router(ext, one, gateway_ip="172.24.4.2", n=1, floating=(FloatingIp("172.24.4.10", "10.0.0.5"),))
    second = router(ext, two, gateway_ip="172.24.4.3", n=2, floating=(FloatingIp("172.24.4.11", "10.0.0.5"),))
    harness.driver.ensure_router(first)
    harness.driver.ensure_router(second)
    guest_one, guest_two = plug(harness, one, "10.0.0.5", 1), plug(harness, two, "10.0.0.5", 2)
    outside = harness.outside()
    harness.listen(guest_one, 2201)
    harness.listen(guest_two, 2202)
    harness.listen(outside, 8080)

    assert harness.connect(outside, "172.24.4.10", 2201) == OUTSIDE
    assert harness.connect(outside, "172.24.4.11", 2202) == OUTSIDE
    assert harness.connect(outside, "172.24.4.10", 2202) is None  # .10 is the first tenant's guest only
    assert harness.connect(outside, "172.24.4.11", 2201) is None
    assert harness.connect(guest_one, OUTSIDE, 8080) == "172.24.4.10"
    assert harness.connect(guest_two, OUTSIDE, 8080) == "172.24.4.11"

    harness.driver.delete_router(first.router_id)

    assert not harness.ping(outside, "172.24.4.10")
    assert harness.connect(outside, "172.24.4.11", 2202) == OUTSIDE
    assert not harness.ping(guest_one, OUTSIDE)
    assert harness.ping(guest_two, OUTSIDE)


def test_without_external_access_the_host_does_not_reach_floating_ips(harness: Harness) -> None:
    ext, tenant = external(harness), network(210)
    harness.driver.ensure_network(tenant)
    harness.driver.ensure_router(router(ext, tenant, floating=(FloatingIp("172.24.4.10", "10.0.0.5"),)))
    plug(harness, tenant, "10.0.0.5", 1)
    assert harness.ping(harness.outside(), "172.24.4.10")

    harness.driver.delete_external_access(ext.network_id)
    harness.driver.delete_external_access(ext.network_id)

    assert not harness.ping(harness.outside(), "172.24.4.10")
    harness.driver.ensure_external_access(ext.network_id, HOST_CIDR)
    assert harness.ping(harness.outside(), "172.24.4.10")


# ---- Linux only: the host's own NAT and the router's refusal of unsolicited traffic ----


@pytest.mark.root
def test_guests_reach_beyond_the_host_through_host_nat(linux: LinuxHarness) -> None:
    """guest -> router SNAT -> host masquerade -> a network the router knows nothing about (the "internet")."""
    ext, tenant = external(linux), network(211)
    linux.driver.ensure_network(tenant)
    linux.driver.ensure_router(router(ext, tenant))
    guest = plug(linux, tenant, "10.0.0.5", 1)
    host = linux.hosts[0].netns
    internet = linux.prefix + "internet"
    sh("ip", "netns", "add", internet)
    sh("ip", "-n", host, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", internet)
    sh("ip", "-n", host, "addr", "add", "203.0.113.1/24", "dev", "wan0")
    sh("ip", "-n", host, "link", "set", "wan0", "up")
    sh("ip", "-n", internet, "addr", "add", "203.0.113.2/24", "dev", "eth0")
    sh("ip", "-n", internet, "link", "set", "eth0", "up")  # and no route back to 172.24.4.0/24
    linux.listen(internet, 8080)

    assert linux.ping(guest, "203.0.113.2")
    assert linux.connect(guest, "203.0.113.2", 8080) == "203.0.113.1"

    linux.driver.delete_external_access(ext.network_id)
    assert not linux.ping(guest, "203.0.113.2")


@pytest.mark.root
def test_with_snat_the_outside_cannot_open_connections_to_fixed_addresses(linux: LinuxHarness) -> None:
    ext, tenant = external(linux), network(212)
    linux.driver.ensure_network(tenant)
    spec = router(ext, tenant)
    linux.driver.ensure_router(spec)
    guest = plug(linux, tenant, "10.0.0.5", 1)
    linux.listen(guest, 22)
    sh("ip", "-n", linux.hosts[0].netns, "route", "add", "10.0.0.0/24", "via", "172.24.4.2")

    assert linux.connect(linux.outside(), "10.0.0.5", 22) is None

    linux.driver.ensure_router(replace(spec, gateway=replace(spec.gateway, enable_snat=False)))  # routed, not NATed
    assert linux.connect(linux.outside(), "10.0.0.5", 22) == OUTSIDE


@pytest.mark.root
def test_the_router_namespace_holds_one_nat_table_and_forwards(linux: LinuxHarness) -> None:
    ext, tenant = external(linux), network(213)
    linux.driver.ensure_network(tenant)
    spec = router(ext, tenant, floating=(FloatingIp("172.24.4.10", "10.0.0.5"),))
    linux.driver.ensure_router(spec)
    namespace = linux.hosts[0].driver.routers.namespace(spec.router_id)

    tables = json.loads(sh("ip", "netns", "exec", namespace, "nft", "-j", "list", "tables").stdout)["nftables"]
    assert [t["table"]["name"] for t in tables if "table" in t] == ["andromede-router"]
    forwarding = subprocess.run(
        ["ip", "netns", "exec", namespace, "sysctl", "-n", "net.ipv4.ip_forward"],
        capture_output=True, text=True, check=True, timeout=5,
    )  # fmt: skip
    assert forwarding.stdout.strip() == "1"
    addresses = json.loads(sh("ip", "-n", namespace, "-j", "addr", "show").stdout)
    assert spec.gateway is not None
    qg = next(a for a in addresses if a["ifname"] == "qg-" + spec.gateway.port_id[:11])
    assert {(i["local"], i["prefixlen"]) for i in qg["addr_info"] if i["family"] == "inet"} == {
        ("172.24.4.2", 24),
        ("172.24.4.10", 32),
    }
    assert qg["address"] == spec.gateway.mac


@pytest.mark.root
def test_removing_a_floating_ip_forgets_its_connections(linux: LinuxHarness) -> None:
    ext, tenant = external(linux), network(214)
    linux.driver.ensure_network(tenant)
    spec = router(ext, tenant, floating=(FloatingIp("172.24.4.10", "10.0.0.5"),))
    linux.driver.ensure_router(spec)
    guest = plug(linux, tenant, "10.0.0.5", 1)
    linux.listen(guest, 22)
    namespace = linux.hosts[0].driver.routers.namespace(spec.router_id)

    def tracked() -> str:
        return sh("ip", "netns", "exec", namespace, "cat", "/proc/net/nf_conntrack").stdout

    with socket_in(linux.outside()) as client:
        client.settimeout(2)
        client.connect(("172.24.4.10", 22))
        assert "dst=172.24.4.10" in tracked()

        linux.driver.ensure_router(replace(spec, floating_ips=()))

        assert "172.24.4.10" not in tracked()  # established flows stop with the floating IP, not minutes later


# ---- extra routes (extraroute) ----


def _leg(net: NetworkSpec, ip: str, n: int) -> RouterInterface:
    return RouterInterface(port_id=new_id(), network_id=net.network_id, mac=mac(n), ip=ip, prefixlen=24)


def test_extra_routes_join_two_routers_through_a_transit_network(harness: Harness) -> None:
    left, transit, right = network(231), network(232), network(233)
    for net in (left, transit, right):
        harness.driver.ensure_network(net)
    r1 = RouterSpec(router_id=new_id(), gateway=None,
                    interfaces=(_leg(left, "10.0.0.1", 0x21), _leg(transit, "10.1.0.1", 0x22)))
    r2 = RouterSpec(router_id=new_id(), gateway=None,
                    interfaces=(_leg(right, "10.2.0.1", 0x23), _leg(transit, "10.1.0.2", 0x24)))
    harness.driver.ensure_router(r1)
    harness.driver.ensure_router(r2)
    a = plug(harness, left, "10.0.0.5", 1)
    c = plug(harness, right, "10.2.0.5", 2)
    assert not harness.ping(a, "10.2.0.5")  # neither router knows the other's network

    routed_r1 = replace(r1, routes=(ExtraRoute(destination="10.2.0.0/24", nexthop="10.1.0.2"),))
    routed_r2 = replace(r2, routes=(ExtraRoute(destination="10.0.0.0/24", nexthop="10.1.0.1"),))
    harness.driver.ensure_router(routed_r1)
    harness.driver.ensure_router(routed_r2)
    harness.driver.ensure_router(routed_r1)  # idempotent
    assert harness.ping(a, "10.2.0.5") and harness.ping(c, "10.0.0.5")

    harness.driver.ensure_router(r1)  # the route is withdrawn
    assert not harness.ping(a, "10.2.0.5")


def test_a_route_through_no_connected_subnet_is_refused() -> None:
    with pytest.raises(ValueError):
        RouterSpec(router_id=new_id(), gateway=None, interfaces=(_leg(network(234), "10.0.0.1", 0x25),),
                   routes=(ExtraRoute(destination="10.9.0.0/24", nexthop="192.0.2.1"),))
    with pytest.raises(ValueError):
        ExtraRoute(destination="10.9.0.5/24", nexthop="10.0.0.7")  # host bits set


def test_a_floating_ip_that_moves_is_announced_to_the_outside(linux: LinuxHarness) -> None:
    ext, first, second = external(linux), network(235), network(236)
    linux.driver.ensure_network(first)
    linux.driver.ensure_network(second)
    fip = (FloatingIp(floating_ip="172.24.4.10", fixed_ip="10.0.0.5"),)
    r1 = router(ext, first, gateway_ip="172.24.4.2", floating=fip, n=1)
    linux.driver.ensure_router(r1)
    outside = linux.outside()
    linux.ping(outside, "172.24.4.10")  # no guest answers, but the outside learns the address's MAC

    def neighbour() -> str | None:
        bridge = names.bridge_name(ext.network_id)  # other tests' external bridges may know the address too
        entries = json.loads(sh("ip", "-n", outside, "-j", "neigh", "show", "172.24.4.10", "dev", bridge).stdout
                             or "[]")
        return entries[0].get("lladdr") if entries else None

    assert neighbour() == mac(0x81)
    time.sleep(1.2)  # past the neighbour table's lock time, as any real move is
    linux.driver.ensure_router(replace(r1, floating_ips=()))
    linux.driver.ensure_router(router(ext, second, gateway_ip="172.24.4.3", floating=fip, n=2))
    deadline = time.monotonic() + 3
    while neighbour() != mac(0x82) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Without any traffic: the new router announced it (and the bridge kept its MAC, so nothing was flushed).
    assert neighbour() == mac(0x82), sh("ip", "-n", outside, "-j", "neigh", "show").stdout


def test_a_guest_reaches_a_neighbours_floating_ip_through_the_router(harness: Harness) -> None:
    ext, tenant = external(harness), network(237)
    harness.driver.ensure_network(tenant)
    floating = (FloatingIp(floating_ip="172.24.4.10", fixed_ip="10.0.0.5"),
                FloatingIp(floating_ip="172.24.4.11", fixed_ip="10.0.0.6"))
    harness.driver.ensure_router(router(ext, tenant, floating=floating))
    a = plug(harness, tenant, "10.0.0.5", 1)
    b = plug(harness, tenant, "10.0.0.6", 2)
    harness.listen(b, 22)
    harness.listen(a, 22)

    assert harness.ping(a, "172.24.4.11")
    assert harness.connect(a, "172.24.4.11", 22) == "172.24.4.2"  # hairpin: it arrives from the router
    assert harness.connect(a, "172.24.4.10", 22) == "172.24.4.2"  # its own floating IP too
    assert harness.connect(harness.outside(), "172.24.4.11", 22) == OUTSIDE  # from outside: the real client


@pytest.mark.root
def test_an_ipv6_slaac_subnet_is_advertised_and_guests_configure_themselves(linux: LinuxHarness) -> None:
    tenant = network(238)
    linux.driver.ensure_network(tenant)
    leg = dict(port_id=new_id(), network_id=tenant.network_id, mac=mac(0x21))
    v4 = RouterInterface(**leg, ip="10.0.0.1", prefixlen=24)
    v6 = RouterInterface(**leg, ip="2001:db8:38::1", prefixlen=64, ra_mode="slaac")
    spec = RouterSpec(router_id=new_id(), gateway=None, interfaces=(v4, v6))
    linux.driver.ensure_router(spec)
    guest_mac = mac(0x45)
    slaac = ipam.eui64("2001:db8:38::/64", guest_mac)  # the address the API gives such a port
    group = new_id()
    port = PortSpec(port_id=new_id(), network_id=tenant.network_id, mac=guest_mac, fixed_ips=("10.0.0.5", slaac),
                    security_group_ids=(group,))  # fmt: skip
    egress_any = tuple(SecurityGroupRule(direction="egress", ethertype=e) for e in ("IPv4", "IPv6"))
    linux.driver.ensure_security_groups((SecurityGroupSpec(group_id=group, rules=egress_any),))
    guest = linux.vm(port.port_id, port.mac, None)
    linux.driver.ensure_port(port)  # anti-spoofing on: the guest may only use the address it was given

    def configured() -> bool:
        found = json.loads(sh("ip", "-n", guest, "-j", "-6", "addr", "show", "dev", "eth0").stdout)[0]["addr_info"]
        return any(a["local"] == slaac and not a.get("tentative") for a in found)

    poll(configured, timeout=30, what=f"the guest's SLAAC address {slaac}")
    routes = json.loads(sh("ip", "-n", guest, "-j", "-6", "route", "show", "default").stdout)
    assert [(r["gateway"], r.get("protocol")) for r in routes] == [(link_local(spec.interfaces[0].mac), "ra")]
    assert linux.ping(guest, "2001:db8:38::1", count=2)

    namespace = linux.hosts[0].driver.routers.namespace(spec.router_id)
    advertising = linux.hosts[0].driver.routers.state_dir / spec.router_id / "pid"
    assert advertising.exists()
    linux.driver.ensure_router(replace(spec, interfaces=(v4, replace(v6, ra_mode=None))))
    assert not advertising.exists()  # nothing left to advertise: no process
    linux.driver.ensure_router(spec)
    assert advertising.exists()
    pid = int(advertising.read_text())
    linux.driver.delete_router(spec.router_id)
    assert not Path(f"/proc/{pid}").exists() and not linux.has_router_namespace(spec.router_id), namespace
