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


DHCP_OPTION_NAME = re.compile(r"[0-9]{1,3}|[A-Za-z0-9][A-Za-z0-9+-]{0,63}")
DHCP_OPTION_VALUE = re.compile(r"[0-9A-Za-z.:/_@=+,%-]{1,255}")  # as network/dhcp_options.py admits


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
    # The port's own DHCP options (Neutron's extra_dhcp_opts): (name or number, value) pairs.
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        check_mac(self.mac)
        check_ip(self.ip)
        check_hostname(self.hostname)
        for name, value in self.options:
            if not (DHCP_OPTION_NAME.fullmatch(name) and DHCP_OPTION_VALUE.fullmatch(value)):
                raise ValueError(f"DHCP option {name!r}={value!r} is not a plain option name and value")


@dataclass(frozen=True)
class DhcpSpec:
    network_id: str
    port_id: str  # the network's DHCP port: its MAC and server addresses live in the DHCP namespace
    mac: str
    subnets: tuple[DhcpSubnet, ...]
    hosts: tuple[DhcpHost, ...] = ()
    mtu: int | None = None  # sent as DHCP option 26 so guests on VXLAN do not black-hole full-size packets
    domain: str = "openstacklocal"
    # Serve 169.254.169.254 from the DHCP namespace (a proxy to the agent's metadata relay), with a host route
    # to it via the DHCP server's address pushed to clients (option 121).
    metadata: bool = False

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


# ---- security groups ----

DIRECTIONS = ("ingress", "egress")  # from the VM's point of view: ingress is traffic to the VM
ETHERTYPES = {"IPv4": 4, "IPv6": 6}
PROTOCOL_NAMES = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
PORTED_PROTOCOLS = frozenset({6, 17, 33, 132, 136})  # tcp, udp, dccp, sctp, udplite: rules may name ports
ICMP_PROTOCOL = {4: 1, 6: 58}  # per IP version, the protocol whose rules name (type, code) instead of ports
MAX_RULES_PER_GROUP = 65536
MAX_MEMBERS_PER_GROUP = 65536
MAX_GROUPS_PER_PORT = 64


def check_prefix(value: str, version: int, what: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A canonical CIDR, or a canonical bare address meaning its host prefix, of the given IP version."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {value!r}")
    network = check_cidr(value) if "/" in value else ipaddress.ip_network(check_ip(value))
    if network.version != version:
        raise ValueError(f"{what} {value} is not an IPv{version} prefix")
    return network


@dataclass(frozen=True)
class SecurityGroupRule:
    """One Neutron security-group rule: allow-only and stateful; directions are seen from the VM."""

    direction: str  # "ingress" (to the VM) | "egress" (from the VM)
    ethertype: str  # "IPv4" | "IPv6"
    protocol: str | None = None  # None: any; "tcp" | "udp" | "icmp" | "icmpv6" | a decimal number 0-255
    port_range_min: int | None = None  # port-carrying protocols: first port; icmp/icmpv6: the type
    port_range_max: int | None = None  # port-carrying protocols: last port; icmp/icmpv6: the code (None: any)
    remote_ip_prefix: str | None = None  # both remotes None: any address
    remote_group_id: str | None = None  # the remote address is a member of that group

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be ingress or egress, got {self.direction!r}")
        if self.ethertype not in ETHERTYPES:
            raise ValueError(f"ethertype must be IPv4 or IPv6, got {self.ethertype!r}")
        version = ETHERTYPES[self.ethertype]
        number = self.protocol_number
        for bound in (self.port_range_min, self.port_range_max):
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
                raise ValueError(f"port range bounds must be integers, got {bound!r}")
        low, high = self.port_range_min, self.port_range_max
        if number in PORTED_PROTOCOLS:
            if (low is None) != (high is None):
                raise ValueError("a port range needs both port_range_min and port_range_max")
            if low is not None and high is not None and not 0 <= low <= high <= 65535:
                raise ValueError(f"port range must satisfy 0 <= min <= max <= 65535, got {low}..{high}")
        elif number is not None and number == ICMP_PROTOCOL[version]:
            if low is None and high is not None:
                raise ValueError("an ICMP code (port_range_max) needs a type (port_range_min)")
            if any(b is not None and not 0 <= b <= 255 for b in (low, high)):
                raise ValueError(f"ICMP type and code must be 0..255, got {low}/{high}")
        elif low is not None or high is not None:
            raise ValueError(f"protocol {self.protocol!r} has no ports: port_range_min/max must be None")
        if self.remote_ip_prefix is not None and self.remote_group_id is not None:
            raise ValueError("a rule names a remote_ip_prefix or a remote_group_id, not both")
        if self.remote_ip_prefix is not None:
            if not isinstance(self.remote_ip_prefix, str) or "/" not in self.remote_ip_prefix:
                raise ValueError(f"remote_ip_prefix must be a CIDR, got {self.remote_ip_prefix!r}")
            check_prefix(self.remote_ip_prefix, version, "remote_ip_prefix")
        if self.remote_group_id is not None:
            check_id(self.remote_group_id, "remote_group_id")

    @property
    def protocol_number(self) -> int | None:
        """The IP protocol number (None: any). ValueError for anything but the accepted spellings."""
        protocol = self.protocol
        if protocol is None:
            return None
        if not isinstance(protocol, str):
            raise ValueError(f"protocol must be a string or None, got {protocol!r}")
        if protocol in PROTOCOL_NAMES:
            if (protocol, self.ethertype) in (("icmp", "IPv6"), ("icmpv6", "IPv4")):
                raise ValueError(f"protocol {protocol} does not go with ethertype {self.ethertype}")
            return PROTOCOL_NAMES[protocol]
        if not re.fullmatch(r"0|[1-9][0-9]{0,2}", protocol) or int(protocol) > 255:
            raise ValueError(f"protocol must be tcp, udp, icmp, icmpv6 or a number 0-255, got {protocol!r}")
        return int(protocol)


@dataclass(frozen=True)
class SecurityGroupSpec:
    """A group's rules and its members' addresses: the fixed IPs and address-pair CIDRs of every port in the
    group, on any host (the remote-group rules of this and other groups match against them)."""

    group_id: str
    rules: tuple[SecurityGroupRule, ...] = ()
    members_v4: tuple[str, ...] = ()
    members_v6: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_id(self.group_id, "group_id")
        if not isinstance(self.rules, tuple) or not all(isinstance(r, SecurityGroupRule) for r in self.rules):
            raise ValueError("rules must be a tuple of SecurityGroupRule")
        if len(self.rules) > MAX_RULES_PER_GROUP:
            raise ValueError(f"at most {MAX_RULES_PER_GROUP} rules per group")
        for members, version in ((self.members_v4, 4), (self.members_v6, 6)):
            if not isinstance(members, tuple) or len(members) > MAX_MEMBERS_PER_GROUP:
                raise ValueError(f"members must be a tuple of at most {MAX_MEMBERS_PER_GROUP} addresses")
            for member in members:
                check_prefix(member, version, "member")


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
    port_security: bool = True  # False: no anti-spoofing and no security groups on this port
    # The groups whose rules filter this port (defined by NetworkDriver.ensure_security_groups). With
    # port_security on and no group, only DHCP, ARP and IPv6 neighbour discovery pass (Neutron's behaviour).
    security_group_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_id(self.port_id, "port_id")
        check_id(self.network_id, "network_id")
        check_mac(self.mac)
        for address in self.fixed_ips:
            check_ip(address)
        if len(self.allowed_address_pairs) > MAX_ADDRESS_PAIRS:
            raise ValueError(f"at most {MAX_ADDRESS_PAIRS} allowed address pairs per port")
        if not isinstance(self.security_group_ids, tuple) or len(self.security_group_ids) > MAX_GROUPS_PER_PORT:
            raise ValueError(f"security_group_ids must be a tuple of at most {MAX_GROUPS_PER_PORT} ids")
        for group_id in self.security_group_ids:
            check_id(group_id, "security group id")
        if len(set(self.security_group_ids)) != len(self.security_group_ids):
            raise ValueError("security_group_ids must not repeat")


@dataclass(frozen=True)
class PortState:
    port_id: str
    network_id: str | None  # None for leftovers whose device is gone (only the filter remains)
    device: str | None  # the tap device's name; None when the device is gone
    attached: bool  # the device is a port of its network's bridge
    filtered: bool  # anti-spoofing rules are loaded


# ---- routers (L3: interfaces, external gateway, SNAT, floating IPs) ----


def _check_prefixlen(ip: str, prefixlen: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The subnet `ip/prefixlen` lies in (validates both)."""
    check_ip(ip)
    limit = ipaddress.ip_address(ip).max_prefixlen
    if not isinstance(prefixlen, int) or isinstance(prefixlen, bool) or not 1 <= prefixlen <= limit:
        raise ValueError(f"prefix length must be 1..{limit}, got {prefixlen!r}")
    return ipaddress.ip_network(f"{ip}/{prefixlen}", strict=False)


def check_host_cidr(value: str) -> ipaddress.IPv4Interface:
    """An IPv4 host address with its prefix length, e.g. 172.24.4.1/24 (not the network or broadcast address)."""
    try:
        interface = ipaddress.IPv4Interface(value)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 address with a prefix length: {value!r}") from exc
    if str(interface) != value:
        raise ValueError(f"{value!r} is not in canonical form ({interface})")
    network = interface.network
    if interface.network.prefixlen < 31 and interface.ip in (network.network_address, network.broadcast_address):
        raise ValueError(f"{value} is the network or broadcast address of {network}")
    return interface


IPV6_RA_MODES = ("slaac", "dhcpv6-stateless", "dhcpv6-stateful")


@dataclass(frozen=True)
class RouterInterface:
    """A router's leg on a tenant network: a device in the router namespace carrying the subnet's gateway address.

    One port with several addresses (one per subnet) is written as several interfaces with the same port_id,
    network_id and mac: they share one device.
    """

    port_id: str
    network_id: str
    mac: str
    ip: str
    prefixlen: int
    ra_mode: str | None = None  # the subnet's ipv6_ra_mode: what the router advertises on it (IPv6 only)

    def __post_init__(self) -> None:
        check_id(self.port_id, "port_id")
        check_id(self.network_id, "network_id")
        check_mac(self.mac)
        _check_prefixlen(self.ip, self.prefixlen)
        if self.ra_mode is not None and (self.ra_mode not in IPV6_RA_MODES or ":" not in self.ip):
            raise ValueError(f"ra_mode must be one of {IPV6_RA_MODES} on an IPv6 subnet, or None")

    @property
    def subnet(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(f"{self.ip}/{self.prefixlen}", strict=False)


@dataclass(frozen=True)
class RouterGateway:
    """The router's leg on the external network: its address there, the default route, and SNAT behind it."""

    network_id: str
    port_id: str
    mac: str
    ip: str  # IPv4: the source address of SNATed traffic
    prefixlen: int
    upstream_gateway: str | None  # the external subnet's gateway; None: no default route
    enable_snat: bool = True

    def __post_init__(self) -> None:
        check_id(self.network_id, "network_id")
        check_id(self.port_id, "port_id")
        check_mac(self.mac)
        subnet = _check_prefixlen(self.ip, self.prefixlen)
        if subnet.version != 4:
            raise ValueError("the router gateway must have an IPv4 address in this slice")
        if self.upstream_gateway is not None:
            check_ip(self.upstream_gateway)
            if ipaddress.ip_address(self.upstream_gateway) not in subnet or self.upstream_gateway == self.ip:
                raise ValueError(f"upstream gateway {self.upstream_gateway} must be another address in {subnet}")
        if not isinstance(self.enable_snat, bool):
            raise ValueError("enable_snat must be a bool")

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"{self.ip}/{self.prefixlen}", strict=False)


@dataclass(frozen=True)
class FloatingIp:
    """1:1 NAT: traffic to floating_ip reaches fixed_ip, and fixed_ip leaves through the gateway as floating_ip."""

    floating_ip: str
    fixed_ip: str

    def __post_init__(self) -> None:
        for address in (self.floating_ip, self.fixed_ip):
            check_ip(address)
            if ipaddress.ip_address(address).version != 4:
                raise ValueError(f"floating IPs are IPv4 only, got {address}")


MAX_ROUTER_INTERFACES = 256
MAX_EXTRA_ROUTES = 256
MAX_FLOATING_IPS = 4096  # per router; only bounds ruleset size


@dataclass(frozen=True)
class ExtraRoute:
    """A static route in the router's namespace (extraroute): `destination` through `nexthop`, a neighbour on one
    of the router's subnets."""

    destination: str
    nexthop: str

    def __post_init__(self) -> None:
        destination = ipaddress.ip_network(self.destination)  # strict: no host bits
        nexthop = ipaddress.ip_address(self.nexthop)
        if destination.version != nexthop.version or destination.prefixlen == 0:
            raise ValueError(f"route {self.destination} via {self.nexthop}: versions differ, or a default route")


@dataclass(frozen=True)
class RouterSpec:
    router_id: str
    gateway: RouterGateway | None
    interfaces: tuple[RouterInterface, ...]
    floating_ips: tuple[FloatingIp, ...] = ()
    routes: tuple[ExtraRoute, ...] = ()

    def __post_init__(self) -> None:
        check_id(self.router_id, "router_id")
        if self.gateway is not None and not isinstance(self.gateway, RouterGateway):
            raise ValueError("gateway must be a RouterGateway or None")
        if not all(isinstance(i, RouterInterface) for i in self.interfaces):
            raise ValueError("interfaces must be RouterInterface entries")
        if not all(isinstance(f, FloatingIp) for f in self.floating_ips):
            raise ValueError("floating_ips must be FloatingIp entries")
        if len(self.interfaces) > MAX_ROUTER_INTERFACES or len(self.floating_ips) > MAX_FLOATING_IPS:
            raise ValueError(f"at most {MAX_ROUTER_INTERFACES} interfaces and {MAX_FLOATING_IPS} floating IPs")
        ports: dict[str, tuple[str, str]] = {}
        for interface in self.interfaces:
            seen = ports.setdefault(interface.port_id, (interface.network_id, interface.mac))
            if seen != (interface.network_id, interface.mac):
                raise ValueError(f"interface port {interface.port_id} appears with two networks or MACs")
        if self.gateway is not None and self.gateway.port_id in ports:
            raise ValueError(f"port {self.gateway.port_id} cannot be both an interface and the gateway")
        subnets = [i.subnet for i in self.interfaces]
        if self.gateway is not None:
            subnets.append(self.gateway.subnet)
        for index, subnet in enumerate(subnets):
            for other in subnets[:index]:
                if subnet.version == other.version and subnet.overlaps(other):
                    raise ValueError(f"router subnets {other} and {subnet} overlap")
        if self.floating_ips and self.gateway is None:
            raise ValueError("floating IPs need a router gateway")
        floating = [f.floating_ip for f in self.floating_ips]
        fixed = [f.fixed_ip for f in self.floating_ips]
        if len(set(floating)) != len(floating) or len(set(fixed)) != len(fixed):
            raise ValueError("a floating IP maps exactly one fixed IP and a fixed IP has at most one floating IP")
        for entry in self.floating_ips:
            address = ipaddress.ip_address(entry.fixed_ip)
            if not any(address in i.subnet for i in self.interfaces):
                raise ValueError(f"fixed IP {entry.fixed_ip} is in none of the router's interface subnets")
            if entry.fixed_ip in {i.ip for i in self.interfaces}:
                raise ValueError(f"fixed IP {entry.fixed_ip} is the router's own address")
            outside = ipaddress.ip_address(entry.floating_ip)
            if any(outside in i.subnet for i in self.interfaces):
                raise ValueError(f"floating IP {entry.floating_ip} lies inside an interface subnet")
            assert self.gateway is not None
            if entry.floating_ip in (self.gateway.ip, self.gateway.upstream_gateway):
                raise ValueError(f"floating IP {entry.floating_ip} is the gateway's or the upstream's address")
        if not all(isinstance(r, ExtraRoute) for r in self.routes) or len(self.routes) > MAX_EXTRA_ROUTES:
            raise ValueError(f"routes must be at most {MAX_EXTRA_ROUTES} ExtraRoute entries")
        for route in self.routes:
            if not any(ipaddress.ip_address(route.nexthop) in subnet for subnet in subnets):
                raise ValueError(f"route nexthop {route.nexthop} is on none of the router's subnets")


@dataclass(frozen=True)
class RouterState:
    router_id: str
    gateway: str | None  # the gateway port id; None when there is no gateway device
    interfaces: frozenset[str]  # port ids whose interface device exists in the router namespace
    floating_ips: tuple[FloatingIp, ...]  # the 1:1 NAT loaded now, sorted by floating address
    snat: bool  # default SNAT is loaded for at least one interface subnet


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
        """Every network of this installation the driver finds on the host, whichever driver object made it
        (adoption and garbage collection); never another installation's on the same host."""

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
        """Every port of this installation the driver finds on the host (a device or a leftover filter)."""

    # ---- security groups ----

    @abc.abstractmethod
    def ensure_security_groups(self, groups: tuple[SecurityGroupSpec, ...]) -> None:
        """The host's group definitions (rules, member sets) are exactly `groups`; a group no longer listed is
        removed once no port references it (until then it keeps its last definition). Ports see a group's
        change atomically, and flows their groups no longer allow are cut (their conntrack entries deleted).
        ensure_port(spec) then wires a port to spec.security_group_ids; a port naming a group not defined
        yet is wired to an empty (deny-all) definition until the group is defined."""

    # ---- routers ----

    @abc.abstractmethod
    def ensure_router(self, spec: RouterSpec) -> None:
        """The router's namespace exists with exactly spec's interfaces (each on its network's bridge), its
        gateway (address, floating IPs and default route on the external network's bridge), forwarding on,
        and one nftables table: SNAT to the gateway address, 1:1 NAT per floating IP. Every network named in
        the spec must exist (DriverError, and nothing is built)."""

    @abc.abstractmethod
    def delete_router(self, router_id: str) -> None:
        """Remove the router's namespace, its devices and its NAT state."""

    @abc.abstractmethod
    def list_routers(self) -> dict[str, RouterState]:
        """Every router of this installation the driver finds on the host (adoption and garbage collection)."""

    # ---- the external network's host side (all-in-one) ----

    @abc.abstractmethod
    def ensure_external_access(self, network_id: str, host_cidr: str) -> None:
        """host_cidr (e.g. 172.24.4.1/24) is the only address on the external network's bridge in the host
        namespace, so the host reaches routers and floating IPs; traffic from that range leaving through any
        other host interface is masqueraded (and forwarding is on), so guests reach the outside world."""

    @abc.abstractmethod
    def delete_external_access(self, network_id: str) -> None:
        """Remove the host address and the masquerade rule. Idempotent."""

    # ---- the whole installation ----

    def teardown(self) -> None:
        """Remove everything of this installation from the host (`andromede down --all`): routers, ports, the
        external network's host side, networks with their DHCP servers, security groups. Another installation's
        objects on the same host stay as they are."""
        for router_id in self.list_routers():
            self.delete_router(router_id)
        for port_id in self.list_ports():
            self.delete_port(port_id)
        for network_id in self.list_networks():
            self.delete_external_access(network_id)
            self.delete_network(network_id)
        self.ensure_security_groups(())
