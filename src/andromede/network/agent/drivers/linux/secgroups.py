"""Security groups: stateful, allow-only filtering of each port, compiled to nftables sets, plus the same
semantics as a pure Python model (the fake driver answers with it, and the Linux driver uses it to find which
conntrack entries a change no longer allows).

Where the filter lives. Ports are bridge ports, but this kernel family may lack nf_conntrack_bridge, so the
stateful part runs where br_netfilter hands bridged IP traffic to the inet hooks (with conntrack there):

- the port's anti-spoofing chain in the bridge table (nft.py) marks what the port emits, in bridge
  prerouting, with the port's egress tag, and what the bridge forwards to it, in bridge forward, with its
  ingress tag; both run before br_netfilter's own hooks;
- one inet table, `andromede-sg`, puts each network's traffic in a conntrack zone of its own (so two tenants
  with the same addresses never share conntrack entries), then dispatches on the mark through verdict maps:
  egress tag -> the port's egress chain (prerouting, after conntrack), ingress tag -> its ingress chain
  (forward). A port's chains jump to its groups' chains, shared by every port in the group;
- a group's rules are compiled into interval sets keyed by (remote prefix . protocol . port range), made
  disjoint first (the kernel refuses overlapping concatenated intervals), so 10,000 rules cost one lookup;
  remote-group rules match the remote group's member set, one per group and IP version.

Each port is wired in a transaction of its own (one port's failure never touches another), each group's
definition in one transaction (ports using it switch atomically). Only a flow's first packet meets the rules:
established traffic is accepted before them.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from andromede.network.agent.drivers.base import (
    ETHERTYPES,
    ICMP_PROTOCOL,
    PORTED_PROTOCOLS,
    DriverError,
    PortSpec,
    SecurityGroupRule,
    SecurityGroupSpec,
)
from andromede.network.agent.drivers.linux import names, nft
from andromede.network.agent.drivers.linux.conntrack import Conntrack, Risk, flows_to_cut
from andromede.network.agent.drivers.linux.inventory import Inventory
from andromede.network.agent.drivers.linux.run import in_netns, run
from andromede.network.agent.drivers.secgroup_model import (
    ANY,
    Box,
    Network,
    members,
    network_of,
    protocol_of,
)

TABLE = "andromede-sg"
FAMILY = "inet"
INGRESS_BIT = 0x80000000
ZONE_MIN, ZONE_MAX = 1, 65535
VXLAN_PORT = 4789  # links.VXLAN_PORT
PRIORITY_ZONE = -300  # before conntrack (-200): the zone must be chosen before the lookup
PRIORITY_EGRESS = -150  # after conntrack, so ct state is known
PRIORITY_INGRESS = 0
ESTABLISHED = "ct state established,related meta mark set 0 accept"


# ---- names and tags ----


def port_tag(port_id: str) -> int:
    """The port's 31-bit tag, from its id (so a restarted agent finds the same one); a clash between two
    ports on one host makes the second port's wiring fail (the verdict map refuses a second value)."""
    return (int(port_id[:8], 16) & 0x7FFFFFFF) or 1


def egress_mark(port_id: str) -> int:
    return port_tag(port_id)


def ingress_mark(port_id: str) -> int:
    return port_tag(port_id) | INGRESS_BIT


def _dir(direction: str) -> str:
    return "in" if direction == "ingress" else "out"


def port_chain(port_id: str, direction: str) -> str:
    return f"p-{port_id}-{_dir(direction)}"


def group_chain(group_id: str, direction: str) -> str:
    return f"g-{group_id}-{_dir(direction)}"


def member_set(group_id: str, version: int) -> str:
    return f"m-{group_id}-{version}"


def rule_set(group_id: str, direction: str, version: int, kind: str, remote: str | None = None) -> str:
    name = f"r-{group_id}-{_dir(direction)}{version}{kind}"
    return f"{name}-{remote}" if remote else name


def group_of_object(name: str) -> str | None:
    """The group id a chain or set of the table belongs to (None for ports and the base objects)."""
    if name[:2] in ("g-", "m-", "r-") and len(name) >= 38:
        return name[2:38]
    return None


# ---- compiling a group into disjoint set elements ----


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def _subtract(have: list[tuple[int, int]], minus: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Both sorted and disjoint."""
    result: list[tuple[int, int]] = []
    for low, high in have:
        cursor = low
        for m_low, m_high in minus:
            if m_high < cursor or m_low > high:
                continue
            if m_low > cursor:
                result.append((cursor, m_low - 1))
            cursor = max(cursor, m_high + 1)
            if cursor > high:
                break
        if cursor <= high:
            result.append((cursor, high))
    return result




def disjoint(boxes: Iterable[Box]) -> list[Box]:
    """The same union of (prefix x key x interval) boxes as non-overlapping boxes.

    Prefixes are nested or disjoint, so a prefix keeps only what none of its covering prefixes already
    covers for the same key: boxes then overlap in no dimension combination, with no growth in their number.
    """
    coverage: dict[Network, dict[int | None, list[tuple[int, int]]]] = {}
    for net, key, low, high in boxes:
        coverage.setdefault(net, {}).setdefault(key, []).append((low, high))
    for by_key in coverage.values():
        for key in by_key:
            by_key[key] = _merge(by_key[key])
    # Ancestors by integer masking, trying only the prefix lengths in use (10,000 prefixes: milliseconds).
    by_int = {(int(n.network_address), n.prefixlen): n for n in coverage}
    lengths = sorted({n.prefixlen for n in coverage})
    result: list[Box] = []
    for net in sorted(coverage, key=lambda n: (n.prefixlen, int(n.network_address))):
        address, width = int(net.network_address), net.max_prefixlen
        ancestors = []
        for length in lengths:
            if length >= net.prefixlen:
                break
            parent = by_int.get((address & ~((1 << (width - length)) - 1), length))
            if parent is not None:
                ancestors.append(coverage[parent])
        for key, intervals in sorted(coverage[net].items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
            covered = _merge(i for a in ancestors for i in a.get(key, ())) if ancestors else []
            for low, high in _subtract(intervals, covered) if covered else intervals:
                result.append((net, key, low, high))
    return result


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


KINDS = ("p", "t", "c")  # protocol only, protocol + ports, ICMP type + code


def _set_type(kind: str, version: int, with_address: bool) -> str:
    fields = {
        "p": ["inet_proto"],
        "t": ["inet_proto", "inet_service"],
        "c": ["icmp_type", "icmp_code"] if version == 4 else ["icmpv6_type", "icmpv6_code"],
    }[kind]
    if with_address:
        fields.insert(0, "ipv4_addr" if version == 4 else "ipv6_addr")
    return " . ".join(fields)


def _rule_box(rule: SecurityGroupRule, version: int) -> tuple[str, Box]:
    number = protocol_of(rule)
    net = network_of(rule.remote_ip_prefix) if rule.remote_ip_prefix else ANY[version]
    low, high = rule.port_range_min, rule.port_range_max
    if number is None:
        return "p", (net, None, 0, 255)
    if number in PORTED_PROTOCOLS and low is not None and high is not None:
        return "t", (net, number, low, high)
    if number == ICMP_PROTOCOL[version] and low is not None:
        return "c", (net, low, *((high, high) if high is not None else (0, 255)))
    return "p", (net, None, number, number)


def _element(box: Box, kind: str, with_address: bool) -> str:
    net, key, low, high = box
    parts = [str(net)] if with_address else []
    if kind != "p":
        parts.append(str(key))
    parts.append(_span(low, high))
    return " . ".join(parts)


@dataclass(frozen=True)
class CompiledGroup:
    group_id: str
    sets: dict[str, tuple[str, frozenset[str]]]  # set name -> (type, elements)
    chains: dict[str, list[str]]  # chain name -> rules
    remotes: frozenset[str]  # groups whose member sets the chains read
    # For finding which flows a change may cut: each set's (direction, version, kind), its elements' boxes.
    legs: dict[str, tuple[str, int, str]]
    boxes: dict[str, dict[str, Box]]


def compile_group(spec: SecurityGroupSpec) -> CompiledGroup:
    gid = spec.group_id
    boxes: dict[tuple[str, int, str | None, str], list[Box]] = {}
    for rule in spec.rules:
        version = ETHERTYPES[rule.ethertype]
        kind, box = _rule_box(rule, version)
        boxes.setdefault((rule.direction, version, rule.remote_group_id, kind), []).append(box)
    sets: dict[str, tuple[str, frozenset[str]]] = {}
    chains: dict[str, list[str]] = {}
    remotes: set[str] = set()
    legs: dict[str, tuple[str, int, str]] = {}
    found_boxes: dict[str, dict[str, Box]] = {}
    for direction in ("ingress", "egress"):
        side = "saddr" if direction == "ingress" else "daddr"
        lines: list[str] = []
        for version in (4, 6):
            ip = "ip" if version == 4 else "ip6"
            l4 = {
                "p": "meta l4proto",
                "t": "meta l4proto . th dport",
                "c": "icmp type . icmp code" if version == 4 else "icmpv6 type . icmpv6 code",
            }
            for kind in KINDS:
                name = rule_set(gid, direction, version, kind)
                mapped = {_element(b, kind, True): b for b in disjoint(boxes.get((direction, version, None, kind), ()))}
                sets[name] = (_set_type(kind, version, True), frozenset(mapped))
                legs[name], found_boxes[name] = (direction, version, kind), mapped
                lines.append(f"{ip} {side} . {l4[kind]} @{name} accept")
            for remote in sorted({r for (d, v, r, _k) in boxes if d == direction and v == version and r}):
                remotes.add(remote)
                for kind in KINDS:
                    found = boxes.get((direction, version, remote, kind))
                    if not found:
                        continue
                    name = rule_set(gid, direction, version, kind, remote)
                    mapped = {_element(b, kind, False): b for b in disjoint(found)}
                    sets[name] = (_set_type(kind, version, False), frozenset(mapped))
                    legs[name], found_boxes[name] = (direction, version, kind), mapped
                    lines.append(f"{ip} {side} @{member_set(remote, version)} {l4[kind]} @{name} accept")
        chains[group_chain(gid, direction)] = lines
    return CompiledGroup(
        group_id=gid, sets=sets, chains=chains, remotes=frozenset(remotes), legs=legs, boxes=found_boxes
    )


def risks_of_change(old: CompiledGroup, new: CompiledGroup) -> list[Risk]:
    found = []
    for name, (_type, before) in old.sets.items():
        after = new.sets.get(name, ("", frozenset()))[1]
        direction, version, kind = old.legs[name]
        for element in before - after:
            found.append(Risk(direction, version, kind, old.boxes[name][element]))
    return found


def member_elements(group: SecurityGroupSpec | None, version: int) -> frozenset[str]:
    # members() gives one IP version at a time, which its list[IPv4Network | IPv6Network] type cannot say.
    collapsed = ipaddress.collapse_addresses(members(group, version))  # type: ignore[type-var]
    return frozenset(str(net) for net in collapsed)


# ---- rendering ----


def _declare_set(name: str, type_: str) -> str:
    return f"  set {name} {{ type {type_}; flags interval; }}"


def render_base() -> list[str]:
    """The table's skeleton: declared idempotently, its three dispatch rules rewritten (atomically) each time."""
    return [
        f"table {FAMILY} {TABLE} {{",
        "  map zones { typeof iifname : ct zone; }",
        "  map egress { type mark : verdict; }",
        "  map ingress { type mark : verdict; }",
        f"  chain zone {{ type filter hook prerouting priority {PRIORITY_ZONE}; policy accept; }}",
        f"  chain from_ports {{ type filter hook prerouting priority {PRIORITY_EGRESS}; policy accept; }}",
        f"  chain to_ports {{ type filter hook forward priority {PRIORITY_INGRESS}; policy accept; }}",
        f"  chain underlay_out {{ type filter hook output priority {PRIORITY_ZONE}; policy accept; }}",
        "}",
        # The VXLAN underlay needs no connection tracking (the guests' flows are tracked on the bridges):
        # tracking every encapsulated packet twice costs throughput for nothing.
        f"flush chain {FAMILY} {TABLE} underlay_out",
        f"add rule {FAMILY} {TABLE} underlay_out udp dport {VXLAN_PORT} notrack",
        f"flush chain {FAMILY} {TABLE} zone",
        # Bridged traffic (the common case) stops at the first rule; what the map does not know goes on.
        f"add rule {FAMILY} {TABLE} zone ct zone set iifname map @zones accept",
        f"add rule {FAMILY} {TABLE} zone udp dport {VXLAN_PORT} notrack",
        # A packet of a known flow is accepted before any dispatch: only a flow's first packets meet the port's
        # chain. Its tag has done its work: a marked packet costs VXLAN its cached route to the remote host (the
        # tunnel looks the route up again for every packet that carries a mark).
        f"flush chain {FAMILY} {TABLE} from_ports",
        f"add rule {FAMILY} {TABLE} from_ports {ESTABLISHED}",
        f"add rule {FAMILY} {TABLE} from_ports meta mark vmap @egress",
        f"flush chain {FAMILY} {TABLE} to_ports",
        f"add rule {FAMILY} {TABLE} to_ports {ESTABLISHED}",
        f"add rule {FAMILY} {TABLE} to_ports meta mark vmap @ingress",
    ]


def _elements_line(verb: str, name: str, elements: Iterable[str]) -> list[str]:
    items = sorted(elements)
    lines = []
    for start in range(0, len(items), 4096):  # keep each command line reasonable
        lines.append(f"{verb} element {FAMILY} {TABLE} {name} {{ {', '.join(items[start : start + 4096])} }}")
    return lines


def render_members(
    groups: Mapping[str, SecurityGroupSpec], names_: Iterable[str], applied: Mapping[str, frozenset[str]] | None
) -> tuple[list[str], dict[str, frozenset[str]]]:
    """Member sets of the named groups (listed or only referenced: those are empty). Returns the lines and
    the new contents by set name."""
    declare: list[str] = []
    changes: list[str] = []
    contents: dict[str, frozenset[str]] = {}
    for group_id in sorted(names_):
        for version in (4, 6):
            name = member_set(group_id, version)
            elements = member_elements(groups.get(group_id), version)
            contents[name] = elements
            declare.append(_declare_set(name, "ipv4_addr" if version == 4 else "ipv6_addr"))
            if applied is not None and applied.get(name) == elements:
                continue
            changes.append(f"flush set {FAMILY} {TABLE} {name}")
            if elements:
                changes += _elements_line("add", name, elements)
    lines = [f"table {FAMILY} {TABLE} {{", *declare, "}", *changes] if changes else []
    return lines, contents


def render_group(
    compiled: CompiledGroup, applied: Mapping[str, frozenset[str]] | None, stale_sets: Iterable[str]
) -> list[str]:
    """One group's chains and rule sets. With `applied` (what this driver loaded before), only the element
    differences are sent; without, every set is flushed and refilled."""
    lines = [f"table {FAMILY} {TABLE} {{"]
    for remote in sorted(compiled.remotes):
        for version in (4, 6):
            lines.append(_declare_set(member_set(remote, version), "ipv4_addr" if version == 4 else "ipv6_addr"))
    for name, (type_, _elements) in sorted(compiled.sets.items()):
        lines.append(_declare_set(name, type_))
    for chain in sorted(compiled.chains):
        lines.append(f"  chain {chain} {{ }}")
    lines.append("}")
    for chain, rules in sorted(compiled.chains.items()):
        lines.append(f"flush chain {FAMILY} {TABLE} {chain}")
        lines += [f"add rule {FAMILY} {TABLE} {chain} {rule}" for rule in rules]
    for name, (_type, elements) in sorted(compiled.sets.items()):
        before = applied.get(name) if applied is not None else None
        if before is None:
            lines.append(f"flush set {FAMILY} {TABLE} {name}")
            lines += _elements_line("add", name, elements) if elements else []
        elif before != elements:
            lines += _elements_line("delete", name, before - elements) if before - elements else []
            lines += _elements_line("add", name, elements - before) if elements - before else []
    for name in sorted(stale_sets):
        lines.append(f"delete set {FAMILY} {TABLE} {name}")
    return lines


def render_delete_group(group_id: str, objects: Iterable[str]) -> list[str]:
    """Chains first (they reference the sets); a chain still jumped to by a port makes the whole
    transaction fail, which keeps the group."""
    chains = [o for o in objects if o.startswith("g-")]
    sets = [o for o in objects if not o.startswith("g-")]
    lines = [f"flush chain {FAMILY} {TABLE} {c}" for c in sorted(chains)]
    lines += [f"delete chain {FAMILY} {TABLE} {c}" for c in sorted(chains)]
    lines += [f"delete set {FAMILY} {TABLE} {s}" for s in sorted(sets)]
    return lines


def port_chain_rules(spec: PortSpec, direction: str) -> list[str]:
    if direction == "egress":
        fixed = [
            "meta nfproto ipv4 udp sport 68 udp dport 67 accept",  # DHCP client (before it has an address too)
            "meta nfproto ipv6 udp sport 546 udp dport 547 accept",
            "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report,"
            " mld-listener-done, mld2-listener-report } accept",
        ]
    else:
        fixed = [
            "meta nfproto ipv4 udp sport 67 udp dport 68 accept",  # DHCP replies (anti-spoofing stops guest servers)
            "meta nfproto ipv6 udp sport 547 udp dport 546 accept",
            "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query,"
            " mld-listener-report, mld-listener-done, mld2-listener-report } accept",
        ]
    return [
        "meta mark set 0",  # dispatch done (see ESTABLISHED)
        *fixed,
        "ct state invalid drop",
        # A TCP flow starts with a SYN. Without this, a flow cut by a rule removal would be picked up again
        # mid-stream (conntrack's loose tracking) by whichever side speaks next, e.g. through an egress rule.
        "ct state new tcp flags & (fin | syn | rst | ack) != syn drop",
        *(f"jump {group_chain(g, direction)}" for g in spec.security_group_ids),
        "drop",
    ]


def render_port(spec: PortSpec, bridge: str, zone: int) -> list[str]:
    """The port's chains, its two dispatch elements and its network's zone, in the inet table."""
    lines = [f"table {FAMILY} {TABLE} {{"]
    for group_id in spec.security_group_ids:
        for direction in ("ingress", "egress"):
            lines.append(f"  chain {group_chain(group_id, direction)} {{ }}")  # empty (deny) until defined
    for direction in ("ingress", "egress"):
        lines.append(f"  chain {port_chain(spec.port_id, direction)} {{ }}")
    lines.append("}")
    for direction in ("ingress", "egress"):
        chain = port_chain(spec.port_id, direction)
        lines.append(f"flush chain {FAMILY} {TABLE} {chain}")
        lines += [f"add rule {FAMILY} {TABLE} {chain} {rule}" for rule in port_chain_rules(spec, direction)]
    lines += [
        f"add element {FAMILY} {TABLE} egress {{ {egress_mark(spec.port_id):#x} : "
        f"jump {port_chain(spec.port_id, 'egress')} }}",
        f"add element {FAMILY} {TABLE} ingress {{ {ingress_mark(spec.port_id):#x} : "
        f"jump {port_chain(spec.port_id, 'ingress')} }}",
        f'add element {FAMILY} {TABLE} zones {{ "{bridge}" : {zone} }}',
    ]
    return lines


def render_unwire(port_id: str) -> list[str]:
    """Remove a port's dispatch elements and chains (adding the elements first makes deleting them safe
    whether or not they existed)."""
    out, in_ = port_chain(port_id, "egress"), port_chain(port_id, "ingress")
    return [
        f"table {FAMILY} {TABLE} {{ chain {out} {{ }}; chain {in_} {{ }}; }}",
        f"add element {FAMILY} {TABLE} egress {{ {egress_mark(port_id):#x} : jump {out} }}",
        f"add element {FAMILY} {TABLE} ingress {{ {ingress_mark(port_id):#x} : jump {in_} }}",
        f"delete element {FAMILY} {TABLE} egress {{ {egress_mark(port_id):#x} }}",
        f"delete element {FAMILY} {TABLE} ingress {{ {ingress_mark(port_id):#x} }}",
        f"flush chain {FAMILY} {TABLE} {out}",
        f"flush chain {FAMILY} {TABLE} {in_}",
        f"delete chain {FAMILY} {TABLE} {out}",
        f"delete chain {FAMILY} {TABLE} {in_}",
    ]


def render_unwire_chains(port_id: str) -> list[str]:
    """Fallback when the dispatch elements belong to another port (a tag clash): only this port's chains."""
    lines = []
    for direction in ("egress", "ingress"):
        chain = port_chain(port_id, direction)
        lines += [
            f"table {FAMILY} {TABLE} {{ chain {chain} {{ }}; }}",
            f"flush chain {FAMILY} {TABLE} {chain}",
            f"delete chain {FAMILY} {TABLE} {chain}",
        ]
    return lines


def text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


# ---- reading the table back ----


class Table:
    """Reads of the inet table (terse: never the 10,000-element sets)."""

    def __init__(self, netns: str | None) -> None:
        self.netns = netns

    def _list(self, *what: str, terse: bool = True) -> list[dict[str, Any]]:
        try:
            out = run(in_netns(self.netns, ["nft", "-j", *(["-t"] if terse else []), "list", *what]))
        except DriverError:
            return []  # no table yet
        return json.loads(out or "{}").get("nftables", [])

    def objects(self) -> set[str]:
        """Names of chains and sets in the table."""
        found: set[str] = set()
        for item in self._list("table", FAMILY, TABLE):
            for kind in ("chain", "set", "map"):
                if kind in item:
                    found.add(item[kind]["name"])
        return found

    def zones(self) -> dict[str, int]:
        for item in self._list("map", FAMILY, TABLE, "zones", terse=False):
            if "map" in item:
                return {str(k): int(v) for k, v in item["map"].get("elem", [])}
        return {}

    def wired_ports(self) -> set[str]:
        return {n[2:-4] for n in self.objects() if n.startswith("p-") and n.endswith("-out")}


def allocate_zone(zones: Mapping[str, int], bridge: str) -> int:
    if bridge in zones:
        return zones[bridge]
    used = set(zones.values())
    for zone in range(ZONE_MIN, ZONE_MAX + 1):
        if zone not in used:
            return zone
    raise DriverError("no free conntrack zone on this host (65535 networks with filtered ports)")


def bridge_of(spec: PortSpec) -> str:
    return names.bridge_name(spec.network_id)


# ---- the driver's security-group half ----


class SecurityGroups:
    """What LinuxNetworkDriver delegates: group definitions, port wiring, conntrack clean-up.

    It remembers what it loaded (so a rule change sends only element differences); a new object (a
    restarted agent) knows nothing, finds the table as it is, and refills each group on its first call.
    """

    def __init__(self, netns: str | None, links: Any) -> None:
        self.netns = netns
        self.links = links
        self.table = Table(netns)
        self.conntrack = Conntrack(netns)
        self.groups: dict[str, SecurityGroupSpec] = {}  # the definitions loaded now
        self.compiled: dict[str, CompiledGroup] = {}
        self.applied: dict[str, dict[str, frozenset[str]]] = {}  # group id -> rule set -> elements loaded
        self.applied_members: dict[str, frozenset[str]] | None = None
        self.ports: dict[str, PortSpec] = {}  # ports wired by this object
        self.zones: dict[str, int] | None = None
        self.checked = False
        # The groups this installation loaded (linux/inventory.py): the table is the host's, shared with any other
        # installation there, so only these are ever removed. None: every group in the table is ours.
        self.owned: Inventory | None = None

    def _apply(self, lines: list[str]) -> None:
        self._apply_text(text(lines))

    def _apply_text(self, ruleset: str) -> None:
        run(in_netns(self.netns, ["nft", "-f", "-"]), stdin=ruleset, timeout=60)

    def _sysctl(self, key: str) -> str | None:
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            return run(in_netns(self.netns, ["cat", path])).strip()
        except DriverError:
            return None

    def check_host(self) -> None:
        """Bridged IP traffic must reach the inet hooks (br_netfilter), where conntrack runs."""
        if self.checked:
            return
        keys = ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables")
        if self._sysctl(keys[0]) is None:
            try:
                run(["modprobe", "br_netfilter"])
            except DriverError as exc:
                raise DriverError(f"security groups need br_netfilter (modprobe br_netfilter): {exc}") from exc
        for key in keys:
            value = self._sysctl(key)
            if value is None:
                raise DriverError(f"security groups need br_netfilter: {key} is missing")
            if value != "1":
                run(in_netns(self.netns, ["sh", "-c", f"echo 1 > /proc/sys/{key.replace('.', '/')}"]))
        self.checked = True

    # ---- ports ----

    def _zone(self, bridge: str) -> int:
        if self.zones is None:
            self.zones = self.table.zones()
        return allocate_zone(self.zones, bridge)

    def wire(self, spec: PortSpec, bridge: str) -> None:
        """Replace the port's anti-spoofing chain (with its marks) and its security-group chains in one
        transaction."""
        self.check_host()
        zone = self._zone(bridge)
        bridge_side = nft.render_port(spec, marks=(egress_mark(spec.port_id), ingress_mark(spec.port_id)))
        try:
            self._apply_text(bridge_side + text(render_base() + render_port(spec, bridge, zone)))
        except DriverError as exc:
            self.zones = None  # re-read: another agent object may have changed them
            raise DriverError(f"port {spec.port_id}: its filter did not load: {exc}") from exc
        assert self.zones is not None
        self.zones[bridge] = zone
        previous = self.ports.get(spec.port_id)
        self.ports[spec.port_id] = spec
        if previous != spec:
            self.cut_flows([spec.port_id])

    def unwire(self, port_id: str) -> None:
        """Remove the port's filtering, whether or not it was there; with a device-name or tag clash, only what
        is the port's own."""
        self.ports.pop(port_id, None)
        attempts = (
            nft.render_delete(port_id, ingress_mark(port_id)) + text(render_base() + render_unwire(port_id)),
            nft.render_delete(port_id, None) + text(render_base() + render_unwire_chains(port_id)),
            nft.render_delete(port_id, None),
        )
        for attempt in attempts[:-1]:
            try:
                self._apply_text(attempt)
                return
            except DriverError:
                continue
        self._apply_text(attempts[-1])

    # ---- groups ----

    def ensure(self, groups: tuple[SecurityGroupSpec, ...]) -> None:
        wanted = {g.group_id: g for g in groups}
        if len(wanted) != len(groups):
            raise ValueError("security group ids must be unique")
        self.check_host()
        objects = self.table.objects()
        present = {gid for o in objects if (gid := group_of_object(o))}
        compiled = {
            gid: compile_group(g) for gid, g in wanted.items() if self.groups.get(gid) != g or gid not in self.applied
        }
        remotes = {r for g in wanted.values() for rule in g.rules if (r := rule.remote_group_id)}
        before = dict(self.groups)
        changed = False
        risks: list[Risk] | None = [] if self.applied_members is not None else None
        full: set[str] = set()  # groups whose previous definition is unknown: re-check all their flows

        if self.owned is not None:
            for gid in set(wanted) | remotes:
                self.owned.add("group", gid)
        lines, contents = render_members(wanted, set(wanted) | remotes, self.applied_members)
        if lines:
            self._apply(render_base() + lines)
            changed = True
        if risks is not None and self.applied_members is not None:
            for name, after in contents.items():
                version = int(name[-1])
                for member in self.applied_members.get(name, frozenset()) - after:
                    risks.append(Risk(None, version, None, (network_of(member), None, 0, 0)))
        self.applied_members = {**(self.applied_members or {}), **contents}

        failures: list[str] = []
        for gid, group in compiled.items():
            stale = {o for o in objects if o.startswith(f"r-{gid}-")} - group.sets.keys()
            try:
                self._apply(render_base() + render_group(group, self.applied.get(gid), stale))
            except DriverError as exc:
                failures.append(f"group {gid}: {exc}")
                self.applied.pop(gid, None)  # unknown state: refill next time
                continue
            self.applied[gid] = {name: elements for name, (_t, elements) in group.sets.items()}
            self.groups[gid] = wanted[gid]
            old = self.compiled.get(gid)
            if old is None or risks is None:
                full.add(gid)
            else:
                risks += risks_of_change(old, group)
            self.compiled[gid] = group
            changed = True

        ours = present if self.owned is None else present & self.owned.ids("group")
        for gid in sorted(ours - set(wanted) - remotes):
            mine = {o for o in objects if group_of_object(o) == gid}
            try:
                self._apply(render_delete_group(gid, mine))
            except DriverError:
                continue  # a port still jumps to it (or another group reads its members): kept as it is
            self.groups.pop(gid, None)
            self.compiled.pop(gid, None)
            self.applied.pop(gid, None)
            if self.owned is not None:
                self.owned.discard("group", gid)
            if self.applied_members is not None:
                for version in (4, 6):
                    self.applied_members.pop(member_set(gid, version), None)
            changed = True
        self._forget_gone_zones()
        if changed or before != self.groups:
            everything = [p for p, spec in self.ports.items() if full & set(spec.security_group_ids)]
            self.cut_flows(everything)
            if risks is not None and len(risks) > MAX_RISKS:
                risks = None  # a big removal: re-checking each flow against the (now smaller) rules is cheaper
            if risks is None:
                self.cut_flows(list(self.ports))
            elif risks:
                self.cut_flows([p for p in self.ports if p not in everything], risks)
        if failures:
            raise DriverError("; ".join(failures))

    def drop_if_unused(self) -> None:
        """Remove the table once it holds no port and no group of any installation on the host."""
        objects = self.table.objects()
        if objects and not any(o.startswith("p-") or group_of_object(o) for o in objects):
            self._apply_text(f"table {FAMILY} {TABLE} {{}}\ndelete table {FAMILY} {TABLE}\n")

    def _forget_gone_zones(self) -> None:
        zones = self.table.zones()
        bridges = {link.name for link in self.links.all()}
        gone = [bridge for bridge in zones if bridge not in bridges]
        if gone:
            items = ", ".join(f'"{b}"' for b in gone)
            try:
                self._apply([f"delete element {FAMILY} {TABLE} zones {{ {items} }}"])
            except DriverError:
                return
        self.zones = {b: z for b, z in zones.items() if b not in gone}

    # ---- conntrack ----

    def cut_flows(self, port_ids: list[str], risks: list[Risk] | None = None) -> int:
        """Delete the conntrack entries of these ports that their groups no longer allow (only those
        one of `risks` could have allowed, when given)."""
        if self.zones is None:
            self.zones = self.table.zones()
        targets = [
            (spec, self.zones[bridge_of(spec)])
            for port_id in port_ids
            if (spec := self.ports.get(port_id)) is not None and bridge_of(spec) in self.zones
        ]
        if not targets:
            return 0
        entries = list(self.conntrack.entries({zone for _spec, zone in targets}, _filters(risks)))
        doomed = flows_to_cut(entries, targets, self.groups, risks)
        return self.conntrack.delete(doomed) if doomed else 0


MAX_FILTERED_DUMPS = 64
MAX_RISKS = 256


def _filters(risks: list[Risk] | None) -> list[dict[str, Any]] | None:
    """Kernel-side conntrack filters covering every flow a risk could concern; None: dump everything."""
    if risks is None:
        return None
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for risk in risks:
        net, key, low, high = risk.box
        if risk.kind is None:  # a removed member: flows from or to that address
            if net.num_addresses != 1:
                return None
            for side in ("saddr", "daddr"):
                query = {"version": risk.version, side: str(net.network_address)}
                found[tuple(sorted(query.items()))] = query
        elif risk.kind == "t" and high - low < 16:
            for port in range(low, high + 1):
                query = {"version": risk.version, "proto": key, "dport": port}
                found[tuple(sorted(query.items()))] = query
        elif risk.kind == "c" or (risk.kind == "p" and high - low < 4):
            for proto in [ICMP_PROTOCOL[risk.version]] if risk.kind == "c" else range(low, high + 1):
                query = {"version": risk.version, "proto": proto}
                found[tuple(sorted(query.items()))] = query
        else:
            return None
        if len(found) > MAX_FILTERED_DUMPS:
            return None
    return list(found.values())
