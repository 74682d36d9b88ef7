"""The external network's host side in an all-in-one cloud (DevStack's br-ex with 172.24.4.1/24).

The host gets an address on the external network's bridge, so it reaches router gateways and floating IPs, and
masquerades that range when it leaves through any other interface, so guests reach the outside world: first SNAT
in their router (to the gateway or a floating IP), then this NAT on the host. One nftables table per external
network (table ip andromede-external-<network id>), replaced atomically.
"""

from __future__ import annotations

from andromede.network.agent.drivers.base import DriverError, check_host_cidr, check_id
from andromede.network.agent.drivers.linux import names
from andromede.network.agent.drivers.linux.links import Links
from andromede.network.agent.drivers.linux.run import in_netns, run

FAMILY = "ip"
DEFAULT_HOST_CIDR = "172.24.4.1/24"  # DevStack's PUBLIC_NETWORK_GATEWAY on 172.24.4.0/24


def render_external_table(network_id: str, host_cidr: str) -> str:
    check_id(network_id, "network_id")
    network = check_host_cidr(host_cidr).network
    table = names.external_table(network_id)
    return "\n".join(
        [
            f"table {FAMILY} {table} {{}}",
            f"delete table {FAMILY} {table}",
            f"table {FAMILY} {table} {{",
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
            # Only what the host routes out of another interface: with br_netfilter (bridge-nf-call-iptables=1,
            # the common default) frames crossing a network's bridge show up here too, with that bridge as
            # output device, and must keep their addresses (the router's DNAT to a guest, for one).
            f'    ip saddr {network} ip daddr != {network} oifname != "{names.BRIDGE_PREFIX}*" masquerade',
            "  }",
            "}",
        ]
    ) + "\n"


def render_delete(network_id: str) -> str:
    table = names.external_table(check_id(network_id, "network_id"))
    return f"table {FAMILY} {table} {{}}\ndelete table {FAMILY} {table}\n"


class ExternalAccess:
    def __init__(self, links: Links) -> None:
        self.links = links

    def ensure(self, network_id: str, host_cidr: str) -> None:
        interface = check_host_cidr(host_cidr)
        bridge = self.links.get(names.bridge_name(check_id(network_id, "network_id")))
        if bridge is None or names.parse_network_alias(bridge.alias) != network_id:
            raise DriverError(f"network {network_id} does not exist on this host")
        run(in_netns(self.links.netns, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]))
        run(in_netns(self.links.netns, ["nft", "-f", "-"]), stdin=render_external_table(network_id, host_cidr))
        self.links.ensure_addresses(bridge.name, {(str(interface.ip), interface.network.prefixlen)})

    def delete(self, network_id: str) -> None:
        check_id(network_id, "network_id")
        bridge = self.links.get(names.bridge_name(network_id))
        if bridge is not None and names.parse_network_alias(bridge.alias) == network_id:
            self.links.ensure_addresses(bridge.name, set())
        run(in_netns(self.links.netns, ["nft", "-f", "-"]), stdin=render_delete(network_id))
