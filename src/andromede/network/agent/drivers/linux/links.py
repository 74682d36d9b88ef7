"""Network devices through netlink (pyroute2): bridges, VXLAN, taps and veth pairs in one namespace."""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyroute2 import IPRoute, NetNS
from pyroute2.netlink.exceptions import NetlinkError

from andromede.network.agent.drivers.base import DriverError
from andromede.network.agent.drivers.linux.run import in_netns, run

VXLAN_PORT = 4789
BRIDGE_AGEING_CENTISECONDS = 300 * 100  # the kernel counts bridge ageing in clock_t (1/100 s)
VXLAN_AGEING_SECONDS = 300
FLOOD_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str | None
    alias: str | None
    master: int | None
    mtu: int
    up: bool
    vni: int | None = None
    vxlan_local: str | None = None
    mac: str | None = None


def _parse(message: Any) -> Link:  # pyroute2 messages are untyped
    info = message.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    vni = local = None
    if kind == "vxlan":
        data = info.get_attr("IFLA_INFO_DATA")
        vni = data.get_attr("IFLA_VXLAN_ID")
        local = data.get_attr("IFLA_VXLAN_LOCAL")
    return Link(
        index=message["index"],
        name=message.get_attr("IFLA_IFNAME"),
        kind=kind,
        alias=message.get_attr("IFLA_IFALIAS"),
        master=message.get_attr("IFLA_MASTER"),
        mtu=message.get_attr("IFLA_MTU"),
        up=bool(message["flags"] & 1),
        vni=vni,
        vxlan_local=local,
        mac=message.get_attr("IFLA_ADDRESS"),
    )


class Links:
    """Opens a netlink socket per call: the agent is long-lived and namespaces come and go under it."""

    def __init__(self, netns: str | None) -> None:
        self.netns = netns

    @contextlib.contextmanager
    def _ipr(self) -> Iterator[IPRoute]:
        try:
            ipr = NetNS(self.netns) if self.netns else IPRoute()
        except (OSError, NetlinkError) as exc:
            raise DriverError(f"cannot open netlink in namespace {self.netns or '(host)'}: {exc}") from exc
        try:
            yield ipr
        except NetlinkError as exc:
            raise DriverError(f"netlink in namespace {self.netns or '(host)'}: {exc}") from exc
        finally:
            ipr.close()

    def all(self) -> list[Link]:
        with self._ipr() as ipr:
            return [_parse(m) for m in ipr.get_links()]

    def get(self, name: str) -> Link | None:
        with self._ipr() as ipr:
            try:
                return _parse(ipr.link("get", ifname=name)[0])
            except NetlinkError as exc:
                if exc.code == errno.ENODEV:
                    return None
                raise

    def delete(self, name: str) -> None:
        with self._ipr() as ipr:
            try:
                ipr.link("del", ifname=name)
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    raise

    def configure(
        self,
        name: str,
        *,
        mtu: int | None = None,
        master: str | None = None,
        alias: str | None = None,
        mac: str | None = None,
    ) -> Link:
        """Set what differs and bring the device up."""
        with self._ipr() as ipr:
            link = _parse(ipr.link("get", ifname=name)[0])
            changes: dict[str, object] = {}
            if mtu is not None and link.mtu != mtu:
                changes["mtu"] = mtu
            if alias is not None and link.alias != alias:
                changes["ifalias"] = alias
            if mac is not None and link.mac != mac:
                changes["address"] = mac
            if master is not None:
                master_index = ipr.link_lookup(ifname=master)[0]
                if link.master != master_index:
                    changes["master"] = master_index
            if not link.up:
                changes["state"] = "up"
            if changes:
                ipr.link("set", index=link.index, **changes)
            return _parse(ipr.link("get", index=link.index)[0])

    def keep_host_off(self, name: str, found: Link | None) -> None:
        """The host stack takes no IPv6 address on this tenant-side device, not even a link-local one: guests
        cannot reach the host's own services through it, and the host's neighbour discovery and multicast
        reports never go out on tenant segments. Frames still cross the bridge (that is layer 2).
        `found`: the device as it was before the caller's change (None: just made). Done when it is new or still
        down (it gets its link-local address when it comes up), or has an IPv6 address (made by someone else, or
        before this existed)."""
        if found is not None and found.up:
            with self._ipr() as ipr:
                if not ipr.get_addr(family=socket.AF_INET6, index=found.index):
                    return
        run(in_netns(self.netns, ["sysctl", "-q", "-w", f"net/ipv6/conf/{name}/disable_ipv6=1"]))

    def ensure_bridge(self, name: str, *, mtu: int, alias: str, mac: str) -> None:
        found = self.get(name)
        if found is None:
            with self._ipr() as ipr:
                ipr.link(
                    "add",
                    ifname=name,
                    kind="bridge",
                    address=mac,
                    br_stp_state=0,
                    br_forward_delay=0,
                    br_ageing_time=BRIDGE_AGEING_CENTISECONDS,
                )
        self.keep_host_off(name, found)
        self.configure(name, mtu=mtu, alias=alias, mac=mac)  # bridges made before fixed MACs get theirs once

    def ensure_vxlan(self, name: str, *, vni: int, local: str, device: str | None, mtu: int, bridge: str) -> None:
        existing = self.get(name)
        if existing is not None and (existing.kind != "vxlan" or existing.vni != vni or existing.vxlan_local != local):
            self.delete(name)
            existing = None
        if existing is None:
            with self._ipr() as ipr:
                options: dict[str, object] = {}
                if device is not None:
                    options["vxlan_link"] = ipr.link_lookup(ifname=device)[0]
                ipr.link(
                    "add",
                    ifname=name,
                    kind="vxlan",
                    vxlan_id=vni,
                    vxlan_local=local,
                    vxlan_port=VXLAN_PORT,
                    vxlan_learning=1,
                    vxlan_ageing=VXLAN_AGEING_SECONDS,
                    **options,
                )
        self.keep_host_off(name, existing)
        self.configure(name, mtu=mtu, master=bridge)

    def ensure_flood_list(self, name: str, remotes: tuple[str, ...]) -> None:
        """All-zero FDB entries: broadcast and unknown unicast go to every remote VTEP (head-end replication)."""
        with self._ipr() as ipr:
            index = ipr.link_lookup(ifname=name)[0]
            present = set()
            for entry in ipr.fdb("dump", ifindex=index):
                if entry.get_attr("NDA_LLADDR") == FLOOD_MAC and entry["ifindex"] == index:
                    present.add(entry.get_attr("NDA_DST"))
            for remote in set(remotes) - present:
                ipr.fdb("append", ifindex=index, lladdr=FLOOD_MAC, dst=remote)
            for stale in present - set(remotes) - {None}:
                ipr.fdb("del", ifindex=index, lladdr=FLOOD_MAC, dst=stale)

    def ensure_tap(self, name: str) -> None:
        """A persistent tap QEMU can open by name (-netdev tap,ifname=...,script=no). Any existing device is kept."""
        found = self.get(name)
        if found is None:
            with self._ipr() as ipr:
                ipr.link("add", ifname=name, kind="tuntap", mode="tap", iff_no_pi=True, iff_vnet_hdr=True)
        self.keep_host_off(name, found)

    def ensure_veth(self, name: str, *, peer: str, peer_netns: str, peer_mac: str) -> None:
        found = self.get(name)
        if found is not None:
            self.keep_host_off(name, found)
            return
        with self._ipr() as ipr:
            ipr.link("add", ifname=name, kind="veth", peer={"ifname": peer, "net_ns_fd": peer_netns})
        self.keep_host_off(name, None)  # the host end only: the namespace's end keeps its IPv6
        inner = Links(peer_netns)
        with inner._ipr() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=peer)[0], address=peer_mac)

    def ensure_addresses(self, name: str, cidrs: set[tuple[str, int]]) -> None:
        """Exactly these (address, prefix length) pairs on the device, which is brought up with loopback."""
        self.configure("lo")
        link = self.configure(name)
        with self._ipr() as ipr:
            present = {
                (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                for a in ipr.get_addr(index=link.index)
                if a["scope"] == 0  # global: leave the kernel's IPv6 link-local alone
            }
            for address, prefix in cidrs - present:
                ipr.addr("add", index=link.index, address=address, prefixlen=prefix)
            for address, prefix in present - cidrs:
                ipr.addr("del", index=link.index, address=address, prefixlen=prefix)
