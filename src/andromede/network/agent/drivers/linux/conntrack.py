"""Connection tracking for security groups: find and delete the flows a rule change no longer allows."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from andromede.network.agent.drivers.base import ICMP_PROTOCOL, DriverError, PortSpec, SecurityGroupSpec
from andromede.network.agent.drivers.secgroup_model import (
    Address,
    Box,
    Network,
    Packet,
    port_addresses,
    port_allows,
)


@dataclass(frozen=True)
class Risk:
    """What a change took away: a removed rule box (for a leg), or a removed member prefix."""

    direction: str | None
    version: int
    kind: str | None
    box: Box


def box_hits(packet: Packet, risk: Risk) -> bool:
    """Could this flow have been allowed by what the risk removed (membership of remote groups aside)?"""
    net, key, low, high = risk.box
    if packet.version != risk.version or packet.remote not in net:
        return False
    if risk.kind is None:  # a removed member: any rule naming its group may have allowed the flow
        return True
    if risk.direction != packet.direction:
        return False
    if risk.kind == "p":
        return low <= packet.protocol <= high
    if risk.kind == "t":
        return packet.protocol == key and packet.dport is not None and low <= packet.dport <= high
    return (
        packet.protocol == ICMP_PROTOCOL[packet.version]
        and packet.icmp_type == key
        and low <= (packet.icmp_code or 0) <= high
    )


# ---- conntrack ----


@dataclass(frozen=True)
class CtEntry:
    zone: int
    version: int
    protocol: int
    src: Address
    dst: Address
    sport: int | None
    dport: int | None
    icmp_type: int | None
    icmp_code: int | None
    raw: Any  # the original tuple as dumped, sent back to delete the entry


def _entries(message: Any, family: int) -> CtEntry | None:
    orig = message.get_attr("CTA_TUPLE_ORIG")
    if orig is None:
        return None
    ip = orig.get_attr("CTA_TUPLE_IP")
    proto = orig.get_attr("CTA_TUPLE_PROTO")
    version = 4 if family == socket.AF_INET else 6
    v = "V4" if version == 4 else "V6"
    icmp = "ICMP" if version == 4 else "ICMPV6"
    number = proto.get_attr("CTA_PROTO_NUM")
    return CtEntry(
        zone=message.get_attr("CTA_ZONE") or 0,
        version=version,
        protocol=number,
        src=ipaddress.ip_address(ip.get_attr(f"CTA_IP_{v}_SRC")),
        dst=ipaddress.ip_address(ip.get_attr(f"CTA_IP_{v}_DST")),
        sport=proto.get_attr("CTA_PROTO_SRC_PORT"),
        dport=proto.get_attr("CTA_PROTO_DST_PORT"),
        icmp_type=proto.get_attr(f"CTA_PROTO_{icmp}_TYPE"),
        icmp_code=proto.get_attr(f"CTA_PROTO_{icmp}_CODE"),
        raw=orig,
    )


class Conntrack:
    """ctnetlink through pyroute2 (no conntrack CLI needed), in the driver's namespace."""

    def __init__(self, netns: str | None) -> None:
        self.netns = netns

    def _socket(self, family: int) -> Any:
        from pyroute2 import NFCTSocket

        kwargs: dict[str, Any] = {"netns": self.netns} if self.netns else {}
        try:
            return NFCTSocket(nfgen_family=family, **kwargs)
        except OSError as exc:
            raise DriverError(f"cannot open conntrack netlink: {exc}") from exc

    def entries(self, zones: set[int], filters: list[dict[str, Any]] | None = None) -> Iterator[CtEntry]:
        """Entries in these zones; with `filters` (original-tuple fields, e.g. {"version": 4, "proto": 6,
        "dport": 22}), only those the kernel finds matching one of them (ctnetlink filtering, Linux >= 5.8),
        so a busy host's whole table is not parsed for a one-rule change."""
        from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

        seen: set[tuple[Any, ...]] = set()
        for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
            queries: list[dict[str, Any]] = (
                [{}]
                if filters is None
                else [{k: v for k, v in f.items() if k != "version"} for f in filters if f["version"] == version]
            )
            for query in queries:
                ct = self._socket(family)
                try:
                    dump = ct.dump(tuple_orig=NFCTAttrTuple(family=family, **query)) if query else ct.dump()
                    for message in dump:
                        if (message.get_attr("CTA_ZONE") or 0) not in zones:
                            continue
                        entry = _entries(message, family)
                        if entry is None:
                            continue
                        key = (
                            entry.zone,
                            entry.protocol,
                            entry.src,
                            entry.dst,
                            entry.sport,
                            entry.dport,
                            entry.icmp_type,
                            entry.icmp_code,
                        )
                        if key not in seen:
                            seen.add(key)
                            yield entry
                finally:
                    ct.close()

    def delete(self, entries: list[CtEntry]) -> int:
        from pyroute2.netlink.exceptions import NetlinkError

        deleted = 0
        for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
            batch = [e for e in entries if e.version == version]
            if not batch:
                continue
            ct = self._socket(family)
            try:
                for entry in batch:
                    try:
                        ct.entry("del", tuple_orig={"attrs": _plain(entry.raw)}, zone=entry.zone)
                        deleted += 1
                    except NetlinkError:
                        pass  # already gone (timed out, or closed meanwhile)
            finally:
                ct.close()
        return deleted


def _plain(nla: Any) -> list[list[Any]]:
    """A dumped nested attribute as pyroute2's input form, so it is sent back unchanged."""
    out = []
    for name, value, *_rest in nla["attrs"]:
        out.append([name, {"attrs": _plain(value)} if hasattr(value, "get_attr") else value])
    return out


def flows_to_cut(
    entries: Iterable[CtEntry],
    ports: Iterable[tuple[PortSpec, int]],
    groups: Mapping[str, SecurityGroupSpec],
    risks: list[Risk] | None = None,
) -> list[CtEntry]:
    """The entries in a port's zone that its groups no longer allow (as the first packet of the flow).

    With `risks` (what the change removed), only flows one of them could have allowed are re-checked
    against the (possibly 10,000) rules; None re-checks every flow of the ports.
    """
    by_zone: dict[int, list[tuple[PortSpec, list[Network]]]] = {}
    for spec, zone in ports:
        by_zone.setdefault(zone, []).append((spec, port_addresses(spec)))
    cut: list[CtEntry] = []
    for entry in entries:
        for spec, addresses in by_zone.get(entry.zone, ()):
            verdicts = []
            if any(entry.src in net for net in addresses):
                verdicts.append(("egress", entry.dst))
            if any(entry.dst in net for net in addresses):
                verdicts.append(("ingress", entry.src))
            for direction, remote in verdicts:
                packet = Packet(
                    direction=direction,
                    version=entry.version,
                    protocol=entry.protocol,
                    remote=remote,
                    dport=entry.dport,
                    sport=entry.sport,
                    icmp_type=entry.icmp_type,
                    icmp_code=entry.icmp_code,
                )
                if risks is not None and not any(box_hits(packet, risk) for risk in risks):
                    continue
                if not port_allows(spec.security_group_ids, packet, groups):
                    cut.append(entry)
                    break
            else:
                continue
            break
    return cut
