"""Port security as one nftables table per port (bridge family), replaced atomically with `nft -f -`.

One table per port means one port's ruleset failing to load never touches another's. The table filters what
the port's tap *emits* (bridge prerouting, matched on the input interface): the guest may only use its own MAC
and addresses (plus allowed address pairs), may not forge ARP, and may not act as a DHCP server or an IPv6 router.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from andromede.network.agent.drivers.base import PortSpec
from andromede.network.agent.drivers.linux import names
from andromede.network.agent.drivers.linux.run import in_netns, run

FAMILY = "bridge"
# Before anything else on the bridge, and before br_netfilter hands IP traffic to the inet hooks (0).
PRIORITY = -300


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


def _set(name: str, type_: str, elements: list[str], *, interval: bool) -> list[str]:
    lines = [f"  set {name} {{", f"    type {type_}"]
    if interval:
        lines.append("    flags interval")
    if elements:
        lines.append(f"    elements = {{ {', '.join(elements)} }}")
    lines.append("  }")
    return lines


def render_port_table(spec: PortSpec, marks: tuple[int, int] | None = None) -> str:
    """The whole table as nft input that replaces any earlier version in one transaction.

    Every value comes from a validated spec (canonical MACs, addresses and UUIDs), never from free text.
    `marks` (egress, ingress): security groups (secgroups.py) find the port's frames by these packet marks,
    set here on what the port emits and on what the bridge forwards to it, before br_netfilter's hooks.
    """
    table = names.port_table(spec.port_id)
    tap = names.tap_name(spec.port_id)
    macs, v4, v6 = allowed_pairs(spec)
    lines = [
        # Declaring then deleting makes the replacement work whether or not the table existed.
        f"table {FAMILY} {table} {{}}",
        f"delete table {FAMILY} {table}",
        f"table {FAMILY} {table} {{",
        *_set("macs", "ether_addr", macs, interval=False),
        *_set("ipv4", "ether_addr . ipv4_addr", v4, interval=True),
        *_set("ipv6", "ether_addr . ipv6_addr", v6, interval=True),
        "  chain from_port {",
        f"    type filter hook prerouting priority {PRIORITY}; policy accept;",
        f'    iifname != "{tap}" accept',
        "    ether saddr != @macs drop",
        "    ether type != { ip, ip6, arp } drop",  # no VLAN tags or other protocols that bypass the checks below
        "    ether type arp arp htype != 1 drop",
        "    ether type arp arp ptype != ip drop",
        "    ether type arp arp saddr ether != @macs drop",
        # DAD-style ARP probes carry sender address 0.0.0.0.
        "    ether type arp arp saddr ip 0.0.0.0 accept",
        "    ether type arp arp saddr ether . arp saddr ip != @ipv4 drop",
        # A DHCP client before it has an address: the only traffic allowed from 0.0.0.0.
        "    ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
        "    ether type ip udp sport 67 drop",
        "    ether type ip ether saddr . ip saddr != @ipv4 drop",
        "    ether type ip6 icmpv6 type nd-router-advert drop",
        "    ether type ip6 icmpv6 type nd-redirect drop",
        "    ether type ip6 udp sport 547 drop",
        # IPv6 duplicate address detection sends neighbour solicitations from the unspecified address.
        "    ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } accept",
        "    ether type ip6 ether saddr . ip6 saddr != @ipv6 drop",
        *([f"    meta mark set {marks[0]:#x}"] if marks else []),
        "  }",
        *(
            [
                "  chain to_port {",
                f"    type filter hook forward priority {PRIORITY}; policy accept;",
                f'    oifname "{tap}" meta mark set {marks[1]:#x}',
                "  }",
            ]
            if marks
            else []
        ),
        "}",
    ]
    return "\n".join(lines) + "\n"


def render_delete(port_id: str) -> str:
    table = names.port_table(port_id)
    return f"table {FAMILY} {table} {{}}\ndelete table {FAMILY} {table}\n"


class Nft:
    def __init__(self, netns: str | None) -> None:
        self.netns = netns

    def apply(self, ruleset: str) -> None:
        run(in_netns(self.netns, ["nft", "-f", "-"]), stdin=ruleset)

    def port_tables(self) -> set[str]:
        """Port ids that have a table."""
        listing = json.loads(run(in_netns(self.netns, ["nft", "-j", "list", "tables", FAMILY])) or "{}")
        found: set[str] = set()
        for item in listing.get("nftables", []):
            port_id = names.port_of_table(item.get("table", {}).get("name", ""))
            if port_id:
                found.add(port_id)
        return found
