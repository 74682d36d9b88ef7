"""Per-port DHCP options (Neutron's extra_dhcp_opt): checked here so that nothing a user types can become a
dnsmasq directive of its own; the agent's dnsmasq writer checks every value again."""

from __future__ import annotations

import re
from collections.abc import Iterable

from andromede.network import ipam

# DHCPv4 option names dnsmasq knows (dnsmasq --help dhcp); numbers 1-254 work too.
NAMES = frozenset((
    "netmask", "time-offset", "router", "dns-server", "log-server", "lpr-server", "boot-file-size", "domain-name",
    "swap-server", "root-path", "extension-path", "ip-forward-enable", "non-local-source-routing", "policy-filter",
    "max-datagram-reassembly", "default-ttl", "mtu", "all-subnets-local", "router-discovery", "router-solicitation",
    "static-route", "trailer-encapsulation", "arp-timeout", "ethernet-encap", "tcp-ttl", "tcp-keepalive",
    "nis-domain", "nis-server", "ntp-server", "netbios-ns", "netbios-dd", "netbios-nodetype", "netbios-scope",
    "x-windows-fs", "x-windows-dm", "T1", "T2", "vendor-class", "nis+-domain", "nis+-server", "tftp-server",
    "bootfile-name", "mobile-ip-home", "smtp-server", "pop3-server", "nntp-server", "irc-server", "user-class",
    "rapid-commit", "client-arch", "client-interface-id", "client-machine-id", "posix-timezone", "tzdb-timezone",
    "ipv6-only", "domain-search", "sip-server", "classless-static-route", "vendor-id-encap", "tftp-server-address",
    "server-ip-address",
))  # fmt: skip
# Commas separate a multi-valued option's values: after the option name dnsmasq reads nothing but values. No
# spaces, quotes, newlines or '#' (a comment), so a value can never end the line or start another directive.
VALUE = re.compile(r"[0-9A-Za-z.:/_@=+,%-]{1,255}")
VERSIONS = (4, 6)
MAX_OPTIONS = 32


def _key(option: dict) -> tuple[str, int]:
    return option["opt_name"], option["ip_version"]


def _within_limit(options: dict[tuple[str, int], dict]) -> list[dict]:
    if len(options) > MAX_OPTIONS:
        raise ipam.invalid(f"At most {MAX_OPTIONS} DHCP options per port.")
    return list(options.values())


def _check_name(name: str) -> None:
    if name.isdigit() and 1 <= int(name) <= 254 and name == str(int(name)):
        return
    if name not in NAMES:
        raise ipam.invalid(f"'{name}' is not a DHCP option name this cloud knows (a name such as 'ntp-server', "
                           "or a number from 1 to 254).")


def checked(options: Iterable[dict], *, removals: bool) -> list[dict]:
    """[{opt_name, opt_value, ip_version}] in canonical form; a null value (a removal) only when `removals`."""
    result: dict[tuple[str, int], dict] = {}
    for option in options:
        name, value, version = option["opt_name"], option.get("opt_value"), option.get("ip_version", 4)
        if version not in VERSIONS:
            raise ipam.invalid(f"{version} is not a valid IP version for a DHCP option.")
        _check_name(name)
        if value is None and not removals:
            raise ipam.invalid(f"DHCP option {name} needs a value.")
        if value is not None and not VALUE.fullmatch(value):
            raise ipam.invalid(f"Invalid value for DHCP option {name}: use letters, digits and . : / _ @ = + , % - "
                               "only (at most 255).")
        canonical = {"opt_name": name, "opt_value": value, "ip_version": version}
        if _key(canonical) in result:
            raise ipam.invalid(f"Duplicate DHCP option {name} (IPv{version}).")
        result[_key(canonical)] = canonical
    return _within_limit(result)


def merged(current: list[dict], updates: list[dict]) -> list[dict]:
    """Neutron's update: a named option is replaced, a null value removes it, the others stay."""
    result = {_key(o): o for o in current}
    for option in checked(updates, removals=True):
        if option["opt_value"] is None:
            result.pop(_key(option), None)
        else:
            result[_key(option)] = option
    return _within_limit(result)
