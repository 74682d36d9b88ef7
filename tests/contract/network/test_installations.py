"""`teardown` (andromede down --all) removes what the installation has on the host; two installations on one host
never see, collect or remove each other's networks, ports, routers or security groups."""

from __future__ import annotations

from pathlib import Path

from andromede.network.agent.drivers.base import (
    DhcpHost,
    NetworkDriver,
    PortSpec,
    RouterInterface,
    RouterSpec,
    SecurityGroupRule,
    SecurityGroupSpec,
)
from andromede.network.agent.drivers.linux import names
from tests.contract.network.harness import Harness, LinuxHarness, new_id, sh
from tests.contract.network.test_network_driver_conformance import dhcp, network

HOST_CIDR = "172.24.4.1/24"


def group() -> SecurityGroupSpec:
    return SecurityGroupSpec(group_id=new_id(), rules=(SecurityGroupRule(direction="ingress", ethertype="IPv4"),))


def build(driver: NetworkDriver, vni: int, mac_byte: int, *, external: bool = False) -> dict[str, str]:
    """A network with DHCP, a filtered port in a security group, and a router on it; the ids."""
    net = network(vni=vni)
    driver.ensure_network(net)
    if external:
        driver.ensure_external_access(net.network_id, HOST_CIDR)
    driver.ensure_dhcp(dhcp(net, DhcpHost(mac=f"fa:16:3e:00:{mac_byte:02x}:10", ip="10.20.0.10", hostname="vm")))
    sg = group()
    driver.ensure_security_groups((sg,))
    port = PortSpec(port_id=new_id(), network_id=net.network_id, mac=f"fa:16:3e:00:{mac_byte:02x}:10",
                    fixed_ips=("10.20.0.10",), security_group_ids=(sg.group_id,))
    driver.ensure_port(port)
    interface = RouterInterface(port_id=new_id(), network_id=net.network_id, mac=f"fa:16:3e:00:{mac_byte:02x}:01",
                                ip="10.20.0.1", prefixlen=24)
    router = RouterSpec(router_id=new_id(), gateway=None, interfaces=(interface,), floating_ips=())
    driver.ensure_router(router)
    return {"network": net.network_id, "port": port.port_id, "router": router.router_id, "group": sg.group_id}


def test_teardown_removes_everything_of_the_installation(harness: Harness) -> None:
    made = build(harness.driver, 3001, 0x31, external=True)

    harness.driver.teardown()

    assert harness.driver.list_networks() == {}
    assert harness.driver.list_ports() == {}
    assert harness.driver.list_routers() == {}
    assert harness.observe(made["network"]) is None
    assert not harness.has_router_namespace(made["router"])
    assert harness.driver.dhcp_hosts(made["network"]) is None
    harness.driver.teardown()  # idempotent


def test_two_installations_on_one_host_keep_to_their_own(linux: LinuxHarness) -> None:
    ours, theirs = linux.driver, linux.other_installation()
    mine = build(ours, 3002, 0x32, external=True)
    others = build(theirs, 3003, 0x33)

    assert set(ours.list_networks()) == {mine["network"]}
    assert set(theirs.list_networks()) == {others["network"]}
    assert set(ours.list_ports()) == {mine["port"]} and set(theirs.list_ports()) == {others["port"]}
    assert set(ours.list_routers()) == {mine["router"]} and set(theirs.list_routers()) == {others["router"]}
    # Garbage collection: our agent wants none of our groups any more; the other installation's group stays.
    ours.delete_port(mine["port"])
    ours.ensure_security_groups(())
    groups = {o for o in theirs.secgroups.table.objects() if o.startswith("g-")}
    assert any(others["group"] in o for o in groups) and not any(mine["group"] in o for o in groups)

    before = theirs.list_networks(), theirs.list_ports(), theirs.list_routers()
    ours.teardown()

    assert ours.list_networks() == {} and ours.list_routers() == {}
    assert linux.observe(mine["network"]) is None
    assert (theirs.list_networks(), theirs.list_ports(), theirs.list_routers()) == before
    assert theirs.dhcp_hosts(others["network"]) is not None  # its dnsmasq still serves
    assert linux.observe(others["network"]) is not None
    assert not any(mine["network"] in t for t in linux.nft_tables())  # the external table went
    assert {"andromede-ports", "andromede-sg"} <= linux.nft_tables()  # still used by the other installation

    theirs.teardown()

    assert not {t for t in linux.nft_tables() if t.startswith("andromede")}
    assert not Path(f"/run/netns/{names.router_namespace(theirs.config.namespace_prefix, others['router'])}").exists()
    assert not list((theirs.config.state_dir / "owned" / "network").iterdir())


def test_teardown_also_removes_what_lost_its_bridge(linux: LinuxHarness) -> None:
    net = network(vni=3004)
    linux.driver.ensure_network(net)
    linux.driver.ensure_dhcp(dhcp(net, DhcpHost(mac="fa:16:3e:00:34:10", ip="10.20.0.10", hostname="vm")))
    sh("ip", "-n", linux.hosts[0].netns, "link", "delete", names.bridge_name(net.network_id))  # by hand

    linux.driver.teardown()

    assert linux.driver.dhcp_hosts(net.network_id) is None
    namespace = names.dhcp_namespace(linux.driver.config.namespace_prefix, net.network_id)
    assert not Path(f"/run/netns/{namespace}").exists()
