"""Subnet arithmetic and address allocation: CIDR checks, default gateway and pools, next free address."""

from __future__ import annotations

import ipaddress
import itertools
import secrets
from collections.abc import Iterable

from andromede.common.errors import BadRequest

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Addr = ipaddress.IPv4Address | ipaddress.IPv6Address
MAC_PREFIX = "fa:16:3e"
# IPv6 address modes in which a guest makes its own address from the router's prefix and its MAC (EUI-64).
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")


def invalid(message: str) -> BadRequest:
    return BadRequest(f"Invalid input for operation: {message}", extra={"type": "InvalidInput"})


def parse_cidr(cidr: str, ip_version: int) -> Net:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        text = str(exc)
        if "host bits set" in text:
            suggested = ipaddress.ip_network(cidr, strict=False)
            raise invalid(f"'{cidr}' isn't a recommended CIDR, prefix should be '{suggested}'.") from None
        raise invalid(f"'{cidr}' is not a valid IP subnet.") from None
    if network.version != ip_version:
        raise invalid(f"Cidr {cidr} does not match ip_version {ip_version}.")
    if network.prefixlen == 0:
        raise invalid(f"'{cidr}' is not a valid IP subnet: a /0 would claim every address.")
    if network.num_addresses < 4:
        raise invalid(f"'{cidr}' is too small: a subnet needs at least 4 addresses.")
    return network


def parse_destination(cidr: str, ip_version: int | None = None) -> Net:
    """A route's destination: a CIDR without host bits, of any length (a /32 host route, a /0 default route),
    of `ip_version` when given."""
    if "/" not in cidr:
        raise invalid(f"'{cidr}' is not a valid route destination: give it in CIDR form.")
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            suggested = ipaddress.ip_network(cidr, strict=False)
            raise invalid(f"'{cidr}' isn't a recommended CIDR, prefix should be '{suggested}'.") from None
        raise invalid(f"'{cidr}' is not a valid route destination.") from None
    if ip_version is not None and network.version != ip_version:
        raise invalid(f"Route destination {cidr} does not match ip_version {ip_version}.")
    return network


def address_pairs(pairs: list[dict]) -> list[dict]:
    """allowed_address_pairs in canonical form, or 400: each ip_address one address or a CIDR without host bits
    (as the agent's filters take them), each MAC lower-case, no pair twice."""
    checked: list[dict] = []
    for pair in pairs:
        text = pair["ip_address"]
        parsed = parse_destination(text) if "/" in text else parse_address(text, what="allowed address pair")
        address = str(parsed)
        entry = {"ip_address": address}
        if pair.get("mac_address"):
            entry["mac_address"] = pair["mac_address"].lower()
        if entry in checked:
            raise BadRequest(f"Request contains duplicate address pair: mac_address {entry.get('mac_address')} "
                             f"ip_address {address}.", extra={"type": "DuplicateAddressPairInRequest"})
        checked.append(entry)
    return checked


def host_routes(routes: list[dict], ip_version: int) -> list[dict]:
    """A subnet's host routes in canonical form, or 400: destinations and next hops of the subnet's version."""
    checked: list[dict] = []
    for route in routes:
        destination = parse_destination(route["destination"], ip_version)
        nexthop = parse_address(route["nexthop"], what="nexthop")
        if nexthop.version != ip_version:
            raise invalid(f"Route nexthop {nexthop} does not match ip_version {ip_version}.")
        canonical = {"destination": str(destination), "nexthop": str(nexthop)}
        if canonical not in checked:
            checked.append(canonical)
    return checked


def parse_address(text: str, network: Net | None = None, what: str = "IP address") -> Addr:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise invalid(f"'{text}' is not a valid {what}.") from None
    if network is not None and address not in network:
        raise invalid(f"{what} {text} is not in subnet {network}.")
    return address


def default_gateway(network: Net) -> str:
    return str(next(iter(network.hosts())))


def default_pools(network: Net, gateway: str | None) -> list[dict]:
    hosts = list(_host_range(network))
    first, last = hosts[0], hosts[-1]
    if gateway is not None and ipaddress.ip_address(gateway) == first:
        first += 1
    if gateway is not None and ipaddress.ip_address(gateway) == last:
        last -= 1
    return [{"start": str(first), "end": str(last)}]


def _host_range(network: Net) -> Iterable[Addr]:
    if network.version == 4:
        return range_of(network.network_address + 1, network.broadcast_address - 1)
    return range_of(network.network_address + 1, network.network_address + min(network.num_addresses - 1, 2**20))


def range_of(first: Addr, last: Addr) -> list[Addr]:
    return [first + i for i in range(int(last) - int(first) + 1)] if int(last) - int(first) < 2**20 else [first, last]


def check_pools(network: Net, pools: list[dict], gateway: str | None) -> list[dict]:
    spans = []
    for pool in pools:
        start = parse_address(pool["start"], network, "allocation pool start")
        end = parse_address(pool["end"], network, "allocation pool end")
        if int(end) < int(start):
            raise invalid(f"Allocation pool {pool['start']}-{pool['end']} ends before it starts.")
        if network.version == 4 and (start == network.network_address or end == network.broadcast_address):
            raise invalid("Allocation pools may not include the network or broadcast address.")
        if gateway is not None and int(start) <= int(ipaddress.ip_address(gateway)) <= int(end):
            raise invalid(f"Gateway ip {gateway} conflicts with allocation pool {pool['start']}-{pool['end']}.")
        spans.append((int(start), int(end)))
    spans.sort()
    for (_, end_a), (start_b, _) in itertools.pairwise(spans):
        if start_b <= end_a:
            raise invalid("Found overlapping allocation pools.")
    return [{"start": p["start"], "end": p["end"]} for p in pools]


def overlaps(a: str, b: str) -> bool:
    return ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b))


def next_free(pools: list[dict], used: set[str]) -> str | None:
    taken = {int(ipaddress.ip_address(ip)) for ip in used}
    for pool in pools:
        start, end = int(ipaddress.ip_address(pool["start"])), int(ipaddress.ip_address(pool["end"]))
        for value in range(start, min(end, start + 2**20) + 1):
            if value not in taken:
                return str(ipaddress.ip_address(value))
    return None


def in_pools(address: str, pools: list[dict]) -> bool:
    value = int(ipaddress.ip_address(address))
    return any(int(ipaddress.ip_address(p["start"])) <= value <= int(ipaddress.ip_address(p["end"])) for p in pools)


def random_mac() -> str:
    return MAC_PREFIX + "".join(f":{b:02x}" for b in secrets.token_bytes(3))


def eui64(cidr: str, mac: str) -> str:
    """The address a guest takes by SLAAC in a /64: the prefix, then its MAC with FFFE in the middle and the
    universal/local bit flipped (RFC 4291 appendix A)."""
    network = ipaddress.IPv6Network(cidr)
    octets = bytearray(int(part, 16) for part in mac.split(":"))
    octets[0] ^= 0x02
    interface_id = int.from_bytes(bytes(octets[:3]) + b"\xff\xfe" + bytes(octets[3:]), "big")
    return str(network.network_address + interface_id)


def check_ipv6_modes(ip_version: int, network: Net, ra_mode: str | None, address_mode: str | None) -> None:
    """Neutron's rules for the two IPv6 mode attributes."""
    if ip_version == 4 and (ra_mode or address_mode):
        raise invalid("ipv6_ra_mode and ipv6_address_mode are only valid for IPv6 subnets.")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise invalid(f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' is not "
                      "valid. If both attributes are set, they must be the same value.")
    if address_mode in AUTO_ADDRESS_MODES and network.prefixlen != 64:
        raise invalid(f"Invalid CIDR {network} for IPv6 address mode. OpenStack uses the EUI-64 address format, "
                      "which requires the prefix to be /64.")
