"""What every network driver does, checked the same way against the fake and against Linux.

The Linux runs build each "host" in a network namespace of its own; guests are namespaces whose eth0 is the
peer of a veth named like the port's tap, which ensure_port adopts as it would adopt a tap QEMU created.
"""

from __future__ import annotations

import json
import pwd
import subprocess
from pathlib import Path

import pytest

from andromede.network.agent.drivers.base import (
    AddressPair,
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    DriverError,
    NetworkSpec,
    PortSpec,
    SecurityGroupRule,
    SecurityGroupSpec,
)
from andromede.network.agent.drivers.linux import names
from andromede.network.agent.drivers.linux.nft import link_local
from tests.contract.network.harness import Harness, LinuxHarness, new_id, sh
from tests.support.polling import poll

CIDR = "10.20.0.0/24"
# With port security on, a port passes only what its security groups allow: the data-plane checks below
# give their ports this allow-everything group (security groups have their own suite).
OPEN = SecurityGroupSpec(
    group_id="00000000-0000-4000-8000-000000000001",
    rules=tuple(SecurityGroupRule(direction=d, ethertype=e) for d in ("ingress", "egress") for e in ("IPv4", "IPv6")),
)


def network(vni: int = 1001, mtu: int = 1450, **kw: object) -> NetworkSpec:
    return NetworkSpec(network_id=new_id(), vni=vni, mtu=mtu, **kw)  # type: ignore[arg-type]


def port(net: NetworkSpec, mac: str, *ips: str, **kw: object) -> PortSpec:
    return PortSpec(port_id=new_id(), network_id=net.network_id, mac=mac, fixed_ips=ips, **kw)  # type: ignore[arg-type]


def dhcp(net: NetworkSpec, *hosts: DhcpHost) -> DhcpSpec:
    subnet = DhcpSubnet(subnet_id=new_id(), cidr=CIDR, server_address="10.20.0.2", gateway="10.20.0.1")
    return DhcpSpec(
        network_id=net.network_id, port_id=new_id(), mac="fa:16:3e:00:00:02", subnets=(subnet,), hosts=hosts, mtu=1450
    )


# ---- networks ----


def test_ensure_network_builds_bridge_over_vxlan_and_is_idempotent(harness: Harness) -> None:
    net = network(vni=4242, mtu=1400)
    harness.driver.ensure_network(net)
    harness.driver.ensure_network(net)

    observed = harness.observe(net.network_id)
    assert observed is not None
    assert (observed.vni, observed.mtu) == (4242, 1400)
    assert observed.bridge_ports == {"vxlan-4242"}
    state = harness.driver.list_networks()[net.network_id]
    assert (state.vni, state.mtu, state.dhcp) == (4242, 1400, False)


def test_ensure_network_follows_a_changed_vni_and_mtu(harness: Harness) -> None:
    net = network(vni=11)
    harness.driver.ensure_network(net)
    changed = NetworkSpec(network_id=net.network_id, vni=12, mtu=1300)
    harness.driver.ensure_network(changed)

    observed = harness.observe(net.network_id)
    assert observed is not None
    assert (observed.vni, observed.mtu, observed.bridge_ports) == (12, 1300, {"vxlan-12"})


def test_delete_network_removes_it_and_is_idempotent(harness: Harness) -> None:
    net = network()
    harness.driver.ensure_network(net)
    harness.driver.ensure_dhcp(dhcp(net))

    harness.driver.delete_network(net.network_id)
    harness.driver.delete_network(net.network_id)

    assert harness.observe(net.network_id) is None
    assert net.network_id not in harness.driver.list_networks()
    assert harness.driver.dhcp_hosts(net.network_id) is None


# ---- ports ----


def test_port_joins_its_network_bridge_filtered(harness: Harness) -> None:
    net = network()
    harness.driver.ensure_network(net)
    spec = port(net, "fa:16:3e:00:00:10", "10.20.0.10")

    harness.driver.ensure_port(spec)
    harness.driver.ensure_port(spec)

    observed = harness.observe(net.network_id)
    assert observed is not None and "tap" + spec.port_id[:11] in observed.bridge_ports
    state = harness.driver.list_ports()[spec.port_id]
    assert (state.network_id, state.device, state.attached, state.filtered) == (
        net.network_id,
        "tap" + spec.port_id[:11],
        True,
        True,
    )


def test_port_without_port_security_has_no_filter(harness: Harness) -> None:
    net = network()
    harness.driver.ensure_network(net)
    spec = port(net, "fa:16:3e:00:00:11", "10.20.0.11")
    harness.driver.ensure_port(spec)

    harness.driver.ensure_port(PortSpec(**{**spec.__dict__, "port_security": False}))

    state = harness.driver.list_ports()[spec.port_id]
    assert state.attached and not state.filtered


def test_port_on_a_missing_network_is_refused(harness: Harness) -> None:
    with pytest.raises(DriverError):
        harness.driver.ensure_port(port(network(), "fa:16:3e:00:00:12"))
    assert harness.driver.list_ports() == {}


def test_delete_port_removes_device_and_filter(harness: Harness) -> None:
    net = network()
    harness.driver.ensure_network(net)
    spec = port(net, "fa:16:3e:00:00:13", "10.20.0.13")
    harness.driver.ensure_port(spec)

    harness.driver.delete_port(spec.port_id)
    harness.driver.delete_port(spec.port_id)

    assert spec.port_id not in harness.driver.list_ports()
    observed = harness.observe(net.network_id)
    assert observed is not None and observed.bridge_ports == {f"vxlan-{net.vni}"}


def test_a_new_driver_adopts_what_exists(harness: Harness) -> None:
    net = network(vni=77)
    harness.driver.ensure_network(net)
    harness.driver.ensure_dhcp(dhcp(net, DhcpHost(mac="fa:16:3e:00:00:14", ip="10.20.0.14", hostname="vm-14")))
    spec = port(net, "fa:16:3e:00:00:14", "10.20.0.14")
    harness.driver.ensure_port(spec)

    fresh = harness.new_driver()

    assert fresh.list_networks()[net.network_id].vni == 77
    assert fresh.list_networks()[net.network_id].dhcp
    assert fresh.list_ports()[spec.port_id].network_id == net.network_id
    hosts = fresh.dhcp_hosts(net.network_id)
    assert hosts is not None and [h.ip for h in hosts] == ["10.20.0.14"]
    fresh.delete_port(spec.port_id)
    fresh.delete_network(net.network_id)
    assert fresh.list_ports() == {} and fresh.list_networks() == {}


# ---- DHCP ----


def test_dhcp_follows_its_host_list(harness: Harness) -> None:
    net = network()
    harness.driver.ensure_network(net)
    first = DhcpHost(mac="fa:16:3e:00:00:20", ip="10.20.0.20", hostname="a")
    second = DhcpHost(mac="fa:16:3e:00:00:21", ip="10.20.0.21", hostname="b.example")
    spec = dhcp(net, first)
    harness.driver.ensure_dhcp(spec)
    harness.driver.ensure_dhcp(spec)
    assert harness.driver.dhcp_hosts(net.network_id) == (first,)

    harness.driver.ensure_dhcp(DhcpSpec(**{**spec.__dict__, "hosts": (first, second)}))

    assert harness.driver.dhcp_hosts(net.network_id) == (first, second)
    assert harness.driver.list_networks()[net.network_id].dhcp


def test_dhcp_on_a_missing_network_is_refused(harness: Harness) -> None:
    with pytest.raises(DriverError):
        harness.driver.ensure_dhcp(dhcp(network()))


# ---- the data plane, Linux only ----


@pytest.mark.root
def test_two_ports_on_a_network_reach_each_other(linux: LinuxHarness) -> None:
    net = network()
    linux.driver.ensure_network(net)
    linux.driver.ensure_security_groups((OPEN,))
    a = port(net, "fa:16:3e:00:00:31", "10.20.0.31", security_group_ids=(OPEN.group_id,))
    b = port(net, "fa:16:3e:00:00:32", "10.20.0.32", security_group_ids=(OPEN.group_id,))
    vm_a = linux.vm(a.port_id, a.mac, "10.20.0.31/24")
    linux.vm(b.port_id, b.mac, "10.20.0.32/24")
    linux.driver.ensure_port(a)
    linux.driver.ensure_port(b)

    assert linux.ping(vm_a, "10.20.0.32")


@pytest.mark.root
def test_networks_are_isolated(linux: LinuxHarness) -> None:
    one, two = network(vni=2001), network(vni=2002)
    linux.driver.ensure_network(one)
    linux.driver.ensure_network(two)
    a = port(one, "fa:16:3e:00:00:41", "10.20.0.41")
    b = port(two, "fa:16:3e:00:00:42", "10.20.0.42")  # same CIDR on another network
    vm_a = linux.vm(a.port_id, a.mac, "10.20.0.41/24")
    linux.vm(b.port_id, b.mac, "10.20.0.42/24")
    linux.driver.ensure_port(a)
    linux.driver.ensure_port(b)

    assert not linux.ping(vm_a, "10.20.0.42")


@pytest.mark.root
def test_vxlan_carries_a_network_between_hosts(linux: LinuxHarness) -> None:
    other = linux.add_host()
    net_here = network(vni=3003, remote_vteps=(other.vtep,))
    net_there = NetworkSpec(network_id=net_here.network_id, vni=3003, remote_vteps=(linux.hosts[0].vtep,))
    linux.driver.ensure_network(net_here)
    other.driver.ensure_network(net_there)
    linux.driver.ensure_security_groups((OPEN,))
    other.driver.ensure_security_groups((OPEN,))
    a = port(net_here, "fa:16:3e:00:00:51", "10.20.0.51", security_group_ids=(OPEN.group_id,))
    b = port(net_here, "fa:16:3e:00:00:52", "10.20.0.52", security_group_ids=(OPEN.group_id,))
    vm_a = linux.vm(a.port_id, a.mac, "10.20.0.51/24")
    linux.vm(b.port_id, b.mac, "10.20.0.52/24", host=other)
    linux.driver.ensure_port(a)
    other.driver.ensure_port(b)

    assert linux.ping(vm_a, "10.20.0.52")


@pytest.mark.root
def test_dhcp_gives_a_port_exactly_its_fixed_address(linux: LinuxHarness) -> None:
    net = network()
    linux.driver.ensure_network(net)
    a = port(net, "fa:16:3e:00:00:61", "10.20.0.61")
    stranger = port(net, "fa:16:3e:00:00:62")
    linux.driver.ensure_dhcp(dhcp(net, DhcpHost(mac=a.mac, ip="10.20.0.61", hostname="vm-61")))
    vm_a = linux.vm(a.port_id, a.mac, None)
    vm_stranger = linux.vm(stranger.port_id, stranger.mac, None)
    linux.driver.ensure_port(a)
    linux.driver.ensure_port(stranger)

    lease = linux.dhcp_lease(vm_a)
    assert lease is not None
    assert (lease["ip"], lease.get("router"), lease.get("hostname"), lease.get("mtu")) == (
        "10.20.0.61",
        "10.20.0.1",
        "vm-61",
        "1450",
    )
    assert linux.dhcp_lease(vm_stranger) is None  # static leases only: no pool for unknown MACs
    # dnsmasq gave up root for an account of its own (Debian's `dnsmasq`), shared with no VM and no other daemon.
    owners = {int(status.read_text().split("Uid:")[1].split()[0])
              for status in Path("/proc").glob("[0-9]*/status")
              if str(linux.state_dir).encode() in _cmdline(status.parent) and b"dnsmasq" in _cmdline(status.parent)}
    assert owners == {pwd.getpwnam("dnsmasq").pw_uid}


@pytest.mark.root
def test_a_ports_own_dhcp_options_reach_it_and_only_it(linux: LinuxHarness) -> None:
    net = network()
    linux.driver.ensure_network(net)
    a = port(net, "fa:16:3e:00:00:63", "10.20.0.63")
    b = port(net, "fa:16:3e:00:00:64", "10.20.0.64")
    own = DhcpHost(mac=a.mac, ip="10.20.0.63", hostname="vm-63",
                   options=(("mtu", "1400"), ("ntp-server", "10.20.0.99"), ("15", "example.test")))
    linux.driver.ensure_dhcp(dhcp(net, own, DhcpHost(mac=b.mac, ip="10.20.0.64", hostname="vm-64")))
    vm_a, vm_b = linux.vm(a.port_id, a.mac, None), linux.vm(b.port_id, b.mac, None)
    linux.driver.ensure_port(a)
    linux.driver.ensure_port(b)

    lease_a, lease_b = linux.dhcp_lease(vm_a), linux.dhcp_lease(vm_b)
    assert lease_a is not None and lease_b is not None
    # The port's MTU wins over the network's; its other options come on top of the subnet's.
    assert (lease_a.get("mtu"), lease_a.get("ntpsrv"), lease_a.get("domain")) == ("1400", "10.20.0.99", "example.test")
    assert (lease_b.get("mtu"), lease_b.get("ntpsrv"), lease_b.get("domain")) == ("1450", None, "openstacklocal")
    assert linux.driver.dhcp_hosts(net.network_id)[0] == own


@pytest.mark.root
def test_a_port_that_forges_its_ip_or_mac_gets_nowhere(linux: LinuxHarness) -> None:
    net = network()
    linux.driver.ensure_network(net)
    linux.driver.ensure_security_groups((OPEN,))
    a = port(
        net,
        "fa:16:3e:00:00:71",
        "10.20.0.71",
        allowed_address_pairs=(AddressPair(cidr="10.20.0.128/25"),),
        security_group_ids=(OPEN.group_id,),
    )
    b = port(net, "fa:16:3e:00:00:72", "10.20.0.72", security_group_ids=(OPEN.group_id,))
    vm_a = linux.vm(a.port_id, a.mac, "10.20.0.71/24")
    linux.vm(b.port_id, b.mac, "10.20.0.72/24")
    linux.driver.ensure_port(a)
    linux.driver.ensure_port(b)
    assert linux.ping(vm_a, "10.20.0.72")

    def readdress(cidr: str) -> None:
        for change in (
            ["addr", "flush", "dev", "eth0"],
            ["addr", "add", cidr, "dev", "eth0"],
            ["neigh", "flush", "all"],
        ):
            subprocess.run(["ip", "-n", vm_a, *change], check=True, timeout=5)

    readdress("10.20.0.99/24")  # not its address
    assert not linux.ping(vm_a, "10.20.0.72")
    readdress("10.20.0.200/24")  # inside an allowed address pair
    assert linux.ping(vm_a, "10.20.0.72")

    readdress("10.20.0.71/24")
    subprocess.run(["ip", "-n", vm_a, "link", "set", "eth0", "address", "fa:16:3e:00:00:99"], check=True, timeout=5)
    assert not linux.ping(vm_a, "10.20.0.72")


@pytest.mark.root
def test_the_host_takes_no_address_on_tenant_devices_yet_guests_talk_ipv6(linux: LinuxHarness) -> None:
    net = network()
    linux.driver.ensure_network(net)
    a = port(net, "fa:16:3e:00:00:65", "10.20.0.65", port_security=False)
    b = port(net, "fa:16:3e:00:00:66", "10.20.0.66", port_security=False)
    vm_a = linux.vm(a.port_id, a.mac, None)
    linux.vm(b.port_id, b.mac, None)
    linux.driver.ensure_port(a)
    linux.driver.ensure_port(b)
    server = dhcp(net, DhcpHost(mac=a.mac, ip="10.20.0.65", hostname="vm-65"))
    linux.driver.ensure_dhcp(server)
    b_link_local = link_local(b.mac)

    def reachable() -> bool:  # the guests' own link-local addresses, once DAD is done
        return linux.ping(vm_a, f"{b_link_local}%eth0")

    poll(reachable, timeout=20, what="guest A to reach guest B over IPv6")
    host = linux.hosts[0].netns
    tenant_side = {names.bridge_name(net.network_id), names.vxlan_name(net.vni), names.tap_name(a.port_id),
                   names.tap_name(b.port_id), names.tap_name(server.port_id)}
    devices = {d["ifname"]: d["addr_info"] for d in json.loads(sh("ip", "-n", host, "-j", "addr", "show").stdout)}
    assert tenant_side <= set(devices)
    assert {name: devices[name] for name in tenant_side if devices[name]} == {}


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""
