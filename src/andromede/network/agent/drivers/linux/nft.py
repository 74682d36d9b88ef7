"""Port security in one nftables table (bridge family), `andromede-ports`: a chain and three sets per port.

Two base chains serve every port on the host, whatever their number: bridge prerouting dispatches what a tap
*emits* to its port's chain through a verdict map keyed by device name, and bridge forward tags what the bridge
sends *to* a tap with the port's ingress mark (security groups, secgroups.py, read both marks). A packet thus
meets one map lookup per hook instead of one base chain per port.

A port's chain admits only its own MAC and addresses (plus allowed address pairs), no forged ARP, and no DHCP
server or IPv6 router replies. Each port is replaced in a transaction of its own, so one port's ruleset failing
to load never touches another's.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from andromede.network.agent.drivers.base import PortSpec
from andromede.network.agent.drivers.linux import names
from andromede.network.agent.drivers.linux.run import in_netns, run

FAMILY = "bridge"
TABLE = "andromede-ports"
# Before anything else on the bridge, and before br_netfilter hands IP traffic to the inet hooks (0).
PRIORITY = -300
ID_LENGTH = 36


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address a guest derives from its MAC (RFC 4291 appendix A)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui64 = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    interface_id = int.from_bytes(bytes(eui64), "big")
    return str(ipaddress.IPv6Address((0xFE80 << 112) | interface_id))


def allowed_pairs(spec: PortSpec) -> tuple[list[str], list[str], list[str]]:
    """(MACs, 'mac . ipv4/len' elements, 'mac . ipv6/len' elements) the port may use as sources."""
    macs = [spec.mac]
    v4: list[str] = []
    v6: list[str] = []
    for address in spec.fixed_ips:
        parsed = ipaddress.ip_address(address)
        (v4 if parsed.version == 4 else v6).append(f"{spec.mac} . {parsed}/{parsed.max_prefixlen}")
    for pair in spec.allowed_address_pairs:
        mac = pair.mac or spec.mac
        if mac not in macs:
            macs.append(mac)
        network = ipaddress.ip_network(pair.cidr)
        (v4 if network.version == 4 else v6).append(f"{mac} . {network}")
    v6.extend(f"{mac} . {link_local(mac)}/128" for mac in macs)
    return macs, _unique(v4), _unique(v6)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---- names ----


def port_chain(port_id: str) -> str:
    # The full id: the chain alone lets a restarted agent find which port it was.
    return f"p-{port_id}"


def port_set(port_id: str, kind: str) -> str:
    return f"p-{port_id}-{kind}"


SET_TYPES = {"macs": "ether_addr", "v4": "ether_addr . ipv4_addr", "v6": "ether_addr . ipv6_addr",
             "v4host": "ether_addr . ipv4_addr", "v6host": "ether_addr . ipv6_addr"}
# The v4/v6 sets hold prefixes (allowed address pairs may be CIDRs), so the kernel makes them interval sets, whose
# lookup uses the vector unit: in the softirq of every packet that costs a save of the interrupted task's FPU
# state. The fast path reads the *host sets instead: exact (MAC . address) pairs, a plain hash lookup.
INTERVAL_SETS = ("v4", "v6")


def port_of_chain(name: str) -> str | None:
    if name.startswith("p-") and len(name) == 2 + ID_LENGTH:
        return name[2:]
    return None


# ---- rendering ----


def render_base() -> list[str]:
    """The table and its two dispatch rules, declared idempotently and rewritten atomically each time."""
    return [
        f"table {FAMILY} {TABLE} {{",
        "  map from_ports { type ifname : verdict; }",
        "  map to_ports { type ifname : mark; }",
        f"  chain prerouting {{ type filter hook prerouting priority {PRIORITY}; policy accept; }}",
        f"  chain forward {{ type filter hook forward priority {PRIORITY}; policy accept; }}",
        "}",
        f"flush chain {FAMILY} {TABLE} prerouting",
        f"add rule {FAMILY} {TABLE} prerouting iifname vmap @from_ports",
        f"flush chain {FAMILY} {TABLE} forward",
        f"add rule {FAMILY} {TABLE} forward meta mark set oifname map @to_ports",
    ]


def _declare_port(port_id: str) -> list[str]:
    lines = [f"table {FAMILY} {TABLE} {{"]
    for kind, type_ in SET_TYPES.items():
        flags = " flags interval;" if kind in INTERVAL_SETS else ""
        lines.append(f"  set {port_set(port_id, kind)} {{ type {type_};{flags} }}")
    lines += [f"  chain {port_chain(port_id)} {{ }}", "}"]
    return lines


def _legacy_table_delete(port_id: str) -> list[str]:
    """Agents before the shared table made one table per port: replaced in the same transaction."""
    legacy = names.port_table(port_id)
    return [f"table {FAMILY} {legacy} {{}}", f"delete table {FAMILY} {legacy}"]


def port_rules(spec: PortSpec, egress_mark: int) -> list[str]:
    """The port's chain. Common traffic (TCP, ICMP... from its own addresses) is accepted by the first rules,
    so a packet of an established flow meets one set lookup here."""
    macs, v4, v6, v4host, v6host = (port_set(spec.port_id, kind) for kind in SET_TYPES)
    return [
        f"meta mark set {egress_mark:#x}",
        f"ether type ip ether saddr . ip saddr @{v4host} meta l4proto != udp accept",
        f"ether type ip6 ether saddr . ip6 saddr @{v6host} meta l4proto != {{ udp, ipv6-icmp }} accept",
        f"ether saddr != @{macs} drop",
        "ether type != { ip, ip6, arp } drop",  # no VLAN tags or other protocols that bypass the checks below
        "ether type arp arp htype != 1 drop",
        "ether type arp arp ptype != ip drop",
        f"ether type arp arp saddr ether != @{macs} drop",
        # DAD-style ARP probes carry sender address 0.0.0.0.
        "ether type arp arp saddr ip 0.0.0.0 accept",
        f"ether type arp arp saddr ether . arp saddr ip != @{v4} drop",
        # A DHCP client before it has an address: the only traffic allowed from 0.0.0.0.
        "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
        "ether type ip udp sport 67 drop",
        f"ether type ip ether saddr . ip saddr != @{v4} drop",
        "ether type ip6 icmpv6 type nd-router-advert drop",
        "ether type ip6 icmpv6 type nd-redirect drop",
        "ether type ip6 udp sport 547 drop",
        # IPv6 duplicate address detection sends neighbour solicitations from the unspecified address.
        "ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } accept",
        f"ether type ip6 ether saddr . ip6 saddr != @{v6} drop",
    ]


def render_port(spec: PortSpec, marks: tuple[int, int]) -> str:
    """nft input replacing the port's chain, sets and map elements in one transaction.

    Every value comes from a validated spec (canonical MACs, addresses and UUIDs), never from free text.
    `marks` (egress, ingress): what the port emits and what the bridge forwards to it are tagged with these, for
    the security groups' dispatch in the inet table, before br_netfilter's hooks.
    """
    port_id, tap = spec.port_id, names.tap_name(spec.port_id)
    macs, v4, v6 = allowed_pairs(spec)
    chain = port_chain(port_id)
    lines = [*_legacy_table_delete(port_id), *render_base(), *_declare_port(port_id)]
    lines.append(f"flush chain {FAMILY} {TABLE} {chain}")
    hosts = {kind: [e.rsplit("/", 1)[0] for e in elements if e.endswith(("/32", "/128"))]
             for kind, elements in (("v4host", v4), ("v6host", v6))}
    for kind, elements in (("macs", macs), ("v4", v4), ("v6", v6), *hosts.items()):
        name = port_set(port_id, kind)
        lines.append(f"flush set {FAMILY} {TABLE} {name}")
        if elements:
            lines.append(f"add element {FAMILY} {TABLE} {name} {{ {', '.join(elements)} }}")
    lines += [f"add rule {FAMILY} {TABLE} {chain} {rule}" for rule in port_rules(spec, marks[0])]
    lines += [
        f'add element {FAMILY} {TABLE} from_ports {{ "{tap}" : jump {chain} }}',
        f'add element {FAMILY} {TABLE} to_ports {{ "{tap}" : {marks[1]:#x} }}',
    ]
    return "\n".join(lines) + "\n"


def render_delete(port_id: str, ingress_mark: int | None) -> str:
    """Remove the port's map elements, then its chain and sets. Adding the elements first makes deleting them
    safe whether or not they existed; that needs the values they had, so `ingress_mark` is the port's. None,
    for when the device name's elements belong to another port (a tap name clash): only the chain and sets go."""
    tap, chain = names.tap_name(port_id), port_chain(port_id)
    lines = [*_legacy_table_delete(port_id), *render_base(), *_declare_port(port_id)]
    if ingress_mark is not None:
        lines += [
            f'add element {FAMILY} {TABLE} from_ports {{ "{tap}" : jump {chain} }}',
            f'delete element {FAMILY} {TABLE} from_ports {{ "{tap}" }}',
            f'add element {FAMILY} {TABLE} to_ports {{ "{tap}" : {ingress_mark:#x} }}',
            f'delete element {FAMILY} {TABLE} to_ports {{ "{tap}" }}',
        ]
    lines += [f"flush chain {FAMILY} {TABLE} {chain}", f"delete chain {FAMILY} {TABLE} {chain}"]
    lines += [f"delete set {FAMILY} {TABLE} {port_set(port_id, kind)}" for kind in SET_TYPES]
    return "\n".join(lines) + "\n"


class Nft:
    def __init__(self, netns: str | None) -> None:
        self.netns = netns

    def apply(self, ruleset: str) -> None:
        run(in_netns(self.netns, ["nft", "-f", "-"]), stdin=ruleset)

    def drop_if_unused(self) -> None:
        """Remove the shared table once no port of any installation on the host has a chain in it."""
        if not self.port_tables():
            self.apply(f"table {FAMILY} {TABLE} {{}}\ndelete table {FAMILY} {TABLE}\n")

    def port_tables(self) -> set[str]:
        """Port ids that have a chain (or a table, from an agent before the shared table)."""
        listing = json.loads(run(in_netns(self.netns, ["nft", "-j", "-t", "list", "tables", FAMILY])) or "{}")
        found: set[str] = set()
        shared = False
        for item in listing.get("nftables", []):
            name = item.get("table", {}).get("name", "")
            if name == TABLE:
                shared = True
            elif port_id := names.port_of_table(name):
                found.add(port_id)
        if shared:
            table = json.loads(run(in_netns(self.netns, ["nft", "-j", "-t", "list", "table", FAMILY, TABLE])) or "{}")
            for item in table.get("nftables", []):
                if port_id := port_of_chain(item.get("chain", {}).get("name", "")):
                    found.add(port_id)
        return found
