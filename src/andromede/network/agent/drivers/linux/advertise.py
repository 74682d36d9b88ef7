"""IPv6 router advertisements from a router's namespace (Neutron's radvd), by a dnsmasq that serves no addresses
(for dhcpv6-stateless it also answers DHCPv6 information requests, with nothing to give yet).

A router interface on an IPv6 subnet whose `ipv6_ra_mode` is slaac or dhcpv6-stateless announces the subnet's
/64 with the autonomous flag, so guests make their own address from it (the EUI-64 address the port was given)
and route through the router's link-local address. The command line names every advertised interface and prefix:
a change restarts the process; no interface to advertise stops it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from andromede.network.agent.drivers.base import DriverError, RouterInterface
from andromede.network.agent.drivers.linux import dnsmasq, names
from andromede.network.agent.drivers.linux.run import in_netns, run

# ipv6_ra_mode -> dnsmasq's range mode (ra-stateless: the O flag too, for DNS and the like over DHCPv6).
MODES = {"slaac": "ra-only", "dhcpv6-stateless": "ra-stateless"}
INTERVAL_S = 10
ROUTER_LIFETIME_S = 1800


def advertised(interfaces: Iterable[RouterInterface]) -> list[RouterInterface]:
    return [i for i in interfaces if i.ra_mode in MODES and i.subnet.version == 6]


def command(interfaces: list[RouterInterface], paths: dnsmasq.DhcpPaths) -> list[str]:
    devices = sorted({names.router_interface_name(i.port_id) for i in interfaces})
    argv = [
        "dnsmasq",
        *dnsmasq.drop_to_user(),
        "--conf-file=/dev/null",
        "--no-hosts",
        "--no-resolv",
        "--port=0",
        "--bind-interfaces",
        *(f"--interface={device}" for device in devices),
        "--except-interface=lo",
        f"--pid-file={paths.pid}",
        "--leasefile-ro",
        "--enable-ra",
    ]
    for interface in sorted(interfaces, key=lambda i: (i.port_id, i.ip)):
        assert interface.ra_mode is not None
        subnet = interface.subnet
        argv.append(f"--dhcp-range={subnet.network_address},{MODES[interface.ra_mode]},{subnet.prefixlen}")
    argv += [f"--ra-param={device},{INTERVAL_S},{ROUTER_LIFETIME_S}" for device in devices]
    return argv


def ensure(namespace: str, interfaces: Iterable[RouterInterface], directory: Path) -> None:
    """Advertise exactly these interfaces' prefixes from `namespace` (or nothing, and no process)."""
    paths = dnsmasq.DhcpPaths(directory)
    wanted = advertised(interfaces)
    if not wanted:
        stop(directory)
        return
    argv = command(wanted, paths)
    pid = dnsmasq.running_pid(paths)
    if pid is not None and dnsmasq.command_line(pid) == argv:
        return
    stop(directory)
    directory.mkdir(parents=True, exist_ok=True)
    run(in_netns(namespace, argv), timeout=10.0)  # daemonises once its pid file is written
    if dnsmasq.running_pid(paths) is None:
        raise DriverError(f"router advertisements in {namespace} did not stay up")


def stop(directory: Path) -> None:
    dnsmasq.stop(dnsmasq.DhcpPaths(directory))
