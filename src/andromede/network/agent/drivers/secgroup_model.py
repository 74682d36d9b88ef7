"""Security groups as a pure Python model: what a port's groups allow, packet by packet.

The fake driver answers reachability with it, and the Linux driver uses it to decide which tracked
connections a rule change no longer allows (linux/conntrack.py).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from andromede.network.agent.drivers.base import (
    ETHERTYPES,
    ICMP_PROTOCOL,
    PORTED_PROTOCOLS,
    PortSpec,
    SecurityGroupRule,
    SecurityGroupSpec,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Box = tuple[Network, int | None, int, int]  # (address prefix, exact key, interval low, interval high)

# ---- the model: what a port's groups allow ----

ANY = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
ND_EGRESS = frozenset({133, 135, 136, 131, 132, 143})  # RS, NS, NA, MLD report/done, MLDv2 report
ND_INGRESS = frozenset({134, 135, 136, 130, 131, 132, 143})  # RA, NS, NA, MLD query/report/done, MLDv2 report


@dataclass(frozen=True)
class Packet:
    """The first packet of a flow, seen from one port: `remote` is the other end's address."""

    direction: str  # ingress (to the port) | egress (from the port)
    version: int
    protocol: int
    remote: Address
    dport: int | None = None  # the destination port (the VM's for ingress, the remote's for egress)
    sport: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None


def _prefixes(values: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(v) for v in values]


def members(group: SecurityGroupSpec | None, version: int) -> list[Network]:
    if group is None:
        return []
    return _prefixes(group.members_v4 if version == 4 else group.members_v6)


@functools.lru_cache(maxsize=1 << 17)
def network_of(prefix: str) -> Network:
    return ipaddress.ip_network(prefix)


@functools.lru_cache(maxsize=1 << 17)
def protocol_of(rule: SecurityGroupRule) -> int | None:
    return rule.protocol_number


def rule_allows(rule: SecurityGroupRule, packet: Packet, groups: Mapping[str, SecurityGroupSpec]) -> bool:
    if rule.direction != packet.direction or ETHERTYPES[rule.ethertype] != packet.version:
        return False
    number = protocol_of(rule)
    if number is not None:
        if number != packet.protocol:
            return False
        low, high = rule.port_range_min, rule.port_range_max
        if number in PORTED_PROTOCOLS and low is not None and high is not None:
            if packet.dport is None or not low <= packet.dport <= high:
                return False
        elif (
            number == ICMP_PROTOCOL[packet.version]
            and low is not None
            and (packet.icmp_type != low or (high is not None and packet.icmp_code != high))
        ):
            return False
    if rule.remote_ip_prefix is not None:
        return packet.remote in network_of(rule.remote_ip_prefix)
    if rule.remote_group_id is not None:
        return any(packet.remote in net for net in members(groups.get(rule.remote_group_id), packet.version))
    return True


def infrastructure(packet: Packet) -> bool:
    """What passes whatever the groups say: DHCP to/from the client, IPv6 neighbour discovery and MLD."""
    if packet.protocol == 17:
        client, server = (68, 67) if packet.version == 4 else (546, 547)
        if packet.direction == "egress":
            return (packet.sport, packet.dport) == (client, server)
        return (packet.sport, packet.dport) == (server, client)
    if packet.protocol == 58 and packet.version == 6:
        return packet.icmp_type in (ND_EGRESS if packet.direction == "egress" else ND_INGRESS)
    return False


def port_allows(group_ids: Iterable[str], packet: Packet, groups: Mapping[str, SecurityGroupSpec]) -> bool:
    """Would the first packet of a new flow pass this port's groups (allow-only, default deny)?"""
    if infrastructure(packet):
        return True
    for group_id in group_ids:
        group = groups.get(group_id)
        if group is not None and any(rule_allows(rule, packet, groups) for rule in group.rules):
            return True
    return False


def port_addresses(spec: PortSpec) -> list[Network]:
    found = [ipaddress.ip_network(a) for a in spec.fixed_ips]
    found += [ipaddress.ip_network(p.cidr) for p in spec.allowed_address_pairs]
    return found
