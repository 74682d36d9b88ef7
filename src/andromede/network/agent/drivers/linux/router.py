"""Routers: one namespace each (Neutron's qrouter-<id>), veths into the networks' bridges, NAT in one nftables table.

Inside the namespace a router interface is qr-<port> and the gateway qg-<port>; their other ends are tap<port> on
the bridges, like the DHCP port's. The host ends carry no alias, so list_ports never mistakes them for guest ports;
the namespace ends carry one naming the port and network, which is how list_routers finds them again.

NAT (table ip andromede-router, replaced atomically with `nft -f -` on every ensure):
- prerouting: floating IP -> fixed IP (a map), from any side, so other routers and the host reach it alike;
- postrouting, leaving through the gateway: fixed IP -> its floating IP, else interface subnets -> gateway address;
- forward: with SNAT on, nothing from outside opens a connection to a tenant address it was not DNATed to, and
  nothing is sent back out of the gateway it came in through (a removed floating IP would otherwise loop).
The floating IPs are addresses (/32) on the gateway device, so the router answers ARP for them on the external bridge.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import sys
from collections.abc import Iterable
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from andromede.network.agent.drivers.base import (
    DriverError,
    ExtraRoute,
    FloatingIp,
    RouterSpec,
    RouterState,
    check_id,
)
from andromede.network.agent.drivers.linux import advertise, names
from andromede.network.agent.drivers.linux.links import Link, Links
from andromede.network.agent.drivers.linux.run import in_netns, run

NETNS_DIR = Path("/run/netns")
FAMILY = "ip"
TABLE = names.ROUTER_TABLE
SYSCTLS = ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
# Extra routes carry their own routing-protocol number, so the ones the router no longer has are found again
# (connected routes are the kernel's, the default route is static).
EXTRA_ROUTE_PROTO = 99
log = logging.getLogger("andromede.agent.network")


# ---- the ruleset (pure) ----


def snat_sources(spec: RouterSpec) -> list[str]:
    """The IPv4 interface subnets whose traffic leaves as the gateway address (none without SNAT)."""
    if spec.gateway is None or not spec.gateway.enable_snat:
        return []
    subnets = [i.subnet for i in spec.interfaces if i.subnet.version == 4]
    return [str(s) for s in ipaddress.collapse_addresses(subnets)]


def _elements(name: str, type_: str, elements: list[str], *, interval: bool = False) -> list[str]:
    kind = "map" if ":" in type_ else "set"
    lines = [f"  {kind} {name} {{", f"    type {type_}"]
    if interval:
        lines.append("    flags interval")
    if elements:
        lines.append(f"    elements = {{ {', '.join(elements)} }}")
    lines.append("  }")
    return lines


def render_router_table(spec: RouterSpec) -> str:
    """The router namespace's whole NAT table as nft input replacing any earlier version in one transaction.

    Every value comes from a validated spec (canonical addresses, UUID-derived device names).
    """
    floating = sorted(spec.floating_ips, key=lambda f: ipaddress.ip_address(f.floating_ip))
    lines = [
        f"table {FAMILY} {TABLE} {{}}",
        f"delete table {FAMILY} {TABLE}",
        f"table {FAMILY} {TABLE} {{",
        *_elements("floating_dnat", "ipv4_addr : ipv4_addr", [f"{f.floating_ip} : {f.fixed_ip}" for f in floating]),
        *_elements("floating_snat", "ipv4_addr : ipv4_addr", [f"{f.fixed_ip} : {f.floating_ip}" for f in floating]),
        *_elements("snat_sources", "ipv4_addr", snat_sources(spec), interval=True),
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
    ]
    if floating:
        lines.append("    dnat to ip daddr map @floating_dnat")
    lines += ["  }", "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;"]
    gateway = spec.gateway
    qg = names.router_gateway_name(gateway.port_id) if gateway is not None else None
    if gateway is not None:
        if floating:
            lines.append(f'    oifname "{qg}" snat to ip saddr map @floating_snat')
            # Hairpin: a guest that reaches a floating IP of its own router from inside must see the answer come
            # back through the router, so what was DNATed from an inside interface leaves as the gateway address.
            lines.append(f'    iifname != "{qg}" oifname != "{qg}" ct status dnat snat to {gateway.ip}')
        if gateway.enable_snat:
            lines.append(f'    oifname "{qg}" ip saddr @snat_sources snat to {gateway.ip}')
    lines += ["  }", "  chain forward {", "    type filter hook forward priority filter; policy accept;"]
    if gateway is not None:
        lines.append(f'    iifname "{qg}" oifname "{qg}" drop')
        if gateway.enable_snat:
            lines.append(f'    iifname "{qg}" ct state new ct status & dnat == 0 drop')
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def parse_router_table(listing: dict) -> tuple[tuple[FloatingIp, ...], bool]:
    """(floating IPs, SNAT loaded) from `nft -j list table ip andromede-router`."""
    floating: list[FloatingIp] = []
    snat = False
    for item in listing.get("nftables", []):
        if "map" in item and item["map"].get("name") == "floating_dnat":
            for outside, inside in item["map"].get("elem", []):
                floating.append(FloatingIp(floating_ip=outside, fixed_ip=inside))
        if "set" in item and item["set"].get("name") == "snat_sources":
            snat = bool(item["set"].get("elem"))
    floating.sort(key=lambda f: ipaddress.ip_address(f.floating_ip))
    return tuple(floating), snat


# ---- the kernel side ----


class Routers:
    """Router namespaces named with `prefix`, their devices plugged into bridges living in `links`' namespace."""

    def __init__(self, links: Links, prefix: str, state_dir: Path) -> None:
        self.links = links
        self.prefix = prefix
        self.state_dir = state_dir  # one directory per router, for its advertising process

    def _advertising_dir(self, router_id: str) -> Path:
        return self.state_dir / router_id

    def namespace(self, router_id: str) -> str:
        return names.router_namespace(self.prefix, router_id)

    def ensure(self, spec: RouterSpec) -> None:
        bridges = self._bridges(spec)  # every network first: nothing is built for a spec that cannot work
        namespace = self.namespace(spec.router_id)
        if not (NETNS_DIR / namespace).exists():
            run(["ip", "netns", "add", namespace])
        run(in_netns(namespace, ["sysctl", "-q", "-w", *SYSCTLS]))
        inside = Links(namespace)
        # NAT first: a floating IP's rules are gone before its address is, and in place before it appears.
        run(in_netns(namespace, ["nft", "-f", "-"]), stdin=render_router_table(spec))
        wanted: set[str] = set()
        by_port: dict[str, set[tuple[str, int]]] = {}
        for interface in spec.interfaces:
            by_port.setdefault(interface.port_id, set()).add((interface.ip, interface.prefixlen))
        for interface in spec.interfaces:
            device = names.router_interface_name(interface.port_id)
            if device in wanted:
                continue
            wanted.add(device)
            self._plug(
                inside, namespace, device, interface.port_id, interface.network_id, interface.mac,
                bridges[interface.network_id], by_port[interface.port_id], gateway=False,
            )  # fmt: skip
        removed_floating: set[str] = set()
        gateway = spec.gateway
        if gateway is not None:
            device = names.router_gateway_name(gateway.port_id)
            wanted.add(device)
            addresses = {(gateway.ip, gateway.prefixlen)} | {(f.floating_ip, 32) for f in spec.floating_ips}
            before = self._plug(
                inside, namespace, device, gateway.port_id, gateway.network_id, gateway.mac,
                bridges[gateway.network_id], addresses, gateway=True,
            )  # fmt: skip
            removed_floating = {address for address, prefix in before - addresses if prefix == 32}
            self._default_route(inside, device, gateway.upstream_gateway)
            announce(namespace, device, gateway.mac, sorted(a for a, _ in addresses - before))
        for link in inside.all():
            if link.name[:3] in ("qr-", "qg-") and link.name not in wanted:
                if link.name.startswith("qg-"):
                    removed_floating |= set(self._addresses(inside, link.name))
                inside.delete(link.name)  # takes its host end off the bridge with it
        self._extra_routes(inside, spec.routes)
        advertise.ensure(namespace, spec.interfaces, self._advertising_dir(spec.router_id))
        if removed_floating:
            flush_conntrack(namespace, removed_floating)

    def delete(self, router_id: str) -> None:
        check_id(router_id, "router_id")
        namespace = self.namespace(router_id)
        advertise.stop(self._advertising_dir(router_id))
        if (NETNS_DIR / namespace).exists():
            # The kernel dismantles a namespace lazily: remove the veths now so their bridge ends are gone on return.
            inside = Links(namespace)
            for link in inside.all():
                if link.kind == "veth":
                    inside.delete(link.name)
            run(["ip", "netns", "delete", namespace])  # its conntrack table goes with it

    def list(self, only: set[str] | None = None) -> dict[str, RouterState]:
        """The routers found on the host (those in `only` when given)."""
        found: dict[str, RouterState] = {}
        for path in sorted(NETNS_DIR.glob(f"{self.prefix}{names.ROUTER_NAMESPACE}*")):
            router_id = names.router_of_namespace(self.prefix, path.name)
            try:
                check_id(router_id or "", "router_id")
            except ValueError:
                continue
            if only is not None and router_id not in only:
                continue
            assert router_id is not None
            gateway: str | None = None
            interfaces: set[str] = set()
            for link in Links(path.name).all():
                owner = names.parse_router_device_alias(link.alias)
                if owner is None:
                    continue
                if owner[2]:
                    gateway = owner[0]
                else:
                    interfaces.add(owner[0])
            try:
                listing = json.loads(run(in_netns(path.name, ["nft", "-j", "list", "table", FAMILY, TABLE])) or "{}")
            except DriverError:
                listing = {}
            floating, snat = parse_router_table(listing)
            found[router_id] = RouterState(
                router_id=router_id,
                gateway=gateway,
                interfaces=frozenset(interfaces),
                floating_ips=floating,
                snat=snat,
            )
        return found

    # ---- helpers ----

    def _bridges(self, spec: RouterSpec) -> dict[str, Link]:
        wanted = {i.network_id for i in spec.interfaces}
        if spec.gateway is not None:
            wanted.add(spec.gateway.network_id)
        found = {}
        for network_id in sorted(wanted):
            bridge = self.links.get(names.bridge_name(network_id))
            if bridge is None or names.parse_network_alias(bridge.alias) != network_id:
                raise DriverError(f"network {network_id} does not exist on this host")
            found[network_id] = bridge
        return found

    def _plug(
        self,
        inside: Links,
        namespace: str,
        device: str,
        port_id: str,
        network_id: str,
        mac: str,
        bridge: Link,
        addresses: set[tuple[str, int]],
        *,
        gateway: bool,
    ) -> set[tuple[str, int]]:
        """A veth from the namespace (`device`) to the bridge (tap<port>), configured; the addresses it had."""
        outer = names.tap_name(port_id)
        existing = self.links.get(outer)
        if existing is not None and inside.get(device) is None:
            # A host end whose peer is not ours: a leftover veth we may replace, or someone else's device.
            if existing.kind != "veth" or existing.alias is not None:
                raise DriverError(f"device {outer} exists and is not router {namespace}'s port {port_id}")
            self.links.delete(outer)
        self.links.ensure_veth(outer, peer=device, peer_netns=namespace, peer_mac=mac)
        self.links.configure(outer, mtu=bridge.mtu, master=bridge.name)
        alias = names.router_device_alias(port_id, network_id, gateway=gateway)
        inside.configure(device, mtu=bridge.mtu, alias=alias, mac=mac)
        before = set(self._addresses(inside, device).items())
        inside.ensure_addresses(device, addresses)
        return before

    @staticmethod
    def _addresses(inside: Links, device: str) -> dict[str, int]:
        with inside._ipr() as ipr:
            index = ipr.link_lookup(ifname=device)
            if not index:
                return {}
            return {
                a.get_attr("IFA_ADDRESS"): a["prefixlen"]
                for a in ipr.get_addr(index=index[0])
                if a["scope"] == 0 and a["family"] == socket.AF_INET
            }

    @staticmethod
    def _default_route(inside: Links, device: str, upstream: str | None) -> None:
        with inside._ipr() as ipr:
            index = ipr.link_lookup(ifname=device)[0]
            present = [
                (r.get_attr("RTA_GATEWAY"), r.get_attr("RTA_OIF"))
                for r in ipr.route("dump", family=socket.AF_INET, dst_len=0, table=254)
            ]
            if upstream is None:
                for hop, _ in present:
                    ipr.route("del", dst="0.0.0.0/0", gateway=hop)
            elif present != [(upstream, index)]:
                ipr.route("replace", dst="0.0.0.0/0", gateway=upstream, oif=index)


    @staticmethod
    def _extra_routes(inside: Links, routes: tuple[ExtraRoute, ...]) -> None:
        """Exactly these extra routes. One whose nexthop is unreachable now (its subnet left the router) is
        skipped with a warning: the router's other work stands, and the next pass tries again."""
        wanted = {(route.destination, route.nexthop) for route in routes}
        with inside._ipr() as ipr:
            present = set()
            for family in (socket.AF_INET, socket.AF_INET6):
                for r in ipr.route("dump", family=family, table=254):
                    if r["proto"] == EXTRA_ROUTE_PROTO:
                        present.add((f"{r.get_attr('RTA_DST')}/{r['dst_len']}", r.get_attr("RTA_GATEWAY")))
            for destination, nexthop in present - wanted:
                with contextlib.suppress(NetlinkError):
                    ipr.route("del", dst=destination, gateway=nexthop, table=254, proto=EXTRA_ROUTE_PROTO)
            for destination, nexthop in sorted(wanted - present):
                try:
                    ipr.route("replace", dst=destination, gateway=nexthop, table=254, proto=EXTRA_ROUTE_PROTO)
                except NetlinkError as exc:
                    log.warning("route %s via %s not installed: %s", destination, nexthop, exc)


def announce(namespace: str, device: str, mac: str, addresses: list[str]) -> None:
    """Gratuitous ARP for addresses the gateway just took (garp.py). Best effort: without it, neighbours only
    learn the move when their stale ARP entries expire."""
    v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
    if not v4:
        return
    argv = [sys.executable, "-m", "andromede.network.agent.drivers.linux.garp", device, mac, *v4]
    try:
        run(in_netns(namespace, argv))
    except DriverError as exc:
        log.warning("gratuitous ARP for %s in %s failed: %s", ", ".join(v4), namespace, exc)


def flush_conntrack(namespace: str, addresses: Iterable[str]) -> None:
    """Forget connections NATed to or from removed floating IPs, so established flows stop with them (best effort:
    a failure leaves those flows to time out, which is what a router without this would do)."""
    from pyroute2 import Conntrack  # imported here: nfnetlink is only needed when floating IPs go away

    gone = set(addresses)
    with contextlib.suppress(NetlinkError, OSError, DriverError), Conntrack(netns=namespace) as conntrack:
        for entry in list(conntrack.dump_entries()):
            if entry.tuple_orig.daddr in gone or entry.tuple_reply.daddr in gone:
                with contextlib.suppress(NetlinkError):
                    conntrack.delete(entry)
