"""What a host's network data plane must do for the network agent. One real driver (Linux) and one fake twin.

Every method is idempotent: the agent's reconcile loop calls them again and again with the desired state, and
"already so" is success. What the driver builds outlives the agent: a new driver object finds it again through
list_networks() / list_ports() so a restarted agent adopts it, or garbage-collects what is no longer desired.

Specs validate themselves on construction (ValueError), so both drivers refuse the same bad input and nothing a
user typed reaches a kernel name, an nftables ruleset or dnsmasq's configuration without passing these checks.
"""

from __future__ import annotations

import abc
import ipaddress
import re
from dataclasses import dataclass

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
# RFC 1123 labels joined by dots: no commas, spaces, newlines or anything else dnsmasq would interpret.
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
VNI_MAX = 2**24 - 1
MTU_MIN, MTU_MAX = 576, 9000  # 576: the smallest MTU an IPv4 DHCP client must accept


class DriverError(Exception):
    """A data-plane operation failed; the message is fit for a port/network fault shown to an operator."""


def check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise ValueError(f"{what} must be a lower-case canonical UUID, got {value!r}")
    return value


def check_mac(value: str) -> str:
    if not isinstance(value, str) or not _MAC.fullmatch(value):
        raise ValueError(f"MAC address must look like fa:16:3e:00:00:01 (lower case), got {value!r}")
    if int(value[:2], 16) & 1:
        raise ValueError(f"MAC address {value} is a multicast address")
    return value


def check_hostname(value: str) -> str:
    if not isinstance(value, str) or len(value) > 253 or not value:
        raise ValueError(f"hostname must be 1 to 253 characters, got {value!r}")
    if not all(_LABEL.fullmatch(label) for label in value.split(".")):
        raise ValueError(f"hostname {value!r} must be dot-separated letters, digits and inner hyphens (lower case)")
    return value


def check_ip(value: str) -> str:
    """An address in canonical form (so '010.0.0.1' or '::ffff:1.2.3.4'-style surprises never reach a config)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError as exc:
        raise ValueError(f"not an IP address: {value!r}") from exc
    if str(address) != value:
        raise ValueError(f"IP address {value!r} is not in canonical form ({address})")
    return value


def check_cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a network in CIDR form without host bits: {value!r}") from exc
    if str(network) != value:
        raise ValueError(f"CIDR {value!r} is not in canonical form ({network})")
    return network


def _contains(cidr: str, address: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(cidr)


# ---- networks ----


@dataclass(frozen=True)
class NetworkSpec:
    """A tenant network on this host: one Linux bridge over one VXLAN segment."""

    network_id: str
    vni: int
    mtu: int = 1450  # 1500 on the underlay minus 50 bytes of VXLAN/UDP/IP/Ethernet encapsulation
    # Other hosts' VTEP addresses for broadcast/unknown-unicast flooding (head-end replication).
    # Later slice: l2population fills precise FDB entries instead of flooding to everyone.
    remote_vteps: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_id(self.network_id, "network_id")
        if not isinstance(self.vni, int) or not 1 <= self.vni <= VNI_MAX:
            raise ValueError(f"VNI must be 1..{VNI_MAX}, got {self.vni!r}")
        if not isinstance(self.mtu, int) or not MTU_MIN <= self.mtu <= MTU_MAX:
            raise ValueError(f"MTU must be {MTU_MIN}..{MTU_MAX}, got {self.mtu!r}")
        for vtep in self.remote_vteps:
            check_ip(vtep)


@dataclass(frozen=True)
class NetworkState:
    network_id: str
    vni: int | None  # None when the bridge exists but its VXLAN device is gone (ensure_network repairs it)
    mtu: int
    dhcp: bool


# ---- DHCP ----


@dataclass(frozen=True)
class DhcpSubnet:
    subnet_id: str
    cidr: str
    server_address: str  # the DHCP port's own address in this subnet
    gateway: str | None = None  # None: tell clients there is no router (dnsmasq would advertise itself otherwise)
    dns_servers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination CIDR, next hop)
    lease_seconds: int = 86400

    def __post_init__(self) -> None:
        check_id(self.subnet_id, "subnet_id")
        network = check_cidr(self.cidr)
        if network.version != 4:
            raise ValueError("DHCP serves IPv4 subnets only in this slice")
        for address in (self.server_address, *(a for a in (self.gateway,) if a is not None)):
            check_ip(address)
            if not _contains(self.cidr, address):
                raise ValueError(f"{address} is not inside subnet {self.cidr}")
        for server in self.dns_servers:
            check_ip(server)
        for destination, nexthop in self.host_routes:
            check_cidr(destination)
            check_ip(nexthop)
        if not isinstance(self.lease_seconds, int) or not 120 <= self.lease_seconds <= 2**31 - 1:
            raise ValueError(f"lease time must be at least 120 seconds, got {self.lease_seconds!r}")


@dataclass(frozen=True)
class DhcpHost:
    """A static lease: only MACs listed here get an address (there is no dynamic pool)."""

    mac: str
    ip: str
    hostname: str

    def __post_init__(self) -> None:
        check_mac(self.mac)
        check_ip(self.ip)
        check_hostname(self.hostname)


@dataclass(frozen=True)
class DhcpSpec:
    network_id: str
    port_id: str  # the network's DHCP port: its MAC and server addresses live in the DHCP namespace
    mac: str
    subnets: tuple[DhcpSubnet, ...]
    hosts: tuple[DhcpHost, ...] = ()
    mtu: int | None = None  # sent as DHCP option 26 so guests on VXLAN do not black-hole full-size packets
    domain: str = "openstacklocal"

    def __post_init__(self) -> None:
        check_id(self.network_id, "network_id")
        check_id(self.port_id, "port_id")
        check_mac(self.mac)
        check_hostname(self.domain)
        if not self.subnets:
            raise ValueError("DHCP needs at least one subnet")
        if len({s.subnet_id for s in self.subnets}) != len(self.subnets):
            raise ValueError("subnet ids must be unique")
        if self.mtu is not None and not MTU_MIN <= self.mtu <= MTU_MAX:
            raise ValueError(f"MTU must be {MTU_MIN}..{MTU_MAX}, got {self.mtu!r}")
        seen_macs: set[str] = set()
        seen_ips: set[str] = set()
        for host in self.hosts:
            if not any(_contains(s.cidr, host.ip) for s in self.subnets):
                raise ValueError(f"host address {host.ip} is in none of the network's subnets")
            if host.mac in seen_macs or host.ip in seen_ips:
                raise ValueError(f"duplicate DHCP host entry for {host.mac} / {host.ip}")
            seen_macs.add(host.mac)
            seen_ips.add(host.ip)


# ---- ports ----


@dataclass(frozen=True)
class AddressPair:
    """Neutron's allowed_address_pairs entry: an extra source the port may use (a VIP, a routed prefix)."""

    cidr: str  # a single address is written as /32 or /128
    mac: str | None = None  # None: the port's own MAC

    def __post_init__(self) -> None:
        check_cidr(self.cidr)
        if self.mac is not None:
            check_mac(self.mac)


MAX_ADDRESS_PAIRS = 1000  # Neutron's default max_allowed_address_pair is 10; this only bounds ruleset size


@dataclass(frozen=True)
class PortSpec:
    port_id: str
    network_id: str
    mac: str
    fixed_ips: tuple[str, ...] = ()
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    port_security: bool = True  # False: no anti-spoofing (and, later, no security groups) on this port
    # Later slice (security groups): security_group_ids and their rules arrive here or through
    # NetworkDriver.ensure_security_groups; the per-port nftables table keeps a place for their chain.

    def __post_init__(self) -> None:
        check_id(self.port_id, "port_id")
        check_id(self.network_id, "network_id")
        check_mac(self.mac)
        for address in self.fixed_ips:
            check_ip(address)
        if len(self.allowed_address_pairs) > MAX_ADDRESS_PAIRS:
            raise ValueError(f"at most {MAX_ADDRESS_PAIRS} allowed address pairs per port")


@dataclass(frozen=True)
class PortState:
    port_id: str
    network_id: str | None  # None for leftovers whose device is gone (only the filter remains)
    device: str | None  # the tap device's name; None when the device is gone
    attached: bool  # the device is a port of its network's bridge
    filtered: bool  # anti-spoofing rules are loaded


class NetworkDriver(abc.ABC):
    # ---- networks ----

    @abc.abstractmethod
    def ensure_network(self, spec: NetworkSpec) -> None:
        """The bridge and its VXLAN segment exist, are up and match the spec (a changed VNI recreates the segment)."""

    @abc.abstractmethod
    def delete_network(self, network_id: str) -> None:
        """Remove the bridge, the VXLAN device and the network's DHCP server. Ports on it are left detached."""

    @abc.abstractmethod
    def list_networks(self) -> dict[str, NetworkState]:
        """Every network this driver finds on the host, whoever created it (adoption and garbage collection)."""

    # ---- DHCP ----

    @abc.abstractmethod
    def ensure_dhcp(self, spec: DhcpSpec) -> None:
        """The network's DHCP server runs and serves exactly spec.hosts. The network must exist (DriverError)."""

    @abc.abstractmethod
    def delete_dhcp(self, network_id: str) -> None:
        """Stop the DHCP server and remove its namespace and files."""

    @abc.abstractmethod
    def dhcp_hosts(self, network_id: str) -> tuple[DhcpHost, ...] | None:
        """The static leases the network's DHCP server is serving now; None when it does not run."""

    # ---- ports ----

    @abc.abstractmethod
    def ensure_port(self, spec: PortSpec) -> None:
        """The port's tap device exists (created if missing, adopted if e.g. QEMU made it), is up, is on its
        network's bridge, and carries the anti-spoofing filter when port_security is on. The network must exist."""

    @abc.abstractmethod
    def delete_port(self, port_id: str) -> None:
        """Remove the port's filter and its device."""

    @abc.abstractmethod
    def list_ports(self) -> dict[str, PortState]:
        """Every port this driver finds on the host (a device or a leftover filter)."""

    # ---- extension points for later slices (not implemented by any driver yet) ----

    def ensure_security_groups(self, port_id: str, rules: object) -> None:
        """Later slice: stateful per-port chains, remote groups as sets, changes applied within 1 s."""
        raise NotImplementedError("security groups arrive in a later slice")

    def ensure_router(self, router: object) -> None:
        """Later slice: a namespace per router, interfaces on tenant bridges, SNAT via nftables."""
        raise NotImplementedError("routers arrive in a later slice")

    def ensure_floating_ips(self, router_id: str, floating_ips: object) -> None:
        """Later slice: 1:1 DNAT/SNAT in the router namespace."""
        raise NotImplementedError("floating IPs arrive in a later slice")
